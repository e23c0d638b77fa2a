/**
 * The users API on PostgreSQL (a schema of the test's own, dropped afterwards), with a real SMTP server in this
 * process: see `support/users.ts`. Fails in CI when PostgreSQL is unreachable.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { freePort } from "./support/ports.js"
import { freshSchema, runsOnPostgres, warnWhenSkipped } from "./support/postgres.js"
import { startServer, type TestServer } from "./support/server.js"
import { operatorKey, smtpInbox, usersApiScenario } from "./support/users.js"

const schema = freshSchema("oa_test_users")

warnWhenSkipped("application users on PostgreSQL")

describe.runIf(runsOnPostgres)("application users (PostgreSQL)", () => {
  let server: TestServer
  let inbox: Awaited<ReturnType<typeof smtpInbox>>
  beforeAll(async () => {
    await schema.create()
    inbox = await smtpInbox()
    server = await startServer({
      port: await freePort(),
      databaseUrl: schema.url,
      operatorKey: Redacted.make(operatorKey),
      smtpUrl: Redacted.make(inbox.url)
    })
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
    await inbox?.close()
    await schema.drop()
  })

  it("are invited by mail, listed, isolated, removed and audited", { timeout: 90_000 }, async () => {
    await usersApiScenario(server, inbox)
  })
})
