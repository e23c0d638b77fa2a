/**
 * Test fixtures: SqlClient layers on a temporary SQLite file and on PostgreSQL in a schema of its own
 * (random name, `search_path` set through the URL's `options`, dropped afterwards).
 */
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

/** A fresh name, so tests sharing one log never mix their records. */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`

/** An SqlClient on a new SQLite file (WAL) in a temporary directory removed afterwards. */
export const sqliteLayer: Layer.Layer<SqlClient.SqlClient> = Layer.unwrapScoped(
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "oa-eventlog-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    ),
    (dir) => SqliteClient.layer({ filename: join(dir, "log.db") })
  )
).pipe(Layer.orDie)

/** The PostgreSQL server the integration tests use. */
export const postgresUrl = process.env.OA_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

const pg = (url: string) => PgClient.layer({ url: Redacted.make(url), connectTimeout: "3 seconds" })

/** Whether PostgreSQL answers, or why not. */
export const probePostgres = (): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }> =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`).pipe(
      Effect.provide(pg(postgresUrl)),
      Effect.as({ ok: true as const }),
      Effect.catchAllCause((cause) => Effect.succeed({ ok: false as const, reason: String(cause) }))
    )
  )

/** An SqlClient on PostgreSQL in a new schema with a random name, dropped when the layer is released. */
export const postgresSchemaLayer = (prefix: string): Layer.Layer<SqlClient.SqlClient> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const schema = `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 12)}`
      const admin = (statement: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
        Effect.orDie(Effect.flatMap(SqlClient.SqlClient, statement).pipe(Effect.provide(pg(postgresUrl))))
      yield* Effect.acquireRelease(
        admin((sql) => sql`CREATE SCHEMA ${sql(schema)}`),
        () => admin((sql) => sql`DROP SCHEMA ${sql(schema)} CASCADE`)
      )
      const separator = postgresUrl.includes("?") ? "&" : "?"
      return pg(`${postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`)
    })
  ).pipe(Layer.orDie)
