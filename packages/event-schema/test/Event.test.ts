import { assert, describe, it } from "@effect/vitest"
import { Event } from "@openaudience/event-schema"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"

const base = { id: "evt_0123456789", site: "demo" }

const purchase = {
  type: "conversion",
  ...base,
  orderId: "order-1",
  conversionType: "purchase",
  currency: "EUR",
  value: 4598,
  items: [
    { productId: "sku-1", quantity: 2, unitPrice: 1999, category: "shoes" },
    { productId: "sku-2", quantity: 1, unitPrice: 600 }
  ]
}

const errorOf = (input: unknown): string => {
  const result = Event.decodeUnknown(input)
  if (Either.isRight(result)) throw new Error(`expected a failure for ${JSON.stringify(input)}`)
  return result.left.message
}

describe("Event.decodeUnknown", () => {
  it("decodes every event type the tag and the API send", () => {
    const events = [
      {
        type: "page_view",
        ...base,
        url: "https://shop.example/",
        referrer: "https://news.example/",
        clientTs: 1_764_000_000_000
      },
      { type: "product_view", ...base, productId: "sku-1", category: "shoes", unitPrice: 1999, currency: "EUR" },
      { type: "add_to_cart", ...base, productId: "sku-1", quantity: 1, unitPrice: 1999, currency: "EUR" },
      purchase,
      { type: "conversion", ...base, orderId: "lead-7", conversionType: "lead", items: [] },
      {
        type: "engagement",
        ...base,
        element: "buy-button",
        scrollDepth: 75,
        timeOnPage: 12_000,
        pointerX: 40,
        pointerY: 90
      },
      {
        type: "page_view",
        ...base,
        visitorId: "v_abcdefgh",
        consent: { gpc: true, dnt: false, tcf: "CQ", gpp: "DBAA" }
      }
    ]
    for (const input of events) {
      const result = Event.decodeUnknown(input)
      assert.isTrue(Either.isRight(result), JSON.stringify(result))
      assert.deepStrictEqual(Event.encode(Either.getOrThrow(result)), input)
    }
  })

  it("names the field and the value in failures", () => {
    const negative = { ...purchase, items: [{ productId: "sku-1", quantity: 1, unitPrice: -3 }] }
    assert.strictEqual(
      errorOf(negative),
      "items[0].unitPrice: expected a non-negative integer amount in minor units, got -3"
    )
    assert.strictEqual(
      errorOf({ ...purchase, value: 12.5 }),
      "value: expected a non-negative integer amount in minor units, got 12.5"
    )
    assert.strictEqual(
      errorOf({ ...purchase, currency: "XYZ" }),
      'currency: expected an ISO 4217 currency code such as "EUR" or "JPY", got "XYZ"'
    )
    assert.strictEqual(
      errorOf({ ...purchase, currency: undefined }),
      'currency: expected an ISO 4217 currency code such as "EUR" or "JPY", got nothing'
    )
    const { currency: _, ...noCurrency } = purchase
    assert.strictEqual(errorOf(noCurrency), "currency: is required when a price or value is given")
    assert.strictEqual(errorOf({ ...purchase, coupon: "FREE" }), "coupon: is not a known field")
    assert.strictEqual(
      errorOf({ ...base, type: "purchase" }),
      'type: expected one of page_view, product_view, add_to_cart, conversion, engagement, got "purchase"'
    )
    assert.strictEqual(errorOf({ type: "page_view", site: "demo" }), "id: is required")
    assert.strictEqual(errorOf("page_view"), 'event: expected an event object, got "page_view"')
    assert.strictEqual(
      errorOf({ ...purchase, conversionType: "refund" }),
      'conversionType: expected one of purchase, lead, signup, subscription, other, got "refund"'
    )
    assert.strictEqual(
      errorOf({ type: "engagement", ...base, scrollDepth: 101 }),
      "scrollDepth: expected a scroll depth percentage from 0 to 100, got 101"
    )
    assert.strictEqual(
      errorOf({ type: "page_view", ...base, consent: { gpc: "yes" } }),
      'consent.gpc: expected true or false, got "yes"'
    )
  })

  it("bounds every string and rejects text that cannot be stored", () => {
    assert.match(
      errorOf({ type: "page_view", ...base, url: "x".repeat(2049) }),
      /^url: expected a string of 1 to 2048 characters/
    )
    assert.match(errorOf({ type: "product_view", ...base, productId: "" }), /^productId: expected a string of 1 to 128/)
    assert.match(errorOf({ type: "product_view", ...base, productId: "a\ud800b" }), /^productId: /)
    assert.match(errorOf({ type: "product_view", ...base, productId: "a\u0000b" }), /^productId: /)
    assert.match(errorOf({ type: "page_view", id: "short", site: "demo" }), /^id: expected an event id of 8 to 64/)
    assert.match(errorOf({ type: "page_view", id: "evt_0123456789", site: "Demo Site" }), /^site: expected a site key/)
    const items = Array.from({ length: 101 }, () => ({ productId: "p", quantity: 1, unitPrice: 1 }))
    assert.strictEqual(errorOf({ ...purchase, items }), "items: expected at most 100 line items, got 101")
  })

  it("reports every problem, not only the first", () => {
    const result = Event.decodeUnknown({ type: "add_to_cart", ...base, quantity: 0, productId: 7 })
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      const fields = result.left.issues.map((issue) => issue.field).sort()
      assert.deepStrictEqual(fields, ["productId", "quantity"])
    }
  })

  it("round-trips any valid event (property)", () => {
    fc.assert(
      fc.property(Arbitrary.make(Event.Event), (event) => {
        const json = JSON.parse(JSON.stringify(Event.encode(event)))
        const decoded = Event.decodeUnknown(json)
        assert.isTrue(Either.isRight(decoded), JSON.stringify(decoded))
        assert.deepStrictEqual(Either.getOrThrow(decoded), event)
      }),
      { numRuns: 500 }
    )
  })

  it("never throws on arbitrary JSON input (property)", () => {
    const bases = fc.constantFrom(...Event.eventTypes).map((type) => ({ type, ...base }))
    const input = fc.oneof(
      fc.jsonValue(),
      fc.tuple(bases, fc.dictionary(fc.string(), fc.jsonValue())).map(([b, extra]) => ({ ...extra, ...b })),
      fc
        .tuple(
          bases,
          fc.dictionary(
            fc.constantFrom("productId", "quantity", "unitPrice", "currency", "items", "consent", "clientTs"),
            fc.jsonValue()
          )
        )
        .map(([b, extra]) => ({ ...b, ...extra }))
    )
    fc.assert(
      fc.property(input, (value) => {
        const result = Event.decodeUnknown(value)
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left._tag, "EventDecodeError")
          assert.isTrue(result.left.message.startsWith(`${result.left.field}: `))
        } else {
          assert.isTrue(Schema.is(Event.Event)(result.right))
        }
      }),
      { numRuns: 2000 }
    )
  })
})
