/**
 * The SQL tenancy store on PostgreSQL: the shared suite (concurrent changes over a real connection pool), no
 * plaintext key in any row, and idempotent migrations, in a schema of the test's own.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { TenancyStore } from "@openaudience/tenancy"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SqlTenancyStore } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { tenancySuite } from "./tenancySuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlTenancyStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_tenancy"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("TenancyStore (PostgreSQL)", (it) => {
    tenancySuite(it)

    it.effect("stores no plaintext key, uses BIGINT times in the test's own schema, migrates idempotently", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const store = yield* TenancyStore.TenancyStore
        const t = yield* store.createTenant({ name: "Keys" })
        const generated = yield* store.createKey(t.id, { role: "admin" })
        const imported = yield* store.createKey(t.id, { role: "ingest", key: "my-own-imported-key-0123456789" })
        const rows = yield* sql`SELECT * FROM api_keys WHERE tenant = ${t.id}`
        assert.strictEqual(rows.length, 2)
        const text = JSON.stringify(rows)
        for (const key of [generated.key, imported.key]) assert.notInclude(text, key.slice(0, 11))

        const columns = yield* sql<{
          table_name: string
          column_name: string
          data_type: string
          table_schema: string
        }>`
          SELECT table_name, column_name, data_type, table_schema FROM information_schema.columns
          WHERE table_name IN ('tenants', 'api_keys') AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [`${c.table_name}.${c.column_name}`, c.data_type]))
        assert.strictEqual(types["api_keys.expires_at"], "bigint")
        assert.strictEqual(types["tenants.created_at"], "bigint")
        assert.match(columns[0]!.table_schema, /^oa_test_tenancy_/)
        assert.deepStrictEqual(yield* SqlTenancyStore.migrate, [])
        const concurrent = yield* Effect.all(
          [SqlTenancyStore.migrate, SqlTenancyStore.migrate, SqlTenancyStore.migrate],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("TenancyStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`TenancyStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the TenancyStore suite on PostgreSQL", () => {})
  })
}
