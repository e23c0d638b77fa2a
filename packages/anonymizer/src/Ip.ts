/**
 * IP addresses: strict parsing of IPv4 and IPv6 (Node's `isIP`, then our own normalisation to bytes), truncation
 * to a network prefix before anything is stored or logged, and the client address of a request, honouring
 * `X-Forwarded-For` or `Forwarded` only when the direct peer is a configured trusted proxy.
 *
 * The full address is for use in memory at request time only (the consent jurisdiction, rate limiting); what is
 * kept is `truncate`'s output. Everything here is plain synchronous code for the collector's hot path and never
 * throws: invalid input truncates to `"unknown"`, never to the raw input.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { isIP } from "node:net"

/**
 * A parsed address: 4 bytes for IPv4, 16 for IPv6. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) parse as IPv4.
 *
 * @since 0.1.0
 * @category models
 */
export interface Address {
  readonly family: 4 | 6
  readonly bytes: Uint8Array
}

/**
 * A truncated address as stored: `"203.0.113.0"`, `"2001:db8:1::"`, or `"unknown"`.
 *
 * @since 0.1.0
 * @category models
 */
export const Truncated = Schema.String.pipe(Schema.brand("@openaudience/anonymizer/TruncatedIp"))

/**
 * @since 0.1.0
 * @category models
 */
export type Truncated = typeof Truncated.Type

/**
 * What every invalid or missing address truncates to.
 *
 * @since 0.1.0
 * @category constants
 */
export const unknown: Truncated = "unknown" as Truncated

/**
 * How much of an address is kept: `v4Bytes` leading bytes of IPv4 (1 to 3; 3 keeps the /24) and the leading
 * `v6Prefix` bits of IPv6 (0 to 64; 48 by default).
 *
 * @since 0.1.0
 * @category models
 */
export const TruncateOptions = Schema.Struct({
  v4Bytes: Schema.optionalWith(Schema.Literal(1, 2, 3), { default: () => 3 as const }),
  v6Prefix: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 64)), { default: () => 48 })
})

/**
 * @since 0.1.0
 * @category models
 */
export type TruncateOptions = typeof TruncateOptions.Type

/**
 * The defaults: IPv4 to /24, IPv6 to /48.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTruncation: TruncateOptions = { v4Bytes: 3, v6Prefix: 48 }

const MAX_INPUT = 64

const parseV4 = (s: string): Uint8Array => {
  const bytes = new Uint8Array(4)
  let i = 0
  for (const part of s.split(".")) bytes[i++] = Number(part)
  return bytes
}

const parseHexGroups = (s: string, out: Array<number>): boolean => {
  if (s === "") return true
  for (const group of s.split(":")) {
    if (group.includes(".")) {
      const v4 = parseV4(group)
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
    } else {
      out.push(Number.parseInt(group, 16))
    }
  }
  return true
}

const parseV6 = (s: string): Uint8Array => {
  const gap = s.indexOf("::")
  const head: Array<number> = []
  const tail: Array<number> = []
  if (gap === -1) parseHexGroups(s, head)
  else {
    parseHexGroups(s.slice(0, gap), head)
    parseHexGroups(s.slice(gap + 2), tail)
  }
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  const bytes = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = groups[i]! >> 8
    bytes[2 * i + 1] = groups[i]! & 0xff
  }
  return bytes
}

const isV4Mapped = (b: Uint8Array): boolean => {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false
  return b[10] === 0xff && b[11] === 0xff
}

/**
 * Parses an IPv4 or IPv6 address strictly: no surrounding spaces, brackets or ports, no leading zeros in IPv4
 * parts. An IPv6 zone (`%eth0`) is dropped; IPv4-mapped IPv6 becomes IPv4. `undefined` for anything else.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string | undefined | null): Address | undefined => {
  if (typeof input !== "string" || input.length === 0 || input.length > MAX_INPUT) return undefined
  const family = isIP(input)
  if (family === 4) return { family: 4, bytes: parseV4(input) }
  if (family !== 6) return undefined
  const zone = input.indexOf("%")
  const bytes = parseV6(zone === -1 ? input : input.slice(0, zone))
  return isV4Mapped(bytes) ? { family: 4, bytes: bytes.slice(12) } : { family: 6, bytes }
}

/**
 * Formats an address canonically: dotted IPv4, or RFC 5952 IPv6 (lower case, the longest run of zero groups
 * compressed).
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (address: Address): string => {
  const b = address.bytes
  if (address.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
  const groups: Array<number> = []
  for (let i = 0; i < 8; i++) groups.push((b[2 * i]! << 8) | b[2 * i + 1]!)
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(":")
  return bestStart === -1 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`
}

/** Keeps the first `bits` bits of `bytes`, zeroing the rest (a new array). */
const keepBits = (bytes: Uint8Array, bits: number): Uint8Array => {
  const out = new Uint8Array(bytes.length)
  const full = bits >> 3
  out.set(bytes.subarray(0, full))
  const rest = bits & 7
  if (rest !== 0 && full < bytes.length) out[full] = bytes[full]! & (0xff << (8 - rest))
  return out
}

const clamp = (value: number, min: number, max: number, fallback: number): number =>
  Number.isFinite(value) ? Math.min(max, Math.max(min, Math.floor(value))) : fallback

/**
 * The network prefix kept of an address. 6to4 addresses (`2002::/16`) carry a whole IPv4 address in their next
 * 32 bits, so they keep at most 16 bits plus the IPv4 truncation's bits: a /48 would keep the full IPv4 address.
 *
 * @since 0.1.0
 * @category truncation
 */
export const truncateAddress = (address: Address, options: Partial<TruncateOptions> = defaultTruncation): Address => {
  const v4Bytes = clamp(options.v4Bytes ?? 3, 1, 3, 3)
  if (address.family === 4) return { family: 4, bytes: keepBits(address.bytes, 8 * v4Bytes) }
  let prefix = clamp(options.v6Prefix ?? 48, 0, 64, 48)
  if (address.bytes[0] === 0x20 && address.bytes[1] === 0x02) prefix = Math.min(prefix, 16 + 8 * v4Bytes)
  return { family: 6, bytes: keepBits(address.bytes, prefix) }
}

/**
 * Truncates an address for storage: `"203.0.113.77"` → `"203.0.113.0"`, `"2001:db8:1:2::5"` → `"2001:db8:1::"`,
 * `"::ffff:203.0.113.77"` → `"203.0.113.0"`; anything that is not a valid address → `"unknown"`. Options outside
 * their range are clamped (IPv4 1–3 bytes, IPv6 0–64 bits), so no option keeps a whole address.
 *
 * @since 0.1.0
 * @category truncation
 */
export const truncate = (input: string | undefined | null, options?: Partial<TruncateOptions>): Truncated => {
  const address = parse(input)
  return address === undefined ? unknown : (format(truncateAddress(address, options)) as Truncated)
}

// ---------------------------------------------------------------------------------------------------------------
// Trusted proxies and the client address
// ---------------------------------------------------------------------------------------------------------------

/**
 * A network: an address and a prefix length.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cidr {
  readonly family: 4 | 6
  readonly bytes: Uint8Array
  readonly prefix: number
}

/**
 * A configuration value that is not a valid address, network or named range.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidCidr extends Schema.TaggedError<InvalidCidr>()("InvalidCidr", {
  input: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid trusted proxy "${this.input}": ${this.detail}`
  }
}

/**
 * Named ranges accepted in a trusted proxy list besides addresses and CIDRs.
 *
 * @since 0.1.0
 * @category constants
 */
export const namedRanges: Readonly<Record<string, ReadonlyArray<string>>> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  private: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
  linklocal: ["169.254.0.0/16", "fe80::/10"]
}

const parseOneCidr = (input: string): Either.Either<Cidr, InvalidCidr> => {
  const slash = input.indexOf("/")
  const address = parse(slash === -1 ? input : input.slice(0, slash))
  if (address === undefined) return Either.left(new InvalidCidr({ input, detail: "not an IPv4 or IPv6 address" }))
  const max = address.family === 4 ? 32 : 128
  // An IPv4-mapped network (::ffff:10.0.0.0/104) is the IPv4 network /8.
  const mapped = address.family === 4 && input.includes(":")
  let prefix = max
  if (slash !== -1) {
    const text = input.slice(slash + 1)
    if (!/^\d{1,3}$/.test(text)) return Either.left(new InvalidCidr({ input, detail: "the prefix is not a number" }))
    prefix = Number(text) - (mapped ? 96 : 0)
    if (prefix < 0 || prefix > max)
      return Either.left(new InvalidCidr({ input, detail: `the prefix must be between 0 and ${max}` }))
  }
  return Either.right({ family: address.family, bytes: keepBits(address.bytes, prefix), prefix })
}

/**
 * A set of trusted proxy networks, and which forwarding header they write.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrustedProxies {
  readonly cidrs: ReadonlyArray<Cidr>
  /** The one header the proxies set; the other is ignored, so a client cannot smuggle an address through it. */
  readonly header: "x-forwarded-for" | "forwarded"
}

/**
 * No trusted proxy: the direct peer is always the client.
 *
 * @since 0.1.0
 * @category constants
 */
export const noProxies: TrustedProxies = { cidrs: [], header: "x-forwarded-for" }

/**
 * Parses a trusted proxy list: addresses (`10.0.0.1`), networks (`10.0.0.0/8`, `2001:db8::/32`) and the named
 * ranges `loopback`, `private` and `linklocal`, separated by commas or spaces when given as one string.
 *
 * @since 0.1.0
 * @category constructors
 */
export const trustedProxies = (
  list: string | ReadonlyArray<string>,
  header: TrustedProxies["header"] = "x-forwarded-for"
): Either.Either<TrustedProxies, InvalidCidr> => {
  const entries = (typeof list === "string" ? list.split(/[\s,]+/) : list).map((s) => s.trim()).filter((s) => s)
  const cidrs: Array<Cidr> = []
  for (const entry of entries) {
    const named = namedRanges[entry.toLowerCase()]
    for (const item of named ?? [entry]) {
      const cidr = parseOneCidr(item)
      if (Either.isLeft(cidr)) return Either.left(cidr.left)
      cidrs.push(cidr.right)
    }
  }
  return Either.right({ cidrs, header })
}

/**
 * Reads a trusted proxy list from configuration (by default `OA_TRUSTED_PROXIES`, empty when unset) and which
 * header they set (`OA_FORWARDED_HEADER`: `x-forwarded-for`, the default, or `forwarded`).
 *
 * @since 0.1.0
 * @category config
 */
export const trustedProxiesConfig = (
  name = "OA_TRUSTED_PROXIES",
  headerName = "OA_FORWARDED_HEADER"
): Config.Config<TrustedProxies> =>
  Config.all([
    Config.string(name).pipe(Config.withDefault("")),
    Config.literal("x-forwarded-for", "forwarded")(headerName).pipe(Config.withDefault("x-forwarded-for" as const))
  ]).pipe(
    Config.mapOrFail(([list, header]) =>
      Either.mapLeft(trustedProxies(list, header), (error) => ConfigError.InvalidData([name], error.message))
    )
  )

/**
 * Whether an address lies in a network.
 *
 * @since 0.1.0
 * @category predicates
 */
export const contains = (cidr: Cidr, address: Address): boolean => {
  if (cidr.family !== address.family) return false
  const full = cidr.prefix >> 3
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== address.bytes[i]) return false
  const rest = cidr.prefix & 7
  if (rest === 0) return true
  const mask = 0xff << (8 - rest)
  return (cidr.bytes[full]! & mask) === (address.bytes[full]! & mask)
}

/**
 * Whether an address is one of the trusted proxies.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTrusted = (proxies: TrustedProxies, address: Address): boolean => {
  for (const cidr of proxies.cidrs) if (contains(cidr, address)) return true
  return false
}

/**
 * Request headers in either shape: a WHATWG `Headers` object (fetch-style servers: Hono, Next, Bun, Deno), or
 * anything with its `get`, or a plain record (Node's `req.headers`, `@effect/platform`'s `Headers`). Both read
 * alike: names are case-insensitive, and several values of one header are joined by ", " in order, as
 * `Headers.get` joins them.
 *
 * @since 0.2.0
 * @category models
 */
export type HeadersLike =
  | { readonly get: (name: string) => string | null | undefined }
  | { readonly [name: string]: string | ReadonlyArray<string> | undefined }

const joinValue = (joined: string | undefined, value: string | ReadonlyArray<string> | undefined) => {
  if (value === undefined || (typeof value !== "string" && value.length === 0)) return joined
  const text = typeof value === "string" ? value : value.join(", ")
  return joined === undefined ? text : `${joined}, ${text}`
}

/** The one reader of request headers (`name` in lower case); a record may spell a name in any case, or several. */
const headerValue = (headers: HeadersLike, name: string): string | undefined => {
  if (typeof headers.get === "function") {
    return (headers as { readonly get: (name: string) => string | null | undefined }).get(name) ?? undefined
  }
  const record = headers as { readonly [name: string]: string | ReadonlyArray<string> | undefined }
  let joined: string | undefined
  for (const key in record) {
    if (key.length === name.length && (key === name || key.toLowerCase() === name)) {
      joined = joinValue(joined, record[key])
    }
  }
  return joined
}

/** One hop of a forwarding chain: `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:80`, `"[::1]"`. */
const hopAddress = (raw: string): Address | undefined => {
  let s = raw.trim()
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1)
  if (s.startsWith("[")) {
    const close = s.indexOf("]")
    if (close === -1) return undefined
    const port = s.slice(close + 1)
    if (port !== "" && !/^:\d{1,5}$/.test(port)) return undefined
    return parse(s.slice(1, close))
  }
  const colon = s.indexOf(":")
  if (colon !== -1 && colon === s.lastIndexOf(":")) {
    // IPv4 with a port; an IPv6 address has several colons.
    if (!/^\d{1,5}$/.test(s.slice(colon + 1))) return undefined
    s = s.slice(0, colon)
  }
  return parse(s)
}

/** Splits on `separator` outside double-quoted strings (which may hold escaped characters). */
const splitOutsideQuotes = (value: string, separator: string): Array<string> => {
  const parts: Array<string> = []
  let quoted = false
  let from = 0
  for (let i = 0; i < value.length; i++) {
    const c = value[i]
    if (quoted && c === "\\") i++
    else if (c === '"') quoted = !quoted
    else if (!quoted && c === separator) {
      parts.push(value.slice(from, i))
      from = i + 1
    }
  }
  parts.push(value.slice(from))
  return parts
}

/** The `for=` value of each element of a `Forwarded` header (RFC 7239), in order; `""` where there is none. */
const forwardedFor = (value: string): Array<string> =>
  splitOutsideQuotes(value, ",").map((element) => {
    for (const pair of splitOutsideQuotes(element, ";")) {
      const eq = pair.indexOf("=")
      if (eq !== -1 && pair.slice(0, eq).trim().toLowerCase() === "for") {
        const v = pair.slice(eq + 1).trim()
        return v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1).replace(/\\(.)/g, "$1") : v
      }
    }
    return ""
  })

const MAX_HEADER = 8_192

/**
 * The client's address for a request. The direct peer (`remoteAddress`, from the socket) is the client unless it
 * is a trusted proxy; then the forwarding header the proxies set is read from the right, skipping hops that are
 * trusted proxies too, and the first untrusted hop is the client (the leftmost hop when all are trusted). A
 * malformed, obfuscated (`_hidden`, `unknown`) or missing hop where an address is needed gives `undefined`,
 * never an address a client could have chosen. The result is the full address: use it in memory only, and
 * store `truncate(...)` of it. `headers` may be a WHATWG `Headers` object or a plain Node header record (see
 * `HeadersLike`).
 *
 * @since 0.1.0
 * @category client address
 */
export const clientAddress = (
  remoteAddress: string | undefined,
  headers: HeadersLike,
  proxies: TrustedProxies = noProxies
): string | undefined => {
  const peer = parse(remoteAddress)
  if (peer === undefined) return undefined
  if (proxies.cidrs.length === 0 || !isTrusted(proxies, peer)) return format(peer)
  const value = headerValue(headers, proxies.header)
  if (value === undefined || value.trim() === "") return format(peer)
  if (value.length > MAX_HEADER) return undefined
  const hops = proxies.header === "forwarded" ? forwardedFor(value) : value.split(",")
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hopAddress(hops[i]!)
    if (hop === undefined) return undefined
    if (i === 0 || !isTrusted(proxies, hop)) return format(hop)
  }
  return undefined
}
