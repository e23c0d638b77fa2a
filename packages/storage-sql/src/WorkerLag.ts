/**
 * How far the consumers of the SQL event log are behind it, for monitoring: per consumer, the records appended after
 * its committed offset (`lastOffset - committed`, the port's measure of lag) and the age of the oldest of them (how
 * long the consumer has left the newest stored events unapplied). Read-only, a few indexed queries per call: meant
 * to be read when metrics are scraped.
 *
 * A consumer commits its offset after it applied a batch, including records that name no stored events (the
 * audience job's membership changes), so a consumer that is caught up reads 0 and 0.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as DailyCounts from "./DailyCounts.js"
import * as SqlSyncStore from "./SqlSyncStore.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * One consumer's lag.
 *
 * @since 0.2.0
 * @category models
 */
export interface Lag {
  readonly consumer: string
  /** Records appended after the consumer's committed offset (each names one committed group of events, or a change). */
  readonly records: number
  /** Seconds since the oldest record the consumer has not committed was appended; 0 when it is caught up. */
  readonly seconds: number
}

/**
 * The consumers of the standard workers (`Workers.jobs`), which read the SQL event log directly when it is the log
 * (`OA_EVENTLOG=sql`). With NATS JetStream the SQL log's consumer is the relay (@openaudience/eventlog's
 * `Relay.consumer`); the jobs' lag behind the stream is JetStream's to report.
 *
 * @since 0.2.0
 * @category models
 */
export const standardConsumers: ReadonlyArray<string> = [DailyCounts.consumer, SqlSyncStore.consumer]

/**
 * The lag of each consumer named (0 committed before its first commit), in the `SqlClient`'s database. The event
 * log's tables must exist (`SqlEventLog.migrate`).
 *
 * @since 0.2.0
 * @category combinators
 */
export const read = (
  consumers: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<Lag>, StorageError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const now = yield* Clock.currentTimeMillis
    const [last] = yield* sql<{ readonly last: number | string | null }>`SELECT MAX(log_offset) AS last FROM event_log`
    const lastOffset = Number(last?.last ?? 0)
    return yield* Effect.forEach(consumers, (consumer) =>
      Effect.gen(function* () {
        const [row] = yield* sql<{ readonly committed_offset: number | string }>`
          SELECT committed_offset FROM event_log_consumers WHERE consumer = ${consumer}`
        const committed = Number(row?.committed_offset ?? 0)
        const [oldest] = yield* sql<{ readonly appended_at: number | string }>`
          SELECT appended_at FROM event_log WHERE log_offset > ${committed} ORDER BY log_offset LIMIT 1`
        return {
          consumer,
          records: Math.max(0, lastOffset - committed),
          seconds: oldest === undefined ? 0 : Math.max(0, now - Number(oldest.appended_at)) / 1000
        }
      })
    )
  }).pipe(Effect.mapError(fromSqlError("Reading the workers' lag")))
