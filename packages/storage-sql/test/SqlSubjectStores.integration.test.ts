/**
 * `SqlSubjectStores` on PostgreSQL, in a schema of the test's own with every storage-sql migration applied: the
 * shared suite, and the live schema read from `information_schema.columns` of the current schema only.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SqlSubjectStores } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { migrateAll, subjectStoresSuite } from "./subjectStoresSuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(Layer.effectDiscard(migrateAll).pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_subjects"))), {
    excludeTestServices: true,
    timeout: "60 seconds"
  })("SqlSubjectStores (PostgreSQL)", (it) => {
    subjectStoresSuite(it)

    it.effect("reads the live schema of the current schema only", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`
        const schema = rows[0]!.schema
        assert.match(schema, /^oa_test_subjects_/)
        const live = yield* SqlSubjectStores.liveColumns
        const tables = new Set(live.map((column) => column.table))
        assert.isTrue(tables.has("events") && tables.has("users") && tables.has("vault_data_keys"))
        assert.isFalse(tables.has("pg_class") || tables.has("columns"))
        const counted = yield* sql<{ readonly n: string | number }>`SELECT COUNT(*) AS n FROM information_schema.columns
          WHERE table_schema = ${schema}`
        assert.strictEqual(live.length, Number(counted[0]!.n))
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("SqlSubjectStores (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlSubjectStores (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the subject stores suite on PostgreSQL", () => {})
  })
}
