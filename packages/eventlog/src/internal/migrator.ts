/**
 * A small migration runner over `SqlClient` (the same design as @openaudience/storage-sql's, kept here
 * so the event log does not depend on the storage package): pending migrations run in one transaction
 * and are recorded in a table; on PostgreSQL concurrent starters serialize on an advisory lock.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { EventLogError, fromSqlError } from "../EventLogError.js"

export interface Migration {
  readonly id: number
  readonly name: string
  readonly up: Effect.Effect<void, SqlError, SqlClient.SqlClient>
}

export const run = (options: {
  readonly table: string
  readonly migrations: ReadonlyArray<Migration>
}): Effect.Effect<ReadonlyArray<number>, EventLogError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ordered = [...options.migrations].sort((a, b) => a.id - b.id)
    const apply = Effect.gen(function* () {
      yield* sql.onDialectOrElse({
        pg: () => sql`SELECT pg_advisory_xact_lock(hashtext(${options.table}))`,
        orElse: () => Effect.void
      })
      yield* sql`CREATE TABLE IF NOT EXISTS ${sql(options.table)} (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at BIGINT NOT NULL
      )`
      const rows = yield* sql<{ readonly id: number | string }>`SELECT id FROM ${sql(options.table)}`
      const done = new Set(rows.map((row) => Number(row.id)))
      const applied: Array<number> = []
      for (const migration of ordered) {
        if (done.has(migration.id)) continue
        yield* migration.up.pipe(
          Effect.mapError(
            (error) =>
              new EventLogError({
                reason: "MigrationFailed",
                message: `Migration ${options.table} #${migration.id} (${migration.name}) failed: ${
                  fromSqlError("migration")(error).message
                }`,
                cause: error
              })
          )
        )
        const now = yield* Clock.currentTimeMillis
        yield* sql`INSERT INTO ${sql(options.table)} ${sql.insert({
          id: migration.id,
          name: migration.name,
          applied_at: now
        })}`
        applied.push(migration.id)
      }
      return applied
    })
    return yield* sql.withTransaction(apply).pipe(
      Effect.catchTag("SqlError", (error) => {
        const wrapped = fromSqlError(`Migrating ${options.table}`)(error)
        return Effect.fail(
          wrapped.reason === "Unavailable"
            ? wrapped
            : new EventLogError({ reason: "MigrationFailed", message: wrapped.message, cause: error })
        )
      })
    )
  })
