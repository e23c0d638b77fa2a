/**
 * IAB Global Privacy Platform strings: a strict decoder for the header and the sections OpenAudience reads —
 * `tcfeuv2` (2, with the same validation as `Tcf`), `uspv1` (6), `usnat` (7, versions 1 and 2 with its GPC
 * sub-section) and the US state sections (8–27), each normalized to usnat semantics — and the opt-out signals
 * derived from them the way Prebid's MSPA activity controls (`libraries/mspa/activityControls.js`) read them.
 *
 * Plain synchronous code that never throws: it runs on the collector's hot path (behind a cache).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { ConsentStringError } from "./ConsentStringError.js"
import { BitReader, checkBase64Url } from "./internal/bits.js"
import * as Mspa from "./internal/mspa.js"
import * as Tcf from "./Tcf.js"
import * as Usp from "./Usp.js"

/**
 * Longest GPP string accepted, in characters.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxLength = 16_384

/**
 * Section ids with a name, as registered with the GPP (ids 7–27 are the US sections).
 *
 * @since 0.1.0
 * @category constants
 */
export const sectionNames: ReadonlyMap<number, string> = new Map([
  [2, "tcfeuv2"],
  [5, "tcfcav1"],
  [6, "uspv1"],
  [7, "usnat"],
  ...[...Mspa.states.values()].map((l) => [l.id, l.name] as const)
])

/**
 * The ids of the US (MSPA) sections this library reads.
 *
 * @since 0.1.0
 * @category constants
 */
export const usSectionIds: ReadonlyArray<number> = [7, ...Mspa.states.keys()].sort((a, b) => a - b)

const Nullable = Schema.NullOr(Schema.Int)

/**
 * A US section in usnat terms (Prebid's normalization): `null` where the section has no such field.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UsnatConsent = Schema.Struct({
  SharingNotice: Nullable,
  SaleOptOutNotice: Nullable,
  SharingOptOutNotice: Nullable,
  TargetedAdvertisingOptOutNotice: Nullable,
  SensitiveDataProcessingOptOutNotice: Nullable,
  SensitiveDataLimitUseNotice: Nullable,
  SaleOptOut: Nullable,
  SharingOptOut: Nullable,
  TargetedAdvertisingOptOut: Nullable,
  SensitiveDataProcessing: Schema.Array(Nullable),
  KnownChildSensitiveDataConsents: Schema.Array(Nullable),
  PersonalDataConsents: Nullable,
  MspaCoveredTransaction: Nullable,
  MspaOptOutOptionMode: Nullable,
  MspaServiceProviderMode: Nullable,
  Gpc: Schema.NullOr(Schema.Boolean)
}).annotations({ identifier: "UsnatConsent" })

/**
 * @since 0.1.0
 * @category models
 */
export type UsnatConsent = typeof UsnatConsent.Type

/**
 * A notice field read as words.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Notice = Schema.Literal("provided", "not-provided", "not-applicable")

/**
 * @since 0.1.0
 * @category models
 */
export type Notice = typeof Notice.Type

/**
 * What one US section says, derived the way Prebid's MSPA activity controls read it.
 *
 * - `saleOptOut`, `sharingOptOut`, `targetedAdvertisingOptOut`: the visitor opted out (field value 1).
 * - `knownChild`: any known-child field is non-zero (stricter than Prebid, which lets a consenting 13–16 year
 *   old through: child signals never build profiles here).
 * - `gpc`: the GPC sub-section is present and set.
 * - `consentDenied`: Prebid's `isConsentDenied` (user syncs, ids) holds; `denials` lists why.
 * - `firstPartyDataDenied`, `preciseGeolocationDenied`: Prebid's `isTransmitUfpdConsentDenied` and
 *   `isTransmitGeoConsentDenied`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MspaSignals = Schema.Struct({
  saleOptOut: Schema.Boolean,
  sharingOptOut: Schema.Boolean,
  targetedAdvertisingOptOut: Schema.Boolean,
  sensitiveDataProcessingOptOut: Schema.Boolean,
  sensitiveDataProcessing: Schema.Array(Nullable),
  knownChild: Schema.Boolean,
  gpc: Schema.Boolean,
  serviceProviderMode: Schema.Boolean,
  notices: Schema.Struct({
    sharing: Schema.NullOr(Notice),
    saleOptOut: Schema.NullOr(Notice),
    sharingOptOut: Schema.NullOr(Notice),
    targetedAdvertisingOptOut: Schema.NullOr(Notice),
    sensitiveDataProcessingOptOut: Schema.NullOr(Notice),
    sensitiveDataLimitUse: Schema.NullOr(Notice)
  }),
  consentDenied: Schema.Boolean,
  denials: Schema.Array(Schema.String),
  firstPartyDataDenied: Schema.Boolean,
  preciseGeolocationDenied: Schema.Boolean
}).annotations({ identifier: "MspaSignals" })

/**
 * @since 0.1.0
 * @category models
 */
export type MspaSignals = typeof MspaSignals.Type

/**
 * A decoded US section: its raw fields, the GPC sub-section if present, the usnat reading and the signals.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MspaSection = Schema.Struct({
  id: Schema.Int,
  name: Schema.String,
  version: Schema.Int,
  fields: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.Int, Schema.Array(Schema.Int)) }),
  gpc: Schema.optional(Schema.Boolean),
  usnat: UsnatConsent,
  signals: MspaSignals
}).annotations({ identifier: "MspaSection" })

/**
 * @since 0.1.0
 * @category models
 */
export type MspaSection = typeof MspaSection.Type

/**
 * A decoded GPP string. `other` lists section ids present but not interpreted here (for example the Canadian
 * TCF, 5); their content is neither read nor validated.
 *
 * @since 0.1.0
 * @category schemas
 */
export const GppData = Schema.Struct({
  sectionIds: Schema.Array(Schema.Int),
  tcfeuv2: Schema.optional(Tcf.TcData),
  uspv1: Schema.optional(Usp.UspData),
  us: Schema.Array(MspaSection),
  other: Schema.Array(Schema.Int)
}).annotations({ identifier: "GppData" })

/**
 * @since 0.1.0
 * @category models
 */
export type GppData = typeof GppData.Type

interface Problem {
  readonly rule: string
  readonly detail: string
  readonly section?: number
}

const fail = (problem: Problem): Either.Either<never, ConsentStringError> =>
  Either.left(
    new ConsentStringError({
      format: "gpp",
      rule: problem.rule,
      detail: problem.detail,
      ...(problem.section === undefined ? {} : { section: problem.section })
    })
  )

const HEADER_TYPE = 3
const HEADER_VERSION = 1
const MAX_PADDING = 24

const base64Detail = {
  "segment-empty": "a segment is empty",
  "base64url-padding": "base64url padding ('=') is not allowed",
  "base64url-alphabet": "a character outside the base64url alphabet"
} as const

const decodeHeader = (header: string, sectionCount: number): ReadonlyArray<number> | Problem => {
  const problem = checkBase64Url(header)
  if (problem !== undefined) return { rule: problem, detail: `header: ${base64Detail[problem]}` }
  const reader = new BitReader(header)
  const type = reader.int(6)
  const version = reader.int(6)
  if (reader.overflow) return { rule: "truncated", detail: "the header is shorter than its type and version" }
  if (type !== HEADER_TYPE) return { rule: "header-type", detail: `expected header type 3, got ${type}` }
  if (version !== HEADER_VERSION) return { rule: "header-version", detail: `expected header version 1, got ${version}` }
  const entries = reader.int(12)
  const ids: Array<number> = []
  let offset = 0
  for (let i = 0; i < entries; i++) {
    const isRange = reader.flag()
    const first = reader.fibonacci()
    if (first < 0) return { rule: "truncated", detail: "the header ends inside its section ids" }
    const start = offset + first
    let end = start
    if (isRange) {
      const span = reader.fibonacci()
      if (span < 0) return { rule: "truncated", detail: "the header ends inside its section ids" }
      end = start + span
    }
    offset = end
    if (end - start + 1 + ids.length > sectionCount) {
      return { rule: "section-count", detail: `the header lists more sections than the ${sectionCount} present` }
    }
    for (let id = start; id <= end; id++) ids.push(id)
  }
  if (reader.overflow) return { rule: "truncated", detail: "the header ends inside its section ids" }
  if (!reader.paddingOnly(MAX_PADDING)) {
    return { rule: "trailing-bits", detail: "the header has data beyond its declared fields" }
  }
  if (ids.length !== sectionCount) {
    return { rule: "section-count", detail: `the header lists ${ids.length} sections, the string has ${sectionCount}` }
  }
  return ids
}

const notice = (value: number | null): Notice | null =>
  value === null ? null : value === 1 ? "provided" : value === 2 ? "not-provided" : "not-applicable"

/**
 * The signals of one US section in usnat terms (Prebid's rules, see `MspaSignals`).
 *
 * @since 0.1.0
 * @category decisions
 */
export const signalsOf = (c: UsnatConsent): MspaSignals => {
  const basic = Mspa.basicDenials(c)
  const denials = Mspa.consentDenials(c)
  const consentDenied = denials.length > 0
  return {
    saleOptOut: c.SaleOptOut === 1,
    sharingOptOut: c.SharingOptOut === 1,
    targetedAdvertisingOptOut: c.TargetedAdvertisingOptOut === 1,
    sensitiveDataProcessingOptOut: c.SensitiveDataProcessing.some((v) => v === 1),
    sensitiveDataProcessing: c.SensitiveDataProcessing,
    knownChild: c.KnownChildSensitiveDataConsents.some((v) => v !== null && v !== 0),
    gpc: c.Gpc === true,
    serviceProviderMode: c.MspaServiceProviderMode === 1,
    notices: {
      sharing: notice(c.SharingNotice),
      saleOptOut: notice(c.SaleOptOutNotice),
      sharingOptOut: notice(c.SharingOptOutNotice),
      targetedAdvertisingOptOut: notice(c.TargetedAdvertisingOptOutNotice),
      sensitiveDataProcessingOptOut: notice(c.SensitiveDataProcessingOptOutNotice),
      sensitiveDataLimitUse: notice(c.SensitiveDataLimitUseNotice)
    },
    consentDenied,
    denials,
    firstPartyDataDenied: Mspa.firstPartyDataDenied(c, consentDenied),
    preciseGeolocationDenied: Mspa.preciseGeolocationDenied(c, basic.length > 0)
  }
}

/** Reads 2-bit fields per the layout; returns the problem if a value is outside its range. */
const readFields = (
  reader: BitReader,
  fields: ReadonlyArray<Mspa.FieldSpec>,
  into: Record<string, number | ReadonlyArray<number>>,
  section: number
): Problem | undefined => {
  for (const [name, count] of fields) {
    if (count === 0) {
      const value = reader.int(2)
      const max = 2
      const min = name === "MspaCoveredTransaction" ? 1 : 0
      if (!reader.overflow && (value < min || value > max)) {
        return { rule: "field-range", detail: `${name} is ${value}, outside ${min}-${max}`, section }
      }
      into[name] = value
    } else {
      const values: Array<number> = []
      for (let i = 0; i < count; i++) {
        const value = reader.int(2)
        if (!reader.overflow && value > 2) {
          return { rule: "field-range", detail: `${name}[${i}] is ${value}, outside 0-2`, section }
        }
        values.push(value)
      }
      into[name] = values
    }
  }
  return undefined
}

const decodeUs = (id: number, text: string): MspaSection | Problem => {
  const segments = text.split(".")
  for (const segment of segments) {
    const problem = checkBase64Url(segment)
    if (problem !== undefined) return { rule: problem, detail: base64Detail[problem], section: id }
  }
  const reader = new BitReader(segments[0]!)
  const version = reader.int(6)
  if (reader.overflow) return { rule: "truncated", detail: "the section is shorter than its version", section: id }
  const layout =
    id === 7 ? (version === 1 ? Mspa.usnatV1 : version === 2 ? Mspa.usnatV2 : undefined) : Mspa.states.get(id)
  if (layout === undefined || layout.version !== version) {
    return { rule: "section-version", detail: `section ${id} version ${version} is not supported`, section: id }
  }
  const fields: Record<string, number | ReadonlyArray<number>> = { [layout.versionField]: version }
  const problem = readFields(reader, layout.fields, fields, id)
  if (problem !== undefined) return problem
  if (reader.overflow) return { rule: "truncated", detail: "the core segment ends inside its fields", section: id }
  if (!reader.paddingOnly(MAX_PADDING)) {
    return { rule: "trailing-bits", detail: "the core segment has data beyond its declared fields", section: id }
  }
  if (segments.length > 2 || (segments.length === 2 && layout.sub === "none")) {
    return { rule: "segment-count", detail: `section ${id} has ${segments.length} segments`, section: id }
  }
  let gpc: boolean | undefined
  if (segments.length === 2) {
    const sub = new BitReader(segments[1]!)
    if (layout.sub === "gpc") {
      const type = sub.int(2)
      gpc = sub.flag()
      if (sub.overflow) return { rule: "truncated", detail: "the GPC sub-section is too short", section: id }
      if (type !== 1) {
        return { rule: "gpc-segment-type", detail: `GPC sub-section type ${type}, expected 1`, section: id }
      }
    } else {
      const subProblem = readFields(sub, [["SensitiveDataProcessing", 8]], fields, id)
      if (subProblem !== undefined) return subProblem
      if (sub.overflow) return { rule: "truncated", detail: "the sensitive-data segment is too short", section: id }
    }
    if (!sub.paddingOnly(MAX_PADDING)) {
      return { rule: "trailing-bits", detail: "the second segment has data beyond its declared fields", section: id }
    }
  }
  const usnat = Mspa.normalize(layout, fields, gpc)
  return {
    id,
    name: layout.name,
    version,
    fields,
    ...(gpc === undefined ? {} : { gpc }),
    usnat,
    signals: signalsOf(usnat)
  }
}

const isProblem = (value: unknown): value is Problem =>
  typeof value === "object" && value !== null && "rule" in value && "detail" in value

/**
 * Decodes and validates a GPP string: the header (type 3, version 1, Fibonacci-coded section ids matching the
 * sections present) and every section this library reads; fails with the rule broken (`header-type`,
 * `section-count`, `section-version`, `field-range`, `gpc-segment-type`, `trailing-bits`, `truncated`,
 * base64url rules, and for `tcfeuv2` every `Tcf` rule) and the section id. Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (gppString: string): Either.Either<GppData, ConsentStringError> => {
  if (typeof gppString !== "string" || gppString.length === 0) {
    return fail({ rule: "empty", detail: "the GPP string is empty" })
  }
  if (gppString.length > MaxLength) {
    return fail({ rule: "too-long", detail: `the GPP string is longer than ${MaxLength} characters` })
  }
  const parts = gppString.split("~")
  const ids = decodeHeader(parts[0]!, parts.length - 1)
  if (isProblem(ids)) return fail(ids)
  let tcfeuv2: Tcf.TcData | undefined
  let uspv1: Usp.UspData | undefined
  const us: Array<MspaSection> = []
  const other: Array<number> = []
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    const text = parts[i + 1]!
    if (text.length === 0) return fail({ rule: "segment-empty", detail: `section ${id} is empty`, section: id })
    if (id === 2) {
      const result = Tcf.decode(text)
      if (Either.isLeft(result)) return fail({ rule: result.left.rule, detail: result.left.detail, section: 2 })
      tcfeuv2 = result.right
    } else if (id === 6) {
      const result = Usp.decode(text, 6)
      if (Either.isLeft(result)) return Either.left(result.left)
      uspv1 = result.right
    } else if (id === 7 || Mspa.states.has(id)) {
      const section = decodeUs(id, text)
      if (isProblem(section)) return fail(section)
      us.push(section)
    } else {
      other.push(id)
    }
  }
  return Either.right({
    sectionIds: ids,
    ...(tcfeuv2 === undefined ? {} : { tcfeuv2 }),
    ...(uspv1 === undefined ? {} : { uspv1 }),
    us,
    other
  })
}
