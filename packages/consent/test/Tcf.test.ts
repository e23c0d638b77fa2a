import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as Tcf from "../src/Tcf.js"
import { Core, getInt, inSegment, setInt } from "./fixtures/bits.js"
import { mutations } from "./fixtures/mutations.js"
import { expand, fullConsent, idsOf, referenceTc, type TcOptions, tcString, VENDOR } from "./fixtures/reference.js"

const decoded = (tc: string): Tcf.TcData => {
  const result = Tcf.decode(tc)
  if (Either.isLeft(result)) assert.fail(`${result.left.message}\n${tc}`)
  return result.right
}

const rule = (tc: string): string => {
  const result = Tcf.decode(tc)
  if (Either.isRight(result)) assert.fail(`expected ${tc} to be rejected`)
  assert.strictEqual(result.left._tag, "ConsentStringError")
  assert.strictEqual(result.left.format, "tcf")
  return result.left.rule
}

const explain = (o: TcOptions) => Tcf.explain(decoded(tcString(o)), VENDOR)

const ids = (max: number) => fc.uniqueArray(fc.integer({ min: 1, max }), { maxLength: 40 })

const options: fc.Arbitrary<TcOptions> = fc.record(
  {
    policyVersion: fc.integer({ min: 4, max: 63 }),
    cmpId: fc.integer({ min: 2, max: 4095 }),
    cmpVersion: fc.integer({ min: 0, max: 4095 }),
    consentScreen: fc.integer({ min: 0, max: 63 }),
    vendorListVersion: fc.integer({ min: 1, max: 4095 }),
    consentLanguage: fc.constantFrom("EN", "DE", "FR", "ZH", "PT"),
    publisherCountryCode: fc.constantFrom("DE", "FR", "AA", "ZZ"),
    purposeOneTreatment: fc.boolean(),
    useNonStandardTexts: fc.boolean(),
    purposeConsents: fc.uniqueArray(fc.integer({ min: 1, max: 24 })),
    purposeLegitimateInterests: fc.uniqueArray(fc.constantFrom(2, 7, 8, 9, 10, 11, 24)),
    vendorConsents: fc.oneof(
      ids(3000),
      fc.integer({ min: 1, max: 2000 }).map((n) => Array.from({ length: n }, (_, i) => i + 1))
    ),
    vendorLegitimateInterests: ids(1200),
    specialFeatureOptIns: fc.uniqueArray(fc.integer({ min: 1, max: 12 })),
    disclosedVendors: ids(2500),
    publisherRestrictions: fc.array(
      fc.record({
        purposeId: fc.integer({ min: 2, max: 10 }),
        restrictionType: fc.constantFrom(0 as const, 1 as const, 2 as const),
        vendors: fc.uniqueArray(fc.integer({ min: 1, max: 1500 }), { minLength: 1, maxLength: 8 })
      }),
      { maxLength: 3 }
    ),
    publisher: fc.record({
      consents: fc.uniqueArray(fc.integer({ min: 1, max: 24 })),
      legitimateInterests: fc.uniqueArray(fc.integer({ min: 1, max: 24 })),
      numCustomPurposes: fc.integer({ min: 0, max: 10 })
    })
  },
  { requiredKeys: ["policyVersion", "purposeConsents", "vendorConsents"] }
)

describe("Tcf.decode agrees with the reference decoder on strings the reference encoder built", () => {
  it.prop(
    "every field",
    [options],
    ([o]) => {
      const tc = tcString(o)
      const mine = decoded(tc)
      const ref = referenceTc(tc)
      assert.strictEqual(mine.policyVersion, ref.policyVersion)
      assert.strictEqual(mine.cmpId, ref.cmpId)
      assert.strictEqual(mine.cmpVersion, ref.cmpVersion)
      assert.strictEqual(mine.consentScreen, ref.consentScreen)
      assert.strictEqual(mine.vendorListVersion, ref.vendorListVersion)
      assert.strictEqual(mine.consentLanguage, ref.consentLanguage.toUpperCase())
      assert.strictEqual(mine.publisherCountryCode, ref.publisherCountryCode)
      assert.strictEqual(mine.purposeOneTreatment, ref.purposeOneTreatment)
      assert.strictEqual(mine.useNonStandardTexts, ref.useNonStandardStacks)
      assert.strictEqual(mine.isServiceSpecific, ref.isServiceSpecific)
      assert.strictEqual(mine.created, ref.created.getTime())
      assert.strictEqual(mine.lastUpdated, ref.lastUpdated.getTime())
      assert.deepStrictEqual(mine.purposeConsents, idsOf(ref.purposeConsents))
      assert.deepStrictEqual(mine.purposeLegitimateInterests, idsOf(ref.purposeLegitimateInterests))
      assert.deepStrictEqual(mine.specialFeatureOptIns, idsOf(ref.specialFeatureOptins))
      assert.deepStrictEqual(expand(mine.vendorConsents.ranges), idsOf(ref.vendorConsents))
      assert.deepStrictEqual(expand(mine.vendorLegitimateInterests.ranges), idsOf(ref.vendorLegitimateInterests))
      if (o.disclosedVendors !== undefined) {
        assert.deepStrictEqual(expand(mine.disclosedVendors!.ranges), idsOf(ref.vendorsDisclosed))
      } else {
        assert.isUndefined(mine.disclosedVendors)
      }
      for (const r of mine.publisherRestrictions) {
        for (const vendor of expand(r.vendors)) {
          const refRestrictions = ref.publisherRestrictions.getRestrictions(vendor)
          assert.isTrue(
            refRestrictions.some((x) => x.purposeId === r.purposeId && x.restrictionType === r.restrictionType),
            `restriction ${r.purposeId}/${r.restrictionType} for vendor ${vendor}`
          )
        }
      }
      assert.strictEqual(
        mine.publisherRestrictions.reduce((n, r) => n + expand(r.vendors).length, 0),
        ref.publisherRestrictions
          .getRestrictions()
          .reduce((n, r) => n + ref.publisherRestrictions.getVendors(r).length, 0)
      )
      if (o.publisher !== undefined) {
        assert.deepStrictEqual(mine.publisherTc!.purposeConsents, idsOf(ref.publisherConsents))
        assert.deepStrictEqual(mine.publisherTc!.purposeLegitimateInterests, idsOf(ref.publisherLegitimateInterests))
        assert.strictEqual(mine.publisherTc!.numCustomPurposes, ref.numCustomPurposes)
      } else {
        assert.isUndefined(mine.publisherTc)
      }
    },
    { fastCheck: { numRuns: 150 } }
  )
})

describe("Tcf purposes map to activities the way Prebid's TCF enforcement does", () => {
  it("full consent allows every activity", () => {
    assert.deepStrictEqual(explain(fullConsent), {
      activities: {
        storeIdentifiers: true,
        basicAds: true,
        personalizeAds: true,
        measure: true,
        preciseGeolocation: true
      },
      reasons: []
    })
  })

  it("purpose 1 consent and vendor consent → storing identifiers", () => {
    const noP1 = explain({ ...fullConsent, purposeConsents: [2, 3, 4, 7] })
    assert.isFalse(noP1.activities.storeIdentifiers)
    assert.include(noP1.reasons, "tcf:no-purpose-1-consent")
    assert.isTrue(noP1.activities.personalizeAds)
    const noVendor = explain({ ...fullConsent, vendorConsents: [755] })
    assert.isFalse(noVendor.activities.storeIdentifiers)
    assert.include(noVendor.reasons, "tcf:no-vendor-consent")
    // Legitimate interest never stands in for purpose 1, even with vendor LI.
    const liOnly = explain({ purposeLegitimateInterests: [2, 7], vendorLegitimateInterests: [VENDOR] })
    assert.isFalse(liOnly.activities.storeIdentifiers)
  })

  it("purpose 2 allows basic ads by consent or by legitimate interest", () => {
    const li = explain({
      purposeConsents: [1, 3, 4],
      purposeLegitimateInterests: [2],
      vendorConsents: [VENDOR],
      vendorLegitimateInterests: [VENDOR]
    })
    assert.isTrue(li.activities.basicAds)
    assert.isTrue(li.activities.personalizeAds)
    const none = explain({ purposeConsents: [1, 3, 4], vendorConsents: [VENDOR], vendorLegitimateInterests: [VENDOR] })
    assert.isFalse(none.activities.basicAds)
    assert.isFalse(none.activities.personalizeAds)
    assert.include(none.reasons, "tcf:no-purpose-2-legal-basis")
  })

  it("purposes 3 and 4 need consent for personalization", () => {
    for (const missing of [3, 4]) {
      const e = explain({ ...fullConsent, purposeConsents: [1, 2, 3, 4, 7].filter((p) => p !== missing) })
      assert.isFalse(e.activities.personalizeAds, `without purpose ${missing}`)
      assert.isTrue(e.activities.basicAds)
      assert.isTrue(e.activities.storeIdentifiers)
      assert.include(e.reasons, `tcf:no-purpose-${missing}-consent`)
    }
  })

  it("purpose 7 allows measurement by consent or by legitimate interest", () => {
    const byConsent = explain({ purposeConsents: [7], vendorConsents: [VENDOR] })
    assert.isTrue(byConsent.activities.measure)
    const byLi = explain({ purposeLegitimateInterests: [7], vendorLegitimateInterests: [VENDOR] })
    assert.isTrue(byLi.activities.measure)
    assert.isFalse(byLi.activities.storeIdentifiers)
    const none = explain({ purposeConsents: [1, 2, 3, 4], vendorConsents: [VENDOR] })
    assert.isFalse(none.activities.measure)
    assert.include(none.reasons, "tcf:no-purpose-7-legal-basis")
  })

  it("purpose and vendor must share the legal basis", () => {
    // Purpose 7 by consent but the vendor only has legitimate interest: no common basis.
    const mixed = explain({ purposeConsents: [7], vendorLegitimateInterests: [VENDOR] })
    assert.isFalse(mixed.activities.measure)
    assert.include(mixed.reasons, "tcf:no-vendor-legal-basis")
  })

  it("special feature 1 opt-in and vendor consent → precise geolocation", () => {
    assert.isFalse(explain({ ...fullConsent, specialFeatureOptIns: [2] }).activities.preciseGeolocation)
    assert.include(explain({ ...fullConsent, specialFeatureOptIns: [] }).reasons, "tcf:no-special-feature-1-opt-in")
    assert.isFalse(explain({ ...fullConsent, vendorConsents: [755] }).activities.preciseGeolocation)
  })

  it("a disclosed-vendors segment without our vendor denies everything", () => {
    const e = explain({ ...fullConsent, disclosedVendors: [755] })
    assert.deepStrictEqual(e.activities, Tcf.none)
    assert.deepStrictEqual(e.reasons, ["tcf:vendor-not-disclosed"])
    assert.isTrue(explain({ ...fullConsent, disclosedVendors: [755, VENDOR] }).activities.personalizeAds)
  })

  it("publisher restrictions narrow the legal basis", () => {
    const notAllowed = explain({
      ...fullConsent,
      publisherRestrictions: [{ purposeId: 2, restrictionType: 0, vendors: [VENDOR] }]
    })
    assert.isFalse(notAllowed.activities.basicAds)
    assert.include(notAllowed.reasons, "tcf:publisher-restriction-purpose-2")
    const otherVendor = explain({
      ...fullConsent,
      publisherRestrictions: [{ purposeId: 2, restrictionType: 0, vendors: [755] }]
    })
    assert.isTrue(otherVendor.activities.basicAds)
    // Requiring consent rules out legitimate interest for purpose 7.
    const requireConsent = explain({
      purposeLegitimateInterests: [7],
      vendorLegitimateInterests: [VENDOR],
      publisherRestrictions: [{ purposeId: 7, restrictionType: 1, vendors: [VENDOR] }]
    })
    assert.isFalse(requireConsent.activities.measure)
    // Requiring legitimate interest rules out consent for purpose 7.
    const requireLi = explain({
      purposeConsents: [7],
      vendorConsents: [VENDOR],
      publisherRestrictions: [{ purposeId: 7, restrictionType: 2, vendors: [VENDOR] }]
    })
    assert.isFalse(requireLi.activities.measure)
  })

  it("activities is explain without the reasons", () => {
    const tc = decoded(tcString({ ...fullConsent, purposeConsents: [1] }))
    assert.deepStrictEqual(Tcf.activities(tc, VENDOR), Tcf.explain(tc, VENDOR).activities)
  })
})

describe("Tcf.decode validates what the specification requires, naming the rule", () => {
  const valid = tcString({ ...fullConsent, disclosedVendors: [VENDOR], publisher: { consents: [1] } })

  it("accepts the valid baseline", () => {
    decoded(valid)
  })

  it("version must be 2", () => {
    assert.strictEqual(getInt(valid, Core.version, 6), 2)
    assert.strictEqual(rule(inSegment(valid, 0, (s) => setInt(s, Core.version, 6, 1))), "version")
    assert.strictEqual(rule(inSegment(valid, 0, (s) => setInt(s, Core.version, 6, 3))), "version")
  })

  it("policy version must be at least 4", () => {
    assert.strictEqual(rule(tcString({ ...fullConsent, policyVersion: 3 })), "policy-version")
    assert.strictEqual(rule(inSegment(valid, 0, (s) => setInt(s, Core.policyVersion, 6, 2))), "policy-version")
    decoded(tcString({ ...fullConsent, policyVersion: 4 }))
  })

  it("no legitimate interest for purposes 3 to 6", () => {
    for (const purpose of [3, 4, 5, 6]) {
      assert.strictEqual(
        rule(tcString({ ...fullConsent, purposeLegitimateInterests: [2, purpose] })),
        "legitimate-interest-3-6"
      )
      assert.strictEqual(
        rule(inSegment(valid, 0, (s) => setInt(s, Core.purposeLegitimateInterests + purpose - 1, 1, 1))),
        "legitimate-interest-3-6"
      )
    }
  })

  it("the CMP id must be one IAB assigns: 0 and 1 fail closed like any malformed string", () => {
    assert.strictEqual(getInt(valid, Core.cmpId, 12), 31)
    const withCmpId = (id: number) => inSegment(valid, 0, (s) => setInt(s, Core.cmpId, 12, id))
    for (const id of [0, 1]) {
      // The reference decoder refuses it too.
      assert.throws(() => referenceTc(withCmpId(id)))
      assert.strictEqual(rule(withCmpId(id)), "cmp-id")
    }
    for (const id of [Tcf.MinCmpId, 3, 4095]) assert.strictEqual(decoded(withCmpId(id)).cmpId, id)
    for (const id of [2, 300]) assert.strictEqual(decoded(tcString({ ...fullConsent, cmpId: id })).cmpId, id)
  })

  it.prop(
    "every CMP id below 2 is rejected whatever else the string says",
    [options, fc.constantFrom(0, 1)],
    ([o, id]) => {
      assert.strictEqual(rule(inSegment(tcString(o), 0, (s) => setInt(s, Core.cmpId, 12, id))), "cmp-id")
    },
    { fastCheck: { numRuns: 50 } }
  )

  it("must be service-specific", () => {
    assert.strictEqual(rule(tcString({ ...fullConsent, isServiceSpecific: false })), "service-specific")
    assert.strictEqual(rule(inSegment(valid, 0, (s) => setInt(s, Core.isServiceSpecific, 1, 0))), "service-specific")
  })

  it("vendor ids must lie within 1..MaxVendorId", () => {
    // 1..600 is one range entry: the encoder picks range encoding.
    const ranged = tcString({ ...fullConsent, vendorConsents: Array.from({ length: 600 }, (_, i) => i + 1) })
    assert.strictEqual(getInt(ranged, Core.vendorConsents, 16), 600)
    assert.strictEqual(getInt(ranged, Core.vendorConsents + 16, 1), 1)
    decoded(ranged)
    // Declare a maximum of 100 while the range still ends at 600.
    assert.strictEqual(rule(inSegment(ranged, 0, (s) => setInt(s, Core.vendorConsents, 16, 100))), "vendor-range")
    // A range starting at vendor 0: entries start after NumEntries (12 bits) and IsARange (1 bit).
    const start = Core.vendorConsents + 16 + 1 + 12 + 1
    assert.strictEqual(getInt(ranged, start, 16), 1)
    assert.strictEqual(rule(inSegment(ranged, 0, (s) => setInt(s, start, 16, 0))), "vendor-range")
    // A reversed range.
    assert.strictEqual(rule(inSegment(ranged, 0, (s) => setInt(s, start, 16, 601))), "vendor-range")
  })

  it("base64url without padding and without characters outside the alphabet", () => {
    assert.strictEqual(rule(`${valid}=`), "base64url-padding")
    assert.strictEqual(rule(`${valid.slice(0, 10)}+${valid.slice(11)}`), "base64url-alphabet")
    assert.strictEqual(rule(`${valid.slice(0, 10)}/${valid.slice(11)}`), "base64url-alphabet")
    assert.strictEqual(rule(`${valid.slice(0, 10)} ${valid.slice(11)}`), "base64url-alphabet")
    assert.strictEqual(rule(`${valid.slice(0, 10)}é${valid.slice(11)}`), "base64url-alphabet")
  })

  it("no trailing garbage beyond the declared fields", () => {
    const core = valid.split(".")[0]!
    const rest = valid.slice(core.length)
    // One more non-zero character: data where only padding may be.
    assert.strictEqual(rule(`${core}B${rest}`), "trailing-bits")
    // Four zero characters: 24 bits, more padding than any encoder adds.
    assert.strictEqual(rule(`${core}AAAA${rest}`), "trailing-bits")
    assert.strictEqual(rule(`${valid}B`), "trailing-bits")
    assert.strictEqual(rule(`${valid}AAAA`), "trailing-bits")
  })

  it("truncated strings are rejected", () => {
    assert.strictEqual(rule(valid.slice(0, 1)), "truncated")
    assert.strictEqual(rule(valid.slice(0, 30)), "truncated")
    const core = valid.split(".")[0]!
    assert.strictEqual(rule(core.slice(0, core.length - 4)), "truncated")
  })

  it("segment types must be known: core, disclosed vendors, publisher TC", () => {
    const [core, disclosed] = valid.split(".") as [string, string, string]
    assert.strictEqual(getInt(disclosed, 0, 3), 1)
    for (const type of [2, 4, 5, 6, 7]) {
      assert.strictEqual(rule(`${core}.${setInt(disclosed, 0, 3, type)}`), "segment-type")
    }
    assert.strictEqual(rule(`${core}.${core}`), "segment-duplicate")
    assert.strictEqual(rule(`${core}.${disclosed}.${disclosed}`), "segment-duplicate")
    assert.strictEqual(rule(`${core}..${disclosed}`), "segment-empty")
    assert.strictEqual(rule(`${core}.`), "segment-empty")
  })

  it("publisher restrictions name a purpose 1–24 and a defined restriction type", () => {
    // With no vendors in either vendor section, the restrictions start right after them.
    const tc = tcString({ publisherRestrictions: [{ purposeId: 2, restrictionType: 1, vendors: [5] }] })
    const restrictions = Core.vendorConsents + 17 + 17
    assert.strictEqual(getInt(tc, restrictions, 12), 1)
    assert.strictEqual(getInt(tc, restrictions + 12, 6), 2)
    assert.strictEqual(getInt(tc, restrictions + 18, 2), 1)
    decoded(tc)
    assert.strictEqual(rule(setInt(tc, restrictions + 18, 2, 3)), "restriction-type")
    assert.strictEqual(rule(setInt(tc, restrictions + 12, 6, 0)), "restriction-purpose")
    assert.strictEqual(rule(setInt(tc, restrictions + 12, 6, 25)), "restriction-purpose")
  })

  it("language and country codes are letters", () => {
    assert.strictEqual(rule(inSegment(valid, 0, (s) => setInt(s, Core.consentLanguage, 6, 26))), "language")
    assert.strictEqual(
      rule(inSegment(valid, 0, (s) => setInt(s, Core.publisherCountryCode + 6, 6, 63))),
      "publisher-country"
    )
  })

  it("empty and oversized strings are rejected", () => {
    assert.strictEqual(rule(""), "empty")
    assert.strictEqual(rule("C".repeat(Tcf.MaxLength + 1)), "too-long")
  })

  it("the core segment alone is a valid TCF 2.2 string; TCF 2.3 adds disclosed vendors", () => {
    const core = decoded(valid.split(".")[0]!)
    assert.isUndefined(core.disclosedVendors)
    assert.deepStrictEqual(decoded(valid).disclosedVendors, { maxVendorId: VENDOR, ranges: [[VENDOR, VENDOR]] })
  })

  it("the error message names the rule", () => {
    const result = Tcf.decode(tcString({ ...fullConsent, policyVersion: 2 }))
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "policy-version")
  })
})

describe("Tcf.decode on hostile input", () => {
  const valid = tcString({ ...fullConsent, disclosedVendors: [VENDOR, 3], publisher: { consents: [1, 2] } })

  const assertSound = (tc: string) => {
    const result = Tcf.decode(tc)
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left._tag, "ConsentStringError")
      assert.include(Tcf.Rule.literals as ReadonlyArray<string>, result.left.rule)
      return
    }
    // Whatever got through satisfies every rule.
    const data = result.right
    assert.isAtLeast(data.policyVersion, 4)
    assert.isAtLeast(data.cmpId, Tcf.MinCmpId)
    assert.isTrue(data.isServiceSpecific)
    assert.isFalse(data.purposeLegitimateInterests.some((p) => p >= 3 && p <= 6))
    for (const set of [data.vendorConsents, data.vendorLegitimateInterests, data.disclosedVendors]) {
      for (const [start, end] of set?.ranges ?? []) {
        assert.isTrue(start >= 1 && start <= end && end <= set!.maxVendorId)
      }
    }
    assert.doesNotThrow(() => Tcf.explain(data, VENDOR))
  }

  it.prop("random strings never throw", [fc.string({ maxLength: 300 })], ([s]) => assertSound(s), {
    fastCheck: { numRuns: 500 }
  })

  it.prop(
    "random base64url strings never throw",
    [
      fc.string({
        unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
        maxLength: 400
      })
    ],
    ([s]) => assertSound(`C${s}`),
    { fastCheck: { numRuns: 500 } }
  )

  it.prop("mutated valid strings never throw", [mutations(valid)], ([s]) => assertSound(s), {
    fastCheck: { numRuns: 1000 }
  })

  it("vendor sets are kept as ranges, so 65,535 vendors cost one entry", () => {
    const tc = tcString({ vendorConsents: Array.from({ length: 65_535 }, (_, i) => i + 1), purposeConsents: [1] })
    assert.deepStrictEqual(decoded(tc).vendorConsents, { maxVendorId: 65_535, ranges: [[1, 65_535]] })
    assert.isTrue(Tcf.hasVendor(decoded(tc).vendorConsents, 65_535))
    assert.isFalse(Tcf.hasVendor(decoded(tc).vendorConsents, 65_536))
    const sparse = tcString({ vendorConsents: [3, 5, 6, 7, 900], purposeConsents: [1] })
    assert.deepStrictEqual(decoded(sparse).vendorConsents.ranges, [
      [3, 3],
      [5, 7],
      [900, 900]
    ])
    for (const id of [3, 5, 6, 7, 900]) assert.isTrue(Tcf.hasVendor(decoded(sparse).vendorConsents, id))
    for (const id of [1, 2, 4, 8, 899, 901]) assert.isFalse(Tcf.hasVendor(decoded(sparse).vendorConsents, id))
  })
})
