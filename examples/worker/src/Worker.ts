/**
 * The worker: consumes the event log and keeps derived state up to date. In the embedded shape it runs inside
 * the server's process; in the scale-out shape `main.ts` runs it alone. Failures are logged and retried with
 * backoff: the log keeps every record until the worker has committed past it.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as DailyCounts from "./DailyCounts.js"

const idle = Duration.millis(250)

/** Runs every job until interrupted. */
export const run = Effect.gen(function* () {
  yield* DailyCounts.migrate
  yield* Effect.logInfo("worker started: consuming the event log")
  const loop = DailyCounts.step().pipe(
    Effect.flatMap((handled) => (handled === 0 ? Effect.sleep(idle) : Effect.void)),
    Effect.forever
  )
  return yield* loop.pipe(
    Effect.tapError((error) => Effect.logError("worker step failed; retrying", error)),
    Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("10 seconds"))))
  )
})

/** The worker as a layer: forked on start, interrupted on shutdown. */
export const layer = Layer.scopedDiscard(Effect.forkScoped(run))
