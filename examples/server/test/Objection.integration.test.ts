/**
 * An objection undoes what was built (PostgreSQL, in a schema of the test's own, dropped afterwards): see
 * `support/objection.ts`. Fails in CI when PostgreSQL is unreachable.
 */
import { it } from "@effect/vitest"
import { objectionScenario } from "./support/objection.js"
import { describeOnPostgres } from "./support/postgres.js"

describeOnPostgres("objections (PostgreSQL)", "oa_test_objection", {}, (server) => {
  it("end memberships at once and the use of earlier history for targeting", { timeout: 60_000 }, async () => {
    await objectionScenario(server().url)
  })
})
