/**
 * Realistic events for the benchmarks: what the browser tag sends from a shop's product pages, category pages
 * and checkout. Every generator is deterministic in its index so that runs are comparable, and every event gets
 * its own id so the collector never sees a duplicate.
 */
import type { Event } from "../packages/event-schema/src/index.ts"

/** The demo tenant's site key (the reference server's OA_DEMO=1 mode). */
export const siteKey = "demo"

const shop = "https://shop.example.com"
/** The product categories the generated events use. */
export const categories = [
  "Shoes > Running",
  "Shoes > Trail",
  "Apparel > Jackets",
  "Outdoor > Tents",
  "Accessories > Bags"
]
const products = ["trail-runner-gtx", "road-racer-3", "storm-shell-jacket", "ultralight-tent-2p", "daypack-22l"]
const campaigns = [
  "utm_source=newsletter&utm_medium=email&utm_campaign=spring",
  "gclid=Cj0KCQjw2a6wBhCVARIsABPeH1s",
  ""
]

/** Epoch milliseconds the generated `clientTs` values start from (2026-01-01T00:00:00Z). */
const epoch = 1_767_225_600_000

/** A 32-character event id, as long as the tag's random hex ids, unique for each `n` and (alphanumeric) prefix. */
export const eventId = (prefix: string, n: number): string => prefix + n.toString(16).padStart(32 - prefix.length, "0")

/** A first-party visitor id in the tag's form (32 hex digits); 500 visitors recur across the generated events. */
const visitorId = (n: number): string => {
  let id = ""
  for (let k = 1; k <= 4; k++) id += (Math.imul((n % 500) + 1, 2_654_435_761 * k) >>> 0).toString(16).padStart(8, "0")
  return id
}

const pick = <A>(list: ReadonlyArray<A>, n: number): A => list[n % list.length]!

const pageUrl = (path: string, n: number): string => {
  const query = pick(campaigns, n)
  return query === "" ? `${shop}${path}` : `${shop}${path}?${query}`
}

/** A product view from a product detail page, with price and category as the tag reads them from the page. */
export const productView = (id: string, n: number): Event.ProductView => {
  const product = pick(products, n)
  return {
    type: "product_view",
    id,
    site: siteKey,
    clientTs: epoch + n * 997,
    url: pageUrl(`/products/${product}-${(n % 40) + 36}`, n),
    referrer: `${shop}/c/${pick(categories, n)
      .toLowerCase()
      .replace(/[^a-z]+/g, "-")}?page=${(n % 3) + 1}`,
    visitorId: visitorId(n),
    consent: { gpc: false },
    productId: `SKU-${(100_000 + n * 37) % 1_000_000}`,
    category: pick(categories, n),
    unitPrice: 1_999 + ((n * 1_000) % 25_000),
    currency: "EUR"
  }
}

/** A page view of a category or content page. */
export const pageView = (id: string, n: number): Event.PageView => ({
  type: "page_view",
  id,
  site: siteKey,
  clientTs: epoch + n * 991,
  url: pageUrl(
    `/c/${pick(categories, n)
      .toLowerCase()
      .replace(/[^a-z]+/g, "-")}`,
    n
  ),
  referrer: n % 2 === 0 ? "https://www.google.com/" : `${shop}/`,
  visitorId: visitorId(n),
  consent: { gpc: false }
})

/** A purchase with three line items, sent from the order confirmation page. */
export const conversion = (id: string, n: number): Event.Conversion => {
  const items = [0, 1, 2].map((k) => ({
    productId: `SKU-${(100_000 + (n + k) * 37) % 1_000_000}`,
    quantity: 1 + ((n + k) % 3),
    unitPrice: 1_999 + (((n + k) * 1_000) % 25_000),
    category: pick(categories, n + k)
  }))
  return {
    type: "conversion",
    id,
    site: siteKey,
    clientTs: epoch + n * 983,
    url: `${shop}/checkout/confirmation`,
    referrer: `${shop}/checkout/payment`,
    visitorId: visitorId(n),
    consent: { gpc: false },
    orderId: `ORD-2026-${(n + 1).toString().padStart(7, "0")}`,
    conversionType: "purchase",
    currency: "EUR",
    value: items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0),
    items
  }
}
