/**
 * Micro-benchmark of the collector's hot path: `WireFormat.decodeQuery` on realistic product views, page views
 * and purchases (three line items), in µs per event. Two baselines are measured in the same run on the same
 * inputs: `JSON.parse` of each event's JSON (parsing without any validation), and the wire parser followed by
 * the full Effect Schema decode (what `decodeQuery` cost before its fast validation path). Run with
 * `pnpm exec tsx packages/pixel/bench/decode.ts`; it prints figures and ratios and never asserts a time.
 */
import { Event } from "@openaudience/event-schema"
import * as Schema from "effect/Schema"
import { Failure, parseEvent } from "../src/internal/decode.ts"
import { WireFormat } from "../src/index.ts"

const perKind = 1_000
const epoch = 1_767_225_600_000
const shop = "https://shop.example.com"
const categories = ["Shoes > Running", "Shoes > Trail", "Apparel > Jackets", "Outdoor > Tents", "Accessories > Bags"]
const products = ["trail-runner-gtx", "road-racer-3", "storm-shell-jacket", "ultralight-tent-2p", "daypack-22l"]
const campaigns = [
  "utm_source=newsletter&utm_medium=email&utm_campaign=spring",
  "gclid=Cj0KCQjw2a6wBhCVARIsABPeH1s",
  ""
]

const pick = <A>(list: ReadonlyArray<A>, n: number): A => list[n % list.length]!
const eventId = (prefix: string, n: number): string => prefix + n.toString(16).padStart(32 - prefix.length, "0")
const visitorId = (n: number): string => {
  let id = ""
  for (let k = 1; k <= 4; k++) id += (Math.imul((n % 500) + 1, 2_654_435_761 * k) >>> 0).toString(16).padStart(8, "0")
  return id
}
const slug = (category: string) => category.toLowerCase().replace(/[^a-z]+/g, "-")
const pageUrl = (path: string, n: number): string => {
  const query = pick(campaigns, n)
  return query === "" ? `${shop}${path}` : `${shop}${path}?${query}`
}

const productView = (n: number): Event.ProductView => ({
  type: "product_view",
  id: eventId("dv", n),
  site: "demo",
  clientTs: epoch + n * 997,
  url: pageUrl(`/products/${pick(products, n)}-${(n % 40) + 36}`, n),
  referrer: `${shop}/c/${slug(pick(categories, n))}?page=${(n % 3) + 1}`,
  visitorId: visitorId(n),
  consent: { gpc: false },
  productId: `SKU-${(100_000 + n * 37) % 1_000_000}`,
  category: pick(categories, n),
  unitPrice: 1_999 + ((n * 1_000) % 25_000),
  currency: "EUR"
})

const pageView = (n: number): Event.PageView => ({
  type: "page_view",
  id: eventId("dp", n),
  site: "demo",
  clientTs: epoch + n * 991,
  url: pageUrl(`/c/${slug(pick(categories, n))}`, n),
  referrer: n % 2 === 0 ? "https://www.google.com/" : `${shop}/`,
  visitorId: visitorId(n),
  consent: { gpc: false }
})

const conversion = (n: number): Event.Conversion => {
  const items = [0, 1, 2].map((k) => ({
    productId: `SKU-${(100_000 + (n + k) * 37) % 1_000_000}`,
    quantity: 1 + ((n + k) % 3),
    unitPrice: 1_999 + (((n + k) * 1_000) % 25_000),
    category: pick(categories, n + k)
  }))
  return {
    type: "conversion",
    id: eventId("dc", n),
    site: "demo",
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

const schemaDecoders = Object.fromEntries(
  Event.eventTypes.map((type) => [
    type,
    Schema.decodeUnknownEither(Event.schemas[type] as Schema.Schema<any, any>, {
      errors: "all",
      onExcessProperty: "error"
    })
  ])
) as Record<string, (input: unknown) => { readonly _tag: string }>

/** The old path: wire parser, then the full schema decode. */
const viaSchema = (query: string): boolean => {
  const parsed = parseEvent(query, 0, query.length, undefined)
  if (parsed instanceof Failure) return false
  return schemaDecoders[parsed.type as string]!(parsed)._tag === "Right"
}

/** µs per item of `f` over `inputs`, the median of `rounds` rounds of about `ms` each. */
const measure = (inputs: ReadonlyArray<string>, f: (input: string) => boolean, rounds = 7, ms = 300): number => {
  const results: Array<number> = []
  let sink = 0
  for (let round = 0; round < rounds + 1; round++) {
    let items = 0
    const started = performance.now()
    let elapsed = 0
    while (elapsed < ms) {
      for (let i = 0; i < inputs.length; i++) if (f(inputs[i]!)) sink++
      items += inputs.length
      elapsed = performance.now() - started
    }
    if (round > 0) results.push((elapsed * 1000) / items)
  }
  if (sink === 0) throw new Error("the loop did no work")
  results.sort((a, b) => a - b)
  return results[Math.floor(results.length / 2)]!
}

const kinds: ReadonlyArray<[string, (n: number) => Event.Event]> = [
  ["product view", productView],
  ["page view", pageView],
  ["purchase (3 items)", conversion]
]

for (const [name, make] of kinds) {
  const events = Array.from({ length: perKind }, (_, n) => make(n))
  const queries = events.map((event) => WireFormat.encodeQuery(event))
  const json = events.map((event) => JSON.stringify(event))
  for (const query of queries) {
    if (WireFormat.decodeQuery(query)._tag !== "Right" || !viaSchema(query)) throw new Error(`invalid: ${query}`)
  }
  const decode = measure(queries, (q) => WireFormat.decodeQuery(q)._tag === "Right")
  const schema = measure(queries, viaSchema)
  const parse = measure(json, (j) => (JSON.parse(j) as { type: string }).type.length > 0)
  console.log(
    `${name.padEnd(20)} decodeQuery ${decode.toFixed(2)} µs | parse+Schema ${schema.toFixed(2)} µs ` +
      `(${(schema / decode).toFixed(2)}x) | JSON.parse ${parse.toFixed(2)} µs (decodeQuery/JSON.parse ${(decode / parse).toFixed(2)})`
  )
}
