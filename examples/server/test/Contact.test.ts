/**
 * The contact form on SQLite: see `support/contact.ts`.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { contactScenario } from "./support/contact.js"
import { startServer, type TestServer } from "./support/server.js"
import { operatorKey } from "./support/tenancy.js"

describe("the contact form (SQLite)", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ operatorKey: Redacted.make(operatorKey) })
  })
  afterAll(() => server?.stop())

  it("keeps inquiries encrypted, for privacy readers only, until erased", { timeout: 60_000 }, async () => {
    await contactScenario(server, true)
  })
})
