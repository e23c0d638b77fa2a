/**
 * The SQL audit log on PostgreSQL: the shared suite (200 concurrent appends over a real connection pool queue on the
 * head row's lock), each test in a schema of its own, and idempotent migrations.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { AuditLog } from "@openaudience/audit"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SqlAuditLog } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { auditLogSuite, sqlTamper } from "./sqlAuditLogSuite.js"

const postgres = await probePostgres()

/** A new log in a new schema, with its client. */
const open = Effect.gen(function* () {
  const context = yield* Layer.build(SqlAuditLog.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_audit"))))
  return {
    log: Context.get(context, AuditLog.AuditLog),
    tamper: yield* Effect.provide(sqlTamper, context),
    sql: Context.get(context, SqlClient.SqlClient)
  }
})

if (postgres.ok) {
  auditLogSuite("AuditLog (PostgreSQL)", open)

  describe("SqlAuditLog (PostgreSQL)", () => {
    it.scopedLive("uses BIGINT columns in the test's own schema, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const { sql } = yield* open
        const columns = yield* sql<{ column_name: string; data_type: string; table_schema: string }>`
          SELECT column_name, data_type, table_schema FROM information_schema.columns
          WHERE table_name = 'audit_log' AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]))
        assert.strictEqual(types.seq, "bigint")
        assert.strictEqual(types.at, "bigint")
        assert.match(columns[0]!.table_schema, /^oa_test_audit_/)
        const again = yield* Effect.all([SqlAuditLog.migrate, SqlAuditLog.migrate], { concurrency: "unbounded" }).pipe(
          Effect.provideService(SqlClient.SqlClient, sql)
        )
        assert.deepStrictEqual(again, [[], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("AuditLog (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`AuditLog (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the AuditLog suite on PostgreSQL", () => {})
  })
}
