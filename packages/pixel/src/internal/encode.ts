/**
 * The wire encoder shared by the Node-side `WireFormat` module and the browser tag. It is dependency-free and
 * deliberately small, because every byte of it ships inside `tag.js`: the tag and the server therefore speak
 * through the very same code.
 */

/** The wire version written as `v=1` (GET) or as the batch header line. */
export const VERSION = "1"

/** The batch header line (the first line of a `POST /collect` body). */
export const HEADER = "v=" + VERSION

/** The largest GET URL (`<endpoint>/px.gif?<query>`), in bytes. */
export const MAX_GET_URL = 2000

/** The largest batch body, in bytes: the `fetch` keepalive and `sendBeacon` budget. */
export const MAX_BATCH = 65536

/** The largest event line: a batch of that one event is exactly `MAX_BATCH` bytes. */
export const MAX_LINE = MAX_BATCH - HEADER.length - 1

/** Event type → wire code. */
export const TYPE_CODES: Record<string, string> = {
  page_view: "pv",
  product_view: "vw",
  add_to_cart: "ac",
  conversion: "cv",
  engagement: "en"
}

/** Model field → wire key, in the order the encoder writes them. */
export const FIELD_KEYS: Record<string, string> = {
  id: "id",
  site: "s",
  clientTs: "t",
  url: "u",
  referrer: "r",
  visitorId: "vid",
  productId: "p",
  quantity: "q",
  category: "ca",
  unitPrice: "pr",
  currency: "cu",
  orderId: "oi",
  conversionType: "ct",
  value: "va",
  element: "el",
  scrollDepth: "sd",
  timeOnPage: "tp",
  pointerX: "px",
  pointerY: "py"
}

/** Consent signal → wire key (`gdpr` as in IAB's `gdpr=1` macro). */
export const CONSENT_KEYS: Record<string, string> = {
  gpc: "g",
  dnt: "d",
  optout: "o",
  tcf: "tcf",
  gpp: "gpp",
  gdprApplies: "gdpr"
}

/**
 * Percent-encodes one value as UTF-8 (the tag's escaper: it throws on a lone surrogate, which UTF-8 cannot
 * carry, and the tag then drops that event).
 */
export const esc = (value: unknown): string => encodeURIComponent(value as string)

/**
 * Percent-encodes one value as UTF-8, sending lone surrogates as U+FFFD (as `TextEncoder` does) instead of
 * throwing: the Node-side escaper.
 */
export const escWellFormed = (value: unknown): string => {
  const s = String(value)
  try {
    return encodeURIComponent(s)
  } catch {
    return encodeURIComponent(
      s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]|[\uD800-\uDFFF]/g, (m) => (m.length > 1 ? m : "\uFFFD"))
    )
  }
}

const add = (source: any, keys: Record<string, string>, escaper: (value: unknown) => string): string => {
  let out = ""
  for (const field in keys) {
    const value = source[field]
    // Booleans (`value === !!value`) travel as 1 or 0. An empty string is left out like a missing value: no
    // field of the model may be empty (the tag relies on this for an empty referrer or label).
    if (value != null && value !== "") out += "&" + keys[field] + "=" + (value === !!value ? +value : escaper(value))
  }
  return out
}

/**
 * Encodes an event (its JSON form) as one wire line: the query string without the version key. `serverTs` and
 * `userAgent` are set by the server and never travel on the wire. Values are escaped with `escaper`.
 */
export const encodeLine = (event: any, escaper: (value: unknown) => string = esc): string => {
  let out = "e=" + TYPE_CODES[event.type] + add(event, FIELD_KEYS, escaper)
  const consent = event.consent
  if (consent) out += add(consent, CONSENT_KEYS, escaper) || "&c=1"
  const items = (event.items || [])
    .map((item: any) =>
      [item.productId, item.quantity, item.unitPrice]
        .concat(item.category || []) // no category part without a category
        .map(escaper)
        .join(",")
    )
    .join(";")
  if (items) out += "&it=" + items
  return out
}

/**
 * Packs wire lines into batch bodies of at most `max` bytes each (lines are ASCII, so characters are bytes).
 * A line too long for any body is left out: it cannot be sent.
 */
export const packBatch = (lines: ReadonlyArray<string>, max: number = MAX_BATCH): Array<string> => {
  const bodies: Array<string> = []
  let body = ""
  for (const line of lines) {
    if (HEADER.length + 1 + line.length > max) continue
    if (body && body.length + 1 + line.length > max) {
      bodies.push(body)
      body = ""
    }
    body = (body || HEADER) + "\n" + line
  }
  if (body) bodies.push(body)
  return bodies
}
