/**
 * `SqlErasedVisitors` on PostgreSQL, in a schema of the test's own: the shared suite, concurrent records of one
 * tombstone (one row), the column types, and idempotent concurrent migrations.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SqlErasedVisitors } from "../src/index.js"
import { erasedVisitorsSuite } from "./erasedVisitorsSuite.js"
import { postgresSchemaLayer, postgresUrl, probePostgres, unique } from "./fixtures.js"

const postgres = await probePostgres()
const t0 = Date.UTC(2026, 11, 5, 12)

if (postgres.ok) {
  layer(SqlErasedVisitors.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_erased"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("SqlErasedVisitors (PostgreSQL)", (it) => {
    erasedVisitorsSuite(it)

    it.effect("concurrent records of one tombstone leave one row", () =>
      Effect.gen(function* () {
        const store = yield* SqlErasedVisitors.ErasedVisitors
        const tenant = unique("erased")
        yield* Effect.all(
          Array.from({ length: 40 }, (_, i) => store.record(tenant, "tomb", t0 + i)),
          { concurrency: "unbounded", discard: true }
        )
        const rows = (yield* store.all()).filter((row) => row.tenant === tenant)
        assert.lengthOf(rows, 1)
      })
    )

    it.effect("uses a BIGINT time in the test's own schema, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{ column_name: string; data_type: string; table_schema: string }>`
          SELECT column_name, data_type, table_schema FROM information_schema.columns
          WHERE table_name = 'erased_visitors' AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]))
        assert.deepStrictEqual(types, { tenant: "text", tombstone: "text", erased_at: "bigint" })
        assert.match(columns[0]!.table_schema, /^oa_test_erased_/)
        const concurrent = yield* Effect.all(
          [SqlErasedVisitors.migrate, SqlErasedVisitors.migrate, SqlErasedVisitors.migrate],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("SqlErasedVisitors (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlErasedVisitors (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the erased visitors suite on PostgreSQL", () => {})
  })
}
