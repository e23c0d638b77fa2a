/**
 * The accounts suite over the SQL user store on PostgreSQL (a schema of its own per run).
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { accountsSuite } from "../../accounts/test/accountsSuite.js"
import { SqlKeyStore, SqlUserStore } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(
    Layer.mergeAll(SqlUserStore.layer, SqlKeyStore.layer).pipe(Layer.provide(postgresSchemaLayer("oa_test_accounts"))),
    {
      timeout: "60 seconds"
    }
  )("Accounts over SqlUserStore (PostgreSQL)", accountsSuite)
} else if (process.env.CI === "true") {
  describe("SqlUserStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlUserStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the accounts suite on PostgreSQL", () => {})
  })
}
