/**
 * The raw consent signals of one event, gathered from untrusted input: the request's `Sec-GPC` and `DNT` headers,
 * the opt-out cookie, the standard consent query parameters, and the signals the tag forwards inside the event.
 * Parsing is strict (only `Sec-GPC: 1`, `DNT: 1`, `oa_optout=1` count) and merging keeps the most restrictive
 * value of every signal. Headers are read alike from a WHATWG `Headers` object and a plain Node header record.
 *
 * @since 0.1.0
 */
import type { Event } from "@openaudience/event-schema"
import * as Cookie from "cookie"
import * as Schema from "effect/Schema"
import type { Mutable } from "effect/Types"
import * as Headers from "./internal/headers.js"

/**
 * Which consent strings arrived with two different values (from the request and from the event, say). A conflict
 * is treated as an invalid string: the decision fails closed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StringSignal = Schema.Literal("tcf", "gpp", "usp")

/**
 * @since 0.1.0
 * @category models
 */
export type StringSignal = typeof StringSignal.Type

/**
 * The signals of one event. `gpc`, `dnt`, `optout`: Global Privacy Control, Do Not Track, our opt-out cookie or
 * the tag's first-party opt-out flag. `tcf`: a TC string; `gpp` and `gppSid`: a GPP string and the sections the
 * CMP says apply; `usp`: a legacy US Privacy string; `coppa`: the page or request is flagged as directed to
 * children; `gdprApplies`: the page's TCF CMP (or a `gdpr=1` / `gdpr=0` parameter) says whether the GDPR applies.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Signals = Schema.Struct({
  gpc: Schema.Boolean,
  dnt: Schema.Boolean,
  optout: Schema.Boolean,
  tcf: Schema.optionalWith(Schema.String, { exact: true }),
  gpp: Schema.optionalWith(Schema.String, { exact: true }),
  gppSid: Schema.optionalWith(Schema.Array(Schema.Int), { exact: true }),
  usp: Schema.optionalWith(Schema.String, { exact: true }),
  coppa: Schema.optionalWith(Schema.Boolean, { exact: true }),
  gdprApplies: Schema.optionalWith(Schema.Boolean, { exact: true }),
  conflicts: Schema.optionalWith(Schema.Array(StringSignal), { exact: true })
}).annotations({ identifier: "Signals" })

/**
 * @since 0.1.0
 * @category models
 */
export type Signals = typeof Signals.Type

/**
 * No signal at all.
 *
 * @since 0.1.0
 * @category constants
 */
export const empty: Signals = { gpc: false, dnt: false, optout: false }

/**
 * The name of the opt-out cookie `/optout` sets.
 *
 * @since 0.1.0
 * @category constants
 */
export const OptOutCookie = "oa_optout"

/**
 * A plain header record as Node (`IncomingHttpHeaders`) and `@effect/platform` (`Headers`) give it: names, a
 * string or a list of strings.
 *
 * @since 0.1.0
 * @category models
 */
export type HeaderBag = Headers.HeaderRecord

/**
 * Request headers in either shape: a WHATWG `Headers` object (fetch-style servers: Hono, Next, Bun, Deno) or a
 * plain record (`HeaderBag`, Node's `req.headers`). Both read alike: names are case-insensitive, and several
 * values of one header count as that many values (a record's list, or `Headers`' comma-joined value).
 *
 * @since 0.2.0
 * @category models
 */
export type HeadersLike = Headers.HeadersLike

const values = (value: string | ReadonlyArray<string> | undefined): ReadonlyArray<string> =>
  value === undefined ? [] : typeof value === "string" ? [value] : value

/**
 * `1` exactly (surrounding whitespace ignored), as any of the header's values. Several field lines of one header
 * mean the same as one line with the values comma-separated (RFC 9110), so each comma-separated part counts.
 */
const headerIsOne = (value: string | undefined): boolean => {
  if (value === undefined) return false
  if (!value.includes(",")) return value.trim() === "1"
  for (const part of value.split(",")) if (part.trim() === "1") return true
  return false
}

/**
 * Whether a Cookie header carries the opt-out cookie with the value `1` (strictly; any other value does not
 * count). When the cookie appears more than once, any `1` counts. Pairs are separated by `;`, and by `,` too:
 * that is how `Headers` joins several Cookie lines.
 *
 * @since 0.1.0
 * @category parsing
 */
export const hasOptOutCookie = (
  cookieHeader: string | ReadonlyArray<string> | undefined,
  cookieName: string = OptOutCookie
): boolean => {
  for (const header of values(cookieHeader)) {
    if (!header.includes(cookieName)) continue
    for (const pair of header.split(/[;,]/)) {
      if (Cookie.parse(pair)[cookieName] === "1") return true
    }
  }
  return false
}

/** The request headers that carry signals, read in one pass. */
const signalHeaders = ["sec-gpc", "dnt", "cookie"] as const

/**
 * The signals a request carries by itself: `Sec-GPC: 1`, `DNT: 1` and the opt-out cookie. `headers` may be a
 * WHATWG `Headers` object or a plain Node header record (see `HeadersLike`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromRequest = (headers: HeadersLike, cookieName: string = OptOutCookie): Signals => {
  const [gpc, dnt, cookie] = Headers.headers(headers, signalHeaders)
  return {
    gpc: headerIsOne(gpc),
    dnt: headerIsOne(dnt),
    optout: hasOptOutCookie(cookie, cookieName)
  }
}

/** Largest GPP section id accepted in `gpp_sid`. */
const MAX_SECTION_ID = 1_000

/**
 * The signals in a pixel URL's standard consent parameters (IAB's macro names): `gdpr` (`1`: the GDPR applies,
 * `0`: it does not; anything else is ignored), `gdpr_consent` (TC string), `gpp`, `gpp_sid` (comma-separated
 * section ids; `-1` means none applies), `us_privacy` and `coppa=1`. Unparseable ids are ignored.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromQuery = (params: URLSearchParams): Signals => {
  const tcf = params.get("gdpr_consent")
  const gpp = params.get("gpp")
  const usp = params.get("us_privacy")
  const sid = params.get("gpp_sid")
  const gdpr = params.get("gdpr")
  const gppSid =
    sid === null
      ? []
      : sid
          .split(",")
          .map((s) => s.trim())
          .filter((s) => /^\d{1,4}$/.test(s))
          .map(Number)
          .filter((n) => n >= 1 && n <= MAX_SECTION_ID)
  const signals: Mutable<Signals> = { gpc: false, dnt: false, optout: false }
  if (tcf !== null && tcf !== "") signals.tcf = tcf
  if (gpp !== null && gpp !== "") signals.gpp = gpp
  if (gppSid.length > 0) signals.gppSid = [...new Set(gppSid)].sort((a, b) => a - b)
  if (usp !== null && usp !== "") signals.usp = usp
  if (params.get("coppa") === "1") signals.coppa = true
  if (gdpr === "1") signals.gdprApplies = true
  else if (gdpr === "0") signals.gdprApplies = false
  return signals
}

/**
 * The signals an event carries in its `consent` field, as the tag or a server-to-server sender saw them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEvent = (consent: Event.ConsentSignals | undefined): Signals => {
  if (consent === undefined) return empty
  const signals: Mutable<Signals> = {
    gpc: consent.gpc === true,
    dnt: consent.dnt === true,
    optout: consent.optout === true
  }
  if (consent.tcf !== undefined) signals.tcf = consent.tcf
  if (consent.gpp !== undefined) signals.gpp = consent.gpp
  if (consent.gdprApplies !== undefined) signals.gdprApplies = consent.gdprApplies
  return signals
}

const mergeString = (
  name: StringSignal,
  a: string | undefined,
  b: string | undefined,
  conflicts: Array<StringSignal>
): string | undefined => {
  if (a === undefined) return b
  if (b !== undefined && a !== b) conflicts.push(name)
  return a
}

/** Of two optional flags, `true` if either is, else `false` if either is, else absent. */
const restrictive = (a: boolean | undefined, b: boolean | undefined): boolean | undefined =>
  a === true || b === true ? true : a === false || b === false ? false : undefined

/**
 * Merges two sets of signals for the same event, the most restrictive value winning: any `true` flag stays true
 * (`gdprApplies` and `coppa` too: `true` over `false` over absent), GPP section ids are united, and a consent string that arrives with two different values is kept from `a` and
 * recorded in `conflicts` (the decision then treats it as invalid).
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = (a: Signals, b: Signals): Signals => {
  const conflicts: Array<StringSignal> = a.conflicts === undefined ? [] : a.conflicts.slice()
  if (b.conflicts !== undefined) for (const c of b.conflicts) conflicts.push(c)
  const tcf = mergeString("tcf", a.tcf, b.tcf, conflicts)
  const gpp = mergeString("gpp", a.gpp, b.gpp, conflicts)
  const usp = mergeString("usp", a.usp, b.usp, conflicts)
  const sids = a.gppSid === undefined ? b.gppSid : b.gppSid === undefined ? a.gppSid : [...a.gppSid, ...b.gppSid]
  const coppa = restrictive(a.coppa, b.coppa)
  const gdprApplies = restrictive(a.gdprApplies, b.gdprApplies)
  // Built by assignment in a fixed order rather than from conditional spreads: this runs for every pixel and every
  // ad, and objects made by spreading take V8's slow path.
  const merged: Mutable<Signals> = { gpc: a.gpc || b.gpc, dnt: a.dnt || b.dnt, optout: a.optout || b.optout }
  if (tcf !== undefined) merged.tcf = tcf
  if (gpp !== undefined) merged.gpp = gpp
  if (sids !== undefined) merged.gppSid = [...new Set(sids)].sort((x, y) => x - y)
  if (usp !== undefined) merged.usp = usp
  if (coppa !== undefined) merged.coppa = coppa
  if (gdprApplies !== undefined) merged.gdprApplies = gdprApplies
  if (conflicts.length > 0) merged.conflicts = [...new Set(conflicts)]
  return merged
}

/**
 * The signals of an event received over HTTP: the request's own signals merged with those the event carries.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromRequestAndEvent = (
  headers: HeadersLike,
  consent: Event.ConsentSignals | undefined,
  cookieName: string = OptOutCookie
): Signals => merge(fromRequest(headers, cookieName), fromEvent(consent))
