/**
 * Schema migrations for the storage tables, written once as Effects over `SqlClient` and run on
 * SQLite and PostgreSQL alike (`sql.onDialectOrElse` picks the column types that differ). Applied
 * migrations are recorded in a migration table; running them again is a no-op, and on PostgreSQL
 * concurrent starters serialize on an advisory lock so only one of them applies each migration.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { fromSqlError, StorageError } from "./StorageError.js"

/**
 * One schema change: `id` orders migrations and must never be reused; `up` applies the change.
 *
 * @since 0.1.0
 * @category models
 */
export interface Migration {
  readonly id: number
  readonly name: string
  readonly up: Effect.Effect<void, SqlError, SqlClient.SqlClient>
}

/**
 * Applies the pending migrations of a list, recording them in `table`, all in one transaction.
 * Returns the ids applied now (empty when the schema was already up to date). Other packages use it
 * with their own table name so their migrations are tracked independently.
 *
 * @since 0.1.0
 * @category combinators
 */
export const run = (options: {
  readonly table: string
  readonly migrations: ReadonlyArray<Migration>
}): Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ordered = [...options.migrations].sort((a, b) => a.id - b.id)
    const apply = Effect.gen(function* () {
      // Concurrent processes starting against one PostgreSQL database wait here for each other.
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
              new StorageError({
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
            : new StorageError({ reason: "MigrationFailed", message: wrapped.message, cause: error })
        )
      })
    )
  })

/**
 * The name of the table that records which storage migrations were applied.
 *
 * @since 0.1.0
 * @category models
 */
export const table = "storage_sql_migrations"

/**
 * The storage migrations, in order.
 *
 * @since 0.1.0
 * @category models
 */
export const migrations: ReadonlyArray<Migration> = [
  {
    id: 1,
    name: "create_events",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const seq = sql.onDialectOrElse({
        pg: () => sql.literal("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
        // AUTOINCREMENT: a seq is never reused, even after the newest rows were erased.
        orElse: () => sql.literal("INTEGER PRIMARY KEY AUTOINCREMENT")
      })
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      const json = sql.onDialectOrElse({ pg: () => sql.literal("JSONB"), orElse: () => sql.literal("TEXT") })
      yield* sql`CREATE TABLE events (
        seq ${seq},
        tenant TEXT NOT NULL,
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        site TEXT NOT NULL,
        received_at ${int64} NOT NULL,
        client_ts ${int64},
        visitor TEXT,
        payload ${json} NOT NULL,
        consent ${json},
        CONSTRAINT events_tenant_event_id UNIQUE (tenant, event_id)
      )`
      yield* sql`CREATE INDEX events_tenant_seq ON events (tenant, seq)`
      yield* sql`CREATE INDEX events_tenant_visitor ON events (tenant, visitor)`
    })
  }
]

/**
 * Brings the storage tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.1.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

/**
 * A layer that runs the storage migrations when it is built.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never, StorageError, SqlClient.SqlClient> = Layer.effectDiscard(migrate)
