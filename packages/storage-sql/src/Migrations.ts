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
  },
  {
    id: 2,
    name: "insert_events_function",
    // PostgreSQL only: the event writer's insert as a function, so the statement's plan is cached (PL/pgSQL keeps
    // its statements' plans per session) instead of made again for every batch, as an unnamed statement is: a
    // third to two fifths of the backend's CPU per event in a loop of 30-event batches. SQLite prepares its
    // statements once and has no use for it.
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql.onDialectOrElse({
        pg: () => sql.unsafe(insertEventsFunction),
        orElse: () => Effect.void
      })
    })
  }
]

/** The insert of `oa_insert_events`, with its conflict clause (empty, or `ON CONFLICT … DO NOTHING`). */
const insertEvents = (onConflict: string) => `
      INSERT INTO events AS e (tenant, event_id, type, site, received_at, client_ts, visitor, payload, consent)
      SELECT i.tenant, i.event_id, i.type, i.site, i.received_at, i.client_ts, i.visitor, i.payload,
        NULLIF(i.consent, 'null'::jsonb)
      FROM ROWS FROM (
        jsonb_to_recordset(batch) AS (
          tenant text, event_id text, type text, site text, received_at bigint, client_ts bigint, visitor text,
          payload jsonb, consent jsonb
        )
      ) WITH ORDINALITY AS i (tenant, event_id, type, site, received_at, client_ts, visitor, payload, consent, n)
      ORDER BY i.n${onConflict}
      RETURNING e.seq, e.tenant, e.event_id;`

/**
 * `oa_insert_events(batch, skip_stored)`: inserts the events of `batch` (a JSON array of objects with the `events`
 * columns but `seq`) in array order, and returns the `seq`, `tenant` and `event_id` of each row inserted. With
 * `skip_stored`, events whose `(tenant, event_id)` is stored already are skipped (`ON CONFLICT DO NOTHING`);
 * without it, such an event fails the call with a unique violation (SQLSTATE 23505). `events` is the one of the
 * caller's search path.
 */
const insertEventsFunction = `
CREATE FUNCTION oa_insert_events(batch jsonb, skip_stored boolean)
RETURNS TABLE (out_seq bigint, out_tenant text, out_event_id text)
LANGUAGE plpgsql AS $oa$
BEGIN
  IF skip_stored THEN
    RETURN QUERY${insertEvents("\n      ON CONFLICT (tenant, event_id) DO NOTHING")}
  ELSE
    RETURN QUERY${insertEvents("")}
  END IF;
END
$oa$`

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
