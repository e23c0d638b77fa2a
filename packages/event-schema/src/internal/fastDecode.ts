/**
 * The fast path of event decoding, for the collector's hot path: plain-JS checks of exactly the rules the event
 * schemas in `Event.ts` enforce (types, bounded lengths, patterns, storable text, integer ranges, currencies, the
 * currency-required rules, at most 100 line items, no unknown fields, exact optional fields). It answers only
 * "valid" — with a fresh event built like the schema's own output (same values, same key order) — or "not
 * sure": anything invalid or unusual (objects that are not plain, hidden or symbol keys) gets `undefined`, and
 * the caller then runs the full schema decode, which finds the precise error message. Written as straight-line
 * code because generic field tables cost several times more here; `test/Event.fastDecode.test.ts` holds it to
 * the schemas' decisions, field by field and bound by bound.
 */
import { isCurrencyCode } from "../Currency.js"
import { isStorableText } from "./fields.js"

type Obj = Record<string, unknown>

const isPlainObject = (u: unknown): u is Obj =>
  typeof u === "object" && u !== null && Object.getPrototypeOf(u) === Object.prototype

/**
 * Whether the `count` keys a `for…in` loop gave are exactly the object's own keys, as the schema's
 * `Reflect.ownKeys` sees them: none inherited, none hidden (non-enumerable), no symbols. Three cheap calls
 * instead of `Reflect.ownKeys`, which costs more than the rest of the fast path.
 */
const ownKeysAre = (u: Obj, count: number): boolean =>
  Object.keys(u).length === count &&
  Object.getOwnPropertyNames(u).length === count &&
  Object.getOwnPropertySymbols(u).length === 0

const text = (u: unknown, min: number, max: number): boolean =>
  typeof u === "string" && u.length >= min && u.length <= max && isStorableText(u)

const int = (u: unknown, min: number, max: number): boolean =>
  typeof u === "number" && Number.isSafeInteger(u) && u >= min && u <= max

const minorUnits = (u: unknown): boolean => typeof u === "number" && Number.isSafeInteger(u) && u >= 0

const currency = (u: unknown): boolean => typeof u === "string" && isCurrencyCode(u)

const timestamp = (u: unknown): boolean => int(u, 946_684_800_000, 4_102_444_800_000)

// 8 to 64 of A-Z a-z 0-9 _ -
const urlSafeId = (u: unknown): boolean => {
  if (typeof u !== "string" || u.length < 8 || u.length > 64) return false
  for (let i = 0; i < u.length; i++) {
    const c = u.charCodeAt(i)
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 45)) {
      return false
    }
  }
  return true
}

// 1 to 64 characters: a-z 0-9, then a-z 0-9 _ -
const siteKey = (u: unknown): boolean => {
  if (typeof u !== "string" || u.length < 1 || u.length > 64) return false
  for (let i = 0; i < u.length; i++) {
    const c = u.charCodeAt(i)
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (i > 0 && (c === 95 || c === 45)))) return false
  }
  return true
}

const consent = (u: unknown): Obj | undefined => {
  if (!isPlainObject(u)) return undefined
  let gpc: unknown
  let dnt: unknown
  let optout: unknown
  let tcf: unknown
  let gpp: unknown
  let gdprApplies: unknown
  let count = 0
  for (const key in u) {
    const value = u[key]
    if (value === undefined) return undefined
    count++
    switch (key) {
      case "gdprApplies":
        gdprApplies = value
        break
      case "gpc":
        gpc = value
        break
      case "dnt":
        dnt = value
        break
      case "optout":
        optout = value
        break
      case "tcf":
        tcf = value
        break
      case "gpp":
        gpp = value
        break
      default:
        return undefined
    }
  }
  if (
    !ownKeysAre(u, count) ||
    (gpc !== undefined && typeof gpc !== "boolean") ||
    (dnt !== undefined && typeof dnt !== "boolean") ||
    (optout !== undefined && typeof optout !== "boolean") ||
    (tcf !== undefined && !text(tcf, 1, 4096)) ||
    (gpp !== undefined && !text(gpp, 1, 4096)) ||
    (gdprApplies !== undefined && typeof gdprApplies !== "boolean")
  ) {
    return undefined
  }
  const out: Obj = {}
  if (gpc !== undefined) out.gpc = gpc
  if (dnt !== undefined) out.dnt = dnt
  if (optout !== undefined) out.optout = optout
  if (tcf !== undefined) out.tcf = tcf
  if (gpp !== undefined) out.gpp = gpp
  if (gdprApplies !== undefined) out.gdprApplies = gdprApplies
  return out
}

const lineItem = (u: unknown): Obj | undefined => {
  if (!isPlainObject(u)) return undefined
  let productId: unknown
  let quantity: unknown
  let unitPrice: unknown
  let category: unknown
  let count = 0
  for (const key in u) {
    const value = u[key]
    if (value === undefined) return undefined
    count++
    switch (key) {
      case "productId":
        productId = value
        break
      case "quantity":
        quantity = value
        break
      case "unitPrice":
        unitPrice = value
        break
      case "category":
        category = value
        break
      default:
        return undefined
    }
  }
  if (
    !ownKeysAre(u, count) ||
    !text(productId, 1, 128) ||
    !int(quantity, 1, 10_000) ||
    !minorUnits(unitPrice) ||
    (category !== undefined && !text(category, 1, 128))
  ) {
    return undefined
  }
  const out: Obj = { productId, quantity, unitPrice }
  if (category !== undefined) out.category = category
  return out
}

const MAX_ITEMS = 100

const lineItems = (u: unknown): Array<Obj> | undefined => {
  if (!Array.isArray(u) || Object.getPrototypeOf(u) !== Array.prototype || u.length > MAX_ITEMS) return undefined
  const out: Array<Obj> = []
  for (let i = 0; i < u.length; i++) {
    const item = lineItem(u[i])
    if (item === undefined) return undefined
    out.push(item)
  }
  return out
}

// Which fields each event type has: context fields are common, the others are flagged per type.
const PRODUCT_ID = 1
const QUANTITY = 2
const CATEGORY = 4
const UNIT_PRICE = 8
const CURRENCY = 16
const ORDER_ID = 32
const CONVERSION_TYPE = 64
const VALUE = 128
const ITEMS = 256
const ELEMENT = 512
const SCROLL_DEPTH = 1024
const TIME_ON_PAGE = 2048
const POINTER_X = 4096
const POINTER_Y = 8192

const allowed: Record<string, number> = {
  page_view: 0,
  product_view: PRODUCT_ID | CATEGORY | UNIT_PRICE | CURRENCY,
  add_to_cart: PRODUCT_ID | QUANTITY | CATEGORY | UNIT_PRICE | CURRENCY,
  conversion: ORDER_ID | CONVERSION_TYPE | CURRENCY | VALUE | ITEMS,
  engagement: ELEMENT | SCROLL_DEPTH | TIME_ON_PAGE | POINTER_X | POINTER_Y
}

const required: Record<string, number> = {
  page_view: 0,
  product_view: PRODUCT_ID,
  add_to_cart: PRODUCT_ID | QUANTITY,
  conversion: ORDER_ID | CONVERSION_TYPE | ITEMS,
  engagement: 0
}

const isConversionType = (u: unknown): boolean =>
  u === "purchase" || u === "lead" || u === "signup" || u === "subscription" || u === "other"

/**
 * The decoded event when `input` is certainly a valid event (a fresh value equal to what the schema decode
 * returns, keys in the same order), otherwise `undefined`: invalid, or unusual enough that only the schema
 * decode should judge it.
 */
export const fastDecode = (input: unknown): unknown => {
  if (!isPlainObject(input)) return undefined
  let type: unknown
  let id: unknown
  let site: unknown
  let clientTs: unknown
  let serverTs: unknown
  let url: unknown
  let referrer: unknown
  let userAgent: unknown
  let visitorId: unknown
  let consentIn: unknown
  let productId: unknown
  let quantity: unknown
  let category: unknown
  let unitPrice: unknown
  let currencyCode: unknown
  let orderId: unknown
  let conversionType: unknown
  let value: unknown
  let itemsIn: unknown
  let element: unknown
  let scrollDepth: unknown
  let timeOnPage: unknown
  let pointerX: unknown
  let pointerY: unknown
  let fields = 0
  let count = 0
  for (const key in input) {
    const v = input[key]
    // Every field's schema rejects `undefined`, so an own key holding it is never valid.
    if (v === undefined) return undefined
    count++
    switch (key) {
      case "type":
        type = v
        break
      case "id":
        id = v
        break
      case "site":
        site = v
        break
      case "clientTs":
        clientTs = v
        break
      case "serverTs":
        serverTs = v
        break
      case "url":
        url = v
        break
      case "referrer":
        referrer = v
        break
      case "userAgent":
        userAgent = v
        break
      case "visitorId":
        visitorId = v
        break
      case "consent":
        consentIn = v
        break
      case "productId":
        productId = v
        fields |= PRODUCT_ID
        break
      case "quantity":
        quantity = v
        fields |= QUANTITY
        break
      case "category":
        category = v
        fields |= CATEGORY
        break
      case "unitPrice":
        unitPrice = v
        fields |= UNIT_PRICE
        break
      case "currency":
        currencyCode = v
        fields |= CURRENCY
        break
      case "orderId":
        orderId = v
        fields |= ORDER_ID
        break
      case "conversionType":
        conversionType = v
        fields |= CONVERSION_TYPE
        break
      case "value":
        value = v
        fields |= VALUE
        break
      case "items":
        itemsIn = v
        fields |= ITEMS
        break
      case "element":
        element = v
        fields |= ELEMENT
        break
      case "scrollDepth":
        scrollDepth = v
        fields |= SCROLL_DEPTH
        break
      case "timeOnPage":
        timeOnPage = v
        fields |= TIME_ON_PAGE
        break
      case "pointerX":
        pointerX = v
        fields |= POINTER_X
        break
      case "pointerY":
        pointerY = v
        fields |= POINTER_Y
        break
      default:
        return undefined
    }
  }
  if (typeof type !== "string" || !Object.hasOwn(allowed, type)) return undefined
  const need = required[type]!
  if ((fields & ~allowed[type]!) !== 0 || (fields & need) !== need || !ownKeysAre(input, count)) return undefined

  // The context every event carries.
  if (
    !urlSafeId(id) ||
    !siteKey(site) ||
    (clientTs !== undefined && !timestamp(clientTs)) ||
    (serverTs !== undefined && !timestamp(serverTs)) ||
    (url !== undefined && !text(url, 1, 2048)) ||
    (referrer !== undefined && !text(referrer, 1, 2048)) ||
    (userAgent !== undefined && !text(userAgent, 1, 512)) ||
    (visitorId !== undefined && !urlSafeId(visitorId))
  ) {
    return undefined
  }
  let consentOut: Obj | undefined
  if (consentIn !== undefined) {
    consentOut = consent(consentIn)
    if (consentOut === undefined) return undefined
  }
  const out: Obj = { type, id, site }
  if (clientTs !== undefined) out.clientTs = clientTs
  if (serverTs !== undefined) out.serverTs = serverTs
  if (url !== undefined) out.url = url
  if (referrer !== undefined) out.referrer = referrer
  if (userAgent !== undefined) out.userAgent = userAgent
  if (visitorId !== undefined) out.visitorId = visitorId
  if (consentOut !== undefined) out.consent = consentOut

  // The fields of each type, checked and then added in the schema's order. A price or value needs a currency.
  switch (type) {
    case "product_view":
    case "add_to_cart": {
      if (
        !text(productId, 1, 128) ||
        (type === "add_to_cart" && !int(quantity, 1, 10_000)) ||
        (category !== undefined && !text(category, 1, 128)) ||
        (unitPrice !== undefined && !minorUnits(unitPrice)) ||
        (currencyCode !== undefined ? !currency(currencyCode) : unitPrice !== undefined)
      ) {
        return undefined
      }
      out.productId = productId
      if (quantity !== undefined) out.quantity = quantity
      if (category !== undefined) out.category = category
      if (unitPrice !== undefined) out.unitPrice = unitPrice
      if (currencyCode !== undefined) out.currency = currencyCode
      return out
    }
    case "conversion": {
      const items = lineItems(itemsIn)
      if (
        items === undefined ||
        !text(orderId, 1, 128) ||
        !isConversionType(conversionType) ||
        (value !== undefined && !minorUnits(value)) ||
        (currencyCode !== undefined ? !currency(currencyCode) : value !== undefined || items.length > 0)
      ) {
        return undefined
      }
      out.orderId = orderId
      out.conversionType = conversionType
      if (currencyCode !== undefined) out.currency = currencyCode
      if (value !== undefined) out.value = value
      out.items = items
      return out
    }
    case "engagement": {
      if (
        (element !== undefined && !text(element, 1, 128)) ||
        (scrollDepth !== undefined && !int(scrollDepth, 0, 100)) ||
        (timeOnPage !== undefined && !int(timeOnPage, 0, 86_400_000)) ||
        (pointerX !== undefined && !int(pointerX, 0, 100)) ||
        (pointerY !== undefined && !int(pointerY, 0, 100))
      ) {
        return undefined
      }
      if (element !== undefined) out.element = element
      if (scrollDepth !== undefined) out.scrollDepth = scrollDepth
      if (timeOnPage !== undefined) out.timeOnPage = timeOnPage
      if (pointerX !== undefined) out.pointerX = pointerX
      if (pointerY !== undefined) out.pointerY = pointerY
      return out
    }
    default:
      return out
  }
}
