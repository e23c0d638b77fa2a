/**
 * The event fields rules can test, and how they are read from a stored event's payload without trusting it:
 * a field of the wrong type, a fractional, negative or non-finite number or an absurdly long string reads as
 * missing, so unexpected input never breaks evaluation (no field of the event schema holds such numbers: money is
 * whole minor units, quantities, percentages and milliseconds whole numbers). A whole number too large for the
 * state's 32-bit counters saturates at 2^32 - 1 in aggregates, and is read exactly by filters and keys. A conversion with line items is read per item ("unit"): item
 * fields (productId, category, unitPrice, quantity) come from the item, the other fields from the event.
 */

/** The kind of value a field holds. */
export type FieldKind = "string" | "number" | "url"

/** What is known about one field. */
export interface FieldInfo {
  readonly kind: FieldKind
  /** Read from each line item of a conversion (and from the event itself for the other types). */
  readonly item: boolean
  /** Nested under the payload's `context` object. */
  readonly context: boolean
  readonly name: string
}

const info = (name: string, kind: FieldKind, item = false, context = false): FieldInfo => ({
  name: context ? name.slice("context.".length) : name,
  kind,
  item,
  context
})

/** Every field a rule can name. */
export const fields = {
  productId: info("productId", "string", true),
  category: info("category", "string", true),
  unitPrice: info("unitPrice", "number", true),
  quantity: info("quantity", "number", true),
  currency: info("currency", "string"),
  orderId: info("orderId", "string"),
  conversionType: info("conversionType", "string"),
  value: info("value", "number"),
  url: info("url", "url"),
  referrer: info("referrer", "url"),
  element: info("element", "string"),
  scrollDepth: info("scrollDepth", "number"),
  timeOnPage: info("timeOnPage", "number"),
  "context.browser": info("context.browser", "string", false, true),
  "context.os": info("context.os", "string", false, true),
  "context.device": info("context.device", "string", false, true),
  "context.jurisdiction": info("context.jurisdiction", "string", false, true)
} as const

/** A field name. */
export type FieldName = keyof typeof fields

/** Field names, in a stable order. */
export const fieldNames = Object.keys(fields) as ReadonlyArray<FieldName>

/** Fields holding numbers (money in minor units, quantities, percentages, milliseconds). */
export const numericFields = fieldNames.filter((name) => fields[name].kind === "number")

/** Longest string value read; longer ones read as missing. */
const maxString = 2048

/** Largest number read (state counters are unsigned 32-bit). */
export const maxNumber = 0xffff_ffff

type Obj = Record<string, unknown>

const isObject = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u)

/** The payload as an object, or an empty one. */
export const payloadOf = (payload: unknown): Obj => (isObject(payload) ? payload : emptyObject)

const emptyObject: Obj = Object.freeze({}) as Obj

/** Line items of a conversion payload (objects only, at most 100), or undefined when it has none. */
export const itemsOf = (type: string, payload: Obj): ReadonlyArray<Obj> | undefined => {
  if (type !== "conversion") return undefined
  const items = payload.items
  if (!Array.isArray(items) || items.length === 0) return undefined
  const out: Array<Obj> = []
  for (let i = 0; i < items.length && i < 100; i++) {
    const item = items[i]
    if (isObject(item)) out.push(item)
  }
  return out.length === 0 ? undefined : out
}

const readRaw = (field: FieldInfo, payload: Obj, item: Obj | undefined): unknown => {
  if (field.context) {
    const context = payload.context
    return isObject(context) ? context[field.name] : undefined
  }
  if (field.item && item !== undefined) return item[field.name]
  return payload[field.name]
}

/** A string field of one unit, or undefined when missing or not a sane string. */
export const readString = (field: FieldInfo, payload: Obj, item: Obj | undefined): string | undefined => {
  const raw = readRaw(field, payload, item)
  return typeof raw === "string" && raw.length > 0 && raw.length <= maxString ? raw : undefined
}

/** A numeric field of one unit as it is, or undefined unless a whole number from 0 up (filters and keys). */
export const readWhole = (field: FieldInfo, payload: Obj, item: Obj | undefined): number | undefined => {
  const raw = readRaw(field, payload, item)
  return typeof raw === "number" && Number.isInteger(raw) && raw >= 0 ? raw : undefined
}

/**
 * A numeric field of one unit for an aggregate, or undefined unless a whole number from 0 up: a larger one than
 * the state's counters hold (a big IDR conversion) saturates at 2^32 - 1 rather than vanishing.
 */
export const readNumber = (field: FieldInfo, payload: Obj, item: Obj | undefined): number | undefined => {
  const n = readWhole(field, payload, item)
  return n === undefined ? undefined : Math.min(n, maxNumber)
}

/** The value of a field as a key (for bindings and distinct counts), or undefined. */
export const readKey = (field: FieldInfo, payload: Obj, item: Obj | undefined): string | undefined => {
  if (field.kind === "number") {
    const n = readWhole(field, payload, item)
    return n === undefined ? undefined : String(n)
  }
  return readString(field, payload, item)
}
