import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as Gpp from "../src/Gpp.js"
import * as Tcf from "../src/Tcf.js"
import { getInt, setInt } from "./fixtures/bits.js"
import {
  fullConsent,
  gppString,
  referenceGpp,
  tcString,
  type UsSectionSpec,
  usSections,
  VENDOR
} from "./fixtures/reference.js"
import { mutations } from "./fixtures/mutations.js"

const decoded = (gpp: string): Gpp.GppData => {
  const result = Gpp.decode(gpp)
  if (Either.isLeft(result)) assert.fail(`${result.left.message}\n${gpp}`)
  return result.right
}

const failure = (gpp: string): { rule: string; section: number | undefined } => {
  const result = Gpp.decode(gpp)
  if (Either.isRight(result)) assert.fail(`expected ${gpp} to be rejected`)
  assert.strictEqual(result.left._tag, "ConsentStringError")
  return { rule: result.left.rule, section: result.left.section }
}

const section = (gpp: string, name: string): Gpp.MspaSection => {
  const found = decoded(gpp).us.find((s) => s.name === name)
  if (found === undefined) assert.fail(`no ${name} section in ${gpp}`)
  return found
}

/** The sections of a GPP string, split on `~` (index 0 is the header). */
const parts = (gpp: string) => gpp.split("~")

const specs = usSections()

const value = (field: string): fc.Arbitrary<number> =>
  field === "MspaCoveredTransaction" ? fc.integer({ min: 1, max: 2 }) : fc.integer({ min: 0, max: 2 })

const fieldValues = (spec: UsSectionSpec, overrides: Record<string, number> = {}) =>
  fc
    .record(
      Object.fromEntries(
        spec.fields.map(([name, length]) => [
          name,
          length === 0
            ? value(name)
            : fc.array(fc.integer({ min: 0, max: 2 }), { minLength: length, maxLength: length })
        ])
      ) as Record<string, fc.Arbitrary<number | Array<number>>>
    )
    .map((fields) => ({ ...fields, ...overrides }))

describe("Gpp.decode agrees with the reference decoder on strings the reference encoder built", () => {
  it("knows every US section @iabgpp/cmpapi knows", () => {
    assert.deepStrictEqual(
      specs.map((s) => s.id),
      [...Gpp.usSectionIds]
    )
    for (const spec of specs) assert.strictEqual(Gpp.sectionNames.get(spec.id), spec.name)
  })

  for (const spec of specs) {
    it.prop(
      `${spec.name} (${spec.id}): every field, with and without its sub-section`,
      [fieldValues(spec), fc.boolean(), fc.boolean()],
      ([fields, withSub, gpc]) => {
        const sub =
          spec.sub === "gpc"
            ? { GpcSegmentIncluded: withSub, Gpc: gpc }
            : spec.sub === "sensitive"
              ? { SensitiveDataConsentSegmentIncluded: withSub }
              : {}
        const coreFields =
          spec.sub === "sensitive" && !withSub
            ? Object.fromEntries(Object.entries(fields).filter(([name]) => name !== "SensitiveDataProcessing"))
            : fields
        const gpp = gppString({ [spec.name]: { ...coreFields, ...sub } })
        const mine = section(gpp, spec.name)
        const ref = referenceGpp(gpp)[spec.name]
        for (const [name] of spec.fields) {
          if (spec.sub === "sensitive" && !withSub && name === "SensitiveDataProcessing") {
            assert.isUndefined(mine.fields[name])
            continue
          }
          assert.deepStrictEqual(mine.fields[name], ref[name], name)
        }
        assert.strictEqual(mine.fields[spec.versionField], ref[spec.versionField])
        if (spec.sub === "gpc") {
          assert.strictEqual(mine.gpc, withSub ? gpc : undefined)
          assert.strictEqual(mine.signals.gpc, withSub && gpc)
          assert.strictEqual(ref.Gpc, withSub && gpc)
        }
      },
      { fastCheck: { numRuns: 60 } }
    )
  }

  it.prop(
    "usnat version 1 (12 sensitive-data categories, 2 known-child entries)",
    [
      fieldValues(
        {
          ...specs.find((s) => s.id === 7)!,
          fields: specs
            .find((s) => s.id === 7)!
            .fields.map(([name, length]) => [
              name,
              name === "SensitiveDataProcessing" ? 12 : name === "KnownChildSensitiveDataConsents" ? 2 : length
            ])
        },
        { Version: 1 }
      )
    ],
    ([fields]) => {
      const gpp = gppString({ usnat: fields })
      const mine = section(gpp, "usnat")
      const ref = referenceGpp(gpp).usnat
      assert.strictEqual(mine.version, 1)
      assert.deepStrictEqual(mine.fields.SensitiveDataProcessing, ref.SensitiveDataProcessing)
      assert.deepStrictEqual(mine.fields.KnownChildSensitiveDataConsents, ref.KnownChildSensitiveDataConsents)
      assert.strictEqual(mine.fields.SaleOptOut, ref.SaleOptOut)
      assert.strictEqual(mine.fields.MspaServiceProviderMode, ref.MspaServiceProviderMode)
    },
    { fastCheck: { numRuns: 100 } }
  )

  it("reads the tcfeuv2 section with the TCF decoder's validation", () => {
    const tc = tcString({ ...fullConsent, disclosedVendors: [VENDOR] })
    // Build a header for sections 2 and 7 with the reference encoder, then put our TC string in section 2.
    const base = gppString({
      tcfeuv2: { CmpId: 31, PurposeConsents: [true] },
      usnat: { SaleOptOut: 2, SaleOptOutNotice: 1 }
    })
    const [header, , usnat] = parts(base)
    const data = decoded(`${header}~${tc}~${usnat}`)
    assert.deepStrictEqual(data.sectionIds, [2, 7])
    assert.deepStrictEqual(data.tcfeuv2, Either.getOrThrow(Tcf.decode(tc)))
    const invalid = failure(`${header}~${tcString({ ...fullConsent, policyVersion: 3 })}~${usnat}`)
    assert.deepStrictEqual(invalid, { rule: "policy-version", section: 2 })
    // The reference encoder's own tcfeuv2 section decodes too, once it names a CMP IAB could have assigned.
    assert.deepStrictEqual(decoded(base).tcfeuv2?.purposeConsents, [1])
    assert.deepStrictEqual(failure(gppString({ tcfeuv2: { PurposeConsents: [true] } })), {
      rule: "cmp-id",
      section: 2
    })
  })

  it("reads the legacy uspv1 section", () => {
    const data = decoded(gppString({ uspv1: { Notice: "Y", OptOutSale: "Y", LspaCovered: "N" } }))
    assert.deepStrictEqual(data.uspv1, { version: 1, notice: "Y", optOutSale: "Y", lspaCovered: "N", saleOptOut: true })
    assert.deepStrictEqual(failure(`${parts(gppString({ uspv1: { Notice: "Y" } }))[0]}~1YZN`), {
      rule: "character",
      section: 6
    })
  })

  it("lists sections it does not interpret without reading them", () => {
    const data = decoded(gppString({ tcfcav1: { PurposesExpressConsent: [true] }, usnat: { SaleOptOutNotice: 1 } }))
    assert.deepStrictEqual(data.sectionIds, [5, 7])
    assert.deepStrictEqual(data.other, [5])
    assert.strictEqual(data.us.length, 1)
  })
})

/** Prebid's "consent denied" rule for user syncs, restated from its documentation, on a usnat-shaped object. */
const deniedByPrebidRules = (c: Record<string, any>): boolean => {
  const kc: Array<number> = c.KnownChildSensitiveDataConsents
  const basic =
    c.MspaServiceProviderMode === 1 ||
    c.Gpc === true ||
    c.PersonalDataConsents === 2 ||
    kc[0] === 1 ||
    (kc[1] !== undefined && kc[1] !== 0) ||
    c.MspaCoveredTransaction === 0
  const scope = (optOut: number, notice: number) => optOut === 1 || notice === 2 || (optOut === 2 && notice === 0)
  return (
    basic ||
    scope(c.SaleOptOut, c.SaleOptOutNotice) ||
    scope(c.SharingOptOut, c.SharingOptOutNotice) ||
    scope(c.TargetedAdvertisingOptOut, c.TargetedAdvertisingOptOutNotice) ||
    c.SharingNotice === 2 ||
    (c.SharingOptOut === 2 && c.SharingNotice === 0)
  )
}

describe("GPP US sections are read the way Prebid's MSPA activity controls read them", () => {
  const usnat = specs.find((s) => s.id === 7)!

  it.prop(
    "usnat: consentDenied matches Prebid's rule applied to the reference decoder's output",
    [fieldValues(usnat), fc.boolean()],
    ([fields, gpc]) => {
      const gpp = gppString({ usnat: { ...fields, GpcSegmentIncluded: true, Gpc: gpc } })
      const ref = referenceGpp(gpp).usnat
      const mine = section(gpp, "usnat").signals
      assert.strictEqual(mine.consentDenied, deniedByPrebidRules(ref))
      assert.strictEqual(mine.saleOptOut, ref.SaleOptOut === 1)
      assert.strictEqual(mine.sharingOptOut, ref.SharingOptOut === 1)
      assert.strictEqual(mine.targetedAdvertisingOptOut, ref.TargetedAdvertisingOptOut === 1)
      assert.strictEqual(
        mine.knownChild,
        (ref.KnownChildSensitiveDataConsents as Array<number>).some((v) => v !== 0)
      )
      assert.strictEqual(mine.gpc, gpc)
    },
    { fastCheck: { numRuns: 500 } }
  )

  // "Not covered"... baseline from Prebid's own tests: opted in to everything, all notices given.
  const allowed = {
    SharingNotice: 1,
    SaleOptOutNotice: 1,
    SharingOptOutNotice: 1,
    TargetedAdvertisingOptOutNotice: 1,
    SensitiveDataProcessingOptOutNotice: 1,
    SensitiveDataLimitUseNotice: 1,
    SaleOptOut: 2,
    SharingOptOut: 2,
    TargetedAdvertisingOptOut: 2,
    MspaCoveredTransaction: 2
  }
  const usnatSignals = (fields: Record<string, unknown>) => section(gppString({ usnat: fields }), "usnat").signals

  it("opted in with every notice given: nothing denied", () => {
    const s = usnatSignals(allowed)
    assert.isFalse(s.consentDenied)
    assert.deepStrictEqual(s.denials, [])
    assert.deepStrictEqual(s.notices, {
      sharing: "provided",
      saleOptOut: "provided",
      sharingOptOut: "provided",
      targetedAdvertisingOptOut: "provided",
      sensitiveDataProcessingOptOut: "provided",
      sensitiveDataLimitUse: "provided"
    })
  })

  const cases: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
    ["SaleOptOut=1 (opted out of sale)", { SaleOptOut: 1 }, "sale-opt-out"],
    ["SharingOptOut=1", { SharingOptOut: 1 }, "sharing-opt-out"],
    ["TargetedAdvertisingOptOut=1", { TargetedAdvertisingOptOut: 1 }, "targeted-advertising-opt-out"],
    ["SaleOptOutNotice=2 (not provided)", { SaleOptOutNotice: 2 }, "sale-opt-out-notice-missing"],
    [
      "TargetedAdvertisingOptOutNotice=2",
      { TargetedAdvertisingOptOutNotice: 2 },
      "targeted-advertising-opt-out-notice-missing"
    ],
    ["SharingNotice=2", { SharingNotice: 2 }, "sharing-notice-missing"],
    ["opted in without an opt-out notice", { SaleOptOutNotice: 0 }, "sale-opt-out-notice-inconsistent"],
    ["MspaServiceProviderMode=1", { MspaServiceProviderMode: 1 }, "service-provider-mode"],
    ["PersonalDataConsents=2", { PersonalDataConsents: 2 }, "personal-data-consents"],
    ["KnownChildSensitiveDataConsents[0]=1", { KnownChildSensitiveDataConsents: [1, 0, 0] }, "known-child"],
    ["KnownChildSensitiveDataConsents[1]=2", { KnownChildSensitiveDataConsents: [0, 2, 0] }, "known-child"],
    ["GPC sub-section set", { GpcSegmentIncluded: true, Gpc: true }, "gpc"]
  ]
  for (const [name, fields, denial] of cases) {
    it(`${name} → consent denied (${denial})`, () => {
      const s = usnatSignals({ ...allowed, ...fields })
      assert.isTrue(s.consentDenied)
      assert.include(s.denials, denial)
    })
  }

  it("any non-zero known-child field marks a known child, even where Prebid would let a consent through", () => {
    const s = usnatSignals({ ...allowed, KnownChildSensitiveDataConsents: [2, 0, 0] })
    assert.isFalse(s.consentDenied)
    assert.isTrue(s.knownChild)
    assert.isTrue(usnatSignals({ ...allowed, KnownChildSensitiveDataConsents: [0, 0, 1] }).knownChild)
    assert.isFalse(usnatSignals(allowed).knownChild)
  })

  it("precise geolocation (sensitive category 8) and first-party data follow Prebid's rules", () => {
    const geo = (value: number, notice = 1) =>
      usnatSignals({
        ...allowed,
        SensitiveDataProcessingOptOutNotice: notice,
        SensitiveDataLimitUseNotice: notice,
        SensitiveDataProcessing: Array.from({ length: 16 }, (_, i) => (i === 7 ? value : 0))
      })
    assert.isTrue(geo(1).preciseGeolocationDenied)
    assert.isFalse(geo(2).preciseGeolocationDenied)
    assert.isTrue(geo(2, 0).preciseGeolocationDenied)
    assert.isFalse(geo(0).firstPartyDataDenied)
    const sensitive = (index: number, v: number) =>
      usnatSignals({ ...allowed, SensitiveDataProcessing: Array.from({ length: 16 }, (_, i) => (i === index ? v : 0)) })
    // Genetic, biometric and similar categories (6, 7, 9, 10, 12) may not be in scope at all.
    assert.isTrue(sensitive(5, 2).firstPartyDataDenied)
    // Other categories need consent.
    assert.isTrue(sensitive(0, 1).firstPartyDataDenied)
    assert.isFalse(sensitive(0, 2).firstPartyDataDenied)
  })

  it("California: sensitive categories are moved to their usnat positions, any child signal is a child", () => {
    const ca = section(
      gppString({
        usca: {
          SaleOptOutNotice: 1,
          SharingOptOutNotice: 1,
          SensitiveDataLimitUseNotice: 1,
          SaleOptOut: 2,
          SharingOptOut: 2,
          SensitiveDataProcessing: [1, 2, 0, 2, 0, 0, 0, 1, 2],
          KnownChildSensitiveDataConsents: [0, 0]
        }
      }),
      "usca"
    )
    // Prebid's map (1-based): 1→9, 2→10, 3→8, 4→1 and 2, 5→12, 8→3, 9→4.
    assert.deepStrictEqual(ca.usnat.SensitiveDataProcessing, [2, 2, 1, 2, null, 0, 0, 0, 1, 2, null, 0])
    assert.isNull(ca.usnat.TargetedAdvertisingOptOut)
    assert.isFalse(ca.signals.consentDenied)
    const child = section(gppString({ usca: { KnownChildSensitiveDataConsents: [0, 2] } }), "usca")
    assert.deepStrictEqual(child.usnat.KnownChildSensitiveDataConsents, [1, 1])
    assert.isTrue(child.signals.knownChild)
    assert.include(child.signals.denials, "known-child")
  })

  it("Virginia, Colorado, Utah: a scalar known-child field becomes [1, 1] when set", () => {
    for (const name of ["usva", "usco", "usut"]) {
      const s = section(gppString({ [name]: { KnownChildSensitiveDataConsents: 2 } }), name)
      assert.deepStrictEqual(s.usnat.KnownChildSensitiveDataConsents, [1, 1], name)
      assert.isTrue(s.signals.consentDenied)
      const none = section(gppString({ [name]: { SaleOptOutNotice: 1, SaleOptOut: 2 } }), name)
      assert.deepStrictEqual(none.usnat.KnownChildSensitiveDataConsents, [0, 0], name)
    }
    // Utah: categories 3, 4, 5 move to 4, 5, 3.
    const ut = section(gppString({ usut: { SensitiveDataProcessing: [0, 0, 1, 2, 0, 0, 0, 0] } }), "usut")
    assert.deepStrictEqual(ut.usnat.SensitiveDataProcessing.slice(0, 5), [0, 0, 0, 1, 2])
  })

  it("Connecticut: consent from a 13–16 year old for both uses reads [2, 1], anything else [1, 1]", () => {
    const ct = (kc: Array<number>) =>
      section(gppString({ usct: { KnownChildSensitiveDataConsents: kc } }), "usct").usnat
        .KnownChildSensitiveDataConsents
    assert.deepStrictEqual(ct([0, 0, 0]), [0, 0])
    assert.deepStrictEqual(ct([0, 2, 2]), [2, 1])
    assert.deepStrictEqual(ct([1, 0, 0]), [1, 1])
  })

  it("later states: the processing notice stands in for the sharing notice, the MSPA mode splits in two", () => {
    const fl = section(gppString({ usfl: { ProcessingNotice: 2 } }), "usfl")
    assert.strictEqual(fl.usnat.SharingNotice, 2)
    assert.include(fl.signals.denials, "sharing-notice-missing")
    const md = section(gppString({ usmd: { MspaMode: 2 } }), "usmd")
    assert.strictEqual(md.usnat.MspaServiceProviderMode, 1)
    assert.include(md.signals.denials, "service-provider-mode")
    const ia = section(gppString({ usia: { SensitiveDataOptOutNotice: 2 } }), "usia")
    assert.strictEqual(ia.usnat.SensitiveDataProcessingOptOutNotice, 2)
    const tx = section(gppString({ ustx: { KnownChildSensitiveDataConsents: 1 } }), "ustx")
    assert.isTrue(tx.signals.knownChild)
    const inSection = section(
      gppString({
        usin: { SensitiveDataConsentSegmentIncluded: true, SensitiveDataProcessing: [1, 0, 0, 0, 0, 0, 0, 0] }
      }),
      "usin"
    )
    assert.isTrue(inSection.signals.sensitiveDataProcessingOptOut)
  })
})

describe("Gpp.decode validates the string, naming the rule and the section", () => {
  const valid = gppString({
    usnat: { ...{ SaleOptOutNotice: 1, SaleOptOut: 2 }, GpcSegmentIncluded: true, Gpc: false },
    usva: { SaleOptOutNotice: 1 }
  })
  const [header, usnat, usva] = parts(valid) as [string, string, string]
  const [usnatCore, usnatGpc] = usnat.split(".") as [string, string]

  it("accepts the valid baseline", () => {
    assert.deepStrictEqual(decoded(valid).sectionIds, [7, 9])
  })

  it("the header has type 3 and version 1", () => {
    assert.strictEqual(failure(tcString(fullConsent)).rule, "header-type")
    assert.strictEqual(failure(`${setInt(header, 6, 6, 2)}~${usnat}~${usva}`).rule, "header-version")
  })

  it("the header lists exactly the sections present", () => {
    assert.strictEqual(failure(`${header}~${usnat}`).rule, "section-count")
    assert.strictEqual(failure(`${header}~${usnat}~${usva}~${usva}`).rule, "section-count")
    assert.deepStrictEqual(failure(`${header}~${usnat}~`), { rule: "segment-empty", section: 9 })
  })

  it("section versions are the ones defined", () => {
    assert.strictEqual(getInt(usnatCore, 0, 6), 2)
    assert.deepStrictEqual(failure(`${header}~${setInt(usnatCore, 0, 6, 3)}.${usnatGpc}~${usva}`), {
      rule: "section-version",
      section: 7
    })
    assert.deepStrictEqual(failure(`${header}~${usnat}~${setInt(usva, 0, 6, 2)}`), {
      rule: "section-version",
      section: 9
    })
  })

  it("2-bit fields hold 0, 1 or 2 (and the covered-transaction flag 1 or 2)", () => {
    // usnat SaleOptOut sits after the version (6 bits) and six 2-bit notices.
    assert.strictEqual(getInt(usnatCore, 18, 2), 2)
    assert.deepStrictEqual(failure(`${header}~${setInt(usnatCore, 18, 2, 3)}.${usnatGpc}~${usva}`), {
      rule: "field-range",
      section: 7
    })
    // MspaCoveredTransaction is the third-to-last field of the v2 core (70 bits).
    assert.strictEqual(getInt(usnatCore, 64, 2), 1)
    assert.deepStrictEqual(failure(`${header}~${setInt(usnatCore, 64, 2, 0)}.${usnatGpc}~${usva}`), {
      rule: "field-range",
      section: 7
    })
  })

  it("the GPC sub-section has type 1", () => {
    assert.strictEqual(getInt(usnatGpc, 0, 2), 1)
    assert.deepStrictEqual(failure(`${header}~${usnatCore}.${setInt(usnatGpc, 0, 2, 2)}~${usva}`), {
      rule: "gpc-segment-type",
      section: 7
    })
  })

  it("sections have no more segments than defined", () => {
    assert.strictEqual(failure(`${header}~${usnat}.${usnatGpc}~${usva}`).rule, "segment-count")
    // Virginia has no GPC sub-section.
    assert.deepStrictEqual(failure(`${header}~${usnat}~${usva}.${usnatGpc}`), { rule: "segment-count", section: 9 })
  })

  it("no trailing garbage, no truncation", () => {
    assert.deepStrictEqual(failure(`${header}~${usnatCore}B.${usnatGpc}~${usva}`), {
      rule: "trailing-bits",
      section: 7
    })
    assert.strictEqual(failure(`${header}~${usnatCore}AAAA.${usnatGpc}~${usva}`).rule, "trailing-bits")
    assert.strictEqual(failure(`${header}~${usnat}~${usva}B`).rule, "trailing-bits")
    assert.strictEqual(failure(`${header}B~${usnat}~${usva}`).rule, "trailing-bits")
    assert.deepStrictEqual(failure(`${header}~${usnatCore.slice(0, 5)}.${usnatGpc}~${usva}`), {
      rule: "truncated",
      section: 7
    })
    assert.strictEqual(failure(header.slice(0, 3)).rule, "truncated")
  })

  it("base64url without padding or foreign characters", () => {
    assert.strictEqual(failure(`${header}=~${usnat}~${usva}`).rule, "base64url-padding")
    assert.deepStrictEqual(failure(`${header}~${usnat}~${usva}=`), { rule: "base64url-padding", section: 9 })
    assert.deepStrictEqual(failure(`${header}~${usnat.replace("A", "+")}~${usva}`), {
      rule: "base64url-alphabet",
      section: 7
    })
  })

  it("empty and oversized strings are rejected", () => {
    assert.strictEqual(failure("").rule, "empty")
    assert.strictEqual(failure(`DBABM~${"A".repeat(Gpp.MaxLength)}`).rule, "too-long")
  })
})

describe("Gpp.decode on hostile input", () => {
  const valid = gppString({
    tcfeuv2: { CmpId: 31, PurposeConsents: [true, true], IsServiceSpecific: true, PolicyVersion: 4 },
    uspv1: { Notice: "Y", OptOutSale: "N", LspaCovered: "Y" },
    usnat: { SaleOptOutNotice: 1, GpcSegmentIncluded: true },
    usca: { SaleOptOutNotice: 1 },
    usin: { SensitiveDataConsentSegmentIncluded: true }
  })

  const assertSound = (gpp: string) => {
    const result = Gpp.decode(gpp)
    if (Either.isLeft(result)) {
      assert.strictEqual(result.left._tag, "ConsentStringError")
      assert.isString(result.left.rule)
      return
    }
    const data = result.right
    assert.strictEqual(data.sectionIds.length, gpp.split("~").length - 1)
    for (const s of data.us) assert.isBoolean(s.signals.consentDenied)
  }

  it("the baseline with five kinds of section decodes", () => {
    const data = decoded(valid)
    assert.deepStrictEqual(data.sectionIds, [2, 6, 7, 8, 25])
  })

  it.prop("random strings never throw", [fc.string({ maxLength: 300 })], ([s]) => assertSound(s), {
    fastCheck: { numRuns: 500 }
  })

  it.prop(
    "random strings with a valid header never throw",
    [
      fc.string({
        unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"),
        maxLength: 200
      })
    ],
    ([s]) => assertSound(`DBACNYA~${s}`),
    { fastCheck: { numRuns: 500 } }
  )

  it.prop("mutated valid strings never throw", [mutations(valid)], ([s]) => assertSound(s), {
    fastCheck: { numRuns: 1000 }
  })

  it("a header claiming thousands of sections is rejected without expanding them", () => {
    // Range entry: 1 + Fibonacci(1) + Fibonacci(a large span).
    const bits = `000011000001${(1).toString(2).padStart(12, "0")}1${"11"}${"0".repeat(25)}11`
    const header = bits
      .padEnd(Math.ceil(bits.length / 6) * 6, "0")
      .match(/.{6}/g)!
      .map((b) => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[Number.parseInt(b, 2)])
      .join("")
    assert.strictEqual(failure(`${header}~A`).rule, "section-count")
  })
})
