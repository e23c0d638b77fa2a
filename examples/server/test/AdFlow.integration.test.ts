/**
 * The retargeting flow over HTTP on PostgreSQL (a schema of the test's own): see `support/adFlow.ts`.
 */
import { it } from "@effect/vitest"
import { adFlowScenario } from "./support/adFlow.js"
import { describeOnPostgres } from "./support/postgres.js"

describeOnPostgres(
  "retargeting over HTTP (PostgreSQL)",
  "oa_test_ad_flow",
  { demo: true, demoSyntheticVisitors: 60 },
  (server) => {
    it("links, personalizes, redirects a click and attributes the purchase", { timeout: 120_000 }, async () => {
      await adFlowScenario(server())
    })
  }
)
