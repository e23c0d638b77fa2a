/**
 * Campaigns and the catalog through the admin API on SQLite: see `support/adsApi.ts`.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { adsApiScenario } from "./support/adsApi.js"
import { startServer, type TestServer } from "./support/server.js"

const operatorKey = "operator-test-key-ads-0123456789"

describe("campaigns and the catalog (SQLite)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ operatorKey: Redacted.make(operatorKey) })
  })
  afterAll(() => server?.stop())

  it("are managed through the admin API, validated and kept per tenant", { timeout: 90_000 }, async () => {
    await adsApiScenario(server.url, operatorKey)
  })
})
