/**
 * The product schema, the parsers of prices and availabilities, and origins: what a stranger's data may hold.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc, JSONSchema, Schema } from "effect"
import { Product } from "../src/index.js"
import { origin, product } from "./arbitraries.js"

const valid: Product.Product = {
  id: "SKU-1",
  title: "Chef knife",
  link: `${origin}/p/1`,
  imageLink: `${origin}/i/1.jpg`,
  price: { amount: 12900, currency: "EUR" },
  availability: "in_stock"
}
const decode = Schema.decodeUnknownEither(Product.Product)
const problemAt = (input: unknown): string =>
  Either.match(decode(input), {
    onLeft: (e) => String(e),
    onRight: () => assert.fail(`accepted ${JSON.stringify(input)}`)
  })

describe("Product.Product", () => {
  it("accepts every generated product and gives it back unchanged", () => {
    fc.assert(
      fc.property(product, (p) => {
        assert.deepStrictEqual(decode(p), Either.right(p))
      }),
      { seed: 51, numRuns: 500 }
    )
  })

  it("refuses each bad field, naming it", () => {
    const cases: ReadonlyArray<[Partial<Record<keyof Product.Product, unknown>>, RegExp]> = [
      [{ id: "" }, /\["id"\][\s\S]*must not be empty/],
      [{ id: " a" }, /\["id"\][\s\S]*whitespace/],
      [{ id: "a\nb" }, /\["id"\][\s\S]*control character/],
      [{ title: "\uDC00" }, /\["title"\][\s\S]*lone surrogate/],
      [{ description: "a\u0007" }, /\["description"\][\s\S]*control character/],
      [{ link: "ftp://shop.example/x" }, /\["link"\][\s\S]*http or https/],
      [{ imageLink: "https://a:b@shop.example/" }, /\["imageLink"\][\s\S]*user name/],
      [{ price: { amount: 1.5, currency: "EUR" } }, /\["price"\]/],
      [{ price: { amount: 1, currency: "EURO" } }, /\["price"\]/],
      [{ availability: "in stock" }, /\["availability"\]/],
      [{ productType: "A >  > B" }, /empty level/],
      [{ salePrice: { amount: 13000, currency: "EUR" } }, /sale price is above the price/],
      [{ salePrice: { amount: 1, currency: "USD" } }, /one currency/]
    ]
    for (const [change, why] of cases) assert.match(problemAt({ ...valid, ...change }), why, JSON.stringify(change))
    assert.deepStrictEqual(decode({ ...valid, extra: 1 }), Either.right(valid), "unknown fields are dropped")
  })

  it("describes its bounds in JSON Schema", () => {
    const defs = (JSONSchema.make(Product.Product) as unknown as { $defs: Record<string, Record<string, unknown>> })
      .$defs
    assert.deepStrictEqual([defs.ProductId!.minLength, defs.ProductId!.maxLength], [1, 128])
    assert.deepStrictEqual(
      [defs.Title!.maxLength, defs.Description!.maxLength, defs.HttpUrl!.maxLength],
      [200, 5000, 2000]
    )
  })
})

describe("Product parsers", () => {
  it("reads availabilities as Google and Meta spell them", () => {
    for (const [text, value] of [
      ["in_stock", "in_stock"],
      ["In Stock", "in_stock"],
      [" out of stock ", "out_of_stock"],
      ["pre-order", "preorder"],
      ["back order", "backorder"],
      ["BACKORDER", "backorder"]
    ] as const) {
      assert.deepStrictEqual(Product.parseAvailability(text), Either.right(value), text)
    }
    for (const text of ["", "available", "instock!", "discontinued", "in_stock_now"]) {
      assert.isTrue(Either.isLeft(Product.parseAvailability(text)), text)
    }
  })

  it("normalizes origins and refuses anything with a path, query, credentials or another scheme", () => {
    assert.deepStrictEqual(
      Product.normalizeOrigins(["https://Shop.Example", "https://shop.example:443/", "http://127.0.0.1:8080"]).pipe(
        Either.map((s) => [...s])
      ),
      Either.right(["https://shop.example", "http://127.0.0.1:8080"])
    )
    for (const bad of [
      "shop.example",
      "https://shop.example/p",
      "https://shop.example?x",
      "https://u@shop.example",
      "data:x",
      "",
      42
    ]) {
      assert.isTrue(Either.isLeft(Product.normalizeOrigins([bad])), String(bad))
    }
  })
})
