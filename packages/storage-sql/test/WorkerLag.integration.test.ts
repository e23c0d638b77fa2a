import { assert, describe, it, layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { SqlEventLog } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { workerLagSuite } from "./workerLagSuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(Layer.effectDiscard(SqlEventLog.migrate).pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_lag"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("WorkerLag (PostgreSQL)", workerLagSuite)
} else if (process.env.CI === "true") {
  describe("WorkerLag (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`WorkerLag (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the WorkerLag suite on PostgreSQL", () => {})
  })
}
