/**
 * `SqlCampaignStore` on PostgreSQL, in a schema of the test's own: the shared suite, the SQL store's own tests
 * (concurrent changes over a real connection pool queue on the revision row), the column collation and idempotent
 * migrations.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { campaignStoreSuite } from "../../ad-selector/test/campaignStoreSuite.js"
import { SqlCampaignStore } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { sqlCampaignSuite } from "./sqlCampaignSuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlCampaignStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_campaigns"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("CampaignStore over SqlCampaignStore (PostgreSQL)", (it) => {
    campaignStoreSuite(it)
    sqlCampaignSuite(it)

    it.effect("orders ids bytewise in the test's own schema, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{ column_name: string; collation_name: string | null; table_schema: string }>`
          SELECT column_name, collation_name, table_schema FROM information_schema.columns
          WHERE table_name = 'ad_campaigns' AND table_schema = current_schema()`
        const byName = Object.fromEntries(columns.map((c) => [c.column_name, c]))
        assert.strictEqual(byName.id?.collation_name, "C")
        assert.match(columns[0]!.table_schema, /^oa_test_campaigns_/)
        assert.deepStrictEqual(yield* SqlCampaignStore.migrate, [])
        const concurrent = yield* Effect.all(
          [SqlCampaignStore.migrate, SqlCampaignStore.migrate, SqlCampaignStore.migrate],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("SqlCampaignStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlCampaignStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the campaign store suite on PostgreSQL", () => {})
  })
}
