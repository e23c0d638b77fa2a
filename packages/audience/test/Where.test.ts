import { assert, describe, it } from "@effect/vitest"
import * as Audience from "../src/Audience.js"
import type * as AudienceRule from "../src/AudienceRule.js"
import * as Batch from "../src/Batch.js"
import * as Rule from "../src/Rule.js"
import type { VisitorEvent } from "../src/VisitorEvent.js"
import { page, purchase, receipt, T0, view } from "./fixtures/events.js"

const matches = (condition: Rule.Builder, event: VisitorEvent): boolean =>
  Batch.evaluate(Audience.make([condition]), [event], T0).member

const at = (url: string): VisitorEvent => ({ ...page(T0, "/"), payload: { url } })

describe("property filters", () => {
  it("URL globs: * within a segment, ** across, path-only unless a host is named", () => {
    const cases: ReadonlyArray<readonly [string, string, boolean]> = [
      ["/pricing", "https://shop.example/pricing?plan=pro#top", true],
      ["/pricing", "https://shop.example/pricing/", false],
      ["/blog/*", "https://shop.example/blog/summer", true],
      ["/blog/*", "https://shop.example/blog/2026/summer", false],
      ["/blog/**", "https://shop.example/blog/2026/summer", true],
      ["/p/*/reviews", "https://shop.example/p/42/reviews", true],
      ["/p/*/reviews", "https://shop.example/p/42/reviews/3", false],
      ["shop.example/checkout/*", "https://Shop.Example/checkout/pay?x=1", true],
      ["shop.example/checkout/*", "https://other.example/checkout/pay", false],
      ["/a.b", "https://shop.example/aXb", false],
      ["/signup/complete", "/signup/complete", true]
    ]
    for (const [glob, url, expected] of cases) {
      assert.strictEqual(matches(Rule.visited(glob), at(url)), expected, `${glob} on ${url}`)
    }
    assert.isTrue(
      matches(
        Rule.event("page_view", { url: { prefix: "https://shop.example/blog" } }),
        at("https://shop.example/blog/x")
      )
    )
    assert.isTrue(matches(Rule.event("page_view", { referrer: { glob: "news.example/**" } }), page(T0, "/")))
  })

  it("text and number tests, all of them must hold", () => {
    const shoe = view(T0, "sku-1", "shoes", 12_000)
    const cases: ReadonlyArray<readonly [AudienceRule.Where, boolean]> = [
      [{ category: "shoes" }, true],
      [{ category: "Shoes" }, false],
      [{ category: { in: ["hats", "shoes"] } }, true],
      [{ productId: { prefix: "sku-" } }, true],
      [{ productId: { prefix: "sku-", equals: "sku-2" } }, false],
      [{ unitPrice: 12_000 }, true],
      [{ unitPrice: { gt: 12_000 } }, false],
      [{ unitPrice: { gte: 10_000, lt: 20_000 } }, true],
      [{ unitPrice: { in: [1, 2] } }, false],
      [{ currency: "EUR", "context.os": "Linux" }, true],
      [{ "context.device": "mobile" }, false],
      [{ orderId: "o-1" }, false]
    ]
    for (const [where, expected] of cases) {
      assert.strictEqual(matches(Rule.viewed(where), shoe), expected, JSON.stringify(where))
    }
  })

  it("tests item fields of a conversion per line item", () => {
    const order = purchase(T0, [
      { productId: "p1", unitPrice: 3_000, category: "hats" },
      { productId: "p2", unitPrice: 9_000, category: "shoes", quantity: 2 }
    ])
    assert.isTrue(matches(Rule.purchased({ category: "shoes", unitPrice: { gte: 5_000 } }), order))
    assert.isFalse(
      matches(Rule.purchased({ category: "hats", unitPrice: { gte: 5_000 } }), order),
      "one item must pass all"
    )
    assert.isTrue(matches(Rule.purchased().sum("unitPrice").atLeast(12_000), order))
    assert.isTrue(matches(Rule.purchased({ category: "shoes" }).sum("quantity").exactly(2), order))
    assert.isTrue(matches(Rule.purchased().sum("value").exactly(21_000), order), "the order value counts once")
    assert.isTrue(matches(Rule.purchased().exactly(1), order), "an order counts once")
    assert.isTrue(matches(Rule.purchased().distinct("productId").exactly(2), order))
  })

  it("reads fields of the wrong type as missing", () => {
    const odd: VisitorEvent = {
      type: "product_view",
      receivedAt: T0,
      visitor: "v",
      payload: { productId: 42, category: ["shoes"], unitPrice: "1000", url: 7, context: "x" },
      consent: receipt()
    }
    assert.isTrue(matches(Rule.viewed(), odd))
    for (const where of [{ productId: "42" }, { category: "shoes" }, { unitPrice: 1000 }, { "context.os": "x" }]) {
      assert.isFalse(matches(Rule.viewed(where as AudienceRule.Where), odd), JSON.stringify(where))
    }
    assert.isFalse(matches(Rule.viewed().min("unitPrice").atLeast(0), odd), "a min over no values compares false")
    assert.isFalse(
      matches(
        Rule.viewed()
          .atLeast(1)
          .where({ unitPrice: { gte: 0 } }),
        { ...odd, payload: { unitPrice: 1.5 } }
      )
    )
  })
})
