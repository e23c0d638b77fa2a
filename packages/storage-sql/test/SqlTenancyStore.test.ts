/**
 * The SQL tenancy store on SQLite (a file, and in memory) behaves like the tenancy package's in-memory store (the
 * shared suite runs on all three: see packages/tenancy/test/TenancyStore.test.ts); two clients of one file see each other's changes; the database never holds a
 * plaintext key.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { Seed, TenancyStore } from "@openaudience/tenancy"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Database, SqlTenancyStore } from "../src/index.js"
import { sqliteLayer, tempDir } from "./fixtures.js"
import { siteKey, tenancySuite } from "./tenancySuite.js"

layer(SqlTenancyStore.layer.pipe(Layer.provide(sqliteLayer)), { excludeTestServices: true })(
  "TenancyStore (SQLite file)",
  tenancySuite
)

layer(SqlTenancyStore.layer.pipe(Layer.provide(Database.layerFromUrl("sqlite::memory:"))), {
  excludeTestServices: true
})("TenancyStore (SQLite in memory)", tenancySuite)

/** A store on a client of its own of the database at `url`, open for the current scope. */
const storeOn = (url: string) =>
  Effect.map(Layer.build(SqlTenancyStore.layer.pipe(Layer.provideMerge(Database.layerFromUrl(url)))), (context) => ({
    store: Context.get(context, TenancyStore.TenancyStore),
    sql: Context.get(context, SqlClient.SqlClient)
  }))

describe("SqlTenancyStore (SQLite file)", () => {
  it.scoped("is one store for every client of the database, and migrating again is a no-op", () =>
    Effect.gen(function* () {
      const url = `sqlite:${join(yield* tempDir, "tenancy.db")}`
      const one = yield* storeOn(url)
      const two = yield* storeOn(url)
      const t = yield* one.store.createTenant({ name: "Shared" })
      const key = siteKey()
      yield* two.store.addSite(t.id, { siteKey: key, origins: ["https://shop.example"] })
      assert.strictEqual(yield* one.store.revision(), yield* two.store.revision())
      assert.deepStrictEqual(
        (yield* one.store.listSites(t.id)).map((s) => s.siteKey),
        [key]
      )
      const applied = yield* SqlTenancyStore.migrate.pipe(Effect.provide(Database.layerFromUrl(url)))
      assert.deepStrictEqual(applied, [])
    })
  )

  it.scoped("stores no plaintext key: neither in the rows nor anywhere in the database files", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const url = `sqlite:${join(dir, "keys.db")}`
      const { sql, store } = yield* storeOn(url)
      const t = yield* store.createTenant({ name: "Keys" })
      const generated = yield* store.createKey(t.id, { role: "admin" })
      const imported = yield* store.createKey(t.id, { role: "ingest", key: "my-own-imported-key-0123456789" })
      const plaintexts = [generated.key, imported.key]
      const rows = yield* sql`SELECT * FROM api_keys`
      assert.strictEqual(rows.length, 2)
      const text = JSON.stringify(rows)
      for (const key of plaintexts) {
        assert.notInclude(text, key)
        // The visible prefix is what a row keeps of a key, nothing longer.
        assert.notInclude(text, key.slice(0, 11))
      }
      yield* sql`PRAGMA wal_checkpoint(FULL)`
      for (const file of readdirSync(dir)) {
        const bytes = readFileSync(join(dir, file)).toString("latin1")
        for (const key of plaintexts) assert.notInclude(bytes, key, file)
      }
    })
  )

  it.scoped("seeds the demo tenant once, from every client and every start", () =>
    Effect.gen(function* () {
      const url = `sqlite:${join(yield* tempDir, "seed.db")}`
      const one = yield* storeOn(url)
      const two = yield* storeOn(url)
      const seed = (client: typeof one) =>
        Seed.demo("demo-admin-key").pipe(Effect.provideService(TenancyStore.TenancyStore, client.store))
      assert.deepStrictEqual(yield* seed(one), { tenant: true, site: true, key: true, publisher: true })
      assert.deepStrictEqual(yield* seed(two), { tenant: false, site: false, key: false, publisher: false })
      yield* Effect.all([seed(one), seed(two)], { concurrency: "unbounded" })
      const snapshot = yield* one.store.snapshot()
      // The demo shop (tenant, site, admin key) and the demo publisher (tenant, news site).
      assert.deepStrictEqual([snapshot.tenants.length, snapshot.sites.length, snapshot.keys.length], [2, 2, 1])
    })
  )
})
