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

/**
 * After a step that found less than a full batch, the job waits this long before the next: a job that keeps up
 * with a steady stream of events then handles it in batches of a few hundred records instead of running back to
 * back on a handful each, and each step's fixed cost (its transactions' commits, the audience job's edit check
 * and sweep) is paid about ten times a second instead of every few milliseconds.
 */
const pace = Duration.millis(100)

const loop = <E, R>(name: string, step: Effect.Effect<number, E, R>, batch: number) =>
  step.pipe(
    Effect.flatMap((work) => (work === 0 ? Effect.sleep(idle) : work < batch ? Effect.sleep(pace) : Effect.void)),
    Effect.forever,
    Effect.tapErrorCause((cause) => Effect.logError(`worker job ${name} failed; retrying`, cause)),
    Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("10 seconds"))))
  )

/** Log records per step and job. */
const batch = 1000

/** Runs every job until interrupted. */
export const run = Effect.gen(function* () {
  yield* DailyCounts.migrate
  yield* Audiences.migrate
  yield* Effect.logInfo("worker started: consuming the event log")
  return yield* Effect.all(
    [loop("daily-counts", DailyCounts.step(batch), batch), loop("audiences", Audiences.step(batch), batch)],
    {
      concurrency: "unbounded",
      discard: true
    }
  )
})

/** The worker as a layer: forked on start, interrupted on shutdown. */
export const layer = Layer.scopedDiscard(Effect.forkScoped(run))
