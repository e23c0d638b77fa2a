/**
 * An objection undoes what was built (PostgreSQL, in a schema of the test's own, dropped afterwards): see
 * `support/objection.ts`. Fails in CI when PostgreSQL is unreachable.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { objectionScenario } from "./support/objection.js"
import { freshSchema, runsOnPostgres, warnWhenSkipped } from "./support/postgres.js"
import { startServer, type TestServer } from "./support/server.js"

const schema = freshSchema("oa_test_objection")

warnWhenSkipped("objections on PostgreSQL")

describe.runIf(runsOnPostgres)("objections (PostgreSQL)", () => {
  let server: TestServer
  beforeAll(async () => {
    await schema.create()
    server = await startServer({ databaseUrl: schema.url })
  })
  afterAll(async () => {
    await server?.stop()
    await schema.drop()
  })

  it("end memberships at once and the use of earlier history for targeting", { timeout: 60_000 }, async () => {
    await objectionScenario(server.url)
  })
})
