/**
 * The SQL privacy budget on PostgreSQL: the shared suite (concurrent charges over a real connection pool queue on
 * the pair's row lock), the column types, and idempotent migrations, in a schema of the test's own.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SqlPrivacyBudget } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { limitOf, privacyBudgetSuite } from "./privacyBudgetSuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlPrivacyBudget.layer(limitOf).pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_budget"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("PrivacyBudget (PostgreSQL)", (it) => {
    privacyBudgetSuite(it)

    it.effect("uses DOUBLE PRECISION and BIGINT columns in the test's own schema, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{
          table_name: string
          column_name: string
          data_type: string
          table_schema: string
        }>`
          SELECT table_name, column_name, data_type, table_schema FROM information_schema.columns
          WHERE table_name IN ('privacy_budgets', 'privacy_charges') AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [`${c.table_name}.${c.column_name}`, c.data_type]))
        assert.strictEqual(types["privacy_budgets.spent_epsilon"], "double precision")
        assert.strictEqual(types["privacy_charges.charged_at"], "bigint")
        assert.match(columns[0]!.table_schema, /^oa_test_budget_/)
        assert.deepStrictEqual(yield* SqlPrivacyBudget.migrate, [])
        const concurrent = yield* Effect.all(
          [SqlPrivacyBudget.migrate, SqlPrivacyBudget.migrate, SqlPrivacyBudget.migrate],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("PrivacyBudget (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`PrivacyBudget (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the PrivacyBudget suite on PostgreSQL", () => {})
  })
}
