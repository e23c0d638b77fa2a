/**
 * The audience job's suite on PostgreSQL, in a schema of its own dropped afterwards. Fails in CI when PostgreSQL is
 * unreachable.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import {
  AudienceStore,
  EventStore,
  SqlAudienceJob,
  SqlEventLog,
  SqlMembershipStore,
  SqlSyncStore
} from "../src/index.js"
import { audienceJobSuite } from "./audienceJobSuite.js"
import { collect } from "./collect.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"

const postgres = await probePostgres()

const stores = Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)

if (postgres.ok) {
  layer(
    SqlAudienceJob.layer.pipe(
      Layer.provideMerge(stores),
      Layer.provideMerge(postgresSchemaLayer("oa_test_audience_job"))
    ),
    { timeout: "60 seconds" }
  )("audience job (PostgreSQL)", (it) => {
    audienceJobSuite(collect)(it)

    it.effect(
      "keeps its tables under the worker's migration table, with BIGINT counters; migrating again does nothing",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const applied = yield* sql<{ readonly id: number | string }>`SELECT id FROM ${sql(SqlSyncStore.table)}`
          assert.deepStrictEqual(
            applied.map((row) => Number(row.id)),
            [1]
          )
          const columns = yield* sql<{
            readonly table_name: string
            readonly column_name: string
            readonly data_type: string
          }>`
          SELECT table_name, column_name, data_type FROM information_schema.columns
          WHERE table_name IN ('audience_programs', 'audience_daily', 'audience_worker')
            AND table_schema = current_schema()`
          const types = Object.fromEntries(columns.map((c) => [`${c.table_name}.${c.column_name}`, c.data_type]))
          assert.strictEqual(types["audience_programs.revision"], "bigint")
          assert.strictEqual(types["audience_daily.entered"], "bigint")
          assert.strictEqual(types["audience_worker.high_seq"], "bigint")
          assert.deepStrictEqual(yield* SqlSyncStore.migrate, [])
        })
    )
  })
} else if (process.env.CI === "true") {
  describe("audience job (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`audience job (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the audience job suite on PostgreSQL", () => {})
  })
}
