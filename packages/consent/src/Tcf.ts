/**
 * IAB Europe TCF v2.2 / v2.3 Transparency and Consent strings: a strict decoder and the mapping from purposes to
 * the activities OpenAudience performs. The decoder reads the core, disclosed-vendors and publisher-TC segments
 * bit by bit and rejects any string that breaks a rule of the specification, naming the rule. `activities` maps
 * purposes to activities the way Prebid's TCF enforcement (`tcfControl`) does, for a configurable vendor id.
 *
 * Decoding is plain synchronous code that never throws: it runs on the collector's hot path (behind a cache).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { ConsentStringError } from "./ConsentStringError.js"
import { BitReader, checkBase64Url } from "./internal/bits.js"

/**
 * The rules a TC string can break.
 *
 * @since 0.1.0
 * @category models
 */
export const Rule = Schema.Literal(
  "empty",
  "too-long",
  "segment-empty",
  "base64url-padding",
  "base64url-alphabet",
  "truncated",
  "trailing-bits",
  "version",
  "policy-version",
  "cmp-id",
  "service-specific",
  "legitimate-interest-3-6",
  "vendor-range",
  "restriction-purpose",
  "restriction-type",
  "language",
  "publisher-country",
  "segment-type",
  "segment-duplicate"
)

/**
 * @since 0.1.0
 * @category models
 */
export type Rule = typeof Rule.Type

/**
 * Longest TC string accepted, in characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxLength = 16_384

/**
 * The lowest TCF policy version accepted: 4 is TCF v2.2 (no legitimate interest for purposes 3 to 6).
 *
 * @since 0.1.0
 * @category constants
 */
export const MinPolicyVersion = 4

/**
 * The lowest CMP id accepted: IAB Europe assigns CMP ids from 2 (0 and 1 are never registered CMPs).
 *
 * @since 0.2.0
 * @category constants
 */
export const MinCmpId = 2

/**
 * A set of vendor ids as sorted, non-overlapping inclusive ranges, with the section's declared maximum id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const VendorSet = Schema.Struct({
  maxVendorId: Schema.Int,
  ranges: Schema.Array(Schema.Tuple(Schema.Int, Schema.Int))
}).annotations({ identifier: "VendorSet" })

/**
 * @since 0.1.0
 * @category models
 */
export type VendorSet = typeof VendorSet.Type

/**
 * A publisher restriction: for `purposeId`, the vendors in `vendors` are not allowed (0), need consent (1) or need
 * legitimate interest (2).
 *
 * @since 0.1.0
 * @category schemas
 */
export const PublisherRestriction = Schema.Struct({
  purposeId: Schema.Int,
  restrictionType: Schema.Literal(0, 1, 2),
  vendors: Schema.Array(Schema.Tuple(Schema.Int, Schema.Int))
}).annotations({ identifier: "PublisherRestriction" })

/**
 * @since 0.1.0
 * @category models
 */
export type PublisherRestriction = typeof PublisherRestriction.Type

/**
 * The optional publisher TC segment: the publisher's own purposes and custom purposes.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PublisherTc = Schema.Struct({
  purposeConsents: Schema.Array(Schema.Int),
  purposeLegitimateInterests: Schema.Array(Schema.Int),
  numCustomPurposes: Schema.Int,
  customPurposeConsents: Schema.Array(Schema.Int),
  customPurposeLegitimateInterests: Schema.Array(Schema.Int)
}).annotations({ identifier: "PublisherTc" })

/**
 * @since 0.1.0
 * @category models
 */
export type PublisherTc = typeof PublisherTc.Type

/**
 * A decoded, validated TC string. Purpose and special-feature lists hold the ids whose bit is set; times are epoch
 * milliseconds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TcData = Schema.Struct({
  version: Schema.Literal(2),
  created: Schema.Number,
  lastUpdated: Schema.Number,
  cmpId: Schema.Int,
  cmpVersion: Schema.Int,
  consentScreen: Schema.Int,
  consentLanguage: Schema.String,
  vendorListVersion: Schema.Int,
  policyVersion: Schema.Int,
  isServiceSpecific: Schema.Boolean,
  useNonStandardTexts: Schema.Boolean,
  specialFeatureOptIns: Schema.Array(Schema.Int),
  purposeConsents: Schema.Array(Schema.Int),
  purposeLegitimateInterests: Schema.Array(Schema.Int),
  purposeOneTreatment: Schema.Boolean,
  publisherCountryCode: Schema.String,
  vendorConsents: VendorSet,
  vendorLegitimateInterests: VendorSet,
  publisherRestrictions: Schema.Array(PublisherRestriction),
  disclosedVendors: Schema.optional(VendorSet),
  publisherTc: Schema.optional(PublisherTc)
}).annotations({ identifier: "TcData" })

/**
 * @since 0.1.0
 * @category models
 */
export type TcData = typeof TcData.Type

type Ranges = Array<[number, number]>

const fail = (rule: Rule, detail: string): Either.Either<never, ConsentStringError> =>
  Either.left(new ConsentStringError({ format: "tcf", rule, detail }))

/** Sorts ranges and merges overlapping or adjacent ones. */
const normalize = (ranges: Ranges): Ranges => {
  if (ranges.length < 2) return ranges
  ranges.sort((a, b) => a[0] - b[0])
  const out: Ranges = [ranges[0]!]
  for (let i = 1; i < ranges.length; i++) {
    const last = out[out.length - 1]!
    const next = ranges[i]!
    if (next[0] <= last[1] + 1) last[1] = Math.max(last[1], next[1])
    else out.push(next)
  }
  return out
}

type Problem = { readonly rule: Rule; readonly detail: string }

const readRanges = (reader: BitReader, maxId: number, what: string): Ranges | Problem => {
  const entries = reader.int(12)
  const ranges: Ranges = []
  for (let i = 0; i < entries; i++) {
    const isRange = reader.flag()
    const start = reader.int(16)
    const end = isRange ? reader.int(16) : start
    if (reader.overflow) return { rule: "truncated", detail: `the string ends inside the ${what} ranges` }
    if (start < 1 || end < start || end > maxId) {
      return {
        rule: "vendor-range",
        detail: `${what}: vendor range ${start}-${end} is outside 1-${maxId} or reversed`
      }
    }
    ranges.push([start, end])
  }
  return normalize(ranges)
}

const readVendorSet = (reader: BitReader, what: string): VendorSet | Problem => {
  const maxVendorId = reader.int(16)
  const isRangeEncoding = reader.flag()
  if (reader.overflow) return { rule: "truncated", detail: `the string ends inside the ${what} section` }
  if (isRangeEncoding) {
    const ranges = readRanges(reader, maxVendorId, what)
    return Array.isArray(ranges) ? { maxVendorId, ranges } : (ranges as Problem)
  }
  const ranges: Ranges = []
  let start = 0
  for (let id = 1; id <= maxVendorId; id++) {
    if (reader.bit() === 1) {
      if (start === 0) start = id
    } else if (start !== 0) {
      ranges.push([start, id - 1])
      start = 0
    }
  }
  if (start !== 0) ranges.push([start, maxVendorId])
  if (reader.overflow) return { rule: "truncated", detail: `the string ends inside the ${what} bitfield` }
  return { maxVendorId, ranges }
}

const isProblem = (value: unknown): value is Problem =>
  typeof value === "object" && value !== null && "rule" in value && "detail" in value

const readLetters = (reader: BitReader): string | undefined => {
  const a = reader.int(6)
  const b = reader.int(6)
  if (a > 25 || b > 25) return undefined
  return String.fromCharCode(65 + a, 65 + b)
}

const DECISECOND = 100

interface Core {
  readonly data: Omit<TcData, "disclosedVendors" | "publisherTc">
}

const decodeCore = (segment: string): Core | Problem => {
  const reader = new BitReader(segment)
  const version = reader.int(6)
  if (reader.overflow) return { rule: "truncated", detail: "the core segment is shorter than its version field" }
  if (version !== 2) return { rule: "version", detail: `expected version 2, got ${version}` }
  const created = reader.int(36) * DECISECOND
  const lastUpdated = reader.int(36) * DECISECOND
  const cmpId = reader.int(12)
  const cmpVersion = reader.int(12)
  const consentScreen = reader.int(6)
  const consentLanguage = readLetters(reader)
  const vendorListVersion = reader.int(12)
  const policyVersion = reader.int(6)
  const isServiceSpecific = reader.flag()
  const useNonStandardTexts = reader.flag()
  const specialFeatureOptIns = reader.bitfield(12)
  const purposeConsents = reader.bitfield(24)
  const purposeLegitimateInterests = reader.bitfield(24)
  const purposeOneTreatment = reader.flag()
  const publisherCountryCode = readLetters(reader)
  if (reader.overflow) return { rule: "truncated", detail: "the core segment ends before its vendor sections" }
  if (consentLanguage === undefined) return { rule: "language", detail: "the consent language is not two letters A-Z" }
  if (publisherCountryCode === undefined) {
    return { rule: "publisher-country", detail: "the publisher country code is not two letters A-Z" }
  }
  const vendorConsents = readVendorSet(reader, "vendor consent")
  if (isProblem(vendorConsents)) return vendorConsents
  const vendorLegitimateInterests = readVendorSet(reader, "vendor legitimate interest")
  if (isProblem(vendorLegitimateInterests)) return vendorLegitimateInterests
  const restrictionCount = reader.int(12)
  const publisherRestrictions: Array<PublisherRestriction> = []
  for (let i = 0; i < restrictionCount; i++) {
    const purposeId = reader.int(6)
    const restrictionType = reader.int(2)
    if (reader.overflow) return { rule: "truncated", detail: "the string ends inside the publisher restrictions" }
    if (purposeId < 1 || purposeId > 24) {
      return { rule: "restriction-purpose", detail: `publisher restriction for purpose ${purposeId}, not 1-24` }
    }
    if (restrictionType > 2) {
      return { rule: "restriction-type", detail: `publisher restriction type ${restrictionType} is undefined` }
    }
    const vendors = readRanges(reader, 65_535, "publisher restriction")
    if (isProblem(vendors)) return vendors
    publisherRestrictions.push({ purposeId, restrictionType: restrictionType as 0 | 1 | 2, vendors })
  }
  if (reader.overflow) return { rule: "truncated", detail: "the core segment ends inside its last field" }
  if (!reader.paddingOnly(24)) {
    return { rule: "trailing-bits", detail: "the core segment has data beyond its declared fields" }
  }
  if (policyVersion < MinPolicyVersion) {
    return { rule: "policy-version", detail: `policy version ${policyVersion} is below ${MinPolicyVersion}` }
  }
  if (cmpId < MinCmpId) {
    return { rule: "cmp-id", detail: `CMP id ${cmpId} is not one IAB Europe assigns (from ${MinCmpId})` }
  }
  if (!isServiceSpecific) {
    return { rule: "service-specific", detail: "global-scope TC strings are not accepted (IsServiceSpecific is 0)" }
  }
  const forbiddenLi = purposeLegitimateInterests.filter((p) => p >= 3 && p <= 6)
  if (forbiddenLi.length > 0) {
    return {
      rule: "legitimate-interest-3-6",
      detail: `legitimate interest is signalled for purpose ${forbiddenLi.join(", ")}`
    }
  }
  return {
    data: {
      version: 2,
      created,
      lastUpdated,
      cmpId,
      cmpVersion,
      consentScreen,
      consentLanguage,
      vendorListVersion,
      policyVersion,
      isServiceSpecific,
      useNonStandardTexts,
      specialFeatureOptIns,
      purposeConsents,
      purposeLegitimateInterests,
      purposeOneTreatment,
      publisherCountryCode,
      vendorConsents,
      vendorLegitimateInterests,
      publisherRestrictions
    }
  }
}

const SEGMENT_DISCLOSED_VENDORS = 1
const SEGMENT_PUBLISHER_TC = 3

const decodeDisclosedVendors = (reader: BitReader): VendorSet | Problem => {
  const vendors = readVendorSet(reader, "disclosed vendors")
  if (isProblem(vendors)) return vendors
  if (!reader.paddingOnly(24)) {
    return { rule: "trailing-bits", detail: "the disclosed-vendors segment has data beyond its declared fields" }
  }
  return vendors
}

const decodePublisherTc = (reader: BitReader): PublisherTc | Problem => {
  const purposeConsents = reader.bitfield(24)
  const purposeLegitimateInterests = reader.bitfield(24)
  const numCustomPurposes = reader.int(6)
  const customPurposeConsents = reader.bitfield(numCustomPurposes)
  const customPurposeLegitimateInterests = reader.bitfield(numCustomPurposes)
  if (reader.overflow) return { rule: "truncated", detail: "the publisher TC segment ends inside its fields" }
  if (!reader.paddingOnly(24)) {
    return { rule: "trailing-bits", detail: "the publisher TC segment has data beyond its declared fields" }
  }
  return {
    purposeConsents,
    purposeLegitimateInterests,
    numCustomPurposes,
    customPurposeConsents,
    customPurposeLegitimateInterests
  }
}

/**
 * Decodes and validates a TC string. Fails with the rule that was broken: `version` (not 2), `policy-version`
 * (below 4), `cmp-id` (0 or 1: IAB assigns CMP ids from 2), `legitimate-interest-3-6`, `service-specific`, `vendor-range`, `base64url-padding` /
 * `base64url-alphabet`, `truncated`, `trailing-bits` (data beyond the declared fields, or padding of 24 bits or
 * more), `segment-type` (only core, disclosed vendors and publisher TC are known), `segment-duplicate`, … Never
 * throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (tcString: string): Either.Either<TcData, ConsentStringError> => {
  if (typeof tcString !== "string" || tcString.length === 0) return fail("empty", "the TC string is empty")
  if (tcString.length > MaxLength) return fail("too-long", `the TC string is longer than ${MaxLength} characters`)
  const segments = tcString.split(".")
  for (const segment of segments) {
    const problem = checkBase64Url(segment)
    if (problem !== undefined) {
      return fail(
        problem,
        problem === "segment-empty"
          ? "a segment is empty"
          : problem === "base64url-padding"
            ? "base64url padding ('=') is not allowed"
            : "a character outside the base64url alphabet"
      )
    }
  }
  const core = decodeCore(segments[0]!)
  if (isProblem(core)) return fail(core.rule, core.detail)
  let disclosedVendors: VendorSet | undefined
  let publisherTc: PublisherTc | undefined
  for (let i = 1; i < segments.length; i++) {
    const reader = new BitReader(segments[i]!)
    const type = reader.int(3)
    if (type === SEGMENT_DISCLOSED_VENDORS) {
      if (disclosedVendors !== undefined) return fail("segment-duplicate", "two disclosed-vendors segments")
      const result = decodeDisclosedVendors(reader)
      if (isProblem(result)) return fail(result.rule, result.detail)
      disclosedVendors = result
    } else if (type === SEGMENT_PUBLISHER_TC) {
      if (publisherTc !== undefined) return fail("segment-duplicate", "two publisher TC segments")
      const result = decodePublisherTc(reader)
      if (isProblem(result)) return fail(result.rule, result.detail)
      publisherTc = result
    } else if (type === 0) {
      return fail("segment-duplicate", "a second core segment")
    } else {
      return fail("segment-type", `segment type ${type} is not core, disclosed vendors or publisher TC`)
    }
  }
  const data: TcData = {
    ...core.data,
    ...(disclosedVendors === undefined ? {} : { disclosedVendors }),
    ...(publisherTc === undefined ? {} : { publisherTc })
  }
  return Either.right(data)
}

/**
 * Whether `vendorId` is in the set (binary search over its ranges).
 *
 * @since 0.1.0
 * @category accessors
 */
export const hasVendor = (set: VendorSet, vendorId: number): boolean => {
  const ranges = set.ranges
  let lo = 0
  let hi = ranges.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const range = ranges[mid]!
    if (vendorId < range[0]) hi = mid - 1
    else if (vendorId > range[1]) lo = mid + 1
    else return true
  }
  return false
}

/**
 * What the TC string allows our vendor to do.
 *
 * - `storeIdentifiers`: purpose 1 (store and/or access information on a device) — consent only.
 * - `basicAds`: purpose 2 (use limited data to select advertising) — consent or legitimate interest.
 * - `personalizeAds`: `basicAds` and purposes 3 and 4 (create and use profiles for personalised advertising) —
 *   consent only.
 * - `measure`: purpose 7 (measure advertising performance) — consent or legitimate interest.
 * - `preciseGeolocation`: special feature 1 opt-in and vendor consent.
 *
 * @since 0.1.0
 * @category models
 */
export interface Activities {
  readonly storeIdentifiers: boolean
  readonly basicAds: boolean
  readonly personalizeAds: boolean
  readonly measure: boolean
  readonly preciseGeolocation: boolean
}

/**
 * The activities and, for every activity denied, why (`tcf:no-purpose-1-consent`, `tcf:no-vendor-consent`,
 * `tcf:vendor-not-disclosed`, `tcf:publisher-restriction-purpose-2`, …).
 *
 * @since 0.1.0
 * @category models
 */
export interface Explained {
  readonly activities: Activities
  readonly reasons: ReadonlyArray<string>
}

const RESTRICT_NOT_ALLOWED = 1
const RESTRICT_REQUIRE_CONSENT = 2
const RESTRICT_REQUIRE_LI = 4

/** The publisher restrictions that apply to `vendorId` for `purposeId`, as a bit mask. */
const restrictionsFor = (tc: TcData, purposeId: number, vendorId: number): number => {
  let mask = 0
  for (const restriction of tc.publisherRestrictions) {
    if (restriction.purposeId !== purposeId) continue
    if (!hasVendor({ maxVendorId: 65_535, ranges: restriction.vendors }, vendorId)) continue
    mask |=
      restriction.restrictionType === 0
        ? RESTRICT_NOT_ALLOWED
        : restriction.restrictionType === 1
          ? RESTRICT_REQUIRE_CONSENT
          : RESTRICT_REQUIRE_LI
  }
  return mask
}

/**
 * Checks one purpose for our vendor; returns undefined when allowed, or the reason it is not. The purpose and
 * the vendor must share a legal basis (consent with consent, legitimate interest with legitimate interest),
 * publisher restrictions can only narrow it, and a vendor missing from a disclosed-vendors segment has none.
 */
const purposeDenied = (tc: TcData, purposeId: number, vendorId: number, allowLi: boolean): string | undefined => {
  if (tc.disclosedVendors !== undefined && !hasVendor(tc.disclosedVendors, vendorId)) {
    return "tcf:vendor-not-disclosed"
  }
  const restrictions = restrictionsFor(tc, purposeId, vendorId)
  if (restrictions & RESTRICT_NOT_ALLOWED) return `tcf:publisher-restriction-purpose-${purposeId}`
  const consentAllowed = (restrictions & RESTRICT_REQUIRE_LI) === 0
  const liAllowed = allowLi && (restrictions & RESTRICT_REQUIRE_CONSENT) === 0
  const purposeConsent = consentAllowed && tc.purposeConsents.includes(purposeId)
  const purposeLi = liAllowed && tc.purposeLegitimateInterests.includes(purposeId)
  if (purposeConsent && hasVendor(tc.vendorConsents, vendorId)) return undefined
  if (purposeLi && hasVendor(tc.vendorLegitimateInterests, vendorId)) return undefined
  if (!consentAllowed && !liAllowed) return `tcf:publisher-restriction-purpose-${purposeId}`
  if (!purposeConsent && !purposeLi) {
    return allowLi ? `tcf:no-purpose-${purposeId}-legal-basis` : `tcf:no-purpose-${purposeId}-consent`
  }
  return allowLi ? "tcf:no-vendor-legal-basis" : "tcf:no-vendor-consent"
}

/**
 * The activities a decoded TC string allows `vendorId`, with the reasons for each one denied.
 *
 * @since 0.1.0
 * @category decisions
 */
export const explain = (tc: TcData, vendorId: number): Explained => {
  const reasons: Array<string> = []
  const note = (reason: string | undefined): boolean => {
    if (reason === undefined) return true
    if (!reasons.includes(reason)) reasons.push(reason)
    return false
  }
  const storeIdentifiers = note(purposeDenied(tc, 1, vendorId, false))
  const basicAds = note(purposeDenied(tc, 2, vendorId, true))
  const purpose3 = note(purposeDenied(tc, 3, vendorId, false))
  const purpose4 = note(purposeDenied(tc, 4, vendorId, false))
  const measure = note(purposeDenied(tc, 7, vendorId, true))
  const disclosed = tc.disclosedVendors === undefined || hasVendor(tc.disclosedVendors, vendorId)
  const preciseGeolocation = note(
    !disclosed
      ? "tcf:vendor-not-disclosed"
      : !tc.specialFeatureOptIns.includes(1)
        ? "tcf:no-special-feature-1-opt-in"
        : !hasVendor(tc.vendorConsents, vendorId)
          ? "tcf:no-vendor-consent"
          : undefined
  )
  return {
    activities: {
      storeIdentifiers,
      basicAds,
      personalizeAds: basicAds && purpose3 && purpose4,
      measure,
      preciseGeolocation
    },
    reasons
  }
}

/**
 * The activities a decoded TC string allows `vendorId` (see `Activities` for the purpose mapping).
 *
 * @since 0.1.0
 * @category decisions
 */
export const activities = (tc: TcData, vendorId: number): Activities => explain(tc, vendorId).activities

/**
 * Nothing allowed: what a missing or invalid TC string grants.
 *
 * @since 0.1.0
 * @category constants
 */
export const none: Activities = {
  storeIdentifiers: false,
  basicAds: false,
  personalizeAds: false,
  measure: false,
  preciseGeolocation: false
}
