/**
 * Verified erasure over the registered stores of subject data. An erasure runs in three phases:
 *
 * 1. reachability: every store counts every subject's rows; if one store cannot be reached nothing is deleted;
 * 2. erasure: every store erases every subject (a SQL deployment wraps this phase in one transaction with the
 *    `transaction` option);
 * 3. verification: every store counts again, and every count must be 0.
 *
 * A failure in any phase fails the whole erasure with `ErasureFailed`: nothing partially done is reported as done.
 * Stores erase idempotently, so the caller retries (with `retrySchedule`) and a retry after a partial failure
 * finishes the job and verifies it. Legal holds are checked by the caller before it calls `erase`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { Retained, StoreUnavailable, SubjectStore } from "./Registry.js"
import type { Subject } from "./Subject.js"

/**
 * Why an erasure failed.
 *
 * - `Unreachable`: a store could not count a subject's rows (before erasing: nothing was deleted; at verification:
 *   the erasure is not verified).
 * - `EraseFailed`: a store failed while erasing (in a transaction, nothing of that phase was kept).
 * - `NotVerified`: a store still holds rows of a subject after erasing them.
 *
 * @since 0.1.0
 * @category errors
 */
export const ErasureFailedReason = Schema.Literal("Unreachable", "EraseFailed", "NotVerified")

/**
 * @since 0.1.0
 * @category errors
 */
export type ErasureFailedReason = typeof ErasureFailedReason.Type

/**
 * An erasure that did not complete and verify; retry it.
 *
 * @since 0.1.0
 * @category errors
 */
export class ErasureFailed extends Schema.TaggedError<ErasureFailed>("@openaudience/dsar/ErasureFailed")(
  "ErasureFailed",
  {
    reason: ErasureFailedReason,
    store: Schema.String,
    message: Schema.String
  }
) {}

/**
 * What one store erased; `remaining` is the count at verification (always 0 in an outcome).
 *
 * @since 0.1.0
 * @category models
 */
export interface StoreOutcome {
  readonly name: string
  readonly erased: number
  readonly remaining: number
}

/**
 * A completed and verified erasure: what each store erased, what the stores retain, and when it ran (epoch ms).
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly stores: ReadonlyArray<StoreOutcome>
  readonly retained: ReadonlyArray<Retained>
  readonly startedAt: number
  readonly completedAt: number
}

/**
 * Options of `erase`. `transaction` wraps the erasure phase (e.g. a SQL client's `withTransaction`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly transaction?: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StoreUnavailable, R>
}

const countAll = (stores: ReadonlyArray<SubjectStore>, subjects: ReadonlyArray<Subject>, phase: string) =>
  Effect.forEach(stores, (store) =>
    Effect.forEach(subjects, (subject) => store.count(subject)).pipe(
      Effect.map((counts) => counts.reduce((sum, count) => sum + count, 0)),
      Effect.mapError(
        (error) =>
          new ErasureFailed({
            reason: "Unreachable",
            store: store.name,
            message: `${phase}: store ${store.name} could not count the subjects' rows: ${error.message}`
          })
      )
    )
  )

/**
 * Erases every subject from every store and verifies that no row is left. Fails with `ErasureFailed` (and deletes
 * nothing) when a store cannot be reached first; fails with `ErasureFailed` when erasing or verifying fails.
 *
 * @since 0.1.0
 * @category erasure
 */
export const erase = (
  stores: ReadonlyArray<SubjectStore>,
  subjects: ReadonlyArray<Subject>,
  options: Options = {}
): Effect.Effect<Outcome, ErasureFailed> =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    yield* countAll(stores, subjects, "before erasing")
    const erasePhase = Effect.forEach(stores, (store) =>
      Effect.forEach(subjects, (subject) => store.erase(subject)).pipe(
        Effect.map((erased) => erased.reduce((sum, count) => sum + count, 0))
      )
    )
    const erased = yield* (options.transaction ? options.transaction(erasePhase) : erasePhase).pipe(
      Effect.mapError(
        (error) =>
          new ErasureFailed({
            reason: "EraseFailed",
            store: error.store,
            message: `store ${error.store} failed while erasing: ${error.message}`
          })
      )
    )
    const remaining = yield* countAll(stores, subjects, "verifying")
    const left = stores.flatMap((store, index) => (remaining[index]! > 0 ? [{ store, rows: remaining[index]! }] : []))
    if (left.length > 0) {
      return yield* new ErasureFailed({
        reason: "NotVerified",
        store: left[0]!.store.name,
        message: `rows remain after erasure: ${left.map((entry) => `${entry.store.name} (${entry.rows})`).join(", ")}`
      })
    }
    const completedAt = yield* Clock.currentTimeMillis
    return {
      stores: stores.map((store, index) => ({ name: store.name, erased: erased[index]!, remaining: 0 })),
      retained: stores.flatMap((store) => store.retained),
      startedAt,
      completedAt
    }
  })

/**
 * The retry schedule for callers of `erase`: exponential backoff from 1 s doubling, each delay capped at 5 minutes
 * and jittered (×0.8 to ×1.2), at most 10 retries (about 14 minutes in all).
 *
 * @since 0.1.0
 * @category erasure
 */
export const retrySchedule: Schedule.Schedule<number, unknown> = Schedule.exponential("1 second", 2).pipe(
  Schedule.modifyDelay((delay) => Duration.min(delay, Duration.minutes(5))),
  Schedule.jitteredWith({ min: 0.8, max: 1.2 }),
  Schedule.intersect(Schedule.recurs(10)),
  Schedule.map(([, retries]) => retries)
)
