/**
 * The anonymizer's end-to-end scenario, as traffic: a seeded generator of a few thousand events from synthetic
 * visitors with distinct, real-looking public IPv4 and IPv6 addresses (IPv4-mapped and 6to4 included) sent through
 * a trusted loopback proxy's `X-Forwarded-For`, real user agents (the uap-core corpus, drawn with Zipf-like
 * frequencies so a few dominate), first-party visitor ids, and page URLs and referrers laden with personal data
 * (emails plain, `%40` and double-encoded, phone numbers, Luhn-valid card numbers, session ids and JWT-like tokens,
 * click ids, names) next to allowlisted campaign parameters; and `drive`, which sends them through all three
 * entrances (`GET /px.gif`, `POST /collect`, `POST /v1/events`) of a collector at a URL. Every raw value sent is a
 * `Needle` for `piiScan.scan`. Shared by this package's tests and the reference server's anonymization suites.
 */
import { UserAgent } from "@openaudience/anonymizer"
import type { Event } from "@openaudience/event-schema"
import { WireFormat } from "@openaudience/pixel"
import { existsSync, readFileSync } from "node:fs"
import type { Needle } from "./piiScan.js"

// ---------------------------------------------------------------------------------------------------------------
// A seeded generator
// ---------------------------------------------------------------------------------------------------------------

/** mulberry32: small, fast and good enough to make test data reproducible from a seed. */
class Rng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<A>(items: ReadonlyArray<A>): A {
    return items[Math.floor(this.next() * items.length)]!
  }
  chars(alphabet: string, n: number): string {
    let out = ""
    for (let i = 0; i < n; i++) out += alphabet[Math.floor(this.next() * alphabet.length)]
    return out
  }
  hex(n: number): string {
    return this.chars("0123456789abcdef", n)
  }
  base64url(n: number): string {
    return this.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", n)
  }
  shuffle<A>(items: Array<A>): Array<A> {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      const tmp = items[i]!
      items[i] = items[j]!
      items[j] = tmp
    }
    return items
  }
}

// ---------------------------------------------------------------------------------------------------------------
// User agents
// ---------------------------------------------------------------------------------------------------------------

/** The shared uap-core corpus beside the clone (`../shared/data`), as CI lays it out. */
const sharedUserAgents = new URL("../../../../../shared/data/user-agents.txt", import.meta.url)
/** A few dozen of its lines, committed, for a checkout without `../shared`. */
const fixtureUserAgents = new URL("../fixtures/user-agents.txt", import.meta.url)

/**
 * Where the user agents came from, and the usable ones: printable ASCII, trimmed, 24 to 512 characters. The corpus
 * is `OA_TEST_USER_AGENTS` when set, else the shared one; when it is missing, the committed fixture.
 */
export const loadUserAgents = (): { readonly source: string; readonly userAgents: ReadonlyArray<string> } => {
  const corpus = process.env.OA_TEST_USER_AGENTS ?? sharedUserAgents
  const file = existsSync(corpus) ? corpus : fixtureUserAgents
  const userAgents = readFileSync(file, "utf8")
    .split("\n")
    .filter(
      (line) =>
        !line.startsWith("#") &&
        line.length >= 24 &&
        line.length <= 512 &&
        line.trim() === line &&
        /^[\x20-\x7e]+$/.test(line)
    )
  return { source: String(file), userAgents: [...new Set(userAgents)] }
}

/** Current mainstream browsers and the two big crawlers lead the ranking; the rest of the corpus follows. */
const popular =
  /Chrome\/1\d\d\.|Firefox\/1\d\d\.|Version\/1\d[.\d]* (Mobile\/\w+ )?Safari\/|Edg\/1|Googlebot\/2\.1|bingbot/

/** Draws user agents with Zipf-like frequencies (the weight of rank r is 1 / r). */
const zipfDraw = (rng: Rng, all: ReadonlyArray<string>): (() => string) => {
  const head = all.filter((ua) => popular.test(ua)).sort()
  const ranked = [...rng.shuffle(head), ...rng.shuffle(all.filter((ua) => !popular.test(ua)))]
  const cumulative: Array<number> = []
  let total = 0
  for (let r = 0; r < ranked.length; r++) {
    total += 1 / (r + 1)
    cumulative.push(total)
  }
  return () => {
    const x = rng.next() * total
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cumulative[mid]! < x) lo = mid + 1
      else hi = mid
    }
    return ranked[lo]!
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------------------------

/** A client address as it is put in `X-Forwarded-For`, the raw forms to look for, and its expected truncation. */
interface ClientAddress {
  readonly hop: string
  readonly needles: ReadonlyArray<Needle>
  readonly truncated: string
}

const ipNeedle = (value: string, match: Needle["match"] = "text"): Needle => ({ kind: "raw IP", value, match })

/** RFC 5952 text of eight 16-bit groups (written here, independently of the anonymizer). */
const formatV6 = (groups: ReadonlyArray<number>): string => {
  let best = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      best = i
      bestLength = j - i
    }
    i = j
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(":")
  return best === -1 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLength, 8)}`
}

const expandV6 = (groups: ReadonlyArray<number>): string => groups.map((g) => g.toString(16).padStart(4, "0")).join(":")

const reservedV4 = (a: number, b: number, c: number): boolean =>
  a === 0 ||
  a === 10 ||
  a === 127 ||
  (a === 100 && b >= 64 && b <= 127) ||
  (a === 169 && b === 254) ||
  (a === 172 && b >= 16 && b <= 31) ||
  (a === 192 && b === 168) ||
  (a === 192 && b === 0 && (c === 0 || c === 2)) ||
  (a === 198 && (b === 18 || b === 19)) ||
  (a === 198 && b === 51 && c === 100) ||
  (a === 203 && b === 0 && c === 113)

/** Documentation ranges (RFC 5737), used for some visitors so the expected truncations are easy to name. */
const documentationV4: ReadonlyArray<readonly [number, number, number]> = [
  [203, 0, 113],
  [198, 51, 100],
  [192, 0, 2]
]

/** Real providers' IPv6 /32s and the documentation prefix. */
const v6Prefixes: ReadonlyArray<readonly [number, number]> = [
  [0x2001, 0x4860],
  [0x2a00, 0x1450],
  [0x2604, 0xa880],
  [0x2a02, 0x8108],
  [0x2600, 0x1700],
  [0x2a01, 0xcb00],
  [0x240e, 0x03b0],
  [0x2406, 0xda18],
  [0x2001, 0x0db8]
]

const makeAddresses = (rng: Rng) => {
  const used = new Set<string>()
  const v4 = (documentation: boolean): [number, number, number, number] => {
    for (;;) {
      let a: number
      let b: number
      let c: number
      if (documentation) [a, b, c] = rng.pick(documentationV4)
      else {
        a = rng.int(1, 223)
        b = rng.int(0, 255)
        c = rng.int(0, 255)
        if (reservedV4(a, b, c)) continue
      }
      const d = rng.int(1, 254)
      const text = `${a}.${b}.${c}.${d}`
      if (used.has(text)) continue
      used.add(text)
      return [a, b, c, d]
    }
  }
  const v6Groups = (first: readonly [number, number]): Array<number> => {
    for (;;) {
      // Nonzero site bits, and an interface id with at least two nonzero groups (a raw address never equals
      // its own truncation); some with a run of zeros, as providers number hosts.
      const groups = [first[0], first[1], rng.int(1, 0xffff), rng.int(0, 0xffff)]
      if (rng.chance(0.3)) groups.push(0, 0, rng.int(1, 0xffff), rng.int(1, 0xffff))
      else groups.push(rng.int(1, 0xffff), rng.int(0, 0xffff), rng.int(0, 0xffff), rng.int(1, 0xffff))
      const text = formatV6(groups)
      if (used.has(text)) continue
      used.add(text)
      return groups
    }
  }
  return (): ClientAddress => {
    const kind = rng.next()
    if (kind < 0.55 || (kind >= 0.55 && kind < 0.63)) {
      const [a, b, c, d] = v4(kind >= 0.55)
      const dotted = `${a}.${b}.${c}.${d}`
      return {
        hop: rng.chance(0.2) ? `${dotted}:${rng.int(1024, 65535)}` : dotted,
        needles: [ipNeedle(dotted, "ipv4")],
        truncated: `${a}.${b}.${c}.0`
      }
    }
    if (kind < 0.85) {
      const groups = v6Groups(rng.pick(v6Prefixes))
      const canonical = formatV6(groups)
      const expanded = expandV6(groups)
      const form = rng.next()
      const hop =
        form < 0.55
          ? canonical
          : form < 0.7
            ? expanded
            : form < 0.85
              ? canonical.toUpperCase()
              : `[${canonical}]:${rng.int(1024, 65535)}`
      return {
        hop,
        needles: [ipNeedle(canonical), ipNeedle(expanded)],
        truncated: formatV6([groups[0]!, groups[1]!, groups[2]!, 0, 0, 0, 0, 0])
      }
    }
    if (kind < 0.95) {
      // IPv4-mapped IPv6: dotted or hex tail.
      const [a, b, c, d] = v4(false)
      const dotted = `${a}.${b}.${c}.${d}`
      const high = ((a << 8) | b).toString(16)
      const low = ((c << 8) | d).toString(16)
      const form = rng.next()
      const hop = form < 0.5 ? `::ffff:${dotted}` : form < 0.7 ? `::FFFF:${dotted}` : `::ffff:${high}:${low}`
      return {
        hop,
        needles: [
          ipNeedle(dotted, "ipv4"),
          ipNeedle(`::ffff:${dotted}`),
          ipNeedle(`::ffff:${high}:${low}`),
          ipNeedle(expandV6([0, 0, 0, 0, 0, 0xffff, (a << 8) | b, (c << 8) | d]))
        ],
        truncated: `${a}.${b}.${c}.0`
      }
    }
    // 6to4: the next 32 bits are a whole IPv4 address, so only 16 + 24 bits may be kept.
    const [a, b, c, d] = v4(false)
    const groups = v6Groups([0x2002, (a << 8) | b])
    groups[2] = (c << 8) | d
    const canonical = formatV6(groups)
    return {
      hop: canonical,
      needles: [ipNeedle(canonical), ipNeedle(expandV6(groups)), ipNeedle(`${a}.${b}.${c}.${d}`, "ipv4")],
      truncated: formatV6([0x2002, (a << 8) | b, c << 8, 0, 0, 0, 0, 0])
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Personal data in URLs
// ---------------------------------------------------------------------------------------------------------------

const enc = encodeURIComponent

const firstNames = [
  "Jane",
  "John",
  "Amelia",
  "Oliver",
  "Sofia",
  "Mateo",
  "Chloe",
  "Lukas",
  "Priya",
  "Kenji",
  "Fatima",
  "Henrik",
  "Ines",
  "Tomasz",
  "Aoife",
  "Rafael"
]
const lastNames = [
  "Doe",
  "Smith",
  "Okafor",
  "Lindqvist",
  "Moreau",
  "Kowalski",
  "Nakamura",
  "Fernandes",
  "Brennan",
  "Schneider",
  "Haddad",
  "Rossi",
  "Delacroix",
  "Van der Berg",
  "Whitfield",
  "Abernathy"
]
const mailDomains = ["gmail.com", "outlook.com", "yahoo.co.uk", "proton.me", "example.com", "web.de", "icloud.com"]

/** One piece of personal data put somewhere in a URL, and what to look for afterwards. */
interface Part {
  /** `user:password@` before the host. */
  readonly credentials?: string
  readonly segments?: ReadonlyArray<string>
  readonly query?: ReadonlyArray<string>
  readonly fragment?: string
  readonly needles: ReadonlyArray<Needle>
}

const personalData = (rng: Rng) => {
  const name = () => ({ first: rng.pick(firstNames), last: rng.pick(lastNames) })
  const email = () => {
    const { first, last } = name()
    const local = rng.pick([
      `${first}.${last}`,
      `${first}${last[0]}${rng.int(1, 99)}`,
      `${first[0]}${last}+shop`,
      `${first}_${last}${rng.int(1970, 2005)}`
    ])
    return `${local.toLowerCase().replace(/ /g, "")}@${rng.pick(mailDomains)}`
  }
  /** A phone number as typed, and its digits that identify it (at least ten). */
  const phone = (): { readonly typed: string; readonly digits: string } => {
    const region = rng.next()
    if (region < 0.45) {
      // UK drama range (Ofcom): 020 7946 0000-0999.
      const line = `0${rng.int(0, 999).toString().padStart(3, "0")}`
      const typed = rng.pick([
        `+44 20 7946 ${line}`,
        `+442079460${line.slice(1)}`,
        `0044 20 7946 ${line}`,
        `020 7946 ${line}`,
        `+44 (0)20 7946 ${line}`
      ])
      return { typed, digits: `207946${line}` }
    }
    if (region < 0.85) {
      const area = rng.pick(["415", "212", "312", "646", "206"])
      const line = `01${rng.int(0, 99).toString().padStart(2, "0")}`
      const typed = rng.pick([
        `(${area}) 555-${line}`,
        `+1 ${area}-555-${line}`,
        `${area}.555.${line}`,
        `+1${area}555${line}`
      ])
      return { typed, digits: `${area}555${line}` }
    }
    const rest = `${rng.int(10, 99)} ${rng.int(10, 99)} ${rng.int(10, 99)} ${rng.int(10, 99)}`
    return { typed: `+33 6 ${rest}`, digits: `336${rest.replace(/ /g, "")}` }
  }
  const luhnCheck = (digits: string): number => {
    let sum = 0
    for (let i = 0; i < digits.length; i++) {
      let d = Number(digits[digits.length - 1 - i])
      if (i % 2 === 0) {
        d *= 2
        if (d > 9) d -= 9
      }
      sum += d
    }
    return (10 - (sum % 10)) % 10
  }
  /** A Luhn-valid card number, as typed (spaces, dashes or none), and its digits. */
  const card = (): { readonly typed: string; readonly digits: string } => {
    const known = ["4111111111111111", "5555555555554444", "4012888888881881", "378282246310005", "6011111111111117"]
    let digits: string
    if (rng.chance(0.4)) digits = rng.pick(known)
    else {
      const body = `4${rng.chars("0123456789", 14)}`
      digits = `${body}${luhnCheck(body)}`
    }
    const groups =
      digits.length === 15 ? [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)] : digits.match(/.{4}/g)!
    const typed = rng.pick([groups.join(" "), groups.join("-"), digits])
    return { typed, digits }
  }
  const sessionId = () => rng.hex(32)
  const jwt = () => {
    const payload = `eyJ${rng.base64url(45)}`
    const signature = rng.base64url(43)
    return { token: `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${payload}.${signature}`, payload, signature }
  }
  const clickId = (): { readonly param: string; readonly value: string } =>
    rng.pick([
      () => ({ param: "gclid", value: `Cj0KCQiA${rng.base64url(70)}` }),
      () => ({ param: "fbclid", value: `IwAR${rng.base64url(56)}` }),
      () => ({ param: "msclkid", value: rng.hex(32) }),
      () => ({ param: "ttclid", value: `E.C.P.${rng.base64url(40)}` }),
      () => ({ param: "gbraid", value: `0AAAAA${rng.base64url(30)}` })
    ])()

  const parts: ReadonlyArray<() => Part> = [
    // Emails: plain, %40, double-encoded; in the path, in the query (dropped and allowlisted), in the fragment.
    () => {
      const e = email()
      return { query: [`email=${e}`], needles: [{ kind: "email", value: e, match: "text" }] }
    },
    () => {
      const e = email()
      return { query: [`email=${enc(e)}`], needles: [{ kind: "email", value: e, match: "text" }] }
    },
    () => {
      const e = email()
      return {
        query: [`utm_term=${e.replace("@", "%2540")}`],
        needles: [{ kind: "email", value: e, match: "text" }]
      }
    },
    () => {
      const e = email()
      return { segments: ["unsubscribe", enc(e)], needles: [{ kind: "email", value: e, match: "text" }] }
    },
    () => {
      const e = email()
      return { segments: ["u", e, "orders"], needles: [{ kind: "email", value: e, match: "text" }] }
    },
    () => {
      const e = email()
      return { fragment: `/profile/${enc(e)}`, needles: [{ kind: "email", value: e, match: "text" }] }
    },
    () => {
      const e = email()
      return { fragment: `email=${e}&utm_source=fragment`, needles: [{ kind: "email", value: e, match: "text" }] }
    },
    () => {
      const e = email()
      return { fragment: e.replace("@", "%40"), needles: [{ kind: "email", value: e, match: "text" }] }
    },
    // Phone numbers.
    () => {
      const p = phone()
      return {
        query: [`phone=${enc(p.typed)}`],
        needles: [
          { kind: "phone", value: p.typed, match: "text" },
          { kind: "phone", value: p.digits, match: "digits" }
        ]
      }
    },
    () => {
      const p = phone()
      return {
        segments: ["contact", enc(p.typed.replace(/ /g, "-"))],
        needles: [{ kind: "phone", value: p.digits, match: "digits" }]
      }
    },
    () => {
      const p = phone()
      return {
        query: [`utm_content=${enc(p.typed).replace(/%20/g, "+")}`],
        needles: [{ kind: "phone", value: p.digits, match: "digits" }]
      }
    },
    () => {
      const p = phone()
      return { fragment: `tel=${enc(p.typed)}`, needles: [{ kind: "phone", value: p.digits, match: "digits" }] }
    },
    // Card numbers.
    () => {
      const c = card()
      return {
        query: [`card=${enc(c.typed)}`],
        needles: [
          { kind: "card", value: c.typed, match: "text" },
          { kind: "card", value: c.digits, match: "digits" }
        ]
      }
    },
    () => {
      const c = card()
      return {
        segments: ["pay", c.typed.replace(/ /g, "-")],
        needles: [{ kind: "card", value: c.digits, match: "digits" }]
      }
    },
    () => {
      const c = card()
      return { query: [`sku=${enc(c.typed)}`], needles: [{ kind: "card", value: c.digits, match: "digits" }] }
    },
    // Long tokens: session ids, JWTs, API keys, in the path, the query, the fragment and matrix parameters.
    () => {
      const s = sessionId()
      return { segments: ["reset-password", s], needles: [{ kind: "token", value: s, match: "text" }] }
    },
    () => {
      const s = sessionId()
      return { query: [`session_id=${s}`], needles: [{ kind: "token", value: s, match: "text" }] }
    },
    () => {
      const s = sessionId().toUpperCase()
      return { segments: [`cart;jsessionid=${s}`], needles: [{ kind: "token", value: s, match: "text" }] }
    },
    () => {
      const t = jwt()
      return {
        fragment: `access_token=${t.token}&token_type=bearer`,
        needles: [
          { kind: "token", value: t.payload, match: "text" },
          { kind: "token", value: t.signature, match: "text" }
        ]
      }
    },
    () => {
      const t = jwt()
      return {
        query: [`utm_content=${t.token}`],
        needles: [
          { kind: "token", value: t.payload, match: "text" },
          { kind: "token", value: t.signature, match: "text" }
        ]
      }
    },
    () => {
      const key = `sk_live_${rng.base64url(32)}`
      return { segments: ["api", "keys", key], needles: [{ kind: "token", value: key, match: "text" }] }
    },
    // Click ids.
    () => {
      const c = clickId()
      return { query: [`${c.param}=${c.value}`], needles: [{ kind: "click id", value: c.value, match: "text" }] }
    },
    () => {
      const c = clickId()
      return {
        query: [`${c.param.toUpperCase()}=${enc(c.value)}`],
        needles: [{ kind: "click id", value: c.value, match: "text" }]
      }
    },
    // Names.
    () => {
      const { first, last } = name()
      return {
        query: [`name=${`${first} ${last}`.replace(/ /g, "+")}`],
        needles: [{ kind: "name", value: `${first} ${last}`, match: "text" }]
      }
    },
    () => {
      const { first, last } = name()
      return {
        query: [`customer=${enc(`${first} ${last}`)}`, `first_name=${enc(first)}`, `last_name=${enc(last)}`],
        needles: [{ kind: "name", value: `${first} ${last}`, match: "text" }]
      }
    },
    // Credentials in the URL.
    () => {
      const e = email()
      return { credentials: `${enc(e)}:${rng.base64url(12)}@`, needles: [{ kind: "email", value: e, match: "text" }] }
    }
  ]
  return { parts, email, phone, name, clickId }
}

// ---------------------------------------------------------------------------------------------------------------
// Visitors and their events
// ---------------------------------------------------------------------------------------------------------------

/** How an event reaches the server. */
export type Channel = "pixel" | "collect" | "s2s"

/** One event sent, and what must be true of it once stored. */
export interface SentEvent {
  readonly event: Event.Event
  readonly channel: Channel
  readonly visitorId: string
  readonly userAgent: string
  /** Whether the anonymizer counts its user agent as a bot's (then it must not be stored). */
  readonly bot: boolean
  /** The truncated client address expected in `context.ip`; `undefined` for server-to-server events. */
  readonly ip: string | undefined
  /** Texts the stored page URL must contain (allowlisted parameters with plain values). */
  readonly urlKeeps: ReadonlyArray<string>
  /** The stored referrer expected exactly (another site's origin), when there is one to check. */
  readonly referrer: string | undefined
}

interface Visitor {
  readonly id: string
  readonly userAgent: string
  readonly channel: Channel
  readonly forwardedFor: ReadonlyArray<string>
  readonly events: Array<SentEvent>
}

/** The generated traffic and every raw value in it that must never be found. */
export interface Scenario {
  readonly seed: number
  readonly userAgentSource: string
  readonly visitors: ReadonlyArray<Visitor>
  readonly events: ReadonlyArray<SentEvent>
  readonly needles: ReadonlyArray<Needle>
  /** Distinct raw client addresses sent (clients and spoofed hops). */
  readonly addresses: number
}

const hosts = ["https://www.shop.example", "https://shop.example"]
const pages = ["/", "/products/trail-boots", "/category/shoes", "/cart", "/checkout/payment", "/blog/choosing-boots"]
const sources: ReadonlyArray<readonly [string, string, string]> = [
  ["newsletter", "email", "spring_sale"],
  ["google", "cpc", "brand-terms"],
  ["facebook", "paid_social", "retargeting-q4"],
  ["partner-blog", "referral", "boots-review"],
  ["bing", "cpc", "generic"]
]
const products = [
  ["sku-trail-boots", "shoes"],
  ["sku-rain-jacket", "outerwear"],
  ["sku-wool-socks", "accessories"],
  ["sku-day-pack", "bags"]
] as const

/** Cross-site referrers carrying personal data; only their origin may be stored. */
const crossSiteReferrers = (rng: Rng, pii: ReturnType<typeof personalData>) => [
  () => {
    const { first, last } = pii.name()
    const p = pii.phone()
    return {
      url: `https://www.google.com/search?q=${enc(`${first} ${last} ${p.typed}`)}&client=firefox-b-d`,
      origin: "https://www.google.com",
      needles: [
        { kind: "name", value: `${first} ${last}`, match: "text" } as Needle,
        { kind: "phone", value: p.digits, match: "digits" } as Needle
      ]
    }
  },
  () => {
    const e = pii.email()
    return {
      url: `https://mail.example.net/mail/u/0/#inbox/${e}`,
      origin: "https://mail.example.net",
      needles: [{ kind: "email", value: e, match: "text" } as Needle]
    }
  },
  () => {
    const c = pii.clickId()
    const e = pii.email()
    return {
      url: `https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example%2F%3Femail%3D${enc(enc(e))}&${c.param}=${c.value}`,
      origin: "https://l.facebook.com",
      needles: [
        { kind: "click id", value: c.value, match: "text" } as Needle,
        { kind: "email", value: e, match: "text" } as Needle
      ]
    }
  },
  () => {
    const token = rng.hex(40)
    return {
      url: `https://news.example.org/articles/${rng.int(1000, 9999)}?utm_source=rss&auth=${token}`,
      origin: "https://news.example.org",
      needles: [{ kind: "token", value: token, match: "text" } as Needle]
    }
  }
]

/** Builds a page URL from a host, a page and a few pieces of personal data, with campaign parameters kept. */
const pageUrl = (rng: Rng, pii: ReturnType<typeof personalData>, host: string) => {
  const needles: Array<Needle> = []
  const keeps: Array<string> = []
  const segments = rng
    .pick(pages)
    .split("/")
    .filter((s) => s !== "")
  const query: Array<string> = []
  let fragment: string | undefined
  let credentials = ""
  const count = rng.int(1, 3)
  for (let i = 0; i < count; i++) {
    const part = rng.pick(pii.parts)()
    needles.push(...part.needles)
    if (part.credentials !== undefined) credentials = part.credentials
    if (part.segments !== undefined) segments.push(...part.segments)
    if (part.query !== undefined) query.push(...part.query)
    if (part.fragment !== undefined && fragment === undefined) fragment = part.fragment
  }
  if (rng.chance(0.7)) {
    const [source, medium, campaign] = rng.pick(sources)
    const utm = [`utm_source=${source}`, `utm_medium=${medium}`, `utm_campaign=${campaign}`]
    query.splice(rng.int(0, query.length), 0, ...utm)
    keeps.push(...utm)
  }
  if (rng.chance(0.3)) {
    const sku = `sku=${rng.pick(products)[0]}`
    query.push(sku)
    keeps.push(sku)
  }
  const [scheme, rest] = host.split("://") as [string, string]
  const url = `${scheme}://${credentials}${rest}/${segments.join("/")}${query.length === 0 ? "" : `?${query.join("&")}`}${
    fragment === undefined ? "" : `#${fragment}`
  }`
  // The host and the first path segment (a fixed word) always survive; matrix parameters never do.
  keeps.push(`${rest}/${(segments[0] ?? "").split(";")[0]}`)
  return { url, needles, keeps }
}

/** A first-party visitor id as tags keep them: a UUID, a random base64url id, or an analytics-style id. */
const visitorId = (rng: Rng): string =>
  rng.pick([
    () => `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-${rng.pick(["8", "9", "a", "b"])}${rng.hex(3)}-${rng.hex(12)}`,
    () => `fp_${rng.base64url(22)}`,
    () => `oa1-${rng.int(100_000_000, 999_999_999)}-${rng.int(1_700_000_000, 1_769_999_999)}`
  ])()

/** Generates the scenario: `visitors` visitors with one to three events each, from a seed. */
export const generate = (seed: number, visitors: number): Scenario => {
  const rng = new Rng(seed)
  const { source, userAgents } = loadUserAgents()
  const drawUserAgent = zipfDraw(rng, userAgents)
  const address = makeAddresses(rng)
  const pii = personalData(rng)
  const needles: Array<Needle> = []
  const all: Array<Visitor> = []
  const events: Array<SentEvent> = []
  let addresses = 0
  let counter = 0
  const clientTs = 1_764_000_000_000
  for (let v = 0; v < visitors; v++) {
    const id = visitorId(rng)
    const userAgent = drawUserAgent()
    const bot = UserAgent.generalize(userAgent).bot
    const channelDraw = rng.next()
    const channel: Channel = channelDraw < 0.5 ? "pixel" : channelDraw < 0.85 ? "collect" : "s2s"
    needles.push(
      { kind: "visitor id", value: id, match: "text" },
      { kind: "user agent", value: userAgent, match: "text" }
    )
    let forwardedFor: Array<string> = []
    let truncated: string | undefined
    if (channel !== "s2s") {
      const client = address()
      addresses++
      needles.push(...client.needles)
      truncated = client.truncated
      forwardedFor = [client.hop]
      if (rng.chance(0.25)) {
        // A hop the client wrote itself, left of the one the proxy appended: never believed, never stored.
        const spoofed = address()
        addresses++
        needles.push(...spoofed.needles)
        forwardedFor.unshift(spoofed.hop)
      }
      if (rng.chance(0.4)) forwardedFor.push(rng.pick(["127.0.0.1", "::1"]))
    }
    const host = rng.pick(hosts)
    const visitor: Visitor = { id, userAgent, channel, forwardedFor, events: [] }
    const count = rng.int(1, 3)
    let previous: string | undefined
    for (let e = 0; e < count; e++) {
      const page = pageUrl(rng, pii, host)
      needles.push(...page.needles)
      let referrer: string | undefined
      let expectedReferrer: string | undefined
      if (previous !== undefined) referrer = previous
      else if (rng.chance(0.7)) {
        const cross = rng.pick(crossSiteReferrers(rng, pii))()
        needles.push(...cross.needles)
        referrer = cross.url
        expectedReferrer = cross.origin
      }
      previous = page.url
      const common = {
        id: `evt_anon_${seed.toString(36)}_${(counter++).toString(36).padStart(5, "0")}`,
        site: "demo",
        clientTs: clientTs + counter * 1000,
        url: page.url,
        visitorId: id,
        ...(referrer === undefined ? {} : { referrer }),
        ...(channel === "s2s" ? { userAgent } : {})
      }
      const [productId, category] = rng.pick(products)
      const type =
        e === 0 ? "page_view" : rng.pick(["product_view", "add_to_cart", "conversion", "engagement"] as const)
      const event: Event.Event =
        type === "page_view"
          ? { type, ...common }
          : type === "product_view"
            ? { type, ...common, productId, category, unitPrice: rng.int(990, 24_900), currency: "EUR" }
            : type === "add_to_cart"
              ? { type, ...common, productId, category, quantity: rng.int(1, 3), unitPrice: 4_990, currency: "EUR" }
              : type === "conversion"
                ? {
                    type,
                    ...common,
                    orderId: `ORD-${rng.int(100_000, 999_999)}`,
                    conversionType: "purchase",
                    currency: "EUR",
                    value: 12_900,
                    items: [{ productId, quantity: 1, unitPrice: 12_900, category }]
                  }
                : { type, ...common, element: "button.add-to-cart", scrollDepth: rng.int(0, 100) }
      const sent: SentEvent = {
        event,
        channel,
        visitorId: id,
        userAgent,
        bot,
        ip: truncated,
        urlKeeps: page.keeps,
        referrer: expectedReferrer
      }
      visitor.events.push(sent)
      events.push(sent)
    }
    all.push(visitor)
  }
  return { seed, userAgentSource: source, visitors: all, events, needles: dedupe(needles), addresses }
}

const dedupe = (needles: ReadonlyArray<Needle>): Array<Needle> => {
  const seen = new Map<string, Needle>()
  for (const needle of needles) seen.set(`${needle.match}\u0000${needle.value.toLowerCase()}`, needle)
  return [...seen.values()]
}

// ---------------------------------------------------------------------------------------------------------------
// Driving the server
// ---------------------------------------------------------------------------------------------------------------

/** What the server answered. */
export interface DriveResult {
  readonly requests: number
  readonly failures: ReadonlyArray<string>
  readonly accepted: number
  readonly dropped: number
}

const runLimited = async (tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!
      await task()
    }
  }
  await Promise.all(Array.from({ length: limit }, worker))
}

/** How `drive` reaches the collector: an API key that may ingest for the `demo` site, and the fetch to use. */
export interface DriveOptions {
  readonly apiKey: string
  readonly fetch?: (input: string, init?: RequestInit) => Promise<Response>
}

/** Sends every event: pixels one by one, `/collect` batches per visitor, server-to-server batches of 25. */
export const drive = async (url: string, scenario: Scenario, options: DriveOptions): Promise<DriveResult> => {
  const fetch = options.fetch ?? globalThis.fetch
  const failures: Array<string> = []
  let requests = 0
  let accepted = 0
  let dropped = 0
  const countBatch = async (label: string, response: Response) => {
    requests++
    const text = await response.text()
    if (response.status !== 200) {
      failures.push(`${label}: ${response.status} ${text.slice(0, 300)}`)
      return
    }
    const body = JSON.parse(text) as { accepted: number; dropped: number; duplicates: number; rejected: number }
    accepted += body.accepted
    dropped += body.dropped
    if (body.rejected !== 0 || body.duplicates !== 0) failures.push(`${label}: ${text.slice(0, 300)}`)
  }
  const tasks: Array<() => Promise<void>> = []
  const s2s: Array<SentEvent> = []
  for (const visitor of scenario.visitors) {
    const headers = { "user-agent": visitor.userAgent, "x-forwarded-for": visitor.forwardedFor.join(", ") }
    if (visitor.channel === "pixel") {
      tasks.push(async () => {
        for (const sent of visitor.events) {
          const response = await fetch(`${url}/px.gif?${WireFormat.encodeQuery(sent.event)}`, { headers })
          requests++
          await response.arrayBuffer()
          if (response.status !== 200) failures.push(`pixel ${sent.event.id}: ${response.status}`)
          else if (sent.bot) dropped++
          else accepted++
        }
      })
    } else if (visitor.channel === "collect") {
      const { bodies, rejected } = WireFormat.encodeBatch(visitor.events.map((sent) => sent.event))
      if (rejected.length > 0) failures.push(`collect: ${rejected.length} events did not fit a batch`)
      for (const body of bodies) {
        tasks.push(async () =>
          countBatch(
            "collect",
            await fetch(`${url}/collect`, {
              method: "POST",
              headers: { ...headers, "content-type": "text/plain;charset=UTF-8" },
              body
            })
          )
        )
      }
    } else s2s.push(...visitor.events)
  }
  for (let i = 0; i < s2s.length; i += 25) {
    const batch = s2s.slice(i, i + 25).map((sent) => sent.event)
    tasks.push(async () =>
      countBatch(
        "events",
        await fetch(`${url}/v1/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${options.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({ events: batch })
        })
      )
    )
  }
  await runLimited(tasks, 24)
  return { requests, failures, accepted, dropped }
}
