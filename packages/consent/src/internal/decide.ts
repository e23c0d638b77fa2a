/**
 * The decision procedure, parameterised by the string decoders so `Decision.decide` (decoding every time) and
 * `DecisionCache` (decoding each distinct string once) share one implementation and cannot drift apart.
 */
import * as Either from "effect/Either"
import type { ConsentStringError } from "../ConsentStringError.js"
import * as Gpp from "../Gpp.js"
import type { Jurisdiction } from "../Jurisdiction.js"
import * as Policy from "../Policy.js"
import type { Signals } from "../Signals.js"
import * as Tcf from "../Tcf.js"
import * as Usp from "../Usp.js"

/** The decision for one event, in the shape `Decision.ConsentDecision` describes. */
export interface DecisionShape {
  readonly collect: boolean
  readonly identifier: boolean
  readonly personalization: boolean
  readonly measurement: boolean
  readonly child: boolean
  readonly policyVersion: string
  readonly model: Policy.Model
  readonly jurisdiction: Jurisdiction
  readonly reasons: ReadonlyArray<string>
}

/** How the procedure gets at decoded strings. */
export interface Decoders {
  readonly tcf: (tcString: string) => Either.Either<Tcf.TcData, ConsentStringError>
  readonly gpp: (gppString: string) => Either.Either<Gpp.GppData, ConsentStringError>
  readonly usp: (usp: string) => Either.Either<Usp.UspData, ConsentStringError>
  readonly explain: (tc: Tcf.TcData, vendorId: number) => Tcf.Explained
}

/** Decoding every time. */
export const direct: Decoders = {
  tcf: Tcf.decode,
  gpp: Gpp.decode,
  usp: (usp) => Usp.decode(usp),
  explain: Tcf.explain
}

const and = (a: Tcf.Activities, b: Tcf.Activities): Tcf.Activities => ({
  storeIdentifiers: a.storeIdentifiers && b.storeIdentifiers,
  basicAds: a.basicAds && b.basicAds,
  personalizeAds: a.personalizeAds && b.personalizeAds,
  measure: a.measure && b.measure,
  preciseGeolocation: a.preciseGeolocation && b.preciseGeolocation
})

/** Adds a reason once. */
const note = (reasons: Array<string>, reason: string): void => {
  if (!reasons.includes(reason)) reasons.push(reason)
}

/** What one TC string (decoded or not) allows our vendor, noting why anything is denied. */
const tcActivities = (
  decoders: Decoders,
  result: Either.Either<Tcf.TcData, ConsentStringError>,
  prefix: string,
  vendorId: number | undefined,
  reasons: Array<string>
): Tcf.Activities => {
  if (Either.isLeft(result)) {
    note(reasons, `${prefix}:invalid:${result.left.rule}`)
    return Tcf.none
  }
  if (vendorId === undefined) {
    note(reasons, "tcf:no-vendor-id")
    return Tcf.none
  }
  const explained = decoders.explain(result.right, vendorId)
  for (const reason of explained.reasons) note(reasons, reason)
  return explained.activities
}

/** Decides what may be done with one event. Never throws on any signal content. */
export const decide = (
  decoders: Decoders,
  signals: Signals,
  policy: Policy.Policy,
  jurisdiction: Jurisdiction
): DecisionShape => {
  const reasons: Array<string> = []
  // The page's CMP says the GDPR applies (`gdprApplies`, `gdpr=1`): TCF's rules hold whatever the location says
  // (a geolocation misses travellers, VPNs and proxies), so the opt-in model applies. `false` never relaxes it.
  const model = signals.gdprApplies === true ? "opt-in" : Policy.modelFor(policy, jurisdiction)
  // `optedOut` removes the identifier and personalization; measurement stays (identifier-free).
  let optedOut = false
  let child = false
  let measurement = true

  if (signals.gpc) {
    optedOut = true
    note(reasons, "gpc")
  }
  if (signals.optout) {
    optedOut = true
    note(reasons, "optout")
  }
  if (signals.dnt && policy.dnt === "opt-out") {
    optedOut = true
    note(reasons, "dnt")
  }
  if (policy.childDirected) {
    child = true
    note(reasons, "child:site")
  }
  if (signals.coppa === true) {
    child = true
    note(reasons, "child:coppa")
  }
  const conflicts = signals.conflicts ?? []

  // Every TC string present (on its own, or as the GPP tcfeuv2 section) bounds the activities; none at all
  // leaves `tcf` undefined.
  let tcf: Tcf.Activities | undefined
  if (conflicts.includes("tcf")) {
    note(reasons, "tcf:conflict")
    tcf = Tcf.none
  } else if (signals.tcf !== undefined) {
    tcf = tcActivities(decoders, decoders.tcf(signals.tcf), "tcf", policy.vendorId, reasons)
  }

  if (conflicts.includes("gpp")) {
    // Treated as malformed (below).
    note(reasons, "gpp:conflict")
    optedOut = true
    tcf = Tcf.none
  } else if (signals.gpp !== undefined) {
    const result = decoders.gpp(signals.gpp)
    if (Either.isLeft(result)) {
      // Fail closed: an unreadable GPP string may have carried an opt-out or a TCF section denying anything (its
      // tcfeuv2 may deny measurement too), so it counts as an opt-out and as a TC string allowing nothing. Keeping
      // measurement would let a garbled string allow more than the readable string it garbles.
      note(reasons, `gpp:invalid:${result.left.rule}`)
      optedOut = true
      tcf = Tcf.none
    } else {
      const gpp = result.right
      if (gpp.tcfeuv2 !== undefined) {
        const activities = tcActivities(decoders, Either.right(gpp.tcfeuv2), "gpp:tcfeuv2", policy.vendorId, reasons)
        tcf = tcf === undefined ? activities : and(tcf, activities)
      }
      if (gpp.uspv1?.saleOptOut === true) {
        optedOut = true
        note(reasons, "gpp:usp-sale-opt-out")
      }
      for (const section of gpp.us) {
        const s = section.signals
        if (s.knownChild) {
          child = true
          note(reasons, "child:gpp")
        }
        if (s.consentDenied) {
          optedOut = true
          for (const denial of s.denials) note(reasons, `gpp:${denial}`)
        }
      }
      for (const sid of signals.gppSid ?? []) {
        if (!gpp.sectionIds.includes(sid)) {
          // The CMP says a section applies but did not send it: as if that section denied everything.
          note(reasons, `gpp:missing-section-${sid}`)
          optedOut = true
          if (sid === 2) tcf = Tcf.none
        }
      }
    }
  } else if (signals.gppSid !== undefined && signals.gppSid.length > 0) {
    note(reasons, "gpp:missing")
    optedOut = true
  }

  if (conflicts.includes("usp")) {
    note(reasons, "usp:conflict")
    optedOut = true
  } else if (signals.usp !== undefined) {
    const result = decoders.usp(signals.usp)
    if (Either.isLeft(result)) {
      note(reasons, `usp:invalid:${result.left.rule}`)
      optedOut = true
    } else if (result.right.saleOptOut) {
      note(reasons, "usp:sale-opt-out")
      optedOut = true
    }
  }

  let identifier = !optedOut && !child
  let personalization = identifier
  if (tcf !== undefined) {
    if (!tcf.storeIdentifiers) identifier = false
    if (!tcf.personalizeAds) personalization = false
    if (!tcf.measure) measurement = false
  } else if (model === "opt-in") {
    note(reasons, "tcf:missing")
    identifier = false
  }
  // Audiences and personalized ads are built around the pseudonymous identifier: no identifier, none of them.
  if (!identifier) personalization = false
  if (!identifier && !policy.allowIdentifierFreeEvents && measurement) {
    measurement = false
    note(reasons, "policy:no-identifier-free-events")
  }
  const nothingAllowed = !identifier && !measurement
  const collect = !(nothingAllowed && policy.disallowed === "drop")
  if (!collect) note(reasons, "policy:drop")
  return {
    collect,
    identifier,
    personalization,
    measurement,
    child,
    policyVersion: policy.version,
    model,
    jurisdiction,
    reasons
  }
}
