/**
 * @openaudience/eventlog's `EventLog` port as two tables in the application database (SQLite or PostgreSQL
 * through `SqlClient`): `event_log` holds the records under an increasing offset, `event_log_consumers` the
 * committed offset of each consumer. This is the embedded default: no service to run, and the log
 * append can share a transaction with the event store insert.
 *
 * Offsets are visible in order: on PostgreSQL an append takes an EXCLUSIVE lock on `event_log`
 * (readers are not blocked) until its transaction ends, so a record with a lower offset is never
 * committed after a reader already saw a higher one; SQLite has a single writer anyway.
 *
 * Appending in the event store's transaction: `append` (and `appendInTransaction`) run inside
 * `sql.withTransaction`, which joins a surrounding transaction of the same `SqlClient`. Call it from
 * `EventStore.append(events, { inTransaction })`, or inside your own `sql.withTransaction`, and the records
 * commit or roll back with everything else in it.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { EventLog, EventLogError, type LoggedRecord, type LogRecord } from "@openaudience/eventlog"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Migrations from "./Migrations.js"
import { fromSqlError as storageError } from "./StorageError.js"

const { checkConsumer, checkOffset, encodeRecords, normalizeMax } = EventLog

/**
 * Wraps an `SqlError` into an `EventLogError`, naming the operation that failed: `Unavailable` (worth retrying)
 * when the database could not be reached or was busy, `QueryFailed` otherwise.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSqlError =
  (operation: string) =>
  (error: SqlError): EventLogError => {
    // One classification of database failures for the whole package: the event store's.
    const storage = storageError(operation)(error)
    return new EventLogError({
      reason: storage.reason === "Unavailable" ? "Unavailable" : "QueryFailed",
      message: storage.message,
      cause: error
    })
  }

/**
 * The name of the table that records which event log migrations were applied.
 *
 * @since 0.1.0
 * @category models
 */
export const migrationsTable = "eventlog_migrations"

/**
 * The event log migrations, in order.
 *
 * @since 0.1.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_event_log",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const offset = sql.onDialectOrElse({
        pg: () => sql.literal("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
        // AUTOINCREMENT: an offset is never reused, even after the newest records were removed.
        orElse: () => sql.literal("INTEGER PRIMARY KEY AUTOINCREMENT")
      })
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      const json = sql.onDialectOrElse({ pg: () => sql.literal("JSONB"), orElse: () => sql.literal("TEXT") })
      yield* sql`CREATE TABLE event_log (
        log_offset ${offset},
        tenant TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        payload ${json} NOT NULL,
        appended_at ${int64} NOT NULL
      )`
      yield* sql`CREATE TABLE event_log_consumers (
        consumer TEXT PRIMARY KEY,
        committed_offset ${int64} NOT NULL,
        updated_at ${int64} NOT NULL
      )`
    })
  },
  {
    id: 2,
    name: "index_event_log_tenant_key",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE INDEX event_log_tenant_key ON event_log (tenant, partition_key)`
    })
  }
]

/**
 * Creates or updates the event log tables; returns the ids of the migrations applied now.
 *
 * @since 0.1.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, EventLogError, SqlClient.SqlClient> = Migrations.run({
  table: migrationsTable,
  migrations
}).pipe(
  Effect.mapError(
    (error) =>
      new EventLogError({
        reason: error.reason === "Unavailable" ? "Unavailable" : "MigrationFailed",
        message: error.message,
        cause: error
      })
  )
)

/**
 * How many records one INSERT carries (4 values each: far below both dialects' variable limits).
 *
 * @since 0.1.0
 * @category models
 */
export const rowsPerStatement = 1000

const isSqlError = (error: unknown): error is SqlError =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "SqlError"

/**
 * Appends records with the `SqlClient` in context, joining its current transaction if there is one
 * (otherwise in a transaction of its own). Returns the offsets in input order.
 *
 * @since 0.1.0
 * @category combinators
 */
export const appendInTransaction = (
  records: ReadonlyArray<LogRecord>
): Effect.Effect<ReadonlyArray<number>, EventLogError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    if (records.length === 0) return []
    const sql = yield* SqlClient.SqlClient
    const encoded = yield* encodeRecords(records)
    const appendedAt = yield* Clock.currentTimeMillis
    const insert = (chunk: ReadonlyArray<EventLog.EncodedRecord>) =>
      sql<{ readonly log_offset: number | string }>`INSERT INTO event_log ${sql.insert(
        chunk.map((record) => ({
          tenant: record.tenant,
          partition_key: record.key,
          payload: record.payload,
          appended_at: appendedAt
        }))
      )} RETURNING log_offset`
    const write = Effect.gen(function* () {
      yield* sql.onDialectOrElse({
        pg: () => sql`LOCK TABLE event_log IN EXCLUSIVE MODE`,
        orElse: () => Effect.void
      })
      const offsets: Array<number> = []
      for (let start = 0; start < encoded.length; start += rowsPerStatement) {
        const rows = yield* insert(encoded.slice(start, start + rowsPerStatement))
        // One statement numbers its rows in VALUES order; RETURNING order is not guaranteed, so sort.
        const chunk = rows.map((row) => Number(row.log_offset)).sort((a, b) => a - b)
        for (const offset of chunk) offsets.push(offset)
      }
      if (offsets.length !== encoded.length) {
        return yield* new EventLogError({
          reason: "QueryFailed",
          message: `Appending to the event log returned ${offsets.length} offsets for ${encoded.length} records`
        })
      }
      return offsets
    })
    return yield* sql
      .withTransaction(write)
      .pipe(Effect.catchIf(isSqlError, (error) => Effect.fail(fromSqlError("Appending to the event log")(error))))
  })

interface Row {
  readonly log_offset: number | string
  readonly tenant: string
  readonly partition_key: string
  readonly payload: unknown
  readonly appended_at: number | string
}

/**
 * Builds the SQL event log over the `SqlClient` in context (the tables must exist: see `layer`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<EventLog.EventLogService, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const jsonAsText = sql.onDialectOrElse({ pg: () => false, orElse: () => true })

  const decode = (rows: ReadonlyArray<Row>): Effect.Effect<Array<LoggedRecord>, EventLogError> =>
    Effect.try({
      try: () =>
        rows.map(
          (row): LoggedRecord => ({
            offset: Number(row.log_offset),
            tenant: row.tenant,
            key: row.partition_key,
            payload: jsonAsText ? JSON.parse(row.payload as string) : row.payload,
            appendedAt: Number(row.appended_at)
          })
        ),
      catch: (cause) =>
        new EventLogError({ reason: "CorruptData", message: "An event log record has invalid JSON", cause })
    })

  const committedOf = (consumer: string) =>
    sql<{ readonly committed_offset: number | string }>`
      SELECT committed_offset FROM event_log_consumers WHERE consumer = ${consumer}`.pipe(
      Effect.map((rows) => (rows[0] === undefined ? 0 : Number(rows[0].committed_offset))),
      Effect.mapError(fromSqlError("Reading a committed offset"))
    )

  return EventLog.EventLog.of({
    append: (records) => Effect.provideService(appendInTransaction(records), SqlClient.SqlClient, sql),
    read: (consumer, max) =>
      Effect.gen(function* () {
        yield* checkConsumer(consumer)
        const n = normalizeMax(max)
        if (n === 0) return []
        const rows = yield* sql<Row>`
          SELECT log_offset, tenant, partition_key, payload, appended_at FROM event_log
          WHERE log_offset > COALESCE(
            (SELECT committed_offset FROM event_log_consumers WHERE consumer = ${consumer}), 0)
          ORDER BY log_offset
          LIMIT ${n}`.pipe(Effect.mapError(fromSqlError("Reading the event log")))
        return yield* decode(rows)
      }),
    commit: (consumer, offset) =>
      Effect.gen(function* () {
        yield* checkConsumer(consumer)
        yield* checkOffset(offset)
        const now = yield* Clock.currentTimeMillis
        yield* sql`
          INSERT INTO event_log_consumers ${sql.insert({ consumer, committed_offset: offset, updated_at: now })}
          ON CONFLICT (consumer) DO UPDATE SET
            committed_offset = CASE
              WHEN excluded.committed_offset > event_log_consumers.committed_offset THEN excluded.committed_offset
              ELSE event_log_consumers.committed_offset END,
            updated_at = excluded.updated_at`.pipe(Effect.mapError(fromSqlError("Committing an offset")))
      }),
    committed: (consumer) => Effect.zipRight(checkConsumer(consumer), committedOf(consumer)),
    lastOffset: sql<{ readonly last: number | string | null }>`SELECT MAX(log_offset) AS last FROM event_log`.pipe(
      Effect.map((rows) => Number(rows[0]?.last ?? 0)),
      Effect.mapError(fromSqlError("Reading the last offset"))
    ),
    eraseKey: (tenant, key) =>
      sql`DELETE FROM event_log WHERE tenant = ${tenant} AND partition_key = ${key} RETURNING log_offset`.pipe(
        Effect.map((rows) => rows.length),
        Effect.mapError(fromSqlError("Erasing event log records"))
      )
  })
})

/**
 * The SQL event log: runs its migrations, then serves the log over the `SqlClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<EventLog.EventLog, EventLogError, SqlClient.SqlClient> = Layer.effect(
  EventLog.EventLog,
  Effect.zipRight(migrate, make)
)

/**
 * The event log chosen by `OA_EVENTLOG` (see @openaudience/eventlog's `EventLog.layerConfig`): this SQL log in the
 * `SqlClient`'s database for `sql` (the default), NATS JetStream for `nats://…`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<EventLog.EventLog, EventLogError | ConfigError.ConfigError, SqlClient.SqlClient> =
  EventLog.layerConfig(layer)
