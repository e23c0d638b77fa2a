/**
 * The outbox relay of the scale-out shape. The collector always appends accepted events to the SQL event log
 * in the same transaction that stores them; with `OA_EVENTLOG=nats://…` this fiber forwards that log to NATS
 * JetStream for the workers, in order, committing its SQL offset only after JetStream acknowledged. If NATS is
 * down, events wait in the SQL log and nothing is lost; a record forwarded twice after a crash carries the same
 * `sourceOffset`, which workers use to apply it once.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { type EventLog, SqlEventLog } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

/** The relay's consumer name on the SQL log. */
export const consumer = "relay/nats"

/** Forwards the next batch from `source` to `target`; returns how many records it forwarded. */
export const step = (source: EventLog.EventLogService, target: EventLog.EventLogService, max = 1000) =>
  Effect.gen(function* () {
    const records = yield* source.read(consumer, max)
    if (records.length === 0) return 0
    yield* target.append(
      records.map((record) => ({
        tenant: record.tenant,
        key: record.key,
        payload: { ...(record.payload as Record<string, unknown>), sourceOffset: record.offset }
      }))
    )
    yield* source.commit(consumer, records[records.length - 1]!.offset)
    return records.length
  })

/** Runs the relay until interrupted, retrying with backoff while NATS or the database is unavailable. */
export const run = (target: EventLog.EventLogService) =>
  Effect.gen(function* () {
    const source = yield* SqlEventLog.make
    yield* step(source, target).pipe(
      Effect.flatMap((n) => (n === 0 ? Effect.sleep("100 millis") : Effect.void)),
      Effect.forever,
      Effect.tapError((error) => Effect.logWarning("event log relay to NATS failed; retrying", error)),
      Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("5 seconds"))))
    )
  })

export const layer = (target: EventLog.EventLogService): Layer.Layer<never, never, SqlClient.SqlClient> =>
  Layer.scopedDiscard(Effect.forkScoped(run(target)))
