/** The standard workers on their thread over PostgreSQL (a schema of its own, dropped afterwards). */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import { Database } from "../src/index.js"
import { postgresUrl, probePostgres } from "./fixtures.js"
import { threadRound } from "./workersThread.js"

const postgres = await probePostgres()

/** A new schema (dropped with the scope) and the URL whose connections use it. */
const schemaUrl = Effect.gen(function* () {
  const schema = `oa_test_workers_${randomUUID().replaceAll("-", "").slice(0, 12)}`
  const admin = (statement: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
    Effect.orDie(
      Effect.flatMap(SqlClient.SqlClient, statement).pipe(Effect.provide(Database.layerFromUrl(postgresUrl)))
    )
  yield* Effect.acquireRelease(
    admin((sql) => sql`CREATE SCHEMA ${sql(schema)}`),
    () => admin((sql) => sql`DROP SCHEMA ${sql(schema)} CASCADE`)
  )
  const separator = postgresUrl.includes("?") ? "&" : "?"
  return `${postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`
})

if (postgres.ok) {
  describe("Workers.layerThread (PostgreSQL)", () => {
    it.live(
      "runs the jobs on a thread with a pool of its own, logs through this logger, stops with the layer",
      () => Effect.flatMap(schemaUrl, threadRound).pipe(Effect.scoped),
      40_000
    )
  })
} else if (process.env.CI === "true") {
  describe("Workers.layerThread (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`Workers.layerThread (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl}`, () => {
    it("runs the workers on their thread over PostgreSQL", () => {})
  })
}
