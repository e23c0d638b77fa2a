/**
 * The products shown to a visitor: checked on examples for each rule, then against a plain oracle written from the
 * rules (per product: its last view and last purchase) on random histories.
 */
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { type Product, Recommend } from "../src/index.js"

const now = Date.UTC(2026, 11, 1)
const minute = 60_000
const make = (id: string, availability: Product.Availability = "in_stock"): Product.Product => ({
  id,
  title: id,
  link: `https://shop.example/${id}`,
  imageLink: `https://shop.example/${id}.jpg`,
  price: { amount: 100, currency: "EUR" },
  availability
})
const catalog = [
  make("a"),
  make("b"),
  make("c"),
  make("d"),
  make("out", "out_of_stock"),
  make("pre", "preorder"),
  make("back", "backorder")
]
const viewed = (productId: string, ago: number): Recommend.ProductEvent => ({
  kind: "viewed",
  productId,
  at: now - ago * minute
})
const purchased = (productId: string, ago: number): Recommend.ProductEvent => ({
  kind: "purchased",
  productId,
  at: now - ago * minute
})
const ids = (history: ReadonlyArray<Recommend.ProductEvent>, max = 10, extra: Partial<Recommend.Options> = {}) =>
  Recommend.forVisitor(history, catalog, { max, now, ...extra }).map((p) => p.id)

describe("Recommend.forVisitor", () => {
  it("orders by the most recent view, each product once, whatever the order of the history", () => {
    const history = [viewed("a", 30), viewed("b", 20), viewed("a", 5), viewed("c", 10), viewed("b", 40)]
    assert.deepStrictEqual(ids(history), ["a", "c", "b"])
    assert.deepStrictEqual(ids([...history].reverse()), ["a", "c", "b"])
    assert.deepStrictEqual(ids(history, 2), ["a", "c"])
  })

  it("drops a product bought at or after its last view, and takes it back when viewed again after", () => {
    assert.deepStrictEqual(ids([viewed("a", 10), purchased("a", 5), viewed("b", 8)]), ["b"])
    assert.deepStrictEqual(ids([viewed("a", 10), purchased("a", 10)]), [], "a purchase at the time of the view")
    assert.deepStrictEqual(ids([purchased("a", 10), viewed("a", 5)]), ["a"])
    assert.deepStrictEqual(ids([viewed("a", 20), purchased("a", 10), viewed("a", 15)]), [], "an older view after")
    assert.deepStrictEqual(ids([purchased("b", 1), viewed("a", 3)]), ["a"], "another product's purchase")
  })

  it("shows only products in stock that the catalog has", () => {
    const history = [viewed("out", 1), viewed("pre", 2), viewed("back", 3), viewed("gone", 4), viewed("d", 5)]
    assert.deepStrictEqual(ids(history), ["d"])
    assert.deepStrictEqual(ids(history, 1), ["d"], "skipped products do not use up the places")
  })

  it("ignores events after now, and views older than maxAge", () => {
    assert.deepStrictEqual(ids([viewed("a", -5), viewed("b", 1)]), ["b"])
    assert.deepStrictEqual(ids([viewed("a", 10), purchased("a", -1)]), ["a"], "a purchase dated in the future")
    assert.deepStrictEqual(ids([viewed("a", 0)]), ["a"], "a view at now")
    assert.deepStrictEqual(ids([viewed("a", 61), viewed("b", 60)], 10, { maxAge: 60 * minute }), ["b"])
  })

  it("gives nothing for max 0, negative or NaN, and rounds max down", () => {
    const history = [viewed("a", 1), viewed("b", 2)]
    for (const max of [0, -1, Number.NaN, 0.9]) assert.deepStrictEqual(ids(history, max), [], String(max))
    assert.deepStrictEqual(ids(history, 1.9), ["a"])
    assert.deepStrictEqual(ids(history, Number.POSITIVE_INFINITY), ["a", "b"])
  })

  it("takes the catalog as a map by id", () => {
    const byId = new Map(catalog.map((p) => [p.id, p]))
    assert.deepStrictEqual(
      Recommend.forVisitor([viewed("b", 1), viewed("a", 2)], byId, { max: 5, now }).map((p) => p.id),
      ["b", "a"]
    )
  })

  it("reads views and purchases from stored events, at the server's time", () => {
    const stored = (type: string, payload: unknown, receivedAt = now) => ({ type, receivedAt, payload })
    const history = Recommend.historyOf([
      stored("product_view", { type: "product_view", productId: "a", clientTs: now + 1e9 }, now - 5),
      stored("conversion", {
        conversionType: "purchase",
        items: [{ productId: "b" }, null, { productId: 7 }, { productId: "c" }]
      }),
      stored("conversion", { conversionType: "lead", items: [{ productId: "d" }] }),
      stored("add_to_cart", { productId: "e" }),
      stored("product_view", null),
      stored("product_view", { productId: ["a"] }),
      stored("conversion", { conversionType: "purchase", items: "b" })
    ])
    assert.deepStrictEqual(history, [
      { kind: "viewed", productId: "a", at: now - 5 },
      { kind: "purchased", productId: "b", at: now },
      { kind: "purchased", productId: "c", at: now }
    ])
  })

  it("agrees with an oracle written from the rules on random histories", () => {
    const event = fc.record({
      kind: fc.constantFrom("viewed", "purchased"),
      productId: fc.constantFrom("a", "b", "c", "d", "out", "pre", "x"),
      at: fc.integer({ min: now - 100, max: now + 5 })
    }) as fc.Arbitrary<Recommend.ProductEvent>
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), fc.integer({ min: 0, max: 5 }), (history, max) => {
        const inStock = new Set(catalog.filter((p) => p.availability === "in_stock").map((p) => p.id))
        const eligible: Array<[string, number, number]> = []
        for (const id of new Set(history.map((e) => e.productId))) {
          const past = history.map((e, k) => ({ ...e, k })).filter((e) => e.productId === id && e.at <= now)
          const views = past.filter((e) => e.kind === "viewed")
          if (views.length === 0) continue
          const lastView = Math.max(...views.map((e) => e.at))
          const lastIndex = Math.max(...views.filter((e) => e.at === lastView).map((e) => e.k))
          if (past.some((e) => e.kind === "purchased" && e.at >= lastView)) continue
          if (inStock.has(id)) eligible.push([id, lastView, lastIndex])
        }
        eligible.sort((x, y) => y[1] - x[1] || y[2] - x[2])
        const expected = eligible.slice(0, max).map(([id]) => id)
        assert.deepStrictEqual(ids(history, max), expected)
      }),
      { seed: 21, numRuns: 2000 }
    )
  })
})
