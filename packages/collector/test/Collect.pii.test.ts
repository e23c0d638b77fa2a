import { assert, describe, it } from "@effect/vitest"
import { DecisionCache, Policy } from "@openaudience/consent"
import { Event, type StoredEvent } from "@openaudience/event-schema"
import { Arbitrary, Either, FastCheck as fc } from "effect"
import * as Schema from "effect/Schema"
import {
  componentTimes,
  encodeTimes,
  type Planted,
  planted,
  survives
} from "../../anonymizer/test/fixtures/piiValues.js"
import { emptyRequest, freeTextFields, toStored } from "../src/Collect.js"
import type { Metrics } from "../src/Metrics.js"
import * as Tenant from "../src/Tenant.js"

const tenant = Tenant.make(new Uint8Array(32).fill(7), {
  id: "t",
  name: "T",
  siteKeys: ["shop"],
  policy: Policy.demo
})

const recording = () => {
  const redactions: Array<string> = []
  const metrics: Metrics = {
    countEvent: () => {},
    countRequest: () => {},
    countRedaction: (field, kind) => redactions.push(`${field}:${kind}`)
  }
  return { metrics, redactions }
}

const store = (event: Event.Event, metrics?: Metrics): StoredEvent.StoredEvent => {
  const row = toStored(DecisionCache.make(), tenant, event, emptyRequest, 1_764_000_000_000, metrics)
  if (typeof row === "string") throw new Error(`expected a stored row, got ${row}`)
  return row
}

/** Every string leaf of a value, by path (array indices as numbers). */
const stringLeaves = (value: unknown, path: Array<string | number> = []): Array<Array<string | number>> => {
  if (typeof value === "string") return [path]
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...path, i]))
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...path, k]))
  }
  return []
}

const setAt = (value: any, path: ReadonlyArray<string | number>, text: string): any => {
  if (path.length === 0) return text
  const [key, ...rest] = path
  const copy = Array.isArray(value) ? [...value] : { ...value }
  copy[key as any] = setAt(value[key as any], rest, text)
  return copy
}

const wrap = fc.tuple(
  fc.constantFrom("", "Contact ", "ref ", "x-"),
  fc.constantFrom("", " now", " (mobile)", "-y"),
  fc.integer({ min: 0, max: 3 })
)

const inField = (value: Planted, [before, after, rounds]: [string, string, number]): string => {
  const text = `${before}${value.text}${after}`
  return rounds === 0 ? text : componentTimes(encodeTimes(text, 1), rounds - 1)
}

/** Not payload: ids and the site key are patterned (and the visitor id is hashed), the rest has its own handling. */
const envelope = new Set(["type", "id", "site", "visitorId", "url", "referrer", "userAgent", "consent"])

const events: fc.Arbitrary<Event.Event> = fc.oneof(
  ...Event.eventTypes.map((type) => Arbitrary.make(Event.schemas[type] as Schema.Schema<Event.Event>))
)

describe("Collect.toStored: personal data in free-text fields", () => {
  it("finds every free-text field from the event schemas (productId, category, orderId, items, element)", () => {
    const fields = Object.fromEntries(
      Object.entries(freeTextFields).map(([type, list]) => [type, list.map((f) => f.label)])
    )
    assert.deepStrictEqual(fields, {
      page_view: [],
      product_view: ["productId", "category"],
      add_to_cart: ["productId", "category"],
      conversion: ["orderId", "items[].productId", "items[].category"],
      engagement: ["element"]
    })
  })

  it("stores no planted email, phone, card or address in any string field the schema accepts it in, nor in the URL", () => {
    fc.assert(
      fc.property(events, planted, wrap, fc.nat(), (event, value, how, pick) => {
        // Plant into one string field chosen among all of them: the schema, not this test, says which accept free
        // text, so a field added to an event later is planted into too. The envelope's URL gets it below; its
        // user agent is generalized, its consent strings are not stored, and its ids are patterned.
        const leaves = stringLeaves(event).filter((p) => !envelope.has(String(p[0])))
        const text = inField(value, how)
        const candidates = leaves
          .map((path) => setAt(event, path, text))
          .filter((e) => Either.isRight(Schema.decodeUnknownEither(Event.Event)(e)))
        const url = `https://shop.example/p/${encodeURIComponent(text)}?product=${encodeURIComponent(text)}`
        const planted = candidates.length === 0 ? event : candidates[pick % candidates.length]
        const { metrics, redactions } = recording()
        const { userAgent: _ua, referrer: _ref, consent: _consent, visitorId: _visitor, ...rest } = planted
        // Identified, so the order id is stored (redacted); an identifier-free row stores only its keyed hash.
        const row = store({ ...rest, url, visitorId: "fp-visitor-pii" } as Event.Event, metrics)
        const stored = JSON.stringify(row.payload)
        assert.isFalse(survives(value, stored), `${value.text} survives in ${stored}`)
        if (candidates.length > 0) {
          assert.include(stored, `[redacted:`)
          assert.isAbove(redactions.length, 0)
        }
        const identifierFree = JSON.stringify(store({ ...rest, url } as Event.Event).payload)
        assert.isFalse(survives(value, identifierFree), `${value.text} survives in ${identifierFree}`)
      }),
      { numRuns: 400 }
    )
  })

  it("plants into each field by name and counts the redaction by field and kind", () => {
    const { metrics, redactions } = recording()
    const row = store(
      {
        type: "conversion",
        id: "evt_pii_conversion_1",
        site: "shop",
        // Identified: an identifier-free row would store the order id's keyed hash instead.
        visitorId: "fp-visitor-pii",
        orderId: "jane.doe+orders@exämple.com",
        conversionType: "purchase",
        currency: "EUR",
        items: [
          { productId: "SKU-12345", quantity: 1, unitPrice: 1000, category: "Shoes > Running" },
          { productId: "0033 6 40 60 62 70", quantity: 2, unitPrice: 500, category: "192.168.10.77" }
        ]
      },
      metrics
    )
    const payload = row.payload as any
    assert.strictEqual(payload.orderId, "[redacted:email]")
    assert.deepStrictEqual(payload.items[0], {
      productId: "SKU-12345",
      quantity: 1,
      unitPrice: 1000,
      category: "Shoes > Running"
    })
    assert.strictEqual(payload.items[1].productId, "[redacted:phone]")
    assert.strictEqual(payload.items[1].category, "[redacted:ip]")
    assert.deepStrictEqual(redactions, ["orderId:email", "items[].productId:phone", "items[].category:ip"])
  })

  it("keeps ordinary SKUs, categories and sizes as sent, and the event it was given unchanged", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          "SKU-12345",
          "sku_98765-XL",
          "42",
          "EU 42.5",
          "550e8400-e29b-41d4-a716-446655440000",
          "1000234567"
        ),
        fc.constantFrom("Shoes > Running", "Women/Shoes", "Größe 38-40", "Sale: 50% off", "42"),
        (productId, category) => {
          const event: Event.Event = {
            type: "product_view",
            id: "evt_pii_product_1",
            site: "shop",
            productId,
            category
          }
          const { metrics, redactions } = recording()
          const payload = store(event, metrics).payload as any
          assert.strictEqual(payload.productId, productId)
          assert.strictEqual(payload.category, category)
          assert.deepStrictEqual(redactions, [])
        }
      )
    )
  })

  it("strips control characters from free-text fields (no forged log lines or CSV cells)", () => {
    const payload = store({
      type: "engagement",
      id: "evt_pii_engagement_1",
      site: "shop",
      element: 'buy\r\n=HYPERLINK("x")\u001b[2J\u0085\u2028'
    }).payload as any
    assert.strictEqual(payload.element, 'buy=HYPERLINK("x")[2J')
    const row = store({
      type: "add_to_cart",
      id: "evt_pii_cart_1",
      site: "shop",
      productId: "SKU\t1",
      quantity: 1,
      category: "a\u007fb",
      url: "https://shop.example/p/a%0D%0Ab?product=x%0Ay"
    })
    const stored = JSON.stringify(row.payload)
    assert.notMatch(JSON.parse(stored).productId + JSON.parse(stored).category, /[\u0000-\u001f\u007f-\u009f]/)
    assert.notMatch(JSON.stringify((row.payload as any).url), /\\[rnt]|\\u00[01]/)
  })
})
