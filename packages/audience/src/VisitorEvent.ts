/**
 * The events audiences are built from: the stored form of an event, as @openaudience/storage-sql keeps it
 * (`StoredEvent` and `SequencedEvent` of @openaudience/event-schema fit as they are). Only events whose stored
 * consent receipt allows personalization count, and never those carrying a child signal (privacy invariant 7);
 * everything else is ignored by every entry point of this package. The receive time must be one every store
 * accepts (`StoredEvent.isReceivedAt`: 1970 to the end of 9999), the limits the collector, the stores and the
 * reports share. The receipt is untrusted too: a child signal that is not exactly `false` (missing, `"false"`, `0`)
 * counts as a child, so a malformed receipt fails closed. An event that does not count never changes a visitor's
 * state, not even its clock. The payload is untrusted: fields of the wrong type read as missing.
 *
 * An objection record (`isObjection`: type `objection`, which the collector stores when an event carries a visitor
 * id its consent decision no longer allows) ends the visitor's identified history: every entry point treats the
 * visitor's events before it (in the order given, or by receive time where events are sorted) as if they had
 * never been, and the incremental path ends every membership at its time (`Exited` with reason `objection`).
 *
 * @since 0.1.0
 */
import { ConsentReceipt, StoredEvent } from "@openaudience/event-schema"

/**
 * One stored event.
 *
 * - `type`: the event type (`product_view`, `conversion`, …).
 * - `receivedAt`: when the collector received it, epoch milliseconds: the time windows are measured in.
 * - `visitor`: the pseudonymous visitor key (events without one are ignored).
 * - `payload`: the event's fields (`productId`, `category`, `unitPrice`, `currency`, `quantity`, `orderId`,
 *   `conversionType`, `value`, `items`, `url`, `referrer`, `context`, …).
 * - `consent`: the consent receipt stored with the event (`ConsentReceipt` of @openaudience/event-schema, as
 *   consent's `Decision.receipt` builds it), or `null`: no receipt, no audience.
 *
 * @since 0.1.0
 * @category models
 */
export interface VisitorEvent {
  readonly type: string
  readonly receivedAt: number
  readonly visitor: string | null
  readonly payload: unknown
  readonly consent: ConsentReceipt.ConsentReceipt | null
}

/**
 * Whether an event may feed audiences: a visitor key, a receive time every store accepts
 * (`StoredEvent.isReceivedAt`), and a stored receipt allowing personalization (`ConsentReceipt.allowsPersonalization`)
 * whose child flag is exactly `false` (anything else fails closed).
 *
 * @since 0.1.0
 * @category predicates
 */
export const counts = (event: VisitorEvent): boolean =>
  typeof event.visitor === "string" &&
  event.visitor.length > 0 &&
  StoredEvent.isReceivedAt(event.receivedAt) &&
  ConsentReceipt.allowsPersonalization(event.consent) &&
  event.consent?.decision.child === false

/**
 * Whether an event is an objection record (`StoredEvent.objectionType` of @openaudience/event-schema) with a
 * visitor key and a receive time every store accepts: the end of that visitor's identified history. Its receipt is
 * not looked at: an objection needs no consent.
 *
 * @since 0.4.0
 * @category predicates
 */
export const isObjection = (event: VisitorEvent): boolean =>
  event.type === StoredEvent.objectionType &&
  typeof event.visitor === "string" &&
  event.visitor.length > 0 &&
  StoredEvent.isReceivedAt(event.receivedAt)

/**
 * Whether an event matters to a visitor's state: it counts (`counts`) or it is an objection (`isObjection`).
 *
 * @since 0.4.0
 * @category predicates
 */
export const matters = (event: VisitorEvent): boolean => counts(event) || isObjection(event)
