/**
 * The fast path of event decoding, for the collector's hot path: plain-JS checks of exactly the rules the event
 * schemas in `Event.ts` enforce (types, bounded lengths, patterns, storable text, integer ranges, currencies, the
 * currency-required rules, at most 100 line items, no unknown fields, exact optional fields). It answers only
 * "valid" — with a fresh event built like the schema's own output (same values, same key order) — or "not
 * sure": anything invalid or unusual (objects that are not plain, arrays that are not plain) gets `undefined`,
 * and the caller then runs the full schema decode, which finds the precise error message. The property tests
 * in `test/Event.fastDecode.test.ts` hold this module to the schemas' decisions.
 */
import { isCurrencyCode } from "../Currency.js"
import { isStorableText } from "./fields.js"

/** Returned by a field decoder for a value the fast path does not accept. */
const NO: unique symbol = Symbol("NO")

type Decode = (u: unknown) => unknown

interface Field {
  readonly name: string
  readonly required: boolean
  readonly decode: Decode
}

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && Object.getPrototypeOf(u) === Object.prototype

/** Checks a record field by field, in schema order, and builds the output in that order. */
const struct =
  (fields: ReadonlyArray<Field>): Decode =>
  (u) => {
    if (!isPlainObject(u)) return NO
    const out: Record<string, unknown> = {}
    let present = 0
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!
      if (Object.hasOwn(u, field.name)) {
        const value = field.decode(u[field.name])
        if (value === NO) return NO
        out[field.name] = value
        present++
      } else if (field.required) {
        return NO
      }
    }
    // Every own key (symbols and non-enumerable ones included, as the schema sees them) must be a known field.
    return Reflect.ownKeys(u).length === present ? out : NO
  }

const req = (name: string, decode: Decode): Field => ({ name, required: true, decode })
const opt = (name: string, decode: Decode): Field => ({ name, required: false, decode })

const text =
  (min: number, max: number): Decode =>
  (u) =>
    typeof u === "string" && u.length >= min && u.length <= max && isStorableText(u) ? u : NO

// A-Z a-z 0-9 _ -
const isUrlSafe = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 45

// a-z 0-9
const isSiteHead = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57)

const urlSafeId: Decode = (u) => {
  if (typeof u !== "string" || u.length < 8 || u.length > 64) return NO
  for (let i = 0; i < u.length; i++) if (!isUrlSafe(u.charCodeAt(i))) return NO
  return u
}

const siteKey: Decode = (u) => {
  if (typeof u !== "string" || u.length < 1 || u.length > 64 || !isSiteHead(u.charCodeAt(0))) return NO
  for (let i = 1; i < u.length; i++) {
    const c = u.charCodeAt(i)
    if (!(isSiteHead(c) || c === 95 || c === 45)) return NO
  }
  return u
}

const int =
  (min: number, max: number): Decode =>
  (u) =>
    typeof u === "number" && Number.isSafeInteger(u) && u >= min && u <= max ? u : NO

const minorUnits: Decode = (u) => (typeof u === "number" && Number.isSafeInteger(u) && u >= 0 ? u : NO)

const flag: Decode = (u) => (typeof u === "boolean" ? u : NO)

const currency: Decode = (u) => (typeof u === "string" && isCurrencyCode(u) ? u : NO)

const literal =
  (...values: ReadonlyArray<string>): Decode =>
  (u) =>
    typeof u === "string" && values.includes(u) ? u : NO

const timestamp = int(946_684_800_000, 4_102_444_800_000)
const productId = text(1, 128)
const category = text(1, 128)
const quantity = int(1, 10_000)

const consent = struct([
  opt("gpc", flag),
  opt("dnt", flag),
  opt("optout", flag),
  opt("tcf", text(1, 4096)),
  opt("gpp", text(1, 4096))
])

const context = (type: string): ReadonlyArray<Field> => [
  req("type", literal(type)),
  req("id", urlSafeId),
  req("site", siteKey),
  opt("clientTs", timestamp),
  opt("serverTs", timestamp),
  opt("url", text(1, 2048)),
  opt("referrer", text(1, 2048)),
  opt("userAgent", text(1, 512)),
  opt("visitorId", urlSafeId),
  opt("consent", consent)
]

const lineItem = struct([
  req("productId", productId),
  req("quantity", quantity),
  req("unitPrice", minorUnits),
  opt("category", category)
])

const MAX_ITEMS = 100

const items: Decode = (u) => {
  if (!Array.isArray(u) || Object.getPrototypeOf(u) !== Array.prototype || u.length > MAX_ITEMS) return NO
  const out: Array<unknown> = new Array(u.length)
  for (let i = 0; i < u.length; i++) {
    const item = lineItem(u[i])
    if (item === NO) return NO
    out[i] = item
  }
  return out
}

type Priced = (event: Record<string, unknown>) => boolean

const event = (type: string, fields: ReadonlyArray<Field>, priced?: Priced) => {
  const decode = struct([...context(type), ...fields])
  return (u: unknown): unknown => {
    const out = decode(u)
    if (out === NO) return NO
    // The schemas' currency-required rule: a price or value needs its currency.
    if (priced !== undefined && (out as Record<string, unknown>).currency === undefined && priced(out as any)) {
      return NO
    }
    return out
  }
}

const decoders: Record<string, (u: unknown) => unknown> = {
  page_view: event("page_view", []),
  product_view: event(
    "product_view",
    [req("productId", productId), opt("category", category), opt("unitPrice", minorUnits), opt("currency", currency)],
    (e) => e.unitPrice !== undefined
  ),
  add_to_cart: event(
    "add_to_cart",
    [
      req("productId", productId),
      req("quantity", quantity),
      opt("category", category),
      opt("unitPrice", minorUnits),
      opt("currency", currency)
    ],
    (e) => e.unitPrice !== undefined
  ),
  conversion: event(
    "conversion",
    [
      req("orderId", text(1, 128)),
      req("conversionType", literal("purchase", "lead", "signup", "subscription", "other")),
      opt("currency", currency),
      opt("value", minorUnits),
      req("items", items)
    ],
    (e) => e.value !== undefined || (e.items as ReadonlyArray<unknown>).length > 0
  ),
  engagement: event("engagement", [
    opt("element", text(1, 128)),
    opt("scrollDepth", int(0, 100)),
    opt("timeOnPage", int(0, 86_400_000)),
    opt("pointerX", int(0, 100)),
    opt("pointerY", int(0, 100))
  ])
}

/**
 * The decoded event when `input` is certainly a valid event (a fresh value equal to what the schema decode
 * returns), otherwise `undefined`: invalid, or unusual enough that only the schema decode should judge it.
 */
export const fastDecode = (input: unknown): unknown => {
  if (!isPlainObject(input) || !Object.hasOwn(input, "type")) return undefined
  const type = input.type
  if (typeof type !== "string" || !Object.hasOwn(decoders, type)) return undefined
  const out = decoders[type]!(input)
  return out === NO ? undefined : out
}
