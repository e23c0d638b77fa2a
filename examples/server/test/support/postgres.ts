/**
 * PostgreSQL for the server's integration tests: the server to use, whether it answers, and a schema of the
 * test's own (random name, `search_path` set through the URL's `options`, dropped afterwards). When PostgreSQL is
 * unreachable the suites are skipped with a warning, except in CI (`CI=true`), where they run and fail.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Database } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe } from "@effect/vitest"
import type * as ServerConfig from "../../src/ServerConfig.js"
import { startServer, type TestServer } from "./server.js"

/** The PostgreSQL server the integration tests use. */
export const postgresUrl = process.env.OA_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** Runs one statement on `postgresUrl` (default search_path), giving up after 5 seconds. */
export const admin = <A>(statement: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>): Promise<A> =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, statement).pipe(
      Effect.provide(Database.layerFromUrl(postgresUrl)),
      Effect.timeout("5 seconds")
    )
  )

/** `undefined` when PostgreSQL answers, otherwise why it does not. */
export const reachable: string | undefined = await admin((sql) => sql`SELECT 1`).then(
  () => undefined,
  (error) => String(error)
)

const inCi = process.env.CI === "true"

/** Whether the PostgreSQL suites run: when PostgreSQL answers, and always in CI, so that CI fails instead of skipping. */
export const runsOnPostgres: boolean = reachable === undefined || inCi

/** Warns that the suite `what` is not run, when it is skipped (PostgreSQL unreachable outside CI). */
export const warnWhenSkipped = (what: string): void => {
  if (!runsOnPostgres) console.warn(`${what}: not run, PostgreSQL is unreachable at ${postgresUrl}: ${reachable}`)
}

/** A schema of the test's own on `postgresUrl`. */
export interface Schema {
  /** The schema's random name, `<prefix>_<12 hex digits>`. */
  readonly name: string
  /** `postgresUrl` with the schema as search_path. */
  readonly url: string
  /** Creates the schema; throws when PostgreSQL is unreachable (the suite runs then only in CI, and must fail). */
  readonly create: () => Promise<void>
  /** Drops the schema and everything in it; nothing to do when PostgreSQL is unreachable. */
  readonly drop: () => Promise<void>
}

/** A fresh schema name and URL; call `create()` in `beforeAll` and `drop()` in `afterAll`. */
export const freshSchema = (prefix: string): Schema => {
  const name = `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 12)}`
  const separator = postgresUrl.includes("?") ? "&" : "?"
  return {
    name,
    url: `${postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${name}`)}`,
    create: async () => {
      if (reachable !== undefined) throw new Error(`PostgreSQL is unreachable at ${postgresUrl}: ${reachable}`)
      await admin((sql) => sql`CREATE SCHEMA ${sql(name)}`)
    },
    drop: async () => {
      if (reachable === undefined) await admin((sql) => sql`DROP SCHEMA IF EXISTS ${sql(name)} CASCADE`)
    }
  }
}

/**
 * A describe block whose tests share one server on a PostgreSQL schema of their own (created before, dropped after;
 * see `startServer` for `overrides`), skipped with a warning when PostgreSQL is unreachable, except in CI.
 */
export const describeOnPostgres = (
  title: string,
  prefix: string,
  overrides: Partial<ServerConfig.ServerConfigShape>,
  tests: (server: () => TestServer) => void
): void => {
  warnWhenSkipped(title)
  describe.runIf(runsOnPostgres)(title, () => {
    const schema = freshSchema(prefix)
    let server: TestServer | undefined
    beforeAll(async () => {
      await schema.create()
      server = await startServer({ ...overrides, databaseUrl: schema.url })
    }, 120_000)
    afterAll(async () => {
      await server?.stop()
      await schema.drop()
    })
    tests(() => server!)
  })
}
