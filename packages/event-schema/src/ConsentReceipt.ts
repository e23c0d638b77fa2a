/**
 * The consent receipt stored with every event: under which policy version, consent model and jurisdiction the
 * event was decided, which signals were seen (flags, and which consent strings were present — never the strings
 * themselves) and what the decision allowed. One schema for everything that writes or reads stored events: the
 * collector writes it, the store checks it on the way in and out, reports count by its `measurement` and the
 * audience engine by its `personalization` and `child`. @openaudience/consent builds receipts (`Decision.receipt`).
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * A consent model: `opt-in` (no identifier and no personalization without valid TCF consent) or `opt-out`
 * (allowed unless the visitor opted out).
 *
 * @since 0.2.0
 * @category schemas
 */
export const Model = Schema.Literal("opt-in", "opt-out")

/**
 * @since 0.2.0
 * @category models
 */
export type Model = typeof Model.Type

/**
 * A consent jurisdiction: `"EU"` (the EEA, the United Kingdom and Switzerland), `"US"`, `"US-CA"` (any two-letter
 * state code), `"other"` or `"unknown"`.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Jurisdiction = Schema.Union(
  Schema.Literal("EU", "US", "other", "unknown"),
  Schema.TemplateLiteral("US-", Schema.String).pipe(Schema.pattern(/^US-[A-Z]{2}$/))
).annotations({ identifier: "Jurisdiction" })

/**
 * @since 0.2.0
 * @category models
 */
export type Jurisdiction = typeof Jurisdiction.Type

/**
 * The signals a decision saw: the flags, and whether each consent string was present. `gdprApplies` is there
 * only when the page's CMP (or a `gdpr=` parameter) said whether the GDPR applies.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ReceiptSignals = Schema.Struct({
  gpc: Schema.Boolean,
  dnt: Schema.Boolean,
  optout: Schema.Boolean,
  coppa: Schema.Boolean,
  tcf: Schema.Boolean,
  gpp: Schema.Boolean,
  usp: Schema.Boolean,
  gppSid: Schema.optionalWith(Schema.Array(Schema.Int), { exact: true }),
  gdprApplies: Schema.optionalWith(Schema.Boolean, { exact: true })
}).annotations({ identifier: "ConsentReceiptSignals" })

/**
 * @since 0.2.0
 * @category models
 */
export type ReceiptSignals = typeof ReceiptSignals.Type

/**
 * What the decision allowed: `collect`, `identifier`, `personalization` (audiences and personalized ads),
 * `measurement`, whether a `child` signal was present, and every restriction that applied (`reasons`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ReceiptDecision = Schema.Struct({
  collect: Schema.Boolean,
  identifier: Schema.Boolean,
  personalization: Schema.Boolean,
  measurement: Schema.Boolean,
  child: Schema.Boolean,
  reasons: Schema.Array(Schema.String)
}).annotations({ identifier: "ConsentReceiptDecision" })

/**
 * @since 0.2.0
 * @category models
 */
export type ReceiptDecision = typeof ReceiptDecision.Type

/**
 * The consent receipt stored with an event (version `v: 1`). JSON as it is: its encoded and decoded forms are
 * the same, so a receipt read back from a database is checked with `is` and used as it is.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ConsentReceipt = Schema.Struct({
  v: Schema.Literal(1),
  policy: Schema.String,
  model: Model,
  jurisdiction: Jurisdiction,
  signals: ReceiptSignals,
  decision: ReceiptDecision
}).annotations({ identifier: "ConsentReceipt" })

/**
 * @since 0.2.0
 * @category models
 */
export type ConsentReceipt = typeof ConsentReceipt.Type

/**
 * Whether a value (a JSON value read back from storage, say) is a consent receipt. Extra fields are allowed, so
 * receipts written by a newer version still read.
 *
 * @since 0.2.0
 * @category predicates
 */
export const is: (value: unknown) => value is ConsentReceipt = Schema.is(ConsentReceipt)

/**
 * Whether a stored event may feed audiences and personalized ads: a receipt whose decision allows
 * personalization and saw no child signal. `null` (no receipt, or one that could not be read) never does.
 *
 * @since 0.2.0
 * @category predicates
 */
export const allowsPersonalization = (receipt: ConsentReceipt | null): boolean => {
  const decision = receipt?.decision
  return decision?.personalization === true && decision.child !== true
}
