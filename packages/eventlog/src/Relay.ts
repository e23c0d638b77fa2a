/**
 * The outbox relay: forwards one event log to another, in order, committing its offset on the source only after
 * the target acknowledged. The scale-out shape uses it from the SQL event log (where the collector appends in the
 * transaction that stores the events) to NATS JetStream (where the workers read): if NATS is down, records wait in
 * the source and nothing is lost; a record forwarded twice after a crash carries the same `sourceOffset`, which
 * consumers use to apply it once (see `Consumer.position`).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type { EventLogError } from "./EventLogError.js"
import type { EventLogService } from "./internal/service.js"

/**
 * The relay's consumer name on the source log.
 *
 * @since 0.2.0
 * @category models
 */
export const consumer = "relay/nats"

/**
 * Forwards the next batch (up to `max` records) from `source` to `target`, each payload with its `sourceOffset`;
 * returns how many records it forwarded.
 *
 * @since 0.2.0
 * @category combinators
 */
export const step = (
  source: EventLogService,
  target: EventLogService,
  max = 1000
): Effect.Effect<number, EventLogError> =>
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

/**
 * Runs the relay until interrupted, retrying with backoff while either log is unavailable.
 *
 * @since 0.2.0
 * @category combinators
 */
export const run = (source: EventLogService, target: EventLogService): Effect.Effect<never> =>
  step(source, target).pipe(
    Effect.flatMap((n) => (n === 0 ? Effect.sleep("100 millis") : Effect.void)),
    Effect.forever,
    Effect.tapError((error) => Effect.logWarning("event log relay failed; retrying", error)),
    Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))),
    Effect.catchAll(() => Effect.never)
  )

/**
 * The relay as a layer: run in a fiber forked on start and interrupted on shutdown.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (source: EventLogService, target: EventLogService): Layer.Layer<never> =>
  Layer.scopedDiscard(Effect.forkScoped(run(source, target)))
