/**
 * `SqlAdLog` on PostgreSQL, in a schema of the test's own: the shared suite, the SQL log's own tests (impressions
 * and clicks arriving at once over a real connection pool count once), the column types and idempotent migrations.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { adLogSuite } from "../../ad-selector/test/adLogSuite.js"
import { SqlAdLog } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { sqlAdLogSuite } from "./sqlAdLogSuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlAdLog.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_adlog"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("AdLog over SqlAdLog (PostgreSQL)", (it) => {
    adLogSuite(it)
    sqlAdLogSuite(it)

    it.effect("keeps times and costs in BIGINT columns of the test's own schema, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{
          table_name: string
          column_name: string
          data_type: string
          table_schema: string
        }>`
          SELECT table_name, column_name, data_type, table_schema FROM information_schema.columns
          WHERE table_name IN ('ad_decisions', 'ad_conversions') AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [`${c.table_name}.${c.column_name}`, c.data_type]))
        assert.strictEqual(types["ad_decisions.cost_millis"], "bigint")
        assert.strictEqual(types["ad_decisions.rendered_at"], "bigint")
        assert.strictEqual(types["ad_decisions.propensity"], "double precision")
        assert.strictEqual(types["ad_conversions.value"], "double precision")
        assert.match(columns[0]!.table_schema, /^oa_test_adlog_/)
        assert.deepStrictEqual(yield* SqlAdLog.migrate, [])
        const concurrent = yield* Effect.all([SqlAdLog.migrate, SqlAdLog.migrate, SqlAdLog.migrate], {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("SqlAdLog (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlAdLog (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the ad log suite on PostgreSQL", () => {})
  })
}
