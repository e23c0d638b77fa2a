/**
 * The contact form on PostgreSQL (a schema of the test's own, dropped afterwards): see `support/contact.ts`. Fails
 * in CI when PostgreSQL is unreachable.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { contactScenario } from "./support/contact.js"
import { freshSchema, runsOnPostgres, warnWhenSkipped } from "./support/postgres.js"
import { startServer, type TestServer } from "./support/server.js"
import { operatorKey } from "./support/tenancy.js"

const schema = freshSchema("oa_test_contact")

warnWhenSkipped("the contact form on PostgreSQL")

describe.runIf(runsOnPostgres)("the contact form (PostgreSQL)", () => {
  let server: TestServer
  beforeAll(async () => {
    await schema.create()
    server = await startServer({ databaseUrl: schema.url, operatorKey: Redacted.make(operatorKey) })
  })
  afterAll(async () => {
    await server?.stop()
    await schema.drop()
  })

  it("keeps inquiries encrypted, for privacy readers only, until erased", { timeout: 60_000 }, async () => {
    await contactScenario(server, false)
  })
})
