/**
 * An objection undoes what was built (SQLite): see `support/objection.ts`.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { objectionScenario } from "./support/objection.js"
import { startServer, type TestServer } from "./support/server.js"

describe("objections (SQLite)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(() => server?.stop())

  it("end memberships at once and the use of earlier history for targeting", { timeout: 60_000 }, async () => {
    await objectionScenario(server.url)
  })
})
