import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { EventStore, Migrations } from "../src/index.js"
import { eventStoreSuite } from "./eventStoreSuite.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(EventStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_store"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("EventStore (PostgreSQL)", (it) => {
    eventStoreSuite(it)

    it.effect("uses JSONB and BIGINT columns, in the test's own schema, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{ column_name: string; data_type: string; table_schema: string }>`
          SELECT column_name, data_type, table_schema FROM information_schema.columns
          WHERE table_name = 'events' AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]))
        assert.strictEqual(types.payload, "jsonb")
        assert.strictEqual(types.consent, "jsonb")
        assert.strictEqual(types.received_at, "bigint")
        assert.strictEqual(types.seq, "bigint")
        assert.match(columns[0]!.table_schema, /^oa_test_store_/)
        assert.deepStrictEqual(yield* Migrations.migrate, [])
        const concurrent = yield* Effect.all([Migrations.migrate, Migrations.migrate, Migrations.migrate], {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("EventStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`EventStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the EventStore suite on PostgreSQL", () => {})
  })
}
