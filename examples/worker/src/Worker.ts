/**
 * The worker: consumes the event log and keeps derived state up to date. In the embedded shape it runs inside
 * the server's process; in the scale-out shape `main.ts` runs it alone. Each job runs in its own fiber, so one
 * failing never stalls the other; failures are logged and retried with backoff: the log keeps every record until
 * a job has committed past it.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Audiences from "./Audiences.js"
import * as DailyCounts from "./DailyCounts.js"

const idle = Duration.millis(250)

const loop = <E, R>(name: string, step: Effect.Effect<number, E, R>) =>
  step.pipe(
    Effect.flatMap((work) => (work === 0 ? Effect.sleep(idle) : Effect.void)),
    Effect.forever,
    Effect.tapErrorCause((cause) => Effect.logError(`worker job ${name} failed; retrying`, cause)),
    Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("10 seconds"))))
  )

/** Runs every job until interrupted. */
export const run = Effect.gen(function* () {
  yield* DailyCounts.migrate
  yield* Audiences.migrate
  yield* Effect.logInfo("worker started: consuming the event log")
  return yield* Effect.all([loop("daily-counts", DailyCounts.step()), loop("audiences", Audiences.step())], {
    concurrency: "unbounded",
    discard: true
  })
})

/** The worker as a layer: forked on start, interrupted on shutdown. */
export const layer = Layer.scopedDiscard(Effect.forkScoped(run))
