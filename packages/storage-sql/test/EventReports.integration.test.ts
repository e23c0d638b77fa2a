/**
 * The report rows on PostgreSQL (JSONB paths, `jsonb_array_elements` for line items), in a schema of the test's own.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { EventStore } from "../src/index.js"
import { eventReportsSuite } from "./eventReportsSuite.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(EventStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_reports"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("EventReports (PostgreSQL)", eventReportsSuite)
} else if (process.env.CI === "true") {
  describe("EventReports (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`EventReports (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the EventReports suite on PostgreSQL", () => {})
  })
}
