/**
 * The privacy center over HTTP on PostgreSQL: see `support/privacyFlow.ts`.
 */
import { it } from "@effect/vitest"
import { describeOnPostgres } from "./support/postgres.js"
import { privacyFlowScenario } from "./support/privacyFlow.js"

describeOnPostgres("the privacy center (PostgreSQL)", "oa_test_privacy", {}, (server) => {
  it("shows, downloads and erases a browser's data, verifiably, and its next visit is someone new", {
    timeout: 90_000
  }, async () => {
    await privacyFlowScenario(server().url)
  })
})
