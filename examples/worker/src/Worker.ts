/**
 * The worker: consumes the event log and keeps derived state up to date. In the embedded shape it runs inside
 * the server's process; in the scale-out shape `main.ts` runs it alone. Over the SQL event log both jobs share
 * each read (`step`); over NATS each job runs in its own fiber and reads for itself. Either way one job failing
 * never stalls the other; failures are logged and retried with backoff: the log keeps every record until a job
 * has committed past it.
 */
import { EventLog, StoredEvents } from "@openaudience/eventlog"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Audiences from "./Audiences.js"
import * as DailyCounts from "./DailyCounts.js"

const idle = Duration.millis(250)

/**
 * After a step that found less than a full batch, the job waits this long before the next: a job that keeps up
 * with a steady stream of events then handles it in batches of a few hundred events or more instead of running back to
 * back on a handful each, and each step's fixed cost (its transactions' commits, the audience job's edit check
 * and sweep) is paid about ten times a second instead of every few milliseconds.
 */
const pace = Duration.millis(100)

/** Runs a job's step forever: at once again while it finds a full step's work, otherwise after `pace` or `idle`. */
const loop = <E, R>(name: string, step: Effect.Effect<number, E, R>) =>
  step.pipe(
    Effect.flatMap((work) =>
      work === 0 ? Effect.sleep(idle) : work < StoredEvents.eventsPerStep ? Effect.sleep(pace) : Effect.void
    ),
    Effect.forever,
    Effect.tapErrorCause((cause) => Effect.logError(`worker job ${name} failed; retrying`, cause)),
    Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("10 seconds"))))
  )

/** Log records per read (each names the events of one group commit; see `StoredEvents.eventsPerStep`). */
const batch = 1000

/**
 * Both jobs in one step over one read of the log (the SQL event log: a read there does not consume anything, so
 * what one job read is the other's next batch too, as long as both have committed up to the same offset). Edits
 * first, then the shared batch for each job in its own transaction, then the audience sweep. A job that fails
 * does not hold the other back: the other applies the batch, and from then on, their offsets apart, each reads
 * for itself until they meet again. The step fails (to be retried after a pause) if either job failed.
 */
export const step = (max = batch) =>
  Effect.gen(function* () {
    const log = yield* EventLog.EventLog
    let work = yield* Audiences.applyAllEdits
    const daily = yield* log.committed(DailyCounts.consumer)
    const audiences = yield* log.committed(Audiences.consumer)
    const together = daily === audiences
    const records = together ? yield* log.read(DailyCounts.consumer, max) : []
    const taken = StoredEvents.take(records)
    const shared = StoredEvents.workOf(taken, records.length, max)
    const results = yield* Effect.all(
      together
        ? [Effect.as(DailyCounts.apply(taken.items), shared), Effect.as(Audiences.apply(taken.items), shared)]
        : [DailyCounts.step(max), Audiences.ingest(max)],
      { mode: "either" }
    )
    work += yield* Audiences.sweep()
    let applied = 0
    for (const result of results) {
      if (Either.isLeft(result)) return yield* Effect.fail(result.left)
      applied = Math.max(applied, result.right)
    }
    return work + applied
  })

/**
 * Runs every job until interrupted. `sharedRead` (for the SQL event log only: a NATS consumer must read its own
 * messages to acknowledge them) makes both jobs share each read of the log; otherwise each reads for itself, in
 * its own fiber.
 */
export const runWith = (options: { readonly sharedRead: boolean }) =>
  Effect.gen(function* () {
    yield* DailyCounts.migrate
    yield* Audiences.migrate
    yield* Effect.logInfo("worker started: consuming the event log")
    if (options.sharedRead) return yield* loop("daily-counts+audiences", step(batch))
    return yield* Effect.all(
      [loop("daily-counts", DailyCounts.step(batch)), loop("audiences", Audiences.step(batch))],
      {
        concurrency: "unbounded",
        discard: true
      }
    )
  })

/** Runs every job until interrupted, each reading the log for itself (any event log). */
export const run = runWith({ sharedRead: false })

/** The worker as a layer: forked on start, interrupted on shutdown. */
export const layer = Layer.scopedDiscard(Effect.forkScoped(run))

/** The worker over the SQL event log, both jobs sharing each read (see `runWith`). */
export const layerSql = Layer.scopedDiscard(Effect.forkScoped(runWith({ sharedRead: true })))
