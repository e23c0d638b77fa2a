import { assert, describe, it, layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { AudienceStore } from "../src/index.js"
import { audienceStoreSuite } from "./audienceStoreSuite.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(AudienceStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_audiences"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("AudienceStore (PostgreSQL)", audienceStoreSuite)
} else if (process.env.CI === "true") {
  describe("AudienceStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`AudienceStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the AudienceStore suite on PostgreSQL", () => {})
  })
}
