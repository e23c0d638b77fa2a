/**
 * Jobs that consume the log of stored events (see `StoredEvents`) with apply-then-commit, and the runner that
 * keeps them going. A job applies a batch of records in a transaction of its own together with its position (the
 * highest record applied, see `unseen`), skipping what it already applied; the runner commits the job's log offset
 * after that. A crash between the two re-delivers the batch, and the job passes over it: each record is applied
 * exactly once, whether the log is the SQL table or NATS JetStream (where a record forwarded twice by the `Relay`
 * keeps its position, `sourceOffset`).
 *
 * `run` runs a list of jobs until interrupted: over the SQL event log they share each read (`step`: a read there
 * consumes nothing, so one job's batch is the next batch of every job committed up to the same offset); otherwise
 * (NATS, where a consumer must read its own messages to acknowledge them) each job reads for itself in a fiber of
 * its own (`stepOf`). Either way one job failing never holds the others back; failures are logged and retried
 * with backoff, and the log keeps every record until a job has committed past it.
 *
 * @since 0.2.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type { EventLogError } from "./EventLogError.js"
import { EventLog } from "./internal/service.js"
import type { LoggedRecord } from "./LogRecord.js"
import * as StoredEvents from "./StoredEvents.js"

/**
 * A job over the log of stored events.
 *
 * @since 0.2.0
 * @category models
 */
export interface Job<E = never, R = never> {
  /** The consumer name its offsets are committed under. */
  readonly name: string
  /** Work before reading (for example applying audience edits); returns how much work that was. */
  readonly before?: Effect.Effect<number, E, R> | undefined
  /**
   * Applies records read after the job's committed offset, in a transaction of its own, skipping those at or below
   * its position (see `unseen`); the runner commits the log offset after it.
   */
  readonly apply: (items: ReadonlyArray<StoredEvents.Item>) => Effect.Effect<void, E, R>
  /** Work after applying (for example advancing visitors whose time came); returns how much work that was. */
  readonly after?: Effect.Effect<number, E, R> | undefined
}

/**
 * The error type of a job (or of a union of jobs).
 *
 * @since 0.2.0
 * @category models
 */
export type ErrorOf<J> = J extends Job<infer E, any> ? E : never

/**
 * The context a job (or a union of jobs) needs.
 *
 * @since 0.2.0
 * @category models
 */
export type ContextOf<J> = J extends Job<any, infer R> ? R : never

/**
 * Any job.
 *
 * @since 0.2.0
 * @category models
 */
export type Any = Job<any, any>

/**
 * A record's position: its offset in the SQL log where the collector appended it, or the `sourceOffset` the
 * `Relay` adds when it forwards the record to NATS. The same record has the same position in both.
 *
 * @since 0.2.0
 * @category combinators
 */
export const position = (record: LoggedRecord): number => {
  const source = (record.payload as { readonly sourceOffset?: unknown } | null)?.sourceOffset
  return typeof source === "number" ? source : record.offset
}

/**
 * The items past `after` (the highest position a job applied so far), and the new highest position. Positions only
 * grow along the log, so anything at or below the highest seen so far is a repeat.
 *
 * @since 0.2.0
 * @category combinators
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
 * Log records per read (each names the events of one committed group; see `StoredEvents.eventsPerStep`).
 *
 * @since 0.2.0
 * @category models
 */
export const recordsPerRead = 1000

/** Applies taken items with a job, then commits its offset past them. Nothing for no items. */
const applyThenCommit = <E, R>(log: EventLog["Type"], job: Job<E, R>, items: ReadonlyArray<StoredEvents.Item>) =>
  items.length === 0
    ? Effect.void
    : Effect.zipRight(job.apply(items), log.commit(job.name, items[items.length - 1]!.record.offset))

/**
 * Reads the job's next records (up to `max`), applies a step's worth of them (see `StoredEvents.take`) and commits
 * past them; returns how much work that was (see `StoredEvents.workOf`). Neither `before` nor `after` is run.
 *
 * @since 0.2.0
 * @category combinators
 */
export const readAndApply = <E, R>(
  job: Job<E, R>,
  max: number = recordsPerRead
): Effect.Effect<number, E | EventLogError, R | EventLog> =>
  Effect.gen(function* () {
    const log = yield* EventLog
    const records = yield* log.read(job.name, max)
    if (records.length === 0) return 0
    const batch = StoredEvents.take(records)
    yield* applyThenCommit(log, job, batch.items)
    return StoredEvents.workOf(batch, records.length, max)
  })

const none = Effect.succeed(0)

/**
 * One round of a job on its own: `before`, its next records, `after`. Returns the work done.
 *
 * @since 0.2.0
 * @category combinators
 */
export const stepOf = <E, R>(
  job: Job<E, R>,
  max: number = recordsPerRead
): Effect.Effect<number, E | EventLogError, R | EventLog> =>
  Effect.gen(function* () {
    let work = yield* job.before ?? none
    work += yield* readAndApply(job, max)
    work += yield* job.after ?? none
    return work
  })

/**
 * One round of every job over shared reads of the log: each job's `before`; then the jobs committed up to the same
 * offset read once (under the first one's name) and each applies that batch and commits; then each job's `after`.
 * A job that fails does not hold the others back: they apply the batch, and from then on, their offsets apart,
 * they read separately until they meet again. A job whose `before` failed sits this round out. The round fails (to
 * be retried after a pause) with the first failure, after everything else was done. Returns the work done.
 *
 * @since 0.2.0
 * @category combinators
 */
export const step = <const Jobs extends ReadonlyArray<Any>>(
  jobs: Jobs,
  max: number = recordsPerRead
): Effect.Effect<number, ErrorOf<Jobs[number]> | EventLogError, ContextOf<Jobs[number]> | EventLog> =>
  Effect.gen(function* () {
    const log = yield* EventLog
    const failures: Array<ErrorOf<Jobs[number]> | EventLogError> = []
    /** Runs `effect`; on failure, keeps the error for the end of the round and gives `undefined`. */
    const attempt = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.map(Effect.either(effect), (result) => {
        if (Either.isRight(result)) return result.right
        failures.push(result.left as ErrorOf<Jobs[number]> | EventLogError)
        return undefined
      })
    let work = 0
    const ready: Array<Any> = []
    for (const job of jobs) {
      const before = yield* attempt(job.before ?? none)
      if (before === undefined) continue
      work += before
      ready.push(job)
    }
    // Jobs committed up to the same offset share a read.
    const groups = new Map<number, Array<Any>>()
    for (const job of ready) {
      const committed = yield* attempt(log.committed(job.name))
      if (committed === undefined) continue
      const group = groups.get(committed)
      if (group === undefined) groups.set(committed, [job])
      else group.push(job)
    }
    let applied = 0
    for (const group of groups.values()) {
      const records = yield* attempt(log.read(group[0]!.name, max))
      if (records === undefined || records.length === 0) continue
      const batch = StoredEvents.take(records)
      const shared = StoredEvents.workOf(batch, records.length, max)
      for (const job of group) {
        const done = yield* attempt(Effect.as(applyThenCommit(log, job, batch.items), true))
        if (done) applied = Math.max(applied, shared)
      }
    }
    for (const job of ready) work += (yield* attempt(job.after ?? none)) ?? 0
    if (failures.length > 0) return yield* Effect.fail(failures[0]!)
    return work + applied
  })

const idle = Duration.millis(250)

/**
 * After a round that found less than a full step's work, the runner waits this long before the next: a job that
 * keeps up with a steady stream of events then handles it in batches of a few hundred events or more instead of
 * running back to back on a handful each, and each round's fixed cost (its transactions' commits, the jobs'
 * `before` and `after`) is paid about ten times a second instead of every few milliseconds.
 */
const pace = Duration.millis(100)

/** Runs a round forever: at once again while it finds a full step's work, otherwise after `pace` or `idle`. */
const loop = <E, R>(name: string, round: Effect.Effect<number, E, R>): Effect.Effect<never, never, R> =>
  round.pipe(
    Effect.flatMap((work) =>
      work === 0 ? Effect.sleep(idle) : work < StoredEvents.eventsPerStep ? Effect.sleep(pace) : Effect.void
    ),
    Effect.forever,
    Effect.tapErrorCause((cause) => Effect.logError(`event log job ${name} failed; retrying`, cause)),
    Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("10 seconds")))),
    Effect.catchAll(() => Effect.never)
  )

/**
 * Options of `run`.
 *
 * @since 0.2.0
 * @category models
 */
export interface RunOptions {
  /**
   * Whether the jobs share each read (`step`): for the SQL event log only, as a NATS consumer must read its own
   * messages to acknowledge them. Otherwise each job reads for itself, in a fiber of its own (`stepOf`).
   */
  readonly sharedRead: boolean
  /** Log records per read (default `recordsPerRead`). */
  readonly max?: number | undefined
}

/**
 * Runs the jobs until interrupted (see the module docs).
 *
 * @since 0.2.0
 * @category combinators
 */
export const run = <const Jobs extends ReadonlyArray<Any>>(
  jobs: Jobs,
  options: RunOptions
): Effect.Effect<never, never, ContextOf<Jobs[number]> | EventLog> =>
  Effect.gen(function* () {
    const max = options.max ?? recordsPerRead
    const names = jobs.map((job) => job.name)
    yield* Effect.logInfo(`consuming the event log: ${names.join(", ")}${options.sharedRead ? " (shared reads)" : ""}`)
    if (jobs.length === 0) return yield* Effect.never
    if (options.sharedRead) return yield* loop(names.join("+"), step(jobs, max))
    return yield* Effect.all(
      jobs.map((job) => loop(job.name, stepOf(job, max))),
      { concurrency: "unbounded", discard: true }
    ).pipe(Effect.zipRight(Effect.never))
  })

/**
 * The jobs as a layer: run (see `run`) in a fiber forked on start and interrupted on shutdown.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = <const Jobs extends ReadonlyArray<Any>>(
  jobs: Jobs,
  options: RunOptions
): Layer.Layer<never, never, ContextOf<Jobs[number]> | EventLog> =>
  Layer.scopedDiscard(Effect.forkScoped(run(jobs, options)))
