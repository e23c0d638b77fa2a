/**
 * The retargeting flow over HTTP on SQLite: see `support/adFlow.ts`.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { adFlowScenario } from "./support/adFlow.js"
import { startServer, type TestServer } from "./support/server.js"

describe("retargeting over HTTP (SQLite)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ demo: true, demoSyntheticVisitors: 60 })
  })
  afterAll(() => server?.stop())

  it("links, personalizes, redirects a click and attributes the purchase", { timeout: 120_000 }, async () => {
    await adFlowScenario(server)
  })
})
