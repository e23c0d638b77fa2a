/**
 * Per tenant, UTC day and event type: how many events were stored, and how many of them carried a pseudonymous
 * visitor (`daily_event_counts`). Kept up to date by a job over the log of stored events (`job`, an
 * @openaudience/eventlog `Consumer.Job`): for the records it is given, the event store counts the events they name
 * (`EventStore.countBySeqRanges`), and the counts are written together with the job's position (the last record
 * applied, in `worker_positions`) in one transaction. Records at or below that position are skipped, so
 * redelivery (a crash before the log commit, NATS redelivering unacknowledged messages, the relay forwarding a
 * record twice) never counts an event twice, and the log commit afterwards never skips one.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Consumer, StoredEvents } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as EventStore from "./EventStore.js"
import * as Migrations from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The consumer name the job commits its log offsets under.
 *
 * @since 0.2.0
 * @category models
 */
export const consumer = "worker/daily-counts"

/**
 * The name of the table that records which of these migrations were applied.
 *
 * @since 0.2.0
 * @category models
 */
export const migrationsTable = "worker_migrations"

/**
 * The daily counts migrations, in order.
 *
 * @since 0.2.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "daily_event_counts",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE IF NOT EXISTS daily_event_counts (
        tenant TEXT NOT NULL,
        day TEXT NOT NULL,
        type TEXT NOT NULL,
        events BIGINT NOT NULL,
        identified BIGINT NOT NULL,
        PRIMARY KEY (tenant, day, type)
      )`
    })
  },
  {
    id: 2,
    name: "worker_positions",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE IF NOT EXISTS worker_positions (
        consumer TEXT PRIMARY KEY,
        position BIGINT NOT NULL
      )`
    })
  }
]

/**
 * Creates or updates the tables; returns the ids of the migrations applied now.
 *
 * @since 0.2.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = Migrations.run({
  table: migrationsTable,
  migrations
})

const isSqlError = (error: unknown): error is SqlError =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "SqlError"

/**
 * Counts the events the records name, skipping records at or below the job's position, and records the new
 * position, in one transaction (see the module docs). The log commit is the runner's (see `job`).
 *
 * @since 0.2.0
 * @category combinators
 */
export const apply = (
  items: ReadonlyArray<StoredEvents.Item>
): Effect.Effect<void, StorageError, SqlClient.SqlClient | EventStore.EventStore> =>
  Effect.gen(function* () {
    if (items.length === 0) return
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore.EventStore
    const transaction = Effect.gen(function* () {
      const rows = yield* sql<{ readonly position: number | string }>`
        SELECT position FROM worker_positions WHERE consumer = ${consumer}`
      const { fresh, high } = Consumer.unseen(items, Number(rows[0]?.position ?? 0))
      if (fresh.length === 0) return
      for (const [tenant, ranges] of StoredEvents.byTenant(fresh)) {
        for (const count of yield* store.countBySeqRanges(tenant, ranges)) {
          yield* sql`INSERT INTO daily_event_counts ${sql.insert({ tenant, ...count })}
            ON CONFLICT (tenant, day, type) DO UPDATE SET
              events = daily_event_counts.events + excluded.events,
              identified = daily_event_counts.identified + excluded.identified`
        }
      }
      yield* sql`INSERT INTO worker_positions ${sql.insert({ consumer, position: high })}
        ON CONFLICT (consumer) DO UPDATE SET position = excluded.position`
    })
    yield* sql
      .withTransaction(transaction)
      .pipe(Effect.catchIf(isSqlError, (error) => Effect.fail(fromSqlError("Counting stored events per day")(error))))
  })

/**
 * The daily counts as a job over the log of stored events (run it with `Consumer.run`, or with the standard
 * workers, `Workers`). Its tables must exist (`migrate`).
 *
 * @since 0.2.0
 * @category models
 */
export const job: Consumer.Job<StorageError, SqlClient.SqlClient | EventStore.EventStore> = {
  name: consumer,
  apply
}

/**
 * A tenant's events of one UTC day and type.
 *
 * @since 0.2.0
 * @category models
 */
export interface DailyCount {
  /** `YYYY-MM-DD`. */
  readonly day: string
  readonly type: string
  /** Events stored. */
  readonly events: number
  /** Of those, events with a pseudonymous visitor. */
  readonly identified: number
}

/**
 * A tenant's counts from the UTC date `since` (`YYYY-MM-DD`) on, newest day first.
 *
 * @since 0.2.0
 * @category combinators
 */
export const read = (
  tenant: string,
  since: string
): Effect.Effect<ReadonlyArray<DailyCount>, StorageError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ day: string; type: string; events: number | string; identified: number | string }>`
      SELECT day, type, events, identified FROM daily_event_counts
      WHERE tenant = ${tenant} AND day >= ${since} ORDER BY day DESC, type`.pipe(
      Effect.mapError(fromSqlError("Reading daily event counts"))
    )
    return rows.map(
      (row): DailyCount => ({
        day: row.day,
        type: row.type,
        events: Number(row.events),
        identified: Number(row.identified)
      })
    )
  })
