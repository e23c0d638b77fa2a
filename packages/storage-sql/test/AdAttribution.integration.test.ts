/**
 * The ad attribution job on PostgreSQL, in a schema of the test's own: the shared suite (credits, windows, replay,
 * tenants, consent), with the conversions and the job's position written in one transaction over a connection pool.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { adAttributionSuite, suiteLayer } from "./adAttributionSuite.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(suiteLayer(postgresSchemaLayer("oa_test_attribution")), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("AdAttribution job (PostgreSQL)", (it) => adAttributionSuite(it))
} else if (process.env.CI === "true") {
  describe("AdAttribution job (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`AdAttribution job (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the ad attribution suite on PostgreSQL", () => {})
  })
}
