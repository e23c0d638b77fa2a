/**
 * `SqlCatalogStore` on PostgreSQL, in a schema of the test's own: the shared suite, the SQL store's own tests
 * (concurrent replaces over a real connection pool queue on the tenant's row), the column types and collation, and
 * idempotent migrations.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { catalogStoreSuite } from "../../catalog/test/catalogStoreSuite.js"
import { SqlCatalogStore } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { sqlCatalogSuite } from "./sqlCatalogSuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlCatalogStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_catalog"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("CatalogStore over SqlCatalogStore (PostgreSQL)", (it) => {
    catalogStoreSuite(it)
    sqlCatalogSuite(it)

    it.effect("keeps prices in BIGINT minor units and ids in code point order, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{
          column_name: string
          data_type: string
          collation_name: string | null
          table_schema: string
        }>`
          SELECT column_name, data_type, collation_name, table_schema FROM information_schema.columns
          WHERE table_name = 'catalog_products' AND table_schema = current_schema()`
        const byName = Object.fromEntries(columns.map((c) => [c.column_name, c]))
        assert.strictEqual(byName.price_amount?.data_type, "bigint")
        assert.strictEqual(byName.sale_price_amount?.data_type, "bigint")
        assert.strictEqual(byName.id?.collation_name, "C")
        assert.match(columns[0]!.table_schema, /^oa_test_catalog_/)
        assert.deepStrictEqual(yield* SqlCatalogStore.migrate, [])
        const concurrent = yield* Effect.all(
          [SqlCatalogStore.migrate, SqlCatalogStore.migrate, SqlCatalogStore.migrate],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("SqlCatalogStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlCatalogStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the catalog store suite on PostgreSQL", () => {})
  })
}
