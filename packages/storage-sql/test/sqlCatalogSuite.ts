/**
 * What the SQL catalog store must do beyond the port's shared suite, on SQLite and PostgreSQL: a 50,000-product feed
 * (more values than one statement may bind), a replace that fails in its last chunk changing nothing, concurrent
 * replaces of one tenant ending with exactly one of the catalogs, and `list` after hostile bounds (NUL, lone
 * surrogates) answering as the in-memory store does.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, type Vitest } from "@effect/vitest"
import { CatalogStore, type Product } from "@openaudience/catalog"
import { Effect, FastCheck as fc, Fiber } from "effect"
import { productWith, tenantId } from "../../catalog/test/catalogStoreSuite.js"

/** `n` products `p00000`, `p00001`, … titled `title`. */
export const feed = (n: number, title = "v1"): ReadonlyArray<Product.Product> =>
  Array.from({ length: n }, (_, i) =>
    productWith(`p${String(i).padStart(5, "0")}`, {
      title,
      description: `Description of ${i}`,
      price: { amount: 1_000 + i, currency: "EUR" },
      ...(i % 2 === 0 ? { salePrice: { amount: 999, currency: "EUR" } } : {})
    })
  )

/** A trigger failing every insert of product `trap` for tenants named `trap-…`, dropped when the scope closes. */
const trap = Effect.acquireRelease(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.onDialectOrElse({
      pg: () =>
        Effect.zipRight(
          sql`CREATE FUNCTION catalog_trap() RETURNS trigger AS $$
            BEGIN
              IF NEW.id = 'trap' AND NEW.tenant LIKE 'trap-%' THEN RAISE EXCEPTION 'trapped'; END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql`,
          sql`CREATE TRIGGER catalog_trap BEFORE INSERT ON catalog_products
            FOR EACH ROW EXECUTE FUNCTION catalog_trap()`
        ),
      orElse: () => sql`CREATE TRIGGER catalog_trap BEFORE INSERT ON catalog_products
          WHEN NEW.id = 'trap' AND NEW.tenant LIKE 'trap-%' BEGIN SELECT RAISE(ABORT, 'trapped'); END`
    })
  }).pipe(Effect.orDie),
  () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql.onDialectOrElse({
        pg: () =>
          Effect.zipRight(sql`DROP TRIGGER catalog_trap ON catalog_products`, sql`DROP FUNCTION catalog_trap()`),
        orElse: () => sql`DROP TRIGGER catalog_trap`
      })
    }).pipe(Effect.orDie)
)

/** Strings `list` may be handed as `after`: ids, prefixes, NULs and lone surrogates anywhere. */
const bound = fc.oneof(
  fc.constantFrom("", "a", "a\u0000", "a\u0000b", "\u0000", "\uD800", "a\uDC00z", "\uD83D", "\uFFFF", "é\uD800"),
  fc
    .array(
      fc.constantFrom("a", "b", "Z", "é", "\uFF21", "😀", "\u0000", "\uD800", "\uDFFF", "\uE000", "\uD7FF", "-", " "),
      { maxLength: 4 }
    )
    .map((parts) => parts.join(""))
)

export const sqlCatalogSuite = (it: Vitest.MethodsNonLive<CatalogStore.CatalogStore | SqlClient.SqlClient, true>) => {
  it.effect(
    "stores a 50,000-product feed, pages through it, and replaces it by a smaller one",
    () =>
      Effect.gen(function* () {
        const store = yield* CatalogStore.CatalogStore
        const tenant = tenantId()
        const big = feed(50_000)
        assert.strictEqual(yield* store.replace(tenant, big), 50_000)
        assert.strictEqual(yield* store.count(tenant), 50_000)
        assert.deepStrictEqual(yield* store.list(tenant, { after: "p49997" }), big.slice(49_998))
        assert.deepStrictEqual(yield* store.list(tenant, { limit: 2 }), big.slice(0, 2))
        const ids = big.map((p) => p.id).reverse()
        const got = yield* store.getByIds(tenant, ids)
        assert.strictEqual(got.length, 50_000)
        assert.deepStrictEqual(got[0], big[49_999])
        assert.deepStrictEqual(got[49_999], big[0])
        const all = yield* store.list(tenant)
        assert.deepStrictEqual(all, big)
        assert.strictEqual(yield* store.replace(tenant, feed(3, "v2")), 3)
        assert.deepStrictEqual(yield* store.list(tenant), feed(3, "v2"))
        assert.strictEqual(yield* store.count(tenant), 3)
      }),
    120_000
  )

  it.scoped(
    "changes nothing when the database fails in the last chunk of a big replace",
    () =>
      Effect.gen(function* () {
        const store = yield* CatalogStore.CatalogStore
        yield* trap
        const tenant = tenantId("trap")
        const before = feed(10, "before")
        yield* store.replace(tenant, before)
        const doomed = [...feed(5_000, "after"), productWith("trap")]
        const error = yield* Effect.flip(store.replace(tenant, doomed))
        assert.strictEqual(error._tag, "CatalogError")
        assert.strictEqual(error.reason, "StoreFailed")
        assert.match(error.message, /trapped/)
        assert.deepStrictEqual(yield* store.list(tenant), before)
        assert.strictEqual(yield* store.count(tenant), 10)
        // Another tenant's products of that id are not trapped.
        const other = tenantId()
        assert.strictEqual(yield* store.replace(other, doomed), doomed.length)
      }),
    120_000
  )

  it.effect(
    "ends with exactly one of several catalogs replaced at once",
    () =>
      Effect.gen(function* () {
        const store = yield* CatalogStore.CatalogStore
        for (let round = 0; round < 3; round++) {
          const tenant = tenantId()
          // Different ids per version, so leftovers of a lost replace would show.
          const versions = Array.from({ length: 6 }, (_, v) =>
            Array.from({ length: 400 + 100 * v }, (_, i) => productWith(`v${v}-${String(i).padStart(4, "0")}`))
          )
          yield* store.replace(tenant, feed(700, "start"))
          yield* Effect.all(
            versions.map((products) => store.replace(tenant, products)),
            { concurrency: "unbounded", discard: true }
          )
          const final = yield* store.list(tenant)
          const winner = versions.find((v) => v.length === final.length && v[0]!.id === final[0]?.id)
          assert.isDefined(winner, `a mix of ${new Set(final.map((p) => p.id.split("-")[0])).size} catalogs`)
          assert.deepStrictEqual(final, winner)
          assert.strictEqual(yield* store.count(tenant), final.length)
        }
      }),
    120_000
  )

  it.effect(
    "gets more products by id than one statement reads from one catalog while it is replaced",
    () =>
      Effect.gen(function* () {
        const store = yield* CatalogStore.CatalogStore
        const tenant = tenantId()
        const ids = feed(1_600).map((p) => p.id)
        yield* store.replace(tenant, feed(1_600, "v0"))
        const writer = yield* Effect.fork(
          Effect.forEach([1, 2, 3, 4, 5, 6], (v) => store.replace(tenant, feed(1_600, `v${v}`)), { discard: true })
        )
        for (let i = 0; i < 12; i++) {
          const got = yield* store.getByIds(tenant, ids)
          assert.strictEqual(got.length, 1_600)
          const titles = new Set(got.map((p) => p.title))
          assert.strictEqual(titles.size, 1, `a mix of ${[...titles].join(" and ")}`)
        }
        yield* Fiber.join(writer)
      }),
    120_000
  )

  it.effect("lists after any string as the in-memory store does, NULs and lone surrogates included", () =>
    Effect.gen(function* () {
      const store = yield* CatalogStore.CatalogStore
      const memory = CatalogStore.makeMemory()
      const tenant = tenantId()
      const ids = ["a", "a b", "a!", "aa", "b", "Z", "é", "\uD7FF", "\uE000", "\uFF21", "\uFFFF", "😀", "a😀"]
      const products = ids.map((id) => productWith(id))
      yield* store.replace(tenant, products)
      yield* memory.replace(tenant, products)
      const samples = fc.sample(fc.tuple(bound, fc.option(fc.integer({ min: -1, max: 15 }), { nil: undefined })), {
        seed: 53,
        numRuns: 300
      })
      for (const [after, limit] of samples) {
        const expected = (yield* memory.list(tenant, { after, limit })).map((p) => p.id)
        const got = (yield* store.list(tenant, { after, limit })).map((p) => p.id)
        assert.deepStrictEqual(got, expected, `after ${JSON.stringify(after)}, limit ${limit}`)
      }
      assert.deepStrictEqual(
        (yield* store.getByIds(tenant, ["a\u0000", "\uD800", "a", "a!"])).map((p) => p.id),
        ["a", "a!"]
      )
    })
  )
}
