/**
 * The privacy center over HTTP on SQLite: see `support/privacyFlow.ts`.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { privacyFlowScenario } from "./support/privacyFlow.js"
import { startServer, type TestServer } from "./support/server.js"

describe("the privacy center (SQLite)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
  })

  it("shows, downloads and erases a browser's data, verifiably, and its next visit is someone new", {
    timeout: 90_000
  }, async () => {
    await privacyFlowScenario(server.url)
  })
})
