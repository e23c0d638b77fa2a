/**
 * The behaviour of every `CatalogStore`, run here over `CatalogStore.layerMemory` and by @openaudience/storage-sql
 * over its SQL store on SQLite and PostgreSQL: exact round trips (money, optional fields, unicode), a replace that
 * swaps the whole catalog or changes nothing, lookups by id in the caller's order, listing in code point order with
 * paging, and tenant isolation. Every test uses tenants of its own.
 */
import { randomUUID } from "node:crypto"
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Fiber } from "effect"
import { CatalogStore, type Product } from "../src/index.js"
import { products } from "./arbitraries.js"

/** A fresh tenant id. */
export const tenantId = (prefix = "cat"): string => `${prefix}-${randomUUID().slice(0, 8)}`

/** A valid product with id `id`. */
export const productWith = (id: string, fields: Partial<Product.Product> = {}): Product.Product => ({
  id,
  title: `Product ${id}`,
  link: `https://shop.example/p/${encodeURIComponent(id)}`,
  imageLink: `https://shop.example/i/${encodeURIComponent(id)}.jpg`,
  price: { amount: 1999, currency: "EUR" },
  availability: "in_stock",
  ...fields
})

/** The failure of `effect`, which must be a `CatalogError` of `reason`. */
export const failure = <A>(
  effect: Effect.Effect<A, CatalogStore.CatalogError>,
  reason: CatalogStore.CatalogErrorReason
) =>
  Effect.gen(function* () {
    const result = yield* Effect.either(effect)
    if (Either.isRight(result)) return assert.fail(`expected ${reason}, got a success`)
    assert.strictEqual(result.left._tag, "CatalogError")
    assert.strictEqual(result.left.reason, reason, result.left.message)
    return result.left
  })

const sorted = (items: ReadonlyArray<Product.Product>) => [...items].sort((a, b) => CatalogStore.compareIds(a.id, b.id))

export const catalogStoreSuite = (it: Vitest.MethodsNonLive<CatalogStore.CatalogStore, true>) => {
  it.effect("gives back exactly the products it was given, listed by id", () =>
    Effect.gen(function* () {
      const store = yield* CatalogStore.CatalogStore
      const samples = fc.sample(products(25), { seed: 31, numRuns: 8 })
      for (const items of samples) {
        const tenant = tenantId()
        assert.strictEqual(yield* store.replace(tenant, items), items.length)
        assert.deepStrictEqual(yield* store.list(tenant), sorted(items))
        assert.strictEqual(yield* store.count(tenant), items.length)
        const reversed = [...items].reverse()
        assert.deepStrictEqual(
          yield* store.getByIds(
            tenant,
            reversed.map((p) => p.id)
          ),
          reversed
        )
      }
    })
  )

  it.effect("keeps every field: optional ones absent or present, money exact, text unicode", () =>
    Effect.gen(function* () {
      const store = yield* CatalogStore.CatalogStore
      const tenant = tenantId()
      const full = productWith("full", {
        title: `Café "crème" <b>&amp;</b> 東京 🍣 ' \\ %`,
        description: "Line one.\nLine two,\ttabbed.\r\nThree.",
        price: { amount: Number.MAX_SAFE_INTEGER, currency: "JPY" },
        salePrice: { amount: 0, currency: "JPY" },
        availability: "backorder",
        brand: "Ünïcødé",
        productType: "Home & Garden > Kitchen > Knives"
      })
      const bare = productWith("bare", { price: { amount: 1, currency: "KWD" }, availability: "preorder" })
      yield* store.replace(tenant, [full, bare])
      const [gotFull, gotBare] = yield* store.getByIds(tenant, ["full", "bare"])
      assert.deepStrictEqual(gotFull, full)
      assert.deepStrictEqual(gotBare, bare)
      assert.deepStrictEqual(Object.keys(gotBare!).sort(), [
        "availability",
        "id",
        "imageLink",
        "link",
        "price",
        "title"
      ])
    })
  )

  it.effect("replaces the whole catalog: old ids are gone, an empty list empties it", () =>
    Effect.gen(function* () {
      const store = yield* CatalogStore.CatalogStore
      const tenant = tenantId()
      yield* store.replace(tenant, [productWith("a"), productWith("b")])
      yield* store.replace(tenant, [productWith("b", { title: "New b" }), productWith("c")])
      assert.deepStrictEqual(
        (yield* store.list(tenant)).map((p) => [p.id, p.title]),
        [
          ["b", "New b"],
          ["c", "Product c"]
        ]
      )
      assert.deepStrictEqual(yield* store.getByIds(tenant, ["a"]), [])
      assert.strictEqual(yield* store.replace(tenant, []), 0)
      assert.deepStrictEqual(yield* store.list(tenant), [])
      assert.strictEqual(yield* store.count(tenant), 0)
    })
  )

  it.effect("changes nothing when a product is invalid or two share an id", () =>
    Effect.gen(function* () {
      const store = yield* CatalogStore.CatalogStore
      const tenant = tenantId()
      const before = [productWith("keep")]
      yield* store.replace(tenant, before)
      const invalid: ReadonlyArray<Product.Product> = [
        productWith("x", { price: { amount: -1, currency: "EUR" } }),
        productWith("x", { price: { amount: 1.5, currency: "EUR" } }),
        productWith("x", { price: { amount: 1, currency: "XXX" } }),
        productWith("x", { link: "javascript:alert(1)" }),
        productWith("x", { title: "" }),
        productWith(""),
        productWith("x\u0000"),
        productWith("x", { salePrice: { amount: 5000, currency: "EUR" } }),
        { ...productWith("x"), availability: "sold" } as unknown as Product.Product
      ]
      for (const bad of invalid) {
        const e = yield* failure(store.replace(tenant, [productWith("new"), bad]), "InvalidInput")
        assert.match(e.message, /product 2 is not valid/)
      }
      const dup = yield* failure(
        store.replace(tenant, [productWith("a"), productWith("b"), productWith("a")]),
        "InvalidInput"
      )
      assert.match(dup.message, /product 3 has the id "a"/)
      assert.deepStrictEqual(yield* store.list(tenant), before)
    })
  )

  it.effect("readers see the old catalog or the new one, never a mix", () =>
    Effect.gen(function* () {
      const store = yield* CatalogStore.CatalogStore
      const tenant = tenantId()
      const size = 300
      const version = (v: string) =>
        Array.from({ length: size }, (_, i) => productWith(`p${String(i).padStart(4, "0")}`, { title: v }))
      yield* store.replace(tenant, version("old"))
      const writer = yield* Effect.fork(
        Effect.forEach(["new", "old", "new"], (v) => store.replace(tenant, version(v)), { discard: true })
      )
      for (let i = 0; i < 20; i++) {
        const list = yield* store.list(tenant)
        assert.strictEqual(list.length, size)
        const titles = new Set(list.map((p) => p.title))
        assert.strictEqual(titles.size, 1, `a mix of ${[...titles].join(" and ")}`)
        yield* Effect.yieldNow()
      }
      yield* Fiber.join(writer)
      assert.deepStrictEqual(new Set((yield* store.list(tenant)).map((p) => p.title)), new Set(["new"]))
    })
  )

  it.effect("gets products by id in the order asked, each once, skipping unknown ids", () =>
    Effect.gen(function* () {
      const store = yield* CatalogStore.CatalogStore
      const tenant = tenantId()
      yield* store.replace(
        tenant,
        ["a", "b", "c"].map((id) => productWith(id))
      )
      const got = yield* store.getByIds(tenant, ["c", "nope", "a", "c", "A", "b", "a"])
      assert.deepStrictEqual(
        got.map((p) => p.id),
        ["c", "a", "b"]
      )
      assert.deepStrictEqual(yield* store.getByIds(tenant, []), [])
      assert.deepStrictEqual(yield* store.getByIds(tenant, ["a%", "_", "' OR 1=1 --"]), [])
    })
  )

  it.effect("lists in code point order (UTF-8 byte order) and pages with after and limit", () =>
    Effect.gen(function* () {
      const store = yield* CatalogStore.CatalogStore
      const tenant = tenantId()
      // Code point order differs from UTF-16 order (U+FF21 before U+1F600) and from locale order (Z before a).
      const ids = ["b", "a", "Z", "a-1", "a_1", "é", "\uFF21", "😀", "10", "9", "a b"]
      yield* store.replace(
        tenant,
        ids.map((id) => productWith(id))
      )
      const expected = ["10", "9", "Z", "a", "a b", "a-1", "a_1", "b", "é", "\uFF21", "😀"]
      assert.deepStrictEqual(
        (yield* store.list(tenant)).map((p) => p.id),
        expected
      )
      const pages: Array<string> = []
      let after: string | undefined
      for (;;) {
        const page = yield* store.list(tenant, { after, limit: 3 })
        assert.isAtMost(page.length, 3)
        if (page.length === 0) break
        pages.push(...page.map((p) => p.id))
        after = page[page.length - 1]!.id
      }
      assert.deepStrictEqual(pages, expected)
      assert.deepStrictEqual(
        (yield* store.list(tenant, { after: "a" })).map((p) => p.id),
        expected.slice(4)
      )
      assert.deepStrictEqual(
        (yield* store.list(tenant, { after: "a0" })).map((p) => p.id),
        expected.slice(6)
      )
      assert.deepStrictEqual(yield* store.list(tenant, { limit: 0 }), [])
    })
  )

  it.effect("keeps tenants apart", () =>
    Effect.gen(function* () {
      const store = yield* CatalogStore.CatalogStore
      const [one, two] = [tenantId(), tenantId()]
      yield* store.replace(one, [productWith("shared", { title: "One" }), productWith("only-one")])
      yield* store.replace(two, [productWith("shared", { title: "Two" })])
      assert.deepStrictEqual(
        (yield* store.getByIds(two, ["shared", "only-one"])).map((p) => p.title),
        ["Two"]
      )
      yield* store.replace(two, [])
      assert.deepStrictEqual(
        (yield* store.list(one)).map((p) => p.title),
        ["Product only-one", "One"]
      )
      assert.strictEqual(yield* store.count(tenantId()), 0)
    })
  )

  it.effect("is not changed by later changes to the objects it was given or gave", () =>
    Effect.gen(function* () {
      const store = yield* CatalogStore.CatalogStore
      const tenant = tenantId()
      const given = productWith("m") as { -readonly [K in keyof Product.Product]: Product.Product[K] }
      yield* store.replace(tenant, [given])
      given.title = "changed"
      ;(given.price as { amount: number }).amount = 1
      const [got] = yield* store.getByIds(tenant, ["m"])
      ;(got!.price as { amount: number }).amount = 2
      assert.deepStrictEqual(yield* store.getByIds(tenant, ["m"]), [productWith("m")])
    })
  )
}
