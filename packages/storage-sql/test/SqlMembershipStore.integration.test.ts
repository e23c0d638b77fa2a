import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SqlMembershipStore } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { membershipStoreSuite } from "./membershipStoreSuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlMembershipStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_members"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("MembershipStore (PostgreSQL)", (it) => {
    membershipStoreSuite(it)

    it.effect("uses BYTEA, BIGINT and JSONB columns in the test's own schema, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{
          table_name: string
          column_name: string
          data_type: string
          table_schema: string
        }>`
          SELECT table_name, column_name, data_type, table_schema FROM information_schema.columns
          WHERE table_name IN ('audience_visitors', 'audience_memberships') AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [`${c.table_name}.${c.column_name}`, c.data_type]))
        assert.strictEqual(types["audience_visitors.state"], "bytea")
        assert.strictEqual(types["audience_visitors.next_check_at"], "bigint")
        assert.strictEqual(types["audience_memberships.products"], "jsonb")
        assert.strictEqual(types["audience_memberships.expires_at"], "bigint")
        assert.match(columns[0]!.table_schema, /^oa_test_members_/)
        assert.deepStrictEqual(yield* SqlMembershipStore.migrate, [])
        const concurrent = yield* Effect.all(
          [SqlMembershipStore.migrate, SqlMembershipStore.migrate, SqlMembershipStore.migrate],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("MembershipStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`MembershipStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the MembershipStore suite on PostgreSQL", () => {})
  })
}
