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

/** Decides what may be done with one event. Never throws on any signal content. */
export const decide = (
  decoders: Decoders,
  signals: Signals,
  policy: Policy.Policy,
  jurisdiction: Jurisdiction
): DecisionShape => {
  const reasons: Array<string> = []
  const note = (reason: string) => {
    if (!reasons.includes(reason)) reasons.push(reason)
  }
  const model = Policy.modelFor(policy, jurisdiction)
  // `optedOut` removes the identifier and personalization; measurement stays (identifier-free).
  let optedOut = false
  let child = false
  let measurement = true

  if (signals.gpc) {
    optedOut = true
    note("gpc")
  }
  if (signals.optout) {
    optedOut = true
    note("optout")
  }
  if (signals.dnt && policy.dnt === "opt-out") {
    optedOut = true
    note("dnt")
  }
  if (policy.childDirected) {
    child = true
    note("child:site")
  }
  if (signals.coppa === true) {
    child = true
    note("child:coppa")
  }
  const conflicts = signals.conflicts ?? []

  // Every TC string present (on its own, or as the GPP tcfeuv2 section) bounds the activities; none at all
  // leaves `tcf` undefined.
  let tcf: Tcf.Activities | undefined
  const useTc = (result: Either.Either<Tcf.TcData, ConsentStringError>, prefix: string) => {
    let activities = Tcf.none
    if (Either.isLeft(result)) {
      note(`${prefix}:invalid:${result.left.rule}`)
    } else if (policy.vendorId === undefined) {
      note("tcf:no-vendor-id")
    } else {
      const explained = decoders.explain(result.right, policy.vendorId)
      for (const reason of explained.reasons) note(reason)
      activities = explained.activities
    }
    tcf = tcf === undefined ? activities : and(tcf, activities)
  }

  if (conflicts.includes("tcf")) {
    note("tcf:conflict")
    tcf = Tcf.none
  } else if (signals.tcf !== undefined) {
    useTc(decoders.tcf(signals.tcf), "tcf")
  }

  if (conflicts.includes("gpp")) {
    note("gpp:conflict")
    optedOut = true
    tcf = Tcf.none
  } else if (signals.gpp !== undefined) {
    const result = decoders.gpp(signals.gpp)
    if (Either.isLeft(result)) {
      // Fail closed: an unreadable GPP string may have carried an opt-out or a TCF denial.
      note(`gpp:invalid:${result.left.rule}`)
      optedOut = true
      tcf = Tcf.none
    } else {
      const gpp = result.right
      if (gpp.tcfeuv2 !== undefined) useTc(Either.right(gpp.tcfeuv2), "gpp:tcfeuv2")
      if (gpp.uspv1?.saleOptOut === true) {
        optedOut = true
        note("gpp:usp-sale-opt-out")
      }
      for (const section of gpp.us) {
        const s = section.signals
        if (s.knownChild) {
          child = true
          note("child:gpp")
        }
        if (s.consentDenied) {
          optedOut = true
          for (const denial of s.denials) note(`gpp:${denial}`)
        }
      }
      for (const sid of signals.gppSid ?? []) {
        if (!gpp.sectionIds.includes(sid)) {
          // The CMP says a section applies but did not send it: as if that section denied everything.
          note(`gpp:missing-section-${sid}`)
          optedOut = true
          if (sid === 2) tcf = Tcf.none
        }
      }
    }
  } else if (signals.gppSid !== undefined && signals.gppSid.length > 0) {
    note("gpp:missing")
    optedOut = true
  }

  if (conflicts.includes("usp")) {
    note("usp:conflict")
    optedOut = true
  } else if (signals.usp !== undefined) {
    const result = decoders.usp(signals.usp)
    if (Either.isLeft(result)) {
      note(`usp:invalid:${result.left.rule}`)
      optedOut = true
    } else if (result.right.saleOptOut) {
      note("usp:sale-opt-out")
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
    note("tcf:missing")
    identifier = false
  }
  // Audiences and personalized ads are built around the pseudonymous identifier: no identifier, none of them.
  if (!identifier) personalization = false
  if (!identifier && !policy.allowIdentifierFreeEvents && measurement) {
    measurement = false
    note("policy:no-identifier-free-events")
  }
  const nothingAllowed = !identifier && !measurement
  const collect = !(nothingAllowed && policy.disallowed === "drop")
  if (!collect) note("policy:drop")
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
