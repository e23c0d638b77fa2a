/**
 * Layouts of the IAB GPP US sections (usnat and the state sections) and their normalization to usnat semantics,
 * following Prebid's `gppControl_usstates` for sections 8–12 and the same approach for later states.
 */

/** A field of a section's core segment: its name and, for lists, how many 2-bit entries it has (0 = scalar). */
export type FieldSpec = readonly [name: string, count: number]

/** The bit layout of one US section. */
export interface Layout {
  readonly id: number
  readonly name: string
  /** Name of the 6-bit version field that opens the core segment. */
  readonly versionField: "Version" | "MspaVersion"
  readonly version: number
  readonly fields: ReadonlyArray<FieldSpec>
  /** What an optional second segment holds: the GPC sub-section, sensitive-data consents, or nothing. */
  readonly sub: "gpc" | "sensitive" | "none"
}

const spec = (text: string): ReadonlyArray<FieldSpec> =>
  text
    .trim()
    .split(/\s+/)
    .map((token) => {
      const [name, count] = token.split(":")
      return [name!, count === undefined ? 0 : Number(count)] as const
    })

const usnatHead =
  "SharingNotice SaleOptOutNotice SharingOptOutNotice TargetedAdvertisingOptOutNotice " +
  "SensitiveDataProcessingOptOutNotice SensitiveDataLimitUseNotice SaleOptOut SharingOptOut TargetedAdvertisingOptOut"
const mspaTail = "MspaCoveredTransaction MspaOptOutOptionMode MspaServiceProviderMode"
const stateHead =
  "ProcessingNotice SaleOptOutNotice TargetedAdvertisingOptOutNotice SaleOptOut TargetedAdvertisingOptOut"
const vaHead = "SharingNotice SaleOptOutNotice TargetedAdvertisingOptOutNotice SaleOptOut TargetedAdvertisingOptOut"
const newHead =
  "MspaCoveredTransaction MspaMode ProcessingNotice SaleOptOutNotice TargetedAdvertisingOptOutNotice SaleOptOut " +
  "TargetedAdvertisingOptOut"

const layout = (
  id: number,
  name: string,
  fields: string,
  sub: Layout["sub"],
  version = 1,
  versionField: Layout["versionField"] = "Version"
): Layout => ({ id, name, versionField, version, fields: spec(fields), sub })

/** usnat version 1: 12 sensitive-data categories, 2 known-child entries. */
export const usnatV1 = layout(
  7,
  "usnat",
  `${usnatHead} SensitiveDataProcessing:12 KnownChildSensitiveDataConsents:2 PersonalDataConsents ${mspaTail}`,
  "gpc",
  1
)

/** usnat version 2: 16 sensitive-data categories, 3 known-child entries. */
export const usnatV2 = layout(
  7,
  "usnat",
  `${usnatHead} SensitiveDataProcessing:16 KnownChildSensitiveDataConsents:3 PersonalDataConsents ${mspaTail}`,
  "gpc",
  2
)

/** Every state section this library reads, by section id (as `@iabgpp/cmpapi` 3.2 defines them). */
export const states: ReadonlyMap<number, Layout> = new Map(
  [
    layout(
      8,
      "usca",
      "SaleOptOutNotice SharingOptOutNotice SensitiveDataLimitUseNotice SaleOptOut SharingOptOut " +
        `SensitiveDataProcessing:9 KnownChildSensitiveDataConsents:2 PersonalDataConsents ${mspaTail}`,
      "gpc"
    ),
    layout(9, "usva", `${vaHead} SensitiveDataProcessing:8 KnownChildSensitiveDataConsents ${mspaTail}`, "none"),
    layout(10, "usco", `${vaHead} SensitiveDataProcessing:7 KnownChildSensitiveDataConsents ${mspaTail}`, "gpc"),
    layout(
      11,
      "usut",
      "SharingNotice SaleOptOutNotice TargetedAdvertisingOptOutNotice SensitiveDataProcessingOptOutNotice SaleOptOut " +
        `TargetedAdvertisingOptOut SensitiveDataProcessing:8 KnownChildSensitiveDataConsents ${mspaTail}`,
      "none"
    ),
    layout(12, "usct", `${vaHead} SensitiveDataProcessing:8 KnownChildSensitiveDataConsents:3 ${mspaTail}`, "gpc"),
    ...(
      [
        [13, "usfl", stateHead, 8, 3, "none"],
        [14, "usmt", vaHead, 8, 3, "gpc"],
        [15, "usor", stateHead, 11, 3, "gpc"],
        [16, "ustx", stateHead, 8, 0, "gpc"],
        [17, "usde", stateHead, 9, 5, "gpc"],
        [19, "usne", stateHead, 8, 0, "gpc"],
        [20, "usnh", stateHead, 8, 3, "gpc"],
        [21, "usnj", stateHead, 10, 5, "gpc"],
        [22, "ustn", stateHead, 8, 0, "gpc"],
        [23, "usmn", stateHead, 8, 0, "gpc"]
      ] as const
    ).map(([id, name, head, sensitive, child, sub]) =>
      layout(
        id,
        name,
        `${head} SensitiveDataProcessing:${sensitive} KnownChildSensitiveDataConsents${child === 0 ? "" : `:${child}`} ` +
          `AdditionalDataProcessingConsent ${mspaTail}`,
        sub
      )
    ),
    layout(
      18,
      "usia",
      "ProcessingNotice SaleOptOutNotice TargetedAdvertisingOptOutNotice SensitiveDataOptOutNotice SaleOptOut " +
        `TargetedAdvertisingOptOut SensitiveDataProcessing:8 KnownChildSensitiveDataConsents ${mspaTail}`,
      "gpc"
    ),
    layout(24, "usmd", `${newHead} AdditionalDataProcessingConsent`, "gpc", 1, "MspaVersion"),
    ...(
      [
        [25, "usin"],
        [26, "usky"],
        [27, "usri"]
      ] as const
    ).map(([id, name]) =>
      layout(
        id,
        name,
        `${newHead} KnownChildSensitiveDataConsents AdditionalDataProcessingConsent`,
        "sensitive",
        1,
        "MspaVersion"
      )
    )
  ].map((l) => [l.id, l] as const)
)

/** Raw field values of a decoded section: 2-bit integers or lists of them. */
export type RawFields = Readonly<Record<string, number | ReadonlyArray<number>>>

/**
 * A US section in usnat terms, as Prebid's MSPA activity controls read it: `null` where the section has no such
 * field. Values: notices 0 not applicable, 1 provided, 2 not provided; opt-outs 0 not applicable, 1 opted out,
 * 2 did not opt out; consents 0 not applicable, 1 no consent, 2 consent.
 */
export interface UsnatConsent {
  readonly SharingNotice: number | null
  readonly SaleOptOutNotice: number | null
  readonly SharingOptOutNotice: number | null
  readonly TargetedAdvertisingOptOutNotice: number | null
  readonly SensitiveDataProcessingOptOutNotice: number | null
  readonly SensitiveDataLimitUseNotice: number | null
  readonly SaleOptOut: number | null
  readonly SharingOptOut: number | null
  readonly TargetedAdvertisingOptOut: number | null
  readonly SensitiveDataProcessing: ReadonlyArray<number | null>
  readonly KnownChildSensitiveDataConsents: ReadonlyArray<number | null>
  readonly PersonalDataConsents: number | null
  readonly MspaCoveredTransaction: number | null
  readonly MspaOptOutOptionMode: number | null
  readonly MspaServiceProviderMode: number | null
  readonly Gpc: boolean | null
}

const SCALARS = [
  "SharingNotice",
  "SaleOptOutNotice",
  "SharingOptOutNotice",
  "TargetedAdvertisingOptOutNotice",
  "SensitiveDataProcessingOptOutNotice",
  "SensitiveDataLimitUseNotice",
  "SaleOptOut",
  "SharingOptOut",
  "TargetedAdvertisingOptOut",
  "PersonalDataConsents",
  "MspaCoveredTransaction",
  "MspaOptOutOptionMode",
  "MspaServiceProviderMode"
] as const

type Scalar = (typeof SCALARS)[number]

const scalar = (fields: RawFields, name: string): number | null => {
  const value = fields[name]
  return typeof value === "number" ? value : null
}

/**
 * Copies a list into `length` slots, moving entries (0-based) as `move` says: Prebid's `normalizer`, entry by
 * entry, including its rule that a slot filled by a moved entry is not overwritten later.
 */
const remap = (
  value: number | ReadonlyArray<number> | undefined,
  length: number,
  move: Readonly<Record<number, ReadonlyArray<number>>> = {}
): Array<number | null> => {
  const out: Array<number | null> = new Array(length).fill(null)
  if (!Array.isArray(value)) return out
  const done: Array<number> = []
  value.forEach((entry: number, i: number) => {
    const moved = Object.hasOwn(move, i)
    const targets = moved ? move[i]! : [i]
    for (const target of targets) {
      if (target < length && !done.includes(target)) {
        out[target] = entry
        if (moved) done.push(target)
      }
    }
  })
  return out
}

/** Prebid's move maps are 1-based; these are the same maps 0-based. */
const oneBased = (map: Record<number, number | ReadonlyArray<number>>): Record<number, ReadonlyArray<number>> =>
  Object.fromEntries(
    Object.entries(map).map(([from, to]) => [
      Number(from) - 1,
      (Array.isArray(to) ? to : [to as number]).map((t: number) => t - 1)
    ])
  )

const CA_MOVE = oneBased({ 1: 9, 2: 10, 3: 8, 4: [1, 2], 5: 12, 8: 3, 9: 4 })
const UT_MOVE = oneBased({ 3: 4, 4: 5, 5: 3 })

const anyNonZero = (value: number | ReadonlyArray<number> | undefined): boolean =>
  Array.isArray(value) ? value.some((v) => v !== 0) : typeof value === "number" && value !== 0

const childOf = (value: number | ReadonlyArray<number> | undefined): Array<number> =>
  anyNonZero(value) ? [1, 1] : [0, 0]

/** Normalizes a decoded US section to usnat semantics. */
export const normalize = (layout: Layout, fields: RawFields, gpc: boolean | undefined): UsnatConsent => {
  const gpcValue = gpc === undefined ? null : gpc
  if (layout.id === 7) {
    const base = Object.fromEntries(SCALARS.map((name) => [name, scalar(fields, name)])) as Record<
      Scalar,
      number | null
    >
    return {
      ...base,
      SensitiveDataProcessing: [...((fields.SensitiveDataProcessing as ReadonlyArray<number>) ?? [])],
      KnownChildSensitiveDataConsents: [...((fields.KnownChildSensitiveDataConsents as ReadonlyArray<number>) ?? [])],
      Gpc: gpcValue
    }
  }
  const base = Object.fromEntries(SCALARS.map((name) => [name, scalar(fields, name)])) as Record<Scalar, number | null>
  const sensitive = fields.SensitiveDataProcessing
  const child = fields.KnownChildSensitiveDataConsents
  let SensitiveDataProcessing: Array<number | null>
  let KnownChildSensitiveDataConsents: Array<number | null>
  switch (layout.id) {
    case 8:
      SensitiveDataProcessing = remap(sensitive, 12, CA_MOVE)
      KnownChildSensitiveDataConsents = anyNonZero(child) ? [1, 1] : remap(child, 2)
      break
    case 9:
    case 10:
      SensitiveDataProcessing = remap(sensitive, 12)
      KnownChildSensitiveDataConsents = childOf(child)
      break
    case 11:
      SensitiveDataProcessing = remap(sensitive, 12, UT_MOVE)
      KnownChildSensitiveDataConsents = childOf(child)
      break
    case 12: {
      SensitiveDataProcessing = remap(sensitive, 12)
      const cc = Array.isArray(child) ? child : []
      KnownChildSensitiveDataConsents = !cc.some((v) => v !== 0) ? [0, 0] : cc[1] === 2 && cc[2] === 2 ? [2, 1] : [1, 1]
      break
    }
    default: {
      // Sections after Prebid's list: same-named fields carry over; the processing notice stands in for the
      // sharing notice (a missing notice denies), the sensitive-data opt-out notice keeps its meaning, the
      // single MSPA mode field splits into the two usnat mode flags, and any known-child signal is a child.
      SensitiveDataProcessing = remap(sensitive, 12)
      KnownChildSensitiveDataConsents = childOf(child)
      base.SharingNotice = scalar(fields, "ProcessingNotice")
      const sensitiveNotice = scalar(fields, "SensitiveDataOptOutNotice")
      if (sensitiveNotice !== null) base.SensitiveDataProcessingOptOutNotice = sensitiveNotice
      const mode = scalar(fields, "MspaMode")
      if (mode !== null) {
        base.MspaOptOutOptionMode = mode === 0 ? 0 : mode === 1 ? 1 : 2
        base.MspaServiceProviderMode = mode === 0 ? 0 : mode === 2 ? 1 : 2
      }
    }
  }
  return { ...base, SensitiveDataProcessing, KnownChildSensitiveDataConsents, Gpc: gpcValue }
}

const isApplicable = (value: number | null | undefined): boolean => value != null && value !== 0

const SENSITIVE_DATA_GEO = 7

const sensitiveNoticeIs = (c: UsnatConsent, value: number): boolean =>
  c.SensitiveDataProcessingOptOutNotice === value || c.SensitiveDataLimitUseNotice === value

/** Prebid's `isBasicConsentDenied`, with the reason for each condition that holds (GPC read as a boolean). */
export const basicDenials = (c: UsnatConsent): Array<string> => {
  const out: Array<string> = []
  if (c.MspaServiceProviderMode === 1) out.push("service-provider-mode")
  if (c.Gpc === true) out.push("gpc")
  if (c.PersonalDataConsents === 2) out.push("personal-data-consents")
  if (c.KnownChildSensitiveDataConsents[0] === 1 || isApplicable(c.KnownChildSensitiveDataConsents[1])) {
    out.push("known-child")
  }
  if (c.MspaCoveredTransaction === 0) out.push("not-covered")
  return out
}

const SCOPES = [
  ["SaleOptOut", "SaleOptOutNotice", "sale"],
  ["SharingOptOut", "SharingOptOutNotice", "sharing"],
  ["TargetedAdvertisingOptOut", "TargetedAdvertisingOptOutNotice", "targeted-advertising"]
] as const

/** Prebid's `isConsentDenied` (the rule for syncing users and enriching ids), with reasons. */
export const consentDenials = (c: UsnatConsent): Array<string> => {
  const out = basicDenials(c)
  for (const [optOut, notice, scope] of SCOPES) {
    if (c[optOut] === 1) out.push(`${scope}-opt-out`)
    if (c[notice] === 2) out.push(`${scope}-opt-out-notice-missing`)
    if (c[optOut] === 2 && c[notice] === 0) out.push(`${scope}-opt-out-notice-inconsistent`)
  }
  if (c.SharingNotice === 2) out.push("sharing-notice-missing")
  if (c.SharingOptOut === 2 && c.SharingNotice === 0) out.push("sharing-notice-inconsistent")
  return out
}

const CANNOT_BE_IN_SCOPE = [6, 7, 9, 10, 12].map((n) => n - 1)
const ALL_EXCEPT_GEO = Array.from({ length: 12 }, (_, i) => i).filter((i) => i !== SENSITIVE_DATA_GEO)
const MUST_HAVE_CONSENT = ALL_EXCEPT_GEO.filter((i) => !CANNOT_BE_IN_SCOPE.includes(i))

/** Prebid's `isTransmitUfpdConsentDenied`: may first-party data about the user be passed on? */
export const firstPartyDataDenied = (c: UsnatConsent, consentDenied: boolean): boolean => {
  const sdp = c.SensitiveDataProcessing
  return (
    consentDenied ||
    sensitiveNoticeIs(c, 2) ||
    CANNOT_BE_IN_SCOPE.some((i) => isApplicable(sdp[i])) ||
    MUST_HAVE_CONSENT.some((i) => sdp[i] === 1) ||
    (sensitiveNoticeIs(c, 0) && ALL_EXCEPT_GEO.some((i) => sdp[i] === 2))
  )
}

/** Prebid's `isTransmitGeoConsentDenied`: may precise geolocation be used? */
export const preciseGeolocationDenied = (c: UsnatConsent, basicDenied: boolean): boolean => {
  const geo = c.SensitiveDataProcessing[SENSITIVE_DATA_GEO]
  return geo === 1 || basicDenied || sensitiveNoticeIs(c, 2) || (sensitiveNoticeIs(c, 0) && geo === 2)
}
