/**
 * One ConsentDecision per event: may it be kept at all, with a pseudonymous identifier, for audiences and
 * personalized ads, for measurement — decided from every signal present under the tenant's policy, the most
 * restrictive signal winning. A malformed consent string never throws: the decision fails closed and records the
 * rule that was broken. `receipt` is the compact record stored with each event.
 *
 * Plain synchronous code: it runs once per event on the collector's hot path (use `DecisionCache` there).
 *
 * @since 0.1.0
 */
import { ConsentReceipt } from "@openaudience/event-schema"
import * as Schema from "effect/Schema"
import type { Mutable } from "effect/Types"
import * as Internal from "./internal/decide.js"
import { Jurisdiction } from "./Jurisdiction.js"
import * as Policy from "./Policy.js"
import type { Signals } from "./Signals.js"

/**
 * What may be done with one event.
 *
 * - `collect`: the event may be kept at all (stored without identifier, or counted); false only when the policy
 *   says `disallowed: "drop"` and nothing else is allowed.
 * - `identifier`: a pseudonymous visitor identifier may be kept with it.
 * - `personalization`: it may feed audiences and personalized ads (never without `identifier`).
 * - `measurement`: it may be used, identifier-free unless `identifier`, for measurement and reports.
 * - `child`: a child signal was present (child-directed site, COPPA flag, GPP known child).
 * - `policyVersion`, `model`, `jurisdiction`: what the decision was made under.
 * - `reasons`: every restriction that applied, such as `gpc`, `dnt`, `optout`, `tcf:no-purpose-1-consent`,
 *   `tcf:invalid:policy-version`, `gpp:sale-opt-out`, `child:coppa`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConsentDecision = Schema.Struct({
  collect: Schema.Boolean,
  identifier: Schema.Boolean,
  personalization: Schema.Boolean,
  measurement: Schema.Boolean,
  child: Schema.Boolean,
  policyVersion: Schema.String,
  model: Policy.Model,
  jurisdiction: Jurisdiction,
  reasons: Schema.Array(Schema.String)
}).annotations({ identifier: "ConsentDecision" })

/**
 * @since 0.1.0
 * @category models
 */
export type ConsentDecision = typeof ConsentDecision.Type

/**
 * Decides what may be done with an event carrying `signals`, for a visitor in `jurisdiction`, under `policy`.
 * Decodes every consent string each time; `DecisionCache` gives the identical answer with each distinct string
 * decoded once.
 *
 * @since 0.1.0
 * @category decisions
 */
export const decide = (signals: Signals, policy: Policy.Policy, jurisdiction: Jurisdiction): ConsentDecision =>
  Internal.decide(Internal.direct, signals, policy, jurisdiction)

/**
 * The consent receipt stored with an event: the policy version, the signals seen (flags, and which strings were
 * present — never the strings themselves) and the decision. Defined in @openaudience/event-schema
 * (`ConsentReceipt.ConsentReceipt`), which stored events are typed with; this is the same schema.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Receipt: typeof ConsentReceipt.ConsentReceipt = ConsentReceipt.ConsentReceipt

/**
 * @since 0.1.0
 * @category models
 */
export type Receipt = ConsentReceipt.ConsentReceipt

/**
 * The receipt for a decision and the signals it was made from (see `Receipt`). JSON-ready. `gdprApplies` is
 * recorded only when the signal was present.
 *
 * @since 0.1.0
 * @category constructors
 */
export const receipt = (decision: ConsentDecision, signals: Signals): Receipt => {
  // Built by assignment rather than from conditional spreads, which take V8's slow path.
  const recorded: Mutable<Receipt["signals"]> = {
    gpc: signals.gpc,
    dnt: signals.dnt,
    optout: signals.optout,
    coppa: signals.coppa === true,
    tcf: signals.tcf !== undefined,
    gpp: signals.gpp !== undefined,
    usp: signals.usp !== undefined
  }
  if (signals.gppSid !== undefined && signals.gppSid.length > 0) recorded.gppSid = signals.gppSid
  if (signals.gdprApplies !== undefined) recorded.gdprApplies = signals.gdprApplies
  return {
    v: 1,
    policy: decision.policyVersion,
    model: decision.model,
    jurisdiction: decision.jurisdiction,
    signals: recorded,
    decision: {
      collect: decision.collect,
      identifier: decision.identifier,
      personalization: decision.personalization,
      measurement: decision.measurement,
      child: decision.child,
      reasons: decision.reasons
    }
  }
}

/** Every field `receipt` reads, in one string: equal keys, equal receipts (the property test holds them together). */
const receiptKey = (decision: ConsentDecision, signals: Signals): string => {
  const flags =
    (signals.gpc ? 1 : 0) |
    (signals.dnt ? 2 : 0) |
    (signals.optout ? 4 : 0) |
    (signals.coppa === true ? 8 : 0) |
    (signals.tcf !== undefined ? 16 : 0) |
    (signals.gpp !== undefined ? 32 : 0) |
    (signals.usp !== undefined ? 64 : 0) |
    (decision.collect ? 128 : 0) |
    (decision.identifier ? 256 : 0) |
    (decision.personalization ? 512 : 0) |
    (decision.measurement ? 1024 : 0) |
    (decision.child ? 2048 : 0) |
    (signals.gdprApplies === undefined ? 0 : signals.gdprApplies ? 4096 : 8192)
  return `${flags}\u0000${decision.policyVersion}\u0000${decision.model}\u0000${decision.jurisdiction}\u0000${
    signals.gppSid?.join(",") ?? ""
  }\u0000${decision.reasons.join("\u0000")}`
}

/**
 * `receipt`, remembering receipts by content: equal receipts are the same (frozen) object, so a caller that
 * serializes receipts can keep the text per object. Most events of a site share one of a handful of receipts.
 * Keeps at most `capacity` receipts (forgets them all when full).
 *
 * @since 0.1.0
 * @category constructors
 */
export const receipts = (capacity = 1_024): ((decision: ConsentDecision, signals: Signals) => Receipt) => {
  const known = new Map<string, Receipt>()
  return (decision, signals) => {
    const key = receiptKey(decision, signals)
    const hit = known.get(key)
    if (hit !== undefined) return hit
    if (known.size >= capacity) known.clear()
    const base = receipt(decision, signals)
    const made: Receipt = Object.freeze({
      ...base,
      signals: Object.freeze(
        base.signals.gppSid === undefined
          ? { ...base.signals }
          : { ...base.signals, gppSid: Object.freeze([...base.signals.gppSid]) }
      ),
      decision: Object.freeze({ ...base.decision, reasons: Object.freeze([...base.decision.reasons]) })
    })
    known.set(key, made)
    return made
  }
}

/**
 * Whether `narrower` allows nothing that `wider` forbids: the order in which restrictions may only ever be
 * added, never lifted, by later stages.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isWithin = (narrower: ConsentDecision, wider: ConsentDecision): boolean =>
  (!narrower.collect || wider.collect) &&
  (!narrower.identifier || wider.identifier) &&
  (!narrower.personalization || wider.personalization) &&
  (!narrower.measurement || wider.measurement)
