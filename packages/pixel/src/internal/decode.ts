/**
 * The hand-written wire parser: turns one untrusted wire line (or GET query) into the JSON form of an event,
 * checking the wire-level rules (known keys, no duplicates, percent-encoding, UTF-8, integers, flags, line
 * items). Plain synchronous code without allocations beyond the result: this is the collector's hot path.
 * The JSON form is then checked against the event schema by `WireFormat`.
 */
import { CONSENT_KEYS, FIELD_KEYS, TYPE_CODES, VERSION } from "./encode.js"

/** Why a wire line was rejected. */
export type Reason =
  | "TooLarge"
  | "Malformed"
  | "UnsupportedVersion"
  | "UnknownKey"
  | "DuplicateKey"
  | "MissingKey"
  | "InvalidValue"

/** A wire-level rejection, turned into a `WireFormatError` by the public module. */
export class Failure {
  constructor(
    readonly reason: Reason,
    readonly field: string,
    readonly message: string
  ) {}
}

const STRING = 0
const INTEGER = 1
const FLAG = 2
const ITEMS = 3
const META = 4

const PV = 1
const VW = 2
const AC = 4
const CV = 8
const EN = 16
const ALL = PV | VW | AC | CV | EN

interface KeySpec {
  readonly index: number
  readonly key: string
  readonly field: string
  readonly kind: number
  /** Largest raw (still percent-encoded) value. */
  readonly maxRaw: number
  readonly types: number
  readonly consent: boolean
}

// A UTF-16 code unit percent-encodes to at most 9 characters (a 3-byte UTF-8 sequence).
const str = (maxChars: number) => maxChars * 9

const specs: Array<Omit<KeySpec, "index" | "key"> & { key: string }> = [
  { key: "v", field: "v", kind: META, maxRaw: 8, types: ALL, consent: false },
  { key: "e", field: "type", kind: META, maxRaw: 8, types: ALL, consent: false },
  { key: "c", field: "consent", kind: META, maxRaw: 8, types: ALL, consent: false },
  { key: FIELD_KEYS.id!, field: "id", kind: STRING, maxRaw: str(64), types: ALL, consent: false },
  { key: FIELD_KEYS.site!, field: "site", kind: STRING, maxRaw: str(64), types: ALL, consent: false },
  { key: FIELD_KEYS.clientTs!, field: "clientTs", kind: INTEGER, maxRaw: 24, types: ALL, consent: false },
  { key: FIELD_KEYS.url!, field: "url", kind: STRING, maxRaw: str(2048), types: ALL, consent: false },
  { key: FIELD_KEYS.referrer!, field: "referrer", kind: STRING, maxRaw: str(2048), types: ALL, consent: false },
  { key: FIELD_KEYS.visitorId!, field: "visitorId", kind: STRING, maxRaw: str(64), types: ALL, consent: false },
  { key: CONSENT_KEYS.gpc!, field: "gpc", kind: FLAG, maxRaw: 8, types: ALL, consent: true },
  { key: CONSENT_KEYS.dnt!, field: "dnt", kind: FLAG, maxRaw: 8, types: ALL, consent: true },
  { key: CONSENT_KEYS.optout!, field: "optout", kind: FLAG, maxRaw: 8, types: ALL, consent: true },
  { key: CONSENT_KEYS.tcf!, field: "tcf", kind: STRING, maxRaw: str(4096), types: ALL, consent: true },
  { key: CONSENT_KEYS.gpp!, field: "gpp", kind: STRING, maxRaw: str(4096), types: ALL, consent: true },
  { key: CONSENT_KEYS.gdprApplies!, field: "gdprApplies", kind: FLAG, maxRaw: 8, types: ALL, consent: true },
  { key: FIELD_KEYS.productId!, field: "productId", kind: STRING, maxRaw: str(128), types: VW | AC, consent: false },
  { key: FIELD_KEYS.quantity!, field: "quantity", kind: INTEGER, maxRaw: 24, types: AC, consent: false },
  { key: FIELD_KEYS.category!, field: "category", kind: STRING, maxRaw: str(128), types: VW | AC, consent: false },
  { key: FIELD_KEYS.unitPrice!, field: "unitPrice", kind: INTEGER, maxRaw: 24, types: VW | AC, consent: false },
  { key: FIELD_KEYS.currency!, field: "currency", kind: STRING, maxRaw: str(8), types: VW | AC | CV, consent: false },
  { key: FIELD_KEYS.orderId!, field: "orderId", kind: STRING, maxRaw: str(128), types: CV, consent: false },
  { key: FIELD_KEYS.conversionType!, field: "conversionType", kind: STRING, maxRaw: 64, types: CV, consent: false },
  { key: FIELD_KEYS.value!, field: "value", kind: INTEGER, maxRaw: 24, types: CV, consent: false },
  { key: "it", field: "items", kind: ITEMS, maxRaw: Number.MAX_SAFE_INTEGER, types: CV, consent: false },
  { key: FIELD_KEYS.element!, field: "element", kind: STRING, maxRaw: str(128), types: EN, consent: false },
  { key: FIELD_KEYS.scrollDepth!, field: "scrollDepth", kind: INTEGER, maxRaw: 24, types: EN, consent: false },
  { key: FIELD_KEYS.timeOnPage!, field: "timeOnPage", kind: INTEGER, maxRaw: 24, types: EN, consent: false },
  { key: FIELD_KEYS.pointerX!, field: "pointerX", kind: INTEGER, maxRaw: 24, types: EN, consent: false },
  { key: FIELD_KEYS.pointerY!, field: "pointerY", kind: INTEGER, maxRaw: 24, types: EN, consent: false }
]

const SPECS: ReadonlyArray<KeySpec> = specs.map((spec, index) => ({ ...spec, index }))
const COUNT = SPECS.length
const slotOf = (key: string): number => SPECS.findIndex((spec) => spec.key === key)
const V = slotOf("v")
const E = slotOf("e")
const ID = slotOf(FIELD_KEYS.id!)
const SITE = slotOf(FIELD_KEYS.site!)

/** Every wire key, in table order (for documentation and tests). */
export const wireKeys: ReadonlyArray<string> = specs.map((spec) => spec.key)

// Key lookup straight from the input's character codes, without slicing the key out: one- and two-letter
// keys by table, longer ones (three letters, and `gdpr`) by comparison. Keys are ASCII, so any other code means
// "unknown".
const ONE = new Int8Array(128).fill(-1)
const TWO = new Int8Array(128 * 128).fill(-1)
const LONGER: Array<KeySpec> = []
let longest = 2
for (const spec of SPECS) {
  if (spec.key.length === 1) ONE[spec.key.charCodeAt(0)] = spec.index
  else if (spec.key.length === 2) TWO[(spec.key.charCodeAt(0) << 7) | spec.key.charCodeAt(1)] = spec.index
  else {
    LONGER.push(spec)
    longest = Math.max(longest, spec.key.length)
  }
}

const keyIndex = (input: string, start: number, end: number): number => {
  switch (end - start) {
    case 1: {
      const c = input.charCodeAt(start)
      return c < 128 ? ONE[c]! : -1
    }
    case 2: {
      const c0 = input.charCodeAt(start)
      const c1 = input.charCodeAt(start + 1)
      return c0 < 128 && c1 < 128 ? TWO[(c0 << 7) | c1]! : -1
    }
    default:
      if (end - start > longest) return -1
      for (const spec of LONGER) {
        if (spec.key.length === end - start && input.startsWith(spec.key, start)) return spec.index
      }
      return -1
  }
}

const TYPES = new Map<string, { readonly type: string; readonly mask: number }>([
  [TYPE_CODES.page_view!, { type: "page_view", mask: PV }],
  [TYPE_CODES.product_view!, { type: "product_view", mask: VW }],
  [TYPE_CODES.add_to_cart!, { type: "add_to_cart", mask: AC }],
  [TYPE_CODES.conversion!, { type: "conversion", mask: CV }],
  [TYPE_CODES.engagement!, { type: "engagement", mask: EN }]
])

const MAX_ITEMS = 100

/** A short, printable rendering of attacker-controlled text for messages and fields. */
export const shown = (text: string): string => {
  const cut = text.length > 32 ? text.slice(0, 32) + "…" : text
  return cut.replace(/[^\x20-\x7e…]/g, "?")
}

const quoted = (text: string): string => JSON.stringify(text.length > 40 ? text.slice(0, 40) + "…" : text)

const hex = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1

/**
 * Percent-decodes `input[start, end)` as `decodeURIComponent` does (`+` is a space). Most values (ids, site
 * keys, SKUs) hold no escape and are only sliced; escapes of ASCII characters, all that URLs and most labels
 * hold, are decoded here, which is faster than the built-in; anything else goes to the built-in, which also
 * judges malformed escapes and invalid UTF-8.
 */
const percentDecode = (input: string, start: number, end: number, key: string): string | Failure => {
  const raw = input.slice(start, end)
  let at = raw.indexOf("%")
  if (raw.indexOf("+") !== -1) return builtinDecode(raw.replace(/\+/g, " "), key)
  if (at === -1) return raw
  let out = ""
  let last = 0
  while (at !== -1) {
    const high = hex(raw.charCodeAt(at + 1))
    const low = hex(raw.charCodeAt(at + 2))
    if (high < 0 || high > 7 || low < 0) return builtinDecode(raw, key)
    out += raw.slice(last, at) + String.fromCharCode(high * 16 + low)
    last = at + 3
    at = raw.indexOf("%", last)
  }
  return out + raw.slice(last)
}

const builtinDecode = (raw: string, key: string): string | Failure => {
  try {
    return decodeURIComponent(raw)
  } catch {
    return new Failure("Malformed", key, `${key}: bad percent-encoding or invalid UTF-8`)
  }
}

/**
 * Parses `input[start, end)` as a safe decimal integer: an optional `-` and 1 to 16 digits. Digits are summed
 * in place, which is exact up to 2^53 (and anything above fails the safe-integer test just as `Number` would).
 * `path` names the field in the message and is only called on failure.
 */
const integer = (input: string, start: number, end: number, key: string, path: () => string): number | Failure => {
  const negative = input.charCodeAt(start) === 45 /* - */
  const from = negative ? start + 1 : start
  if (end - from >= 1 && end - from <= 16) {
    let n = 0
    let i = from
    for (; i < end; i++) {
      const d = input.charCodeAt(i) - 48
      if (d < 0 || d > 9) break
      n = n * 10 + d
    }
    if (i === end && Number.isSafeInteger(n)) return negative ? -n : n
  }
  return new Failure(
    "InvalidValue",
    key,
    `${key} (${path()}): expected a safe decimal integer, got ${quoted(input.slice(start, end))}`
  )
}

const items = (input: string, from: number, to: number): Array<Record<string, unknown>> | Failure => {
  const out: Array<Record<string, unknown>> = []
  if (from === to) return out
  let start = from
  while (start <= to) {
    if (out.length === MAX_ITEMS) {
      return new Failure("InvalidValue", "it", `it (items): expected at most ${MAX_ITEMS} line items`)
    }
    let end = input.indexOf(";", start)
    if (end === -1 || end > to) end = to
    const n = out.length
    // The item's parts, as `split(",", 5)` would cut them: at most five are counted.
    const c1 = comma(input, start, end)
    const c2 = c1 === end ? end : comma(input, c1 + 1, end)
    const c3 = c2 === end ? end : comma(input, c2 + 1, end)
    const c4 = c3 === end ? end : comma(input, c3 + 1, end)
    const parts = c1 === end ? 1 : c2 === end ? 2 : c3 === end ? 3 : c4 === end ? 4 : 5
    if (parts < 3 || parts > 4) {
      return new Failure(
        "Malformed",
        "it",
        `it (items[${n}]): expected productId,quantity,unitPrice[,category], got ${parts} part(s)`
      )
    }
    const productId = percentDecode(input, start, c1, "it")
    if (productId instanceof Failure) return productId
    const quantity = integer(input, c1 + 1, c2, "it", () => `items[${n}].quantity`)
    if (quantity instanceof Failure) return quantity
    const unitPrice = integer(input, c2 + 1, c3, "it", () => `items[${n}].unitPrice`)
    if (unitPrice instanceof Failure) return unitPrice
    if (parts === 4) {
      const category = percentDecode(input, c3 + 1, end, "it")
      if (category instanceof Failure) return category
      out.push({ productId, quantity, unitPrice, category })
    } else {
      out.push({ productId, quantity, unitPrice })
    }
    start = end + 1
  }
  return out
}

/** The position of the next `,` in `input[start, end)`, or `end`. */
const comma = (input: string, start: number, end: number): number => {
  const at = input.indexOf(",", start)
  return at === -1 || at >= end ? end : at
}

// Where each key's raw value lies in the input of the current call, and its decoded value. Parsing is
// synchronous and never re-entered, so one scratch table serves every call; `seen` (one bit per key) says which
// entries belong to the current call, and stale entries are never read.
const starts = new Int32Array(COUNT)
const ends = new Int32Array(COUNT)
const values: Array<unknown> = new Array(COUNT).fill(undefined)

/**
 * Parses `input[start, end)` as one event in wire form and returns its JSON form, or a `Failure`.
 * `version` is the batch header's version, or `undefined` for a GET query (which must carry `v`).
 */
export const parseEvent = (
  input: string,
  start: number,
  end: number,
  version: string | undefined
): Record<string, unknown> | Failure => {
  let seen = 0
  let i = start
  while (i < end) {
    let amp = input.indexOf("&", i)
    if (amp === -1 || amp > end) amp = end
    if (amp === i) {
      i++
      continue
    }
    let eq = input.indexOf("=", i)
    if (eq === -1 || eq > amp) eq = -1
    const keyEnd = eq === -1 ? amp : eq
    const index = keyIndex(input, i, keyEnd)
    if (index === -1) {
      if (keyEnd === i) return new Failure("Malformed", "event", "event: a value without a key (expected key=value)")
      const name = shown(input.slice(i, keyEnd))
      return new Failure("UnknownKey", name, `${name}: unknown key (wire version ${VERSION} has no such key)`)
    }
    const spec = SPECS[index]!
    if (eq === -1) return new Failure("Malformed", spec.key, `${spec.key}: expected ${spec.key}=value`)
    if ((seen & (1 << index)) !== 0) return new Failure("DuplicateKey", spec.key, `${spec.key}: appears more than once`)
    const length = amp - eq - 1
    if (length > spec.maxRaw) {
      return new Failure("TooLarge", spec.key, `${spec.key} (${spec.field}): value of ${length} characters is too long`)
    }
    seen |= 1 << index
    starts[index] = eq + 1
    ends[index] = amp
    i = amp + 1
  }

  if ((seen & (1 << V)) === 0) {
    if (version === undefined) return new Failure("MissingKey", "v", "v: the wire version is missing (expected v=1)")
  } else {
    const v = input.slice(starts[V]!, ends[V]!)
    if (v !== (version ?? VERSION)) {
      return new Failure(
        "UnsupportedVersion",
        "v",
        `v: unsupported wire version ${quoted(v)} (this decoder reads ${version ?? VERSION})`
      )
    }
  }
  if ((seen & (1 << E)) === 0) {
    return new Failure("MissingKey", "e", "e: the event type is missing (expected e=pv|vw|ac|cv|en)")
  }
  const code = input.slice(starts[E]!, ends[E]!)
  const type = TYPES.get(code)
  if (type === undefined) {
    return new Failure("InvalidValue", "e", `e (type): expected one of pv, vw, ac, cv, en, got ${quoted(code)}`)
  }

  // The two keys every event needs, checked here because a schema failure costs more than a valid event.
  if ((seen & (1 << ID)) === 0) return new Failure("MissingKey", "id", "id: the event id is missing")
  if ((seen & (1 << SITE)) === 0) return new Failure("MissingKey", "s", "s (site): the site key is missing")

  // Values are checked in table order, so that the first offending key is the one reported.
  let consent = false
  for (let bits = seen & ~((1 << V) | (1 << E)); bits !== 0; bits &= bits - 1) {
    const index = 31 - Math.clz32(bits & -bits) // the lowest key left, so keys go in table order
    const spec = SPECS[index]!
    if ((spec.types & type.mask) === 0) {
      return new Failure("UnknownKey", spec.key, `${spec.key} (${spec.field}): not allowed in a ${type.type} event`)
    }
    const from = starts[index]!
    const to = ends[index]!
    let value: unknown
    switch (spec.kind) {
      case STRING:
        value = percentDecode(input, from, to, spec.key)
        break
      case INTEGER:
        value = integer(input, from, to, spec.key, () => spec.field)
        break
      case FLAG: {
        const flag = to - from === 1 ? input.charCodeAt(from) : -1
        if (flag !== 49 /* 1 */ && flag !== 48 /* 0 */) {
          return new Failure(
            "InvalidValue",
            spec.key,
            `${spec.key} (consent.${spec.field}): expected 1 or 0, got ${quoted(input.slice(from, to))}`
          )
        }
        value = flag === 49
        break
      }
      case ITEMS:
        value = items(input, from, to)
        break
      default: {
        if (to - from !== 1 || input.charCodeAt(from) !== 49 /* 1 */) {
          return new Failure("InvalidValue", "c", `c (consent): expected 1, got ${quoted(input.slice(from, to))}`)
        }
        consent = true
        continue
      }
    }
    if (value instanceof Failure) return value
    if (spec.consent) consent = true
    values[index] = value
  }
  return build(type.type, seen, consent)
}

const SLOT = Object.fromEntries(SPECS.map((spec) => [spec.field, spec.index])) as Record<string, number>
const CLIENT_TS = SLOT.clientTs!
const URL = SLOT.url!
const REFERRER = SLOT.referrer!
const VISITOR_ID = SLOT.visitorId!
const GPC = SLOT.gpc!
const DNT = SLOT.dnt!
const OPTOUT = SLOT.optout!
const TCF = SLOT.tcf!
const GPP = SLOT.gpp!
const GDPR_APPLIES = SLOT.gdprApplies!
const PRODUCT_ID = SLOT.productId!
const QUANTITY = SLOT.quantity!
const CATEGORY = SLOT.category!
const UNIT_PRICE = SLOT.unitPrice!
const CURRENCY = SLOT.currency!
const ORDER_ID = SLOT.orderId!
const CONVERSION_TYPE = SLOT.conversionType!
const VALUE = SLOT.value!
const ITEMS_ = SLOT.items!
const ELEMENT = SLOT.element!
const SCROLL_DEPTH = SLOT.scrollDepth!
const TIME_ON_PAGE = SLOT.timeOnPage!
const POINTER_X = SLOT.pointerX!
const POINTER_Y = SLOT.pointerY!

/**
 * Builds the JSON form from the decoded values with plain property writes, in the schemas' field order (the
 * keys of an event type are fixed, so the engine keeps one object layout per combination of fields).
 */
const build = (type: string, seen: number, consent: boolean): Record<string, unknown> => {
  const event: Record<string, unknown> = { type, id: values[ID], site: values[SITE] }
  if ((seen & (1 << CLIENT_TS)) !== 0) event.clientTs = values[CLIENT_TS]
  if ((seen & (1 << URL)) !== 0) event.url = values[URL]
  if ((seen & (1 << REFERRER)) !== 0) event.referrer = values[REFERRER]
  if ((seen & (1 << VISITOR_ID)) !== 0) event.visitorId = values[VISITOR_ID]
  if (consent) {
    const signals: Record<string, unknown> = {}
    if ((seen & (1 << GPC)) !== 0) signals.gpc = values[GPC]
    if ((seen & (1 << DNT)) !== 0) signals.dnt = values[DNT]
    if ((seen & (1 << OPTOUT)) !== 0) signals.optout = values[OPTOUT]
    if ((seen & (1 << TCF)) !== 0) signals.tcf = values[TCF]
    if ((seen & (1 << GPP)) !== 0) signals.gpp = values[GPP]
    if ((seen & (1 << GDPR_APPLIES)) !== 0) signals.gdprApplies = values[GDPR_APPLIES]
    event.consent = signals
  }
  if ((seen & (1 << PRODUCT_ID)) !== 0) event.productId = values[PRODUCT_ID]
  if ((seen & (1 << QUANTITY)) !== 0) event.quantity = values[QUANTITY]
  if ((seen & (1 << CATEGORY)) !== 0) event.category = values[CATEGORY]
  if ((seen & (1 << UNIT_PRICE)) !== 0) event.unitPrice = values[UNIT_PRICE]
  if ((seen & (1 << CURRENCY)) !== 0) event.currency = values[CURRENCY]
  if ((seen & (1 << ORDER_ID)) !== 0) event.orderId = values[ORDER_ID]
  if ((seen & (1 << CONVERSION_TYPE)) !== 0) event.conversionType = values[CONVERSION_TYPE]
  if ((seen & (1 << VALUE)) !== 0) event.value = values[VALUE]
  if ((seen & (1 << ITEMS_)) !== 0) event.items = values[ITEMS_]
  else if (type === "conversion") event.items = []
  if ((seen & (1 << ELEMENT)) !== 0) event.element = values[ELEMENT]
  if ((seen & (1 << SCROLL_DEPTH)) !== 0) event.scrollDepth = values[SCROLL_DEPTH]
  if ((seen & (1 << TIME_ON_PAGE)) !== 0) event.timeOnPage = values[TIME_ON_PAGE]
  if ((seen & (1 << POINTER_X)) !== 0) event.pointerX = values[POINTER_X]
  if ((seen & (1 << POINTER_Y)) !== 0) event.pointerY = values[POINTER_Y]
  return event
}
