/**
 * The anonymizer end to end on PostgreSQL: the same scenario as on SQLite (support/anonymizationScenario.ts), the
 * server writing to a schema of the test's own, every table of which is scanned for raw values before the schema
 * is dropped. Fails in CI when PostgreSQL is unreachable.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, describe } from "@effect/vitest"
import { Database } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import { anonymizationSuite } from "./support/anonymizationScenario.js"
import { startServer } from "./support/server.js"

const postgresUrl = process.env.OA_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const schema = `oa_test_anon_${randomUUID().replaceAll("-", "").slice(0, 12)}`
const schemaUrl = `${postgresUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`
const admin = (statement: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
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
  console.warn(`anonymization on PostgreSQL: not run, PostgreSQL is unreachable at ${postgresUrl}: ${reachable}`)
}

describe.runIf(reachable === undefined || process.env.CI === "true")("anonymization end to end on PostgreSQL", () => {
  beforeAll(async () => {
    if (reachable !== undefined) throw new Error(`PostgreSQL is unreachable at ${postgresUrl}: ${reachable}`)
    await admin((sql) => sql`CREATE SCHEMA ${sql(schema)}`)
  })
  afterAll(async () => {
    if (reachable === undefined) await admin((sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`)
  })

  anonymizationSuite({
    start: (overrides) => startServer({ ...overrides, databaseUrl: schemaUrl }),
    database: () => ({ url: schemaUrl, target: { dialect: "pg", schema } }),
    scanDataDir: false
  })
})
