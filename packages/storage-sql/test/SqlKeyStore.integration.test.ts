import { assert, describe, it, layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { secretCheckSuite, vaultSuite } from "../../vault/test/keyStoreSuite.js"
import { SqlKeyStore } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlKeyStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_vault"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("Vault over SqlKeyStore (PostgreSQL)", vaultSuite)
  layer(SqlKeyStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_vault_secrets"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("SecretCheck over SqlKeyStore (PostgreSQL)", secretCheckSuite)
} else if (process.env.CI === "true") {
  describe("SqlKeyStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlKeyStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the vault suite on PostgreSQL", () => {})
  })
}
