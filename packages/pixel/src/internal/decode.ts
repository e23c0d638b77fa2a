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

const KEYS = new Map<string, KeySpec>(specs.map((spec, index) => [spec.key, { ...spec, index }]))
const COUNT = specs.length
const V = KEYS.get("v")!.index
const E = KEYS.get("e")!.index
const ID = KEYS.get(FIELD_KEYS.id!)!.index
const SITE = KEYS.get(FIELD_KEYS.site!)!.index

/** Every wire key, in table order (for documentation and tests). */
export const wireKeys: ReadonlyArray<string> = specs.map((spec) => spec.key)

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

const percentDecode = (raw: string, key: string): string | Failure => {
  if (raw.indexOf("%") === -1 && raw.indexOf("+") === -1) return raw
  try {
    return decodeURIComponent(raw.indexOf("+") === -1 ? raw : raw.replace(/\+/g, " "))
  } catch {
    return new Failure("Malformed", key, `${key}: bad percent-encoding or invalid UTF-8`)
  }
}

const INT = /^-?[0-9]{1,16}$/

const integer = (raw: string, key: string, path: string): number | Failure => {
  if (INT.test(raw)) {
    const n = Number(raw)
    if (Number.isSafeInteger(n)) return n
  }
  return new Failure("InvalidValue", key, `${key} (${path}): expected a safe decimal integer, got ${quoted(raw)}`)
}

const items = (raw: string): Array<Record<string, unknown>> | Failure => {
  const out: Array<Record<string, unknown>> = []
  if (raw === "") return out
  let start = 0
  while (start <= raw.length) {
    if (out.length === MAX_ITEMS) {
      return new Failure("InvalidValue", "it", `it (items): expected at most ${MAX_ITEMS} line items`)
    }
    let end = raw.indexOf(";", start)
    if (end === -1) end = raw.length
    const parts = raw.slice(start, end).split(",", 5)
    const n = out.length + 1
    if (parts.length < 3 || parts.length > 4) {
      return new Failure(
        "Malformed",
        "it",
        `it (items[${n - 1}]): expected productId,quantity,unitPrice[,category], got ${parts.length} part(s)`
      )
    }
    const productId = percentDecode(parts[0]!, "it")
    if (productId instanceof Failure) return productId
    const quantity = integer(parts[1]!, "it", `items[${n - 1}].quantity`)
    if (quantity instanceof Failure) return quantity
    const unitPrice = integer(parts[2]!, "it", `items[${n - 1}].unitPrice`)
    if (unitPrice instanceof Failure) return unitPrice
    const item: Record<string, unknown> = { productId, quantity, unitPrice }
    if (parts.length === 4) {
      const category = percentDecode(parts[3]!, "it")
      if (category instanceof Failure) return category
      item.category = category
    }
    out.push(item)
    start = end + 1
  }
  return out
}

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
  const raws: Array<string | undefined> = new Array(COUNT)
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
    const key = input.slice(i, eq === -1 ? amp : eq)
    const spec = KEYS.get(key)
    if (spec === undefined) {
      if (key === "") return new Failure("Malformed", "event", "event: a value without a key (expected key=value)")
      const name = shown(key)
      return new Failure("UnknownKey", name, `${name}: unknown key (wire version ${VERSION} has no such key)`)
    }
    if (eq === -1) return new Failure("Malformed", key, `${key}: expected ${key}=value`)
    if (raws[spec.index] !== undefined) return new Failure("DuplicateKey", key, `${key}: appears more than once`)
    const raw = input.slice(eq + 1, amp)
    if (raw.length > spec.maxRaw) {
      return new Failure("TooLarge", key, `${key} (${spec.field}): value of ${raw.length} characters is too long`)
    }
    raws[spec.index] = raw
    i = amp + 1
  }

  const v = raws[V]
  if (v === undefined) {
    if (version === undefined) return new Failure("MissingKey", "v", "v: the wire version is missing (expected v=1)")
  } else if (v !== (version ?? VERSION)) {
    return new Failure(
      "UnsupportedVersion",
      "v",
      `v: unsupported wire version ${quoted(v)} (this decoder reads ${version ?? VERSION})`
    )
  }
  const code = raws[E]
  if (code === undefined)
    return new Failure("MissingKey", "e", "e: the event type is missing (expected e=pv|vw|ac|cv|en)")
  const type = TYPES.get(code)
  if (type === undefined) {
    return new Failure("InvalidValue", "e", `e (type): expected one of pv, vw, ac, cv, en, got ${quoted(code)}`)
  }

  // The two keys every event needs, checked here because a schema failure costs more than a valid event.
  if (raws[ID] === undefined) return new Failure("MissingKey", "id", "id: the event id is missing")
  if (raws[SITE] === undefined) return new Failure("MissingKey", "s", "s (site): the site key is missing")

  const event: Record<string, unknown> = { type: type.type }
  let consent: Record<string, unknown> | undefined
  let hasItems = false
  for (const spec of KEYS.values()) {
    const raw = raws[spec.index]
    if (raw === undefined || (spec.kind === META && spec.key !== "c")) continue
    if ((spec.types & type.mask) === 0) {
      return new Failure("UnknownKey", spec.key, `${spec.key} (${spec.field}): not allowed in a ${type.type} event`)
    }
    let value: unknown
    switch (spec.kind) {
      case STRING: {
        const decoded = percentDecode(raw, spec.key)
        if (decoded instanceof Failure) return decoded
        value = decoded
        break
      }
      case INTEGER: {
        const n = integer(raw, spec.key, spec.field)
        if (n instanceof Failure) return n
        value = n
        break
      }
      case FLAG: {
        if (raw !== "1" && raw !== "0") {
          return new Failure(
            "InvalidValue",
            spec.key,
            `${spec.key} (consent.${spec.field}): expected 1 or 0, got ${quoted(raw)}`
          )
        }
        value = raw === "1"
        break
      }
      case ITEMS: {
        const list = items(raw)
        if (list instanceof Failure) return list
        value = list
        hasItems = true
        break
      }
      default: {
        if (raw !== "1") return new Failure("InvalidValue", "c", `c (consent): expected 1, got ${quoted(raw)}`)
        consent ??= {}
        continue
      }
    }
    if (spec.consent) {
      consent ??= {}
      consent[spec.field] = value
    } else {
      event[spec.field] = value
    }
  }
  if (consent !== undefined) event.consent = consent
  if (type.mask === CV && !hasItems) event.items = []
  return event
}
