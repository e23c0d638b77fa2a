/**
 * Page URLs and referrers scrubbed of personal data before they are stored. Query parameters are dropped except
 * an allowlist (campaign `utm_*` parameters and product and category parameters by default, per tenant if
 * configured); click ids (`gclid`, `fbclid`, `msclkid`, …) are always dropped; credentials in the URL are always
 * dropped. Email addresses, phone numbers (also bare digits: national forms, international numbers without `+`),
 * IPv4 and IPv6 addresses, card-like numbers (Luhn) and long random tokens are detected in the path, in the kept
 * query values and in the fragment, through percent-encoding (any depth up to 16 rounds; deeper counts as a
 * token), `+`-for-space and full-width characters, and redacted:
 *
 * - a path segment holding any of them becomes `:redacted` (the shape of the path stays, for page grouping);
 * - a kept query parameter holding any of them keeps its name with the value `:redacted`;
 * - a fragment is scrubbed like a path (`#/route/...`) or like a query (`#a=1&b=2`) when it looks like one, and
 *   dropped otherwise when it holds any of them; matrix parameters (`;jsessionid=...`) are dropped from segments.
 *
 * Referrers from other sites are cut to their origin by default; same-site referrers are scrubbed like URLs.
 * Anything that is not an absolute http(s) URL (after resolving against `pageOrigin`) gives `undefined`, never
 * the raw input. Plain synchronous code for the collector's hot path; nothing here throws.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { LRUCache } from "lru-cache"
import { detect, type PiiKind, percentDecode } from "./internal/pii.js"

/**
 * The kinds of personal data detected in URLs.
 *
 * @since 0.1.0
 * @category models
 */
export const Pii = Schema.Literal("email", "phone", "card", "ip", "token")

/**
 * @since 0.1.0
 * @category models
 */
export type Pii = PiiKind

/**
 * What a redacted path segment or query value becomes.
 *
 * @since 0.1.0
 * @category constants
 */
export const Redacted = ":redacted"

/**
 * Query parameters kept by default: campaign parameters and common product and category parameters.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAllowParams: ReadonlyArray<string> = [
  "utm_source",
  "utm_medium",
  "utm_campaign",
  "utm_term",
  "utm_content",
  "utm_id",
  "product",
  "product_id",
  "sku",
  "category",
  "category_id",
  "cat",
  "pid",
  "variant"
]

/**
 * Click and tracking ids, always dropped even when allowlisted: they identify one click, so one person.
 *
 * @since 0.1.0
 * @category constants
 */
export const clickIds: ReadonlyArray<string> = [
  "gclid",
  "gclsrc",
  "gbraid",
  "wbraid",
  "dclid",
  "gad_source",
  "gad_campaignid",
  "srsltid",
  "fbclid",
  "igshid",
  "msclkid",
  "yclid",
  "twclid",
  "ttclid",
  "li_fat_id",
  "epik",
  "sccid",
  "rdt_cid",
  "qclid",
  "irclickid",
  "ef_id",
  "s_kwcid",
  "mc_eid",
  "mc_cid",
  "_hsenc",
  "_hsmi",
  "__hstc",
  "__hssc",
  "__hsfp",
  "hsctatracking",
  "mkt_tok",
  "_kx",
  "vero_id",
  "vero_conv",
  "oly_enc_id",
  "oly_anon_id",
  "_openstat",
  "wickedid",
  "rb_clickid",
  "ml_subscriber",
  "ml_subscriber_hash",
  "__s",
  "cid_hash"
]

/**
 * Options of `scrub`: the query parameters kept (`allowParams`, names compared case-insensitively) and the page
 * origin relative URLs resolve against.
 *
 * @since 0.1.0
 * @category models
 */
export const ScrubOptions = Schema.Struct({
  allowParams: Schema.optional(Schema.Array(Schema.String)),
  pageOrigin: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type ScrubOptions = typeof ScrubOptions.Type

/**
 * The longest URL accepted; longer ones give `undefined`.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxLength = 8_192

const MAX_VALUE = 512
const MAX_FRAGMENT = 512

/**
 * The first kind of personal data found in a piece of text (percent-encoded or not), or `undefined`.
 *
 * @since 0.1.0
 * @category detection
 */
export const findPii = (text: string): Pii | undefined => detect(text)

const formDecodeKey = (raw: string): string => percentDecode(raw.replace(/\+/g, " ")).trim().toLowerCase()

const clickIdSet = new Set(clickIds)

interface Compiled {
  readonly allow: ReadonlySet<string>
  readonly base: URL | undefined
}

const compile = (options: ScrubOptions): Compiled => {
  const allow = new Set<string>()
  for (const name of options.allowParams ?? defaultAllowParams) {
    const key = name.trim().toLowerCase()
    if (!clickIdSet.has(key)) allow.add(key)
  }
  return {
    allow,
    base: options.pageOrigin !== undefined && URL.canParse(options.pageOrigin) ? new URL(options.pageOrigin) : undefined
  }
}

const scrubSegment = (segment: string): string => {
  const semicolon = segment.indexOf(";")
  const bare = semicolon === -1 ? segment : segment.slice(0, semicolon)
  return bare.length > MAX_VALUE || detect(bare) !== undefined ? Redacted : bare
}

const scrubPath = (path: string): string => path.split("/").map(scrubSegment).join("/")

/** Keeps allowlisted parameters (in order), their values redacted when they hold personal data. */
const scrubParams = (raw: string, allow: ReadonlySet<string>): string => {
  if (raw === "") return ""
  const kept: Array<string> = []
  for (const pair of raw.split("&")) {
    if (pair === "") continue
    const eq = pair.indexOf("=")
    const rawKey = eq === -1 ? pair : pair.slice(0, eq)
    const key = formDecodeKey(rawKey)
    if (!allow.has(key) || clickIdSet.has(key)) continue
    const value = eq === -1 ? "" : pair.slice(eq + 1)
    const safeKey = encodeURIComponent(key)
    kept.push(
      value.length > MAX_VALUE || detect(value) !== undefined
        ? `${safeKey}=${Redacted}`
        : eq === -1
          ? safeKey
          : `${safeKey}=${value}`
    )
  }
  return kept.join("&")
}

const scrubFragment = (raw: string, allow: ReadonlySet<string>): string => {
  if (raw === "" || raw.length > MAX_FRAGMENT) return ""
  if (raw.startsWith("/") || raw.startsWith("!/")) {
    // A client-side route: a path, perhaps with a query.
    const question = raw.indexOf("?")
    const path = scrubPath(question === -1 ? raw : raw.slice(0, question))
    const query = question === -1 ? "" : scrubParams(raw.slice(question + 1), allow)
    return query === "" ? path : `${path}?${query}`
  }
  if (raw.includes("=")) return scrubParams(raw, allow)
  return detect(raw) === undefined ? raw : ""
}

const parseHttp = (input: string, base: URL | undefined): URL | undefined => {
  if (input.length > MaxLength) return undefined
  let url: URL
  try {
    // One parse (URL.canParse first would parse twice; URL.parse needs Node 22).
    url = new URL(input, base?.href)
  } catch {
    return undefined
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url : undefined
}

const scrubParsed = (url: URL, compiled: Compiled): string => {
  const path = scrubPath(url.pathname)
  const query = scrubParams(url.search.slice(1), compiled.allow)
  const fragment = scrubFragment(url.hash.slice(1), compiled.allow)
  return `${url.protocol}//${url.host}${path}${query === "" ? "" : `?${query}`}${fragment === "" ? "" : `#${fragment}`}`
}

/** Inputs that scrubbing left exactly as they were, bounded in number and size. */
const cleanCache = () =>
  new LRUCache<string, true>({
    max: 10_000,
    maxSize: 4 * 1024 * 1024,
    sizeCalculation: (_, key) => key.length * 2 + 64
  })

/**
 * A URL's query exactly as the URL parser gives it back (`url.search`): printable ASCII that the query's
 * percent-encode set of http(s) URLs leaves alone (no space, `"`, `#`, `'`, `<`, `>`, control or non-ASCII character).
 */
const parsedAsIs = /^[!$%&()*+,\-./0-9:;=?@A-Z[\\\]^_`a-z{|}~]*$/

/**
 * Scrubbing by the part before the query, for URLs whose query scrubbing changed (utm parameters, say, on every
 * page view): a base (`scheme://host/path`, no query or fragment) is remembered, under `prefix`, only when the
 * scrubbed URL started with it exactly as it was in the input, so it holds nothing that scrubbing drops or redacts.
 * A URL with a remembered base, no fragment and a query the parser keeps as it is is then scrubbed without parsing:
 * the base and its scrubbed query, what parsing and `scrubParsed` give for it.
 */
const cleanBases = (known: LRUCache<string, true>, allow: ReadonlySet<string>) => {
  const split = (url: string): number => {
    if (url.length > MaxLength || url.includes("#")) return -1
    const question = url.indexOf("?")
    return question > 0 && parsedAsIs.test(url.slice(question + 1)) ? question : -1
  }
  return {
    scrub: (url: string, prefix: string): string | undefined => {
      const question = split(url)
      if (question === -1) return undefined
      const base = url.slice(0, question)
      if (known.get(prefix + base) !== true) return undefined
      const query = scrubParams(url.slice(question + 1), allow)
      return query === "" ? base : `${base}?${query}`
    },
    remember: (url: string, scrubbed: string, prefix: string): void => {
      const question = split(url)
      if (question === -1) return
      const base = url.slice(0, question)
      if (scrubbed === base || (scrubbed.startsWith(base) && scrubbed.charCodeAt(base.length) === 63)) {
        known.set(prefix + base, true)
      }
    }
  }
}

/**
 * A scrubbing function for fixed options (compile once per tenant, call per event).
 *
 * @since 0.1.0
 * @category scrubbing
 */
export const scrubber = (options: ScrubOptions = {}): ((url: string | undefined | null) => string | undefined) => {
  const compiled = compile(options)
  // Page URLs repeat heavily. URLs that scrubbing leaves exactly as they are (nothing to drop or redact) are
  // remembered, bounded, so they are not parsed again; a URL that held anything to remove is never kept here.
  const clean = cleanCache()
  // And the part before the query of URLs whose query scrubbing dropped or redacted: kept only when it came out of
  // scrubbing exactly as it went in (see `cleanBases`).
  const bases = cleanBases(cleanCache(), compiled.allow)
  return (url) => {
    if (typeof url !== "string") return undefined
    if (clean.get(url) === true) return url
    const known = bases.scrub(url, "")
    if (known !== undefined) return known
    const parsed = parseHttp(url, compiled.base)
    if (parsed === undefined) return undefined
    const scrubbed = scrubParsed(parsed, compiled)
    if (scrubbed === url) clean.set(url, true)
    else bases.remember(url, scrubbed, "")
    return scrubbed
  }
}

const defaultCompiled = compile({})
const compiledByOptions = new WeakMap<ScrubOptions, Compiled>()

const compiledFor = (options: ScrubOptions | undefined): Compiled => {
  if (options === undefined) return defaultCompiled
  let compiled = compiledByOptions.get(options)
  if (compiled === undefined) {
    compiled = compile(options)
    compiledByOptions.set(options, compiled)
  }
  return compiled
}

/**
 * Scrubs a page URL: allowlisted query parameters only, no click ids, no credentials, personal data redacted
 * from path, query and fragment. `undefined` for anything that is not an absolute http(s) URL. Options objects
 * are compiled once per object (keep them, or use `scrubber`).
 *
 * @since 0.1.0
 * @category scrubbing
 */
export const scrub = (url: string | undefined | null, options?: ScrubOptions): string | undefined => {
  if (typeof url !== "string") return undefined
  const compiled = compiledFor(options)
  const parsed = parseHttp(url, compiled.base)
  return parsed === undefined ? undefined : scrubParsed(parsed, compiled)
}

/**
 * Options of `scrubReferrer`: what other sites' referrers become (`"origin"`, the default, or `"drop"`), and the
 * query parameters kept in same-site referrers.
 *
 * @since 0.1.0
 * @category models
 */
export const ReferrerOptions = Schema.Struct({
  crossSite: Schema.optional(Schema.Literal("origin", "drop")),
  allowParams: Schema.optional(Schema.Array(Schema.String))
})

/**
 * @since 0.1.0
 * @category models
 */
export type ReferrerOptions = typeof ReferrerOptions.Type

const siteHost = (host: string): string => (host.startsWith("www.") ? host.slice(4) : host)

/**
 * Scrubs a referrer. Same site (the page's host, ignoring a leading `www.`): scrubbed like a page URL. Another
 * site: its origin (`https://www.example.com`), or `undefined` with `crossSite: "drop"`. Not an absolute
 * http(s) URL: `undefined`. Without a valid `pageOrigin` every referrer counts as another site.
 *
 * @since 0.1.0
 * @category scrubbing
 */
export const scrubReferrer = (
  referrer: string | undefined | null,
  pageOrigin: string | undefined,
  options: ReferrerOptions = {}
): string | undefined => {
  if (typeof referrer !== "string") return undefined
  const url = parseHttp(referrer, undefined)
  if (url === undefined) return undefined
  const page = pageOrigin === undefined ? undefined : parseHttp(pageOrigin, undefined)
  if (page !== undefined && siteHost(page.hostname) === siteHost(url.hostname)) {
    return scrubParsed(url, compiledFor(options.allowParams === undefined ? undefined : options))
  }
  return options.crossSite === "drop" ? undefined : url.origin
}

/**
 * The hostname of a URL as `scrub` and `scrubber` return it (`https://shop.example:8443/p` → `shop.example`,
 * `http://[::1]:8080/` → `[::1]`), read off the string: their output is serialized by the URL parser
 * (lowercase, punycode, no credentials), so no second parse is needed. `undefined` for anything else.
 *
 * @since 0.2.0
 * @category scrubbing
 */
export const hostnameOfScrubbed = (url: string): string | undefined => {
  const start = url.startsWith("https://") ? 8 : url.startsWith("http://") ? 7 : -1
  if (start === -1) return undefined
  const slash = url.indexOf("/", start)
  const host = slash === -1 ? url.slice(start) : url.slice(start, slash)
  if (host === "") return undefined
  if (host.startsWith("[")) {
    const close = host.indexOf("]")
    return close === -1 ? undefined : host.slice(0, close + 1)
  }
  const colon = host.lastIndexOf(":")
  return colon === -1 ? host : host.slice(0, colon)
}

/**
 * A referrer scrubbing function for fixed options (compile once per tenant, call per event): the same result as
 * `scrubReferrer(referrer, page, options)`, given the page's hostname (`hostnameOfScrubbed` of the scrubbed page
 * URL) instead of the page URL, so the page is not parsed again. Same-site referrers that scrubbing leaves exactly
 * as they are (nothing to drop or redact) are remembered per site, bounded, and not parsed again; a referrer that
 * held anything to remove, or from another site, is never kept.
 *
 * @since 0.2.0
 * @category scrubbing
 */
export const referrerScrubber = (
  options: ReferrerOptions = {}
): ((referrer: string | undefined | null, pageHostname: string | undefined) => string | undefined) => {
  const compiled = compile(options.allowParams === undefined ? {} : { allowParams: options.allowParams })
  const drop = options.crossSite === "drop"
  const clean = cleanCache()
  const bases = cleanBases(cleanCache(), compiled.allow)
  return (referrer, pageHostname) => {
    if (typeof referrer !== "string") return undefined
    const site = pageHostname === undefined ? undefined : siteHost(pageHostname)
    const key = site === undefined ? undefined : `${site}\u0000${referrer}`
    if (key !== undefined && clean.get(key) === true) return referrer
    if (site !== undefined) {
      const known = bases.scrub(referrer, `${site}\u0000`)
      if (known !== undefined) return known
    }
    const url = parseHttp(referrer, undefined)
    if (url === undefined) return undefined
    if (site !== undefined && site === siteHost(url.hostname)) {
      const scrubbed = scrubParsed(url, compiled)
      if (scrubbed === referrer && key !== undefined) clean.set(key, true)
      else bases.remember(referrer, scrubbed, `${site}\u0000`)
      return scrubbed
    }
    return drop ? undefined : url.origin
  }
}
