/**
 * The shape of an event as the storage layer keeps it. The storage layer does not know the event
 * vocabulary: it stores a few indexed columns (tenant, id, type, site, times, pseudonymous visitor)
 * and an opaque JSON payload plus the consent receipt (`ConsentReceipt`) that allowed the event to be stored.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ConsentReceipt } from "./ConsentReceipt.js"

/**
 * The latest `receivedAt` the store accepts: 9999-12-31T23:59:59.999Z, the last instant both SQL dialects can turn
 * into a date (what `EventStore.countBySeqRanges` counts by). The earliest is 0 (1970-01-01).
 *
 * @since 0.2.0
 * @category models
 */
export const maxReceivedAt = 253_402_300_799_999

/**
 * Whether `receivedAt` is one the store accepts: integer epoch ms from 0 to `maxReceivedAt`.
 *
 * @since 0.2.0
 * @category models
 */
export const isReceivedAt = (receivedAt: unknown): receivedAt is number =>
  Number.isSafeInteger(receivedAt) && (receivedAt as number) >= 0 && (receivedAt as number) <= maxReceivedAt

/**
 * The type of an objection record: the collector stores one (with the pseudonymous `visitor`, an empty payload and
 * the receipt of the decision that refused an identifier) when an event arrives carrying a first-party visitor id
 * that the event's own consent decision no longer allows (GPC, Do Not Track under a policy honouring it, the
 * opt-out cookie, a withdrawn TCF consent, …). Audiences treat it as the end of that visitor's identified history:
 * memberships end at its time and nothing received before it is used for targeting again. No client can send this
 * type (it is not an event type of the schema), and its event id (`objectionIdPrefix` and the id of the event that
 * carried it) is outside the id pattern clients may use.
 *
 * @since 0.4.0
 * @category models
 */
export const objectionType = "objection"

/**
 * The prefix of an objection record's event id (`objection:` and the id of the event that carried the objection).
 *
 * @since 0.4.0
 * @category models
 */
export const objectionIdPrefix = "objection:"

/**
 * An event to store. `(tenant, eventId)` identifies it: storing the same pair twice keeps the first.
 *
 * - `receivedAt`: when the collector received it, epoch milliseconds (integer, from 1970 to the end of 9999: see
 *   `maxReceivedAt`).
 * - `clientTs`: the time the browser or server reported, epoch milliseconds, or `null`.
 * - `visitor`: the pseudonymous visitor key (never a raw identifier), or `null`.
 * - `payload`: any JSON value (normally an object), stored as JSONB on PostgreSQL and TEXT on SQLite.
 * - `consent`: the consent receipt that allowed storing the event (`ConsentReceipt`), or `null`. A store reads a
 *   receipt it cannot decode back as `null`, which allows no personalization.
 *
 * @since 0.1.0
 * @category models
 */
export const StoredEvent = Schema.Struct({
  tenant: Schema.String,
  eventId: Schema.String,
  type: Schema.String,
  site: Schema.String,
  receivedAt: Schema.Int,
  clientTs: Schema.NullOr(Schema.Int),
  visitor: Schema.NullOr(Schema.String),
  payload: Schema.Unknown,
  consent: Schema.NullOr(ConsentReceipt)
})

/**
 * An event to store (see the `StoredEvent` schema).
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredEvent extends Schema.Schema.Type<typeof StoredEvent> {}

/**
 * A stored event with its sequence number: `seq` grows with every accepted event in the whole
 * database (across tenants), so newer events have larger numbers. It is never reused.
 *
 * @since 0.1.0
 * @category models
 */
export const SequencedEvent = Schema.Struct({
  ...StoredEvent.fields,
  seq: Schema.Int
})

/**
 * A stored event with its sequence number (see the `SequencedEvent` schema).
 *
 * @since 0.1.0
 * @category models
 */
export interface SequencedEvent extends Schema.Schema.Type<typeof SequencedEvent> {}

/**
 * What happened to one input event of an append: stored now, or already stored (earlier, or earlier
 * in the same batch) and therefore not stored again.
 *
 * @since 0.1.0
 * @category models
 */
export const AppendOutcome = Schema.Literal("accepted", "duplicate")

/**
 * What happened to one input event of an append.
 *
 * @since 0.1.0
 * @category models
 */
export type AppendOutcome = typeof AppendOutcome.Type

/**
 * The result of appending a batch: one outcome per input event, in input order, and the totals.
 *
 * @since 0.1.0
 * @category models
 */
export const AppendResult = Schema.Struct({
  outcomes: Schema.Array(AppendOutcome),
  accepted: Schema.Int,
  duplicates: Schema.Int
})

/**
 * The result of appending a batch (see the `AppendResult` schema).
 *
 * @since 0.1.0
 * @category models
 */
export interface AppendResult extends Schema.Schema.Type<typeof AppendResult> {}
