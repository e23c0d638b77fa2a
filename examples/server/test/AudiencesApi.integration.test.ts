/**
 * The audiences admin API scenario on PostgreSQL (server + embedded worker), in a schema of the test's own that is
 * dropped afterwards. Fails in CI when PostgreSQL is unreachable.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { scenario } from "./support/audiences.js"
import { freshSchema, runsOnPostgres, warnWhenSkipped } from "./support/postgres.js"
import { startServer, type TestServer } from "./support/server.js"

const schema = freshSchema("oa_test_audiences")

warnWhenSkipped("audiences API on PostgreSQL")

describe.runIf(runsOnPostgres)("audiences admin API (PostgreSQL)", () => {
  let server: TestServer
  beforeAll(async () => {
    await schema.create()
    server = await startServer({ databaseUrl: schema.url })
  })
  afterAll(async () => {
    await server?.stop()
    await schema.drop()
  })

  it("previews, creates, backfills, follows events, explains, edits and deletes", { timeout: 120_000 }, async () => {
    await scenario(server.url)
  })
})
