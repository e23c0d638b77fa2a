/**
 * `SqlDsarStore` on PostgreSQL (a schema of its own, dropped after) behaves like the in-memory store (the shared
 * suite: packages/dsar/test/dsarStoreSuite.ts); its migrations apply once, and of two concurrent updates of one
 * request read at one version exactly one wins. Fails, not skips, in CI when PostgreSQL is unreachable.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { dsarStoreSuite } from "../../dsar/test/dsarStoreSuite.js"
import { SqlDsarStore } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { sqlDsarStoreSuite } from "./sqlDsarStoreSuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlDsarStore.layer.pipe(Layer.provide(postgresSchemaLayer("oa_test_dsar"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("DsarStore over SqlDsarStore (PostgreSQL)", dsarStoreSuite)

  describe("SqlDsarStore (PostgreSQL)", () => {
    sqlDsarStoreSuite(postgresSchemaLayer("oa_test_dsar"))
  })
} else if (process.env.CI === "true") {
  describe("SqlDsarStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlDsarStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the DSAR store suite on PostgreSQL", () => {})
  })
}
