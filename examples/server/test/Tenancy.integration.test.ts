/**
 * Tenants, sites, keys, roles and isolation on PostgreSQL (a schema of the test's own, dropped afterwards): see
 * `support/tenancy.ts`. Fails in CI when PostgreSQL is unreachable.
 */
import { it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { describeOnPostgres } from "./support/postgres.js"
import { operatorKey, tenancyScenario } from "./support/tenancy.js"

describeOnPostgres("tenants (PostgreSQL)", "oa_test_tenancy", { operatorKey: Redacted.make(operatorKey) }, (server) => {
  it("are created, isolated and keyed without a restart", { timeout: 90_000 }, async () => {
    await tenancyScenario(server())
  })
})
