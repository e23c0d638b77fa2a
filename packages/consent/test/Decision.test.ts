import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import * as Decision from "../src/Decision.js"
import * as Gpp from "../src/Gpp.js"
import type * as Jurisdiction from "../src/Jurisdiction.js"
import * as Policy from "../src/Policy.js"
import * as Signals from "../src/Signals.js"
import * as Tcf from "../src/Tcf.js"
import { mutations } from "./fixtures/mutations.js"
import { gppStrings, restrictingGpp, tcStrings, uspStrings } from "./fixtures/strings.js"

const none = Signals.empty
const with_ = (extra: Partial<Signals.Signals>): Signals.Signals => ({ ...none, ...extra })
const demo = Policy.demo
const decide = (signals: Signals.Signals, jurisdiction: Jurisdiction.Jurisdiction, policy: Policy.Policy = demo) =>
  Decision.decide(signals, policy, jurisdiction)

const everything = {
  collect: true,
  identifier: true,
  personalization: true,
  measurement: true,
  child: false
}

const outcome = (d: Decision.ConsentDecision) => ({
  collect: d.collect,
  identifier: d.identifier,
  personalization: d.personalization,
  measurement: d.measurement,
  child: d.child
})

describe("Decision.decide: jurisdictions and models", () => {
  it("a plain visit in an opt-out jurisdiction keeps an identifier", () => {
    for (const j of ["US-CA", "US-VA", "US"] as const) {
      const d = decide(none, j)
      assert.deepStrictEqual(outcome(d), everything, j)
      assert.deepStrictEqual(d.reasons, [])
      assert.strictEqual(d.model, "opt-out")
    }
  })

  it("a plain visit in the EU gets no identifier without TCF consent, identifier-free measurement stays", () => {
    const d = decide(none, "EU")
    assert.deepStrictEqual(outcome(d), { ...everything, identifier: false, personalization: false })
    assert.deepStrictEqual(d.reasons, ["tcf:missing"])
    assert.strictEqual(d.model, "opt-in")
  })

  it("other countries follow the policy's default, unknown locations its `unknown` model", () => {
    assert.isFalse(decide(none, "other").identifier)
    assert.isTrue(decide(none, "unknown").identifier, "the demo tenant treats unknown as opt-out")
    assert.isFalse(decide(none, "unknown", Policy.default).identifier, "the default policy does not")
    assert.isTrue(decide(none, "other", { ...Policy.default, default: "opt-out" }).identifier)
  })

  it("every decision names the policy version, model and jurisdiction", () => {
    const d = decide(none, "US-CO", { ...demo, version: "2027-01-02.7" })
    assert.strictEqual(d.policyVersion, "2027-01-02.7")
    assert.strictEqual(d.jurisdiction, "US-CO")
    assert.isTrue(Schema.is(Decision.ConsentDecision)(d))
  })
})

describe("Decision.decide: TCF consent in the opt-in model", () => {
  const eu = (tcf: string, policy: Policy.Policy = demo) => decide(with_({ tcf }), "EU", policy)

  it("full consent for our vendor allows everything", () => {
    const d = eu(tcStrings.full)
    assert.deepStrictEqual(outcome(d), everything)
    assert.deepStrictEqual(d.reasons, [])
    // TCF 2.2 strings without a disclosed-vendors segment are read the same way.
    assert.deepStrictEqual(outcome(eu(tcStrings.v22Full)), everything)
  })

  it("purpose 1 → identifier", () => {
    const d = eu(tcStrings.noPurpose1)
    assert.isFalse(d.identifier)
    assert.isFalse(d.personalization)
    assert.isTrue(d.measurement)
    assert.include(d.reasons, "tcf:no-purpose-1-consent")
  })

  it("purposes 2, 3, 4 → personalization", () => {
    const d = eu(tcStrings.noPurpose3)
    assert.isTrue(d.identifier)
    assert.isFalse(d.personalization)
    assert.include(d.reasons, "tcf:no-purpose-3-consent")
  })

  it("purpose 7 → measurement (consent or legitimate interest)", () => {
    const d = eu(tcStrings.noPurpose7)
    assert.isTrue(d.identifier)
    assert.isFalse(d.measurement)
    assert.include(d.reasons, "tcf:no-purpose-7-legal-basis")
    const li = eu(tcStrings.measureByLi)
    assert.isTrue(li.measurement)
    assert.isFalse(li.identifier)
  })

  it("rejecting everything, or consenting only for other vendors, allows nothing", () => {
    for (const tcf of [tcStrings.rejectAll, tcStrings.otherVendorOnly, tcStrings.notDisclosed]) {
      const d = eu(tcf)
      assert.deepStrictEqual(outcome(d), {
        ...everything,
        identifier: false,
        personalization: false,
        measurement: false
      })
    }
    assert.include(eu(tcStrings.otherVendorOnly).reasons, "tcf:no-vendor-consent")
    assert.include(eu(tcStrings.notDisclosed).reasons, "tcf:vendor-not-disclosed")
  })

  it("without a vendor id in the policy, no TC string grants anything", () => {
    const d = eu(tcStrings.full, Policy.default)
    assert.isFalse(d.identifier)
    assert.include(d.reasons, "tcf:no-vendor-id")
  })

  it("a malformed TC string fails closed and names the rule", () => {
    const cases = [
      [tcStrings.policyVersion3, "tcf:invalid:policy-version"],
      [tcStrings.globalScope, "tcf:invalid:service-specific"],
      [tcStrings.liForPurpose4, "tcf:invalid:legitimate-interest-3-6"],
      [tcStrings.cmpId0, "tcf:invalid:cmp-id"],
      [tcStrings.cmpId1, "tcf:invalid:cmp-id"],
      [tcStrings.garbage, "tcf:invalid:base64url-alphabet"],
      [`${tcStrings.full}=`, "tcf:invalid:base64url-padding"]
    ] as const
    for (const [tcf, reason] of cases) {
      const d = eu(tcf)
      assert.deepStrictEqual(outcome(d), {
        ...everything,
        identifier: false,
        personalization: false,
        measurement: false
      })
      assert.deepStrictEqual(d.reasons, [reason])
    }
  })

  it("a TC string inside GPP counts like one on its own", () => {
    assert.deepStrictEqual(outcome(decide(with_({ gpp: gppStrings.tcfFull }), "EU")), everything)
    assert.isFalse(decide(with_({ gpp: gppStrings.tcfRejectAll }), "EU").identifier)
    const invalid = decide(with_({ gpp: gppStrings.invalidTcfSection }), "EU")
    assert.isFalse(invalid.identifier)
    assert.include(invalid.reasons, "gpp:invalid:policy-version")
  })

  it("two TC strings: both must allow", () => {
    const d = decide(with_({ tcf: tcStrings.full, gpp: gppStrings.tcfRejectAll }), "EU")
    assert.isFalse(d.identifier)
  })
})

describe("Decision.decide: opt-outs", () => {
  const optedOut = { ...everything, identifier: false, personalization: false }

  it("GPC: no identifier, no personalization, measurement stays (identifier-free)", () => {
    for (const j of ["US-CA", "US", "unknown", "EU"] as const) {
      const d = decide(with_({ gpc: true, tcf: tcStrings.full }), j)
      assert.deepStrictEqual(outcome(d), optedOut, j)
      assert.include(d.reasons, "gpc")
    }
  })

  it("DNT is honoured by default and can be ignored by policy", () => {
    const d = decide(with_({ dnt: true }), "US-CA")
    assert.deepStrictEqual(outcome(d), optedOut)
    assert.deepStrictEqual(d.reasons, ["dnt"])
    assert.deepStrictEqual(outcome(decide(with_({ dnt: true }), "US-CA", { ...demo, dnt: "ignore" })), everything)
  })

  it("the opt-out cookie", () => {
    const d = decide(Signals.fromRequest({ cookie: "oa_optout=1" }), "unknown")
    assert.deepStrictEqual(outcome(d), optedOut)
    assert.deepStrictEqual(d.reasons, ["optout"])
  })

  it("GPP opt-outs, usnat versions 1 and 2 and state sections", () => {
    const cases = [
      [gppStrings.usnatSaleOptOut, "gpp:sale-opt-out"],
      [gppStrings.usnatV1SaleOptOut, "gpp:sale-opt-out"],
      [gppStrings.usnatTargetedOptOut, "gpp:targeted-advertising-opt-out"],
      [gppStrings.usnatGpc, "gpp:gpc"],
      [gppStrings.uscaSharingOptOut, "gpp:sharing-opt-out"],
      [gppStrings.usvaTargetedOptOut, "gpp:targeted-advertising-opt-out"],
      [gppStrings.uspv1OptOut, "gpp:usp-sale-opt-out"]
    ] as const
    for (const [gpp, reason] of cases) {
      const d = decide(with_({ gpp }), "US-CA")
      assert.deepStrictEqual(outcome(d), optedOut, reason)
      assert.include(d.reasons, reason)
    }
    for (const gpp of [gppStrings.usnatAllowed, gppStrings.uscaAllowed, gppStrings.usctAllowed]) {
      assert.deepStrictEqual(outcome(decide(with_({ gpp }), "US-CA")), everything)
    }
  })

  it("an applicable GPP section that is missing counts as a denial", () => {
    const d = decide(with_({ gpp: gppStrings.usnatAllowed, gppSid: [8] }), "US-CA")
    assert.isFalse(d.identifier)
    assert.include(d.reasons, "gpp:missing-section-8")
    assert.isTrue(decide(with_({ gpp: gppStrings.usnatAllowed, gppSid: [7] }), "US-CA").identifier)
    assert.deepStrictEqual(decide(with_({ gppSid: [7] }), "US-CA").reasons, ["gpp:missing"])
  })

  it("a malformed GPP string fails closed in every model", () => {
    for (const j of ["US-CA", "EU"] as const) {
      const d = decide(with_({ gpp: gppStrings.invalidHeader, tcf: tcStrings.full }), j)
      assert.isFalse(d.identifier)
      assert.include(d.reasons, "gpp:invalid:header-type")
    }
  })

  it("a malformed GPP string allows nothing: as GPC, and as a TC string allowing nothing (no measurement)", () => {
    const nothing = { ...everything, identifier: false, personalization: false, measurement: false }
    for (const j of ["US-CA", "US", "EU", "other", "unknown"] as const) {
      // Alone, beside a TC string granting everything, or beside a GPP-free US Privacy string.
      for (const extra of [{}, { tcf: tcStrings.full }, { usp: "1NNN" }]) {
        const d = decide(with_({ gpp: gppStrings.invalidHeader, ...extra }), j)
        assert.deepStrictEqual(outcome(d), nothing, `${j} ${JSON.stringify(extra)}`)
      }
    }
    // What the README's table says of it, next to GPC (which keeps identifier-free measurement).
    assert.isTrue(decide(with_({ gpc: true }), "US-CA").measurement)
    // A malformed US Privacy string can only have opted out of sale: as GPC, measurement stays.
    assert.deepStrictEqual(outcome(decide(with_({ usp: "1YY" }), "US-CA")), {
      ...everything,
      identifier: false,
      personalization: false
    })
  })

  it("legacy US Privacy strings", () => {
    assert.deepStrictEqual(decide(with_({ usp: "1YYN" }), "US-CA").reasons, ["usp:sale-opt-out"])
    assert.isTrue(decide(with_({ usp: "1YNN" }), "US-CA").identifier)
    assert.isTrue(decide(with_({ usp: "1---" }), "US-CA").identifier)
    assert.deepStrictEqual(decide(with_({ usp: "1YY" }), "US-CA").reasons, ["usp:invalid:length"])
  })

  it("conflicting strings for the same event fail closed", () => {
    const merged = Signals.merge(with_({ tcf: tcStrings.full }), with_({ tcf: tcStrings.noPurpose3 }))
    const d = decide(merged, "EU")
    assert.isFalse(d.identifier)
    assert.include(d.reasons, "tcf:conflict")
    const gpp = Signals.merge(with_({ gpp: gppStrings.usnatAllowed }), with_({ gpp: gppStrings.uscaAllowed }))
    assert.include(decide(gpp, "US-CA").reasons, "gpp:conflict")
    assert.isFalse(decide(gpp, "US-CA").identifier)
  })
})

describe("Decision.decide: gdprApplies", () => {
  const optInWithoutTc = { ...everything, identifier: false, personalization: false }

  it("a US-located visitor whose CMP says the GDPR applies, without a TC string, is not personalized", () => {
    for (const j of ["US-CA", "US", "unknown"] as const) {
      assert.isTrue(decide(none, j).personalization, `${j} without the flag (demo policy)`)
      const d = decide(with_({ gdprApplies: true }), j)
      assert.deepStrictEqual(outcome(d), optInWithoutTc, j)
      assert.strictEqual(d.model, "opt-in")
      assert.strictEqual(d.jurisdiction, j)
      assert.deepStrictEqual(d.reasons, ["tcf:missing"])
    }
  })

  it("gdpr=1 from a pixel URL and the tag's CMP answer are the same signal", () => {
    const fromUrl = Signals.merge(Signals.fromRequest({}), Signals.fromQuery(new URLSearchParams("gdpr=1")))
    const fromTag = Signals.fromEvent({ gdprApplies: true, gpc: false })
    for (const signals of [fromUrl, fromTag]) {
      assert.deepStrictEqual(outcome(decide(signals, "US-NY")), optInWithoutTc)
    }
  })

  it("with a TC string, the string decides as it would in the EU", () => {
    for (const j of ["US-CA", "EU"] as const) {
      assert.deepStrictEqual(outcome(decide(with_({ gdprApplies: true, tcf: tcStrings.full }), j)), everything)
      const rejected = decide(with_({ gdprApplies: true, tcf: tcStrings.noPurpose3 }), j)
      assert.isTrue(rejected.identifier)
      assert.isFalse(rejected.personalization)
      // A TC string with CmpId 1 is malformed: it allows nothing, here too.
      assert.isFalse(decide(with_({ gdprApplies: true, tcf: tcStrings.cmpId1 }), j).identifier)
    }
  })

  it("gdprApplies false never relaxes anything", () => {
    assert.deepStrictEqual(outcome(decide(with_({ gdprApplies: false }), "EU")), optInWithoutTc)
    assert.strictEqual(decide(with_({ gdprApplies: false }), "EU").model, "opt-in")
    assert.deepStrictEqual(outcome(decide(with_({ gdprApplies: false }), "US-CA")), everything)
    assert.isFalse(decide(with_({ gdprApplies: false }), "other", Policy.default).identifier)
  })

  it("the receipt records the flag when it was present", () => {
    const signals = with_({ gdprApplies: true })
    const receipt = Decision.receipt(decide(signals, "US-CA"), signals)
    assert.isTrue(receipt.signals.gdprApplies)
    assert.strictEqual(receipt.model, "opt-in")
    assert.isFalse(receipt.decision.personalization)
    assert.isFalse("gdprApplies" in Decision.receipt(decide(none, "US-CA"), none).signals)
    assert.isTrue(Schema.is(Decision.Receipt)(receipt))
  })
})

describe("Decision.decide: child signals", () => {
  const childOutcome = { ...everything, identifier: false, personalization: false, child: true }

  it("a child-directed tenant, a COPPA flag or a GPP known child: never an identifier, even with consent", () => {
    const site = decide(with_({ tcf: tcStrings.full }), "EU", { ...demo, childDirected: true })
    assert.deepStrictEqual(outcome(site), childOutcome)
    assert.deepStrictEqual(site.reasons, ["child:site"])
    const coppa = decide(with_({ coppa: true }), "US-CA")
    assert.deepStrictEqual(outcome(coppa), childOutcome)
    assert.deepStrictEqual(coppa.reasons, ["child:coppa"])
    const gpp = decide(with_({ gpp: gppStrings.usnatKnownChild }), "US-CA")
    assert.deepStrictEqual(outcome(gpp), childOutcome)
    assert.includeMembers([...gpp.reasons], ["child:gpp", "gpp:known-child"])
  })
})

describe("Decision.decide: what happens to events that may not be kept with an identifier", () => {
  it("counted: kept without identifier", () => {
    const d = decide(with_({ gpc: true }), "US-CA", { ...demo, allowIdentifierFreeEvents: false, disallowed: "count" })
    assert.deepStrictEqual(outcome(d), { ...everything, identifier: false, personalization: false, measurement: false })
    assert.include(d.reasons, "policy:no-identifier-free-events")
  })

  it("dropped: only when nothing at all may be done", () => {
    const drop: Policy.Policy = { ...demo, disallowed: "drop" }
    // Identifier-free measurement is still allowed: keep it.
    assert.isTrue(decide(with_({ gpc: true }), "US-CA", drop).collect)
    const nothing = decide(with_({ gpc: true }), "US-CA", { ...drop, allowIdentifierFreeEvents: false })
    assert.isFalse(nothing.collect)
    assert.include(nothing.reasons, "policy:drop")
    const rejected = decide(with_({ tcf: tcStrings.rejectAll }), "EU", drop)
    assert.isFalse(rejected.collect)
    assert.isTrue(decide(with_({ tcf: tcStrings.full }), "EU", drop).collect)
  })
})

describe("Decision.receipt", () => {
  it("records the policy, which signals were seen (never the strings) and the decision", () => {
    const signals = with_({ gpc: true, tcf: tcStrings.full, gpp: gppStrings.usnatSaleOptOut, gppSid: [7] })
    const d = decide(signals, "US-CA")
    const receipt = Decision.receipt(d, signals)
    assert.deepStrictEqual(receipt, {
      v: 1,
      policy: Policy.BuiltInVersion,
      model: "opt-out",
      jurisdiction: "US-CA",
      signals: { gpc: true, dnt: false, optout: false, coppa: false, tcf: true, gpp: true, usp: false, gppSid: [7] },
      decision: {
        collect: true,
        identifier: false,
        personalization: false,
        measurement: true,
        child: false,
        reasons: ["gpc", "gpp:sale-opt-out"]
      }
    })
    const json = JSON.stringify(receipt)
    assert.notInclude(json, tcStrings.full.slice(0, 12))
    assert.notInclude(json, gppStrings.usnatSaleOptOut.split("~")[1]!)
    assert.isTrue(Schema.is(Decision.Receipt)(receipt))
    assert.isBelow(json.length, 400)
  })
})

// ---------------------------------------------------------------------------------------------------------------
// Properties

const jurisdictions: fc.Arbitrary<Jurisdiction.Jurisdiction> = fc.constantFrom(
  "EU",
  "US",
  "US-CA",
  "US-CO",
  "other",
  "unknown"
)

const policies: fc.Arbitrary<Policy.Policy> = fc.record({
  version: fc.constant("2026-11-29.1"),
  vendorId: fc.constantFrom(1_000, 755),
  us: fc.constantFrom("opt-in" as const, "opt-out" as const),
  default: fc.constantFrom("opt-in" as const, "opt-out" as const),
  unknown: fc.constantFrom("opt-in" as const, "opt-out" as const),
  dnt: fc.constantFrom("opt-out" as const, "ignore" as const),
  disallowed: fc.constantFrom("drop" as const, "count" as const),
  childDirected: fc.boolean(),
  allowIdentifierFreeEvents: fc.boolean()
})

const anyTc = fc.constantFrom(...Object.values(tcStrings))
const anyGpp = fc.constantFrom(...Object.values(gppStrings))

/** Signals from the realistic pools, with GPP section ids only alongside a GPP string. */
const baseSignals: fc.Arbitrary<Signals.Signals> = fc
  .record(
    {
      gpc: fc.boolean(),
      dnt: fc.boolean(),
      optout: fc.boolean(),
      tcf: anyTc,
      gpp: anyGpp,
      usp: fc.constantFrom(...uspStrings),
      coppa: fc.boolean(),
      gdprApplies: fc.boolean(),
      gppSid: fc.uniqueArray(fc.constantFrom(2, 6, 7, 8, 9), { maxLength: 2 })
    },
    { requiredKeys: ["gpc", "dnt", "optout"] }
  )
  .map((s) => {
    if (s.gpp === undefined || s.gppSid === undefined || s.gppSid.length === 0) {
      const { gppSid: _gppSid, ...rest } = s
      return rest
    }
    return { ...s, gppSid: [...s.gppSid].sort((a, b) => a - b) }
  })

/** One more restriction: a signal that may only ever narrow what is allowed. */
type Restriction =
  | { readonly kind: "signals"; readonly signals: Signals.Signals }
  | { readonly kind: "policy"; readonly change: (p: Policy.Policy) => Policy.Policy }

const restrictions: fc.Arbitrary<Restriction> = fc.oneof(
  fc.constantFrom<Restriction>(
    { kind: "signals", signals: with_({ gpc: true }) },
    { kind: "signals", signals: with_({ optout: true }) },
    { kind: "signals", signals: with_({ dnt: true }) },
    { kind: "signals", signals: with_({ coppa: true }) },
    { kind: "signals", signals: with_({ gdprApplies: true }) },
    { kind: "policy", change: (p) => ({ ...p, childDirected: true }) },
    { kind: "policy", change: (p) => ({ ...p, dnt: "opt-out" }) },
    { kind: "policy", change: (p) => ({ ...p, disallowed: "drop" }) },
    { kind: "policy", change: (p) => ({ ...p, allowIdentifierFreeEvents: false }) }
  ),
  fc.constantFrom(...uspStrings).map((usp): Restriction => ({ kind: "signals", signals: with_({ usp }) })),
  fc.constantFrom(...restrictingGpp).map((gpp): Restriction => ({ kind: "signals", signals: with_({ gpp }) }))
)

describe("Decision properties", () => {
  it.prop(
    "most restrictive wins: adding any restricting signal never widens the decision",
    [baseSignals, policies, jurisdictions, fc.array(restrictions, { minLength: 1, maxLength: 3 })],
    ([signals, policy, jurisdiction, added]) => {
      const before = Decision.decide(signals, policy, jurisdiction)
      let s = signals
      let p = policy
      for (const r of added) {
        if (r.kind === "signals") s = Signals.merge(s, r.signals)
        else p = r.change(p)
      }
      const after = Decision.decide(s, p, jurisdiction)
      assert.isTrue(
        Decision.isWithin(after, before),
        `${JSON.stringify(outcome(before))} → ${JSON.stringify(outcome(after))} ${after.reasons.join(",")}`
      )
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "never an identifier (nor personalization) with GPC, an opt-out, a child signal, or DNT under the default policy",
    [baseSignals, policies, jurisdictions],
    ([signals, policy, jurisdiction]) => {
      const p = { ...policy, dnt: "opt-out" as const }
      const d = Decision.decide(signals, p, jurisdiction)
      const childGpp =
        signals.gpp !== undefined &&
        Either.getOrUndefined(Gpp.decode(signals.gpp))?.us.some((s) => s.signals.knownChild) === true
      if (signals.gpc || signals.optout || signals.dnt || signals.coppa === true || p.childDirected || childGpp) {
        assert.isFalse(d.identifier)
        assert.isFalse(d.personalization)
      }
      if (signals.coppa === true || p.childDirected || childGpp) assert.isTrue(d.child)
      if (d.personalization) assert.isTrue(d.identifier)
      if (!d.collect) assert.isFalse(d.identifier || d.measurement || d.personalization)
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "a malformed GPP string never allows more than any readable GPP string in its place",
    [baseSignals, policies, jurisdictions, anyGpp.chain(mutations), anyGpp],
    ([signals, policy, jurisdiction, garbled, readable]) => {
      fc.pre(Either.isLeft(Gpp.decode(garbled)))
      const { gppSid: _gppSid, ...rest } = signals
      const malformed = Decision.decide({ ...rest, gpp: garbled }, policy, jurisdiction)
      const valid = Decision.decide({ ...rest, gpp: readable }, policy, jurisdiction)
      assert.isTrue(
        Decision.isWithin(malformed, valid),
        `${JSON.stringify(outcome(malformed))} vs ${JSON.stringify(outcome(valid))}`
      )
      assert.isFalse(malformed.identifier || malformed.personalization || malformed.measurement)
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "gdprApplies true is never less restrictive than the jurisdiction's own model",
    [baseSignals, policies, jurisdictions],
    ([signals, policy, jurisdiction]) => {
      const flagged = Decision.decide({ ...signals, gdprApplies: true }, policy, jurisdiction)
      const { gdprApplies: _flag, ...unflagged } = signals
      assert.isTrue(Decision.isWithin(flagged, Decision.decide(unflagged, policy, jurisdiction)))
      assert.strictEqual(flagged.model, "opt-in")
      if (signals.tcf === undefined && signals.gpp === undefined) assert.isFalse(flagged.identifier)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "malformed strings never throw and fail closed",
    [
      fc.oneof(fc.string({ maxLength: 120 }), anyTc.chain(mutations)),
      fc.oneof(fc.string({ maxLength: 120 }), anyGpp.chain(mutations)),
      fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(...uspStrings)),
      policies,
      jurisdictions
    ],
    ([tcf, gpp, usp, policy, jurisdiction]) => {
      const signals = with_({ tcf, gpp, usp })
      const d = Decision.decide(signals, policy, jurisdiction)
      assert.isTrue(Schema.is(Decision.ConsentDecision)(d))
      if (Either.isLeft(Tcf.decode(tcf))) {
        assert.isFalse(d.identifier)
        assert.isTrue(d.reasons.some((r) => r.startsWith("tcf:invalid:")))
      }
      if (Either.isLeft(Gpp.decode(gpp))) {
        assert.isFalse(d.identifier)
        assert.isTrue(d.reasons.some((r) => r.startsWith("gpp:invalid:")))
      }
    },
    { fastCheck: { numRuns: 1000 } }
  )
})

describe("Decision.receipts", () => {
  it("gives the receipt itself, and the same object exactly when the receipts are equal (property)", () => {
    const input = fc.record({ signals: baseSignals, policy: policies, jurisdiction: jurisdictions })
    fc.assert(
      fc.property(fc.array(input, { minLength: 2, maxLength: 12 }), (inputs) => {
        const memo = Decision.receipts()
        const made = inputs.map(({ signals, policy, jurisdiction }) => {
          const decision = Decision.decide(signals, policy, jurisdiction)
          const remembered = memo(decision, signals)
          assert.deepStrictEqual(remembered, Decision.receipt(decision, signals))
          return remembered
        })
        for (const a of made)
          for (const b of made) {
            const equal = JSON.stringify(a) === JSON.stringify(b)
            assert.strictEqual(a === b, equal, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
          }
      }),
      { numRuns: 300 }
    )
  })

  it("forgets everything when full, and receipts stay correct", () => {
    const memo = Decision.receipts(2)
    const signals = with_({})
    const eu = Decision.decide(signals, Policy.demo, "EU")
    const us = Decision.decide(signals, Policy.demo, "US")
    const other = Decision.decide(signals, Policy.demo, "other")
    const first = memo(eu, signals)
    memo(us, signals)
    memo(other, signals)
    const again = memo(eu, signals)
    assert.notStrictEqual(again, first)
    assert.deepStrictEqual(again, Decision.receipt(eu, signals))
    assert.isTrue(Object.isFrozen(again) && Object.isFrozen(again.decision))
  })
})
