/**
 * Tenants, sites, keys, roles and isolation on PostgreSQL (a schema of the test's own, dropped afterwards): see
 * `support/tenancy.ts`. Fails in CI when PostgreSQL is unreachable.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { freshSchema, runsOnPostgres, warnWhenSkipped } from "./support/postgres.js"
import { startServer, type TestServer } from "./support/server.js"
import { operatorKey, tenancyScenario } from "./support/tenancy.js"

const schema = freshSchema("oa_test_tenancy")

warnWhenSkipped("tenants on PostgreSQL")

describe.runIf(runsOnPostgres)("tenants (PostgreSQL)", () => {
  let server: TestServer
  beforeAll(async () => {
    await schema.create()
    server = await startServer({ databaseUrl: schema.url, operatorKey: Redacted.make(operatorKey) })
  })
  afterAll(async () => {
    await server?.stop()
    await schema.drop()
  })

  it("are created, isolated and keyed without a restart", { timeout: 90_000 }, async () => {
    await tenancyScenario(server)
  })
})
