/**
 * The worker's first job: per tenant, per UTC day and event type, how many events were stored, and how many
 * of them carried a pseudonymous visitor. It reads the event log (records naming stored events, see
 * `StoredEvents`), has the event store count those events, and writes the counts together with the
 * position of the last record applied, in one transaction; records at or below that position are skipped, so
 * redelivery (a crash before the log commit, NATS redelivering unacknowledged messages, the relay forwarding a
 * record twice) never counts an event twice, and the log commit afterwards never skips one.
 */
import { EventLog, type LoggedRecord, StoredEvents } from "@openaudience/eventlog"
import { EventStore, Migrations } from "@openaudience/storage-sql"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** The consumer name this job commits its offsets under. */
export const consumer = "worker/daily-counts"

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

export const migrate = Migrations.run({ table: "worker_migrations", migrations })

/**
 * A record's position in the collector's SQL log: its own offset there, or the `sourceOffset` the relay adds
 * when it forwards the record to NATS. The same event has the same position in both.
 */
export const position = (record: LoggedRecord): number => {
  const source = (record.payload as { readonly sourceOffset?: unknown } | null)?.sourceOffset
  return typeof source === "number" ? source : record.offset
}

/**
 * The records of a batch past `after` (the highest position applied so far), with the runs they name, and the new
 * highest position. Positions only grow along the log, so anything at or below the highest seen so far is a repeat.
 */
export const unseen = (
  items: ReadonlyArray<StoredEvents.Item>,
  after: number
): { readonly fresh: ReadonlyArray<StoredEvents.Item>; readonly high: number } => {
  let high = after
  const fresh = items.filter((item) => {
    const p = position(item.record)
    if (p <= high) return false
    high = p
    return true
  })
  return { fresh, high }
}

/**
 * Reads the next batch of `name`'s records (up to `max`), takes a step's worth of them (see `StoredEvents.take`) and
 * hands them to `apply`; returns how much work that was (see `StoredEvents.workOf`).
 */
export const readAndApply = <E, R>(
  name: string,
  max: number,
  apply: (items: ReadonlyArray<StoredEvents.Item>) => Effect.Effect<void, E, R>
) =>
  Effect.gen(function* () {
    const log = yield* EventLog.EventLog
    const records = yield* log.read(name, max)
    if (records.length === 0) return 0
    const batch = StoredEvents.take(records)
    yield* apply(batch.items)
    return StoredEvents.workOf(batch, records.length, max)
  })

/**
 * A job's step over records taken from the log: `transaction` (which applies them, skipping repeats, and records
 * the job's position) in one transaction, then the log commit past the last record. Nothing for no records.
 */
export const applyThenCommit = <E, R>(
  name: string,
  items: ReadonlyArray<StoredEvents.Item>,
  transaction: Effect.Effect<void, E, R>
) =>
  Effect.gen(function* () {
    if (items.length === 0) return
    const sql = yield* SqlClient.SqlClient
    const log = yield* EventLog.EventLog
    yield* sql.withTransaction(transaction)
    yield* log.commit(name, items[items.length - 1]!.record.offset)
  })

/** Handles the next batch of the log, if any; returns how much work that was. */
export const step = (max = 1000) => readAndApply(consumer, max, apply)

/**
 * Applies records read from the log after this job's committed offset (by `step`, or by a read shared with the
 * audience job, see `Worker`), then commits past them.
 */
export const apply = (items: ReadonlyArray<StoredEvents.Item>) =>
  applyThenCommit(
    consumer,
    items,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* EventStore.EventStore
      const rows = yield* sql<{ readonly position: number | string }>`
          SELECT position FROM worker_positions WHERE consumer = ${consumer}`
      const { fresh, high } = unseen(items, Number(rows[0]?.position ?? 0))
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
  )

export interface DailyCount {
  readonly day: string
  readonly type: string
  readonly events: number
  readonly identified: number
}

/** A tenant's counts for the last `days` days (by UTC date string), newest first. */
export const read = (tenant: string, since: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ day: string; type: string; events: number | string; identified: number | string }>`
      SELECT day, type, events, identified FROM daily_event_counts
      WHERE tenant = ${tenant} AND day >= ${since} ORDER BY day DESC, type`
    return rows.map(
      (row): DailyCount => ({
        day: row.day,
        type: row.type,
        events: Number(row.events),
        identified: Number(row.identified)
      })
    )
  })
