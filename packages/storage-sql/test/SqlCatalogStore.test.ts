/**
 * `SqlCatalogStore` on SQLite (a file, and in memory) behaves like the in-memory store (the shared suite:
 * packages/catalog/test/catalogStoreSuite.ts) and passes the SQL store's own tests; two clients of one file
 * replacing one tenant's catalog at once leave exactly one of the catalogs; migrating again is a no-op.
 */
import { join } from "node:path"
import { assert, describe, it, layer } from "@effect/vitest"
import { CatalogStore } from "@openaudience/catalog"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { catalogStoreSuite, tenantId } from "../../catalog/test/catalogStoreSuite.js"
import { Database, SqlCatalogStore } from "../src/index.js"
import { sqliteLayer, tempDir } from "./fixtures.js"
import { feed, sqlCatalogSuite } from "./sqlCatalogSuite.js"

layer(SqlCatalogStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "CatalogStore over SqlCatalogStore (SQLite file)",
  (it) => {
    catalogStoreSuite(it)
    sqlCatalogSuite(it)
  }
)

layer(SqlCatalogStore.layer.pipe(Layer.provide(Database.layerFromUrl("sqlite::memory:"))), {
  excludeTestServices: true
})("CatalogStore over SqlCatalogStore (SQLite in memory)", catalogStoreSuite)

/** A catalog store on a client of its own of the database at `url`, open for the current scope. */
const storeOn = (url: string) =>
  Effect.map(Layer.build(SqlCatalogStore.layer.pipe(Layer.provide(Database.layerFromUrl(url)))), (context) =>
    Context.get(context, CatalogStore.CatalogStore)
  )

describe("SqlCatalogStore (SQLite file, several clients)", () => {
  it.scoped("ends with exactly one catalog when two clients replace it at once", () =>
    Effect.gen(function* () {
      const url = `sqlite:${join(yield* tempDir, "catalog.db")}`
      const clients = [yield* storeOn(url), yield* storeOn(url), yield* storeOn(url)]
      const tenant = tenantId()
      const versions = clients.map((_, v) => feed(1_500 + v * 100, `v${v}`))
      yield* Effect.all(
        clients.map((store, v) => store.replace(tenant, versions[v]!)),
        { concurrency: "unbounded", discard: true }
      )
      const final = yield* clients[0]!.list(tenant)
      const winner = versions.find((v) => v.length === final.length)
      assert.isDefined(winner)
      assert.deepStrictEqual(final, winner)
      assert.strictEqual(yield* clients[2]!.count(tenant), final.length)
      const applied = yield* SqlCatalogStore.migrate.pipe(Effect.provide(Database.layerFromUrl(url)))
      assert.deepStrictEqual(applied, [])
    })
  )
})
