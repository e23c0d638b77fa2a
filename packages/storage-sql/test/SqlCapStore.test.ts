/**
 * `SqlCapStore` on SQLite answers as ad-selector's in-memory `CapStore` (the suite runs on both); clients and
 * processes recording at once in one database file lose no count; a read is one search of the primary key; erasure
 * removes a visitor's rows; a time that is not an integer is refused.
 */
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { Caps } from "@openaudience/ad-selector"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Database, SqlCapStore } from "../src/index.js"
import { capStoreSuite, monday } from "./capStoreSuite.js"
import { contend } from "./contenders.js"
import { sqliteLayer, tempDir, unique } from "./fixtures.js"

layer(Caps.layerMemory, { excludeTestServices: true })("CapStore (memory reference)", capStoreSuite)

layer(SqlCapStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "CapStore over SqlCapStore (SQLite file)",
  (it) => {
    capStoreSuite(it)

    it.effect("reads a visitor's counters with one search of the primary key", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const plan = yield* sql<{ readonly detail: string }>`EXPLAIN QUERY PLAN
          SELECT cap_key, total FROM ad_caps WHERE tenant = ${"t"} AND visitor = ${"v"}`
        assert.strictEqual(plan.length, 1)
        assert.match(
          plan[0]!.detail,
          /^SEARCH ad_caps USING INDEX sqlite_autoindex_ad_caps_1 \(tenant=\? AND visitor=\?\)/
        )
      })
    )

    it.effect("erases a visitor's counters with only a SqlClient, and refuses a time that is not an integer", () =>
      Effect.gen(function* () {
        const store = yield* Caps.CapStore
        const tenant = unique("caps")
        yield* store.record(tenant, "v", ["advertiser", "campaign:a"], monday)
        yield* store.record(tenant, "w", ["advertiser"], monday)
        assert.strictEqual(yield* SqlCapStore.eraseVisitor(tenant, "v"), 2)
        assert.strictEqual(yield* SqlCapStore.eraseVisitor(tenant, "v"), 0)
        assert.strictEqual((yield* store.read(tenant, "v")).size, 0)
        assert.strictEqual((yield* store.read(tenant, "w")).size, 1)
        for (const now of [monday + 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          const error = yield* Effect.flip(store.record(tenant, "w", ["advertiser"], now))
          assert.strictEqual(error._tag, "CapStoreError")
        }
        assert.strictEqual((yield* store.read(tenant, "w")).get("advertiser")?.total, 1)
      })
    )
  }
)

layer(SqlCapStore.layer.pipe(Layer.provide(Database.layerFromUrl("sqlite::memory:"))), {
  excludeTestServices: true
})("CapStore over SqlCapStore (SQLite in memory)", capStoreSuite)

/** A cap store on a client of its own of the database at `url`, open for the current scope. */
const storeOn = (url: string) =>
  Effect.map(Layer.build(SqlCapStore.layer.pipe(Layer.provide(Database.layerFromUrl(url)))), (context) =>
    Context.get(context, Caps.CapStore)
  )

describe("SqlCapStore (SQLite file, several clients and processes)", () => {
  it.scoped("counts every impression when several clients record for one visitor at once", () =>
    Effect.gen(function* () {
      const url = `sqlite:${join(yield* tempDir, "caps.db")}`
      const clients = [yield* storeOn(url), yield* storeOn(url), yield* storeOn(url), yield* storeOn(url)]
      const tenant = unique("caps")
      const perClient = 30
      yield* Effect.all(
        clients.map((store, c) =>
          Effect.forEach(
            Array.from({ length: perClient }, (_, i) => i),
            (i) => store.record(tenant, "v", ["advertiser", `campaign:${(c + i) % 3}`], monday + i),
            { discard: true }
          )
        ),
        { concurrency: "unbounded", discard: true }
      )
      const counters = yield* clients[0]!.read(tenant, "v")
      assert.strictEqual(counters.get("advertiser")?.total, clients.length * perClient)
      assert.strictEqual(
        [0, 1, 2].reduce((sum, k) => sum + (counters.get(`campaign:${k}`)?.total ?? 0), 0),
        clients.length * perClient
      )
      assert.strictEqual(counters.get("advertiser")?.last, monday + perClient - 1)
      assert.deepStrictEqual(yield* SqlCapStore.migrate.pipe(Effect.provide(Database.layerFromUrl(url))), [])
    })
  )

  it.scoped(
    "counts every impression when several processes record for one visitor at once",
    () =>
      Effect.gen(function* () {
        const url = `sqlite:${join(yield* tempDir, "caps.db")}`
        yield* SqlCapStore.migrate.pipe(Effect.provide(Database.layerFromUrl(url)))
        yield* contend({ kind: "caps", url, processes: 3, count: 60 })
        const counters = yield* Effect.flatMap(storeOn(url), (store) => store.read("t", "v"))
        assert.strictEqual(counters.get("advertiser")?.total, 180)
        for (const k of [0, 1, 2]) assert.strictEqual(counters.get(`campaign:${k}`)?.total, 60)
      }),
    120_000
  )
})
