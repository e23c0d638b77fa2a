/**
 * `SqlCapStore` on PostgreSQL, in a schema of the test's own: the cap store suite (concurrent records over a real
 * connection pool), concurrent records of overlapping keys in opposite orders (no deadlock, no lost count), the
 * column types, erasure and idempotent migrations.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { Caps } from "@openaudience/ad-selector"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SqlCapStore } from "../src/index.js"
import { capStoreSuite, monday } from "./capStoreSuite.js"
import { postgresSchemaLayer, postgresUrl, probePostgres, unique } from "./fixtures.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlCapStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_caps"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("CapStore over SqlCapStore (PostgreSQL)", (it) => {
    capStoreSuite(it)

    it.effect("counts every impression when calls with many keys in opposite orders run at once", () =>
      Effect.gen(function* () {
        const store = yield* Caps.CapStore
        const tenant = unique("caps")
        const keys = Array.from({ length: 20 }, (_, i) => `creative:c/${i}`)
        const n = 60
        yield* Effect.all(
          Array.from({ length: n }, (_, i) =>
            store.record(tenant, "v", i % 2 === 0 ? keys : [...keys].reverse(), monday)
          ),
          { concurrency: "unbounded", discard: true }
        )
        const counters = yield* store.read(tenant, "v")
        for (const key of keys) assert.strictEqual(counters.get(key)?.total, n, key)
      })
    )

    it.effect("uses BIGINT counters in the test's own schema, erases a visitor, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{ column_name: string; data_type: string; table_schema: string }>`
          SELECT column_name, data_type, table_schema FROM information_schema.columns
          WHERE table_name = 'ad_caps' AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]))
        assert.strictEqual(types.total, "bigint")
        assert.strictEqual(types.last_at, "bigint")
        assert.match(columns[0]!.table_schema, /^oa_test_caps_/)
        const store = yield* Caps.CapStore
        const tenant = unique("caps")
        yield* store.record(tenant, "v", ["advertiser", "campaign:a"], monday)
        assert.strictEqual(yield* SqlCapStore.eraseVisitor(tenant, "v"), 2)
        assert.strictEqual((yield* store.read(tenant, "v")).size, 0)
        assert.deepStrictEqual(yield* SqlCapStore.migrate, [])
        const concurrent = yield* Effect.all([SqlCapStore.migrate, SqlCapStore.migrate, SqlCapStore.migrate], {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("SqlCapStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlCapStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the cap store suite on PostgreSQL", () => {})
  })
}
