/**
 * The audiences admin API scenario on PostgreSQL (server + embedded worker), in a schema of the test's own that is
 * dropped afterwards. Fails in CI when PostgreSQL is unreachable.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { Database } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import { scenario } from "./support/audiences.js"
import { startServer, type TestServer } from "./support/server.js"

const postgresUrl = process.env.OA_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = `oa_test_audiences_${randomUUID().replaceAll("-", "").slice(0, 12)}`
const admin = <A>(statement: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, statement).pipe(
      Effect.provide(Database.layerFromUrl(postgresUrl)),
      Effect.timeout("5 seconds")
    )
  )

const reachable = await admin((sql) => sql`SELECT 1`).then(
  () => undefined,
  (error) => String(error)
)

if (reachable !== undefined && process.env.CI !== "true") {
  console.warn(`audiences API on PostgreSQL: not run, PostgreSQL is unreachable at ${postgresUrl}: ${reachable}`)
}

describe.runIf(reachable === undefined || process.env.CI === "true")("audiences admin API (PostgreSQL)", () => {
  let server: TestServer
  beforeAll(async () => {
    if (reachable !== undefined) throw new Error(`PostgreSQL is unreachable at ${postgresUrl}: ${reachable}`)
    await admin((sql) => sql`CREATE SCHEMA ${sql(schema)}`)
    server = await startServer({
      databaseUrl: `${postgresUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`
    })
  })
  afterAll(async () => {
    await server?.stop()
    if (reachable === undefined) await admin((sql) => sql`DROP SCHEMA ${sql(schema)} CASCADE`)
  })

  it("previews, creates, backfills, follows events, explains, edits and deletes", { timeout: 120_000 }, async () => {
    await scenario(server.url)
  })
})
