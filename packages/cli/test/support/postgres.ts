/**
 * A PostgreSQL schema of the test's own (random name, `search_path` set through the URL's `options`, dropped
 * afterwards), for running the command on PostgreSQL. When PostgreSQL is unreachable the suite is skipped with a
 * warning, except in CI (`CI=true`), where it runs and fails.
 */
import { randomUUID } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { Database } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"

/** The PostgreSQL server the tests use. */
export const postgresUrl = process.env.OA_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** Runs one statement on `postgresUrl`, giving up after 5 seconds. */
const admin = <A>(statement: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>): Promise<A> =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, statement).pipe(
      Effect.provide(Database.layerFromUrl(postgresUrl)),
      Effect.timeout("5 seconds")
    )
  )

/** `undefined` when PostgreSQL answers, otherwise why it does not. */
export const unreachable: string | undefined = await admin((sql) => sql`SELECT 1`).then(
  () => undefined,
  (error) => String(error)
)

/** Whether the PostgreSQL suite runs: when PostgreSQL answers, and always in CI (where it then fails). */
export const runsOnPostgres: boolean = unreachable === undefined || process.env.CI === "true"

/** A fresh schema: its URL (`postgresUrl` with the schema as search_path), `create()` and `drop()`. */
export const freshSchema = (prefix: string) => {
  const name = `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 12)}`
  const separator = postgresUrl.includes("?") ? "&" : "?"
  return {
    url: `${postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${name}`)}`,
    create: async (): Promise<void> => {
      if (unreachable !== undefined) throw new Error(`PostgreSQL is unreachable at ${postgresUrl}: ${unreachable}`)
      await admin((sql) => sql`CREATE SCHEMA ${sql(name)}`)
    },
    drop: async (): Promise<void> => {
      if (unreachable === undefined) await admin((sql) => sql`DROP SCHEMA IF EXISTS ${sql(name)} CASCADE`)
    }
  }
}
