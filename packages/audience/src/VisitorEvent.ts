/**
 * The events audiences are built from: the stored form of an event, as @openaudience/storage-sql keeps it
 * (`StoredEvent` and `SequencedEvent` rows fit as they are). Only events whose stored consent decision allows
 * personalization count, and never those carrying a child signal (privacy invariant 7); everything else is
 * ignored by every entry point of this package. Payload and consent are untrusted: fields of the wrong type read
 * as missing.
 *
 * @since 0.1.0
 */

/**
 * One stored event.
 *
 * - `type`: the event type (`product_view`, `conversion`, …).
 * - `receivedAt`: when the collector received it, epoch milliseconds: the time windows are measured in.
 * - `visitor`: the pseudonymous visitor key (events without one are ignored).
 * - `payload`: the event's fields (`productId`, `category`, `unitPrice`, `currency`, `quantity`, `orderId`,
 *   `conversionType`, `value`, `items`, `url`, `referrer`, `context`, …).
 * - `consent`: the consent receipt stored with the event (`{ decision: { personalization, child } }`).
 *
 * @since 0.1.0
 * @category models
 */
export interface VisitorEvent {
  readonly type: string
  readonly receivedAt: number
  readonly visitor: string | null
  readonly payload: unknown
  readonly consent: unknown
}

/** Epoch ms bounds of a sane receive time (2000-01-01 to 2100-01-01). */
const minTime = 946_684_800_000
const maxTime = 4_102_444_800_000

/**
 * Whether an event may feed audiences: a visitor key, a sane receive time, and a stored decision allowing
 * personalization without a child signal.
 *
 * @since 0.1.0
 * @category predicates
 */
export const counts = (event: VisitorEvent): boolean => {
  if (typeof event.visitor !== "string" || event.visitor.length === 0) return false
  const t = event.receivedAt
  if (typeof t !== "number" || !(t >= minTime && t < maxTime)) return false
  const consent = event.consent
  if (typeof consent !== "object" || consent === null) return false
  const decision = (consent as { readonly decision?: unknown }).decision
  if (typeof decision !== "object" || decision === null) return false
  const d = decision as { readonly personalization?: unknown; readonly child?: unknown }
  return d.personalization === true && d.child !== true
}
