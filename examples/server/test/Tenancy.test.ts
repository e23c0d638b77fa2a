/**
 * Tenants, sites, keys, roles and isolation on SQLite: see `support/tenancy.ts`.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { startServer, type TestServer } from "./support/server.js"
import { operatorKey, tenancyScenario } from "./support/tenancy.js"

describe("tenants (SQLite)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ operatorKey: Redacted.make(operatorKey) })
  })
  afterAll(() => server?.stop())

  it("are created, isolated and keyed without a restart", { timeout: 90_000 }, async () => {
    await tenancyScenario(server)
  })
})
