/**
 * How rows leave the collector. The collector's hot path runs no Effect per request, so the store it hands rows to
 * is one documented seam of two callbacks (`Sink`): `append` for the pixel, answered once its rows are durable
 * (in a local append log, say) though maybe not in the database yet, and `store` for batches and server-to-server
 * calls, answered with each row's outcome once the database has it. A failure may carry `retryAfterSeconds`: the
 * sender is then answered 503 with that `Retry-After`.
 *
 * Everyone else uses the Effect-facing service `EventSink` (`append` and `store` as Effects failing with
 * `SinkError`); `fromService` and `toService` turn one into the other. `memory()` keeps rows in memory, idempotent
 * on `(tenant, eventId)`, for tests and examples.
 *
 * @since 0.1.0
 */
import type { StoredEvent } from "@openaudience/event-schema"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"

/**
 * Why rows could not be kept; with `retryAfterSeconds`, how long the sender should wait before trying again.
 *
 * @since 0.1.0
 * @category models
 */
export interface Failure {
  readonly message: string
  readonly retryAfterSeconds?: number | undefined
}

/**
 * What became of rows given to `store`: each row's outcome in input order, or a failure (none of them is stored).
 *
 * @since 0.1.0
 * @category models
 */
export type StoreResult =
  | { readonly _tag: "Stored"; readonly outcomes: ReadonlyArray<"accepted" | "duplicate"> }
  | { readonly _tag: "Failed"; readonly message: string; readonly retryAfterSeconds?: number | undefined }

/**
 * The collector's store, as callbacks (the hot path's seam). Each callback is called exactly once per call.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sink {
  /** Durable (e.g. in a local append log) but maybe not in the database yet: the pixel is answered then. */
  readonly append: (rows: ReadonlyArray<StoredEvent.StoredEvent>, done: (failure: Failure | undefined) => void) => void
  /** Stored in the database, with per-row outcomes: batches and server-to-server answers say accepted/duplicate. */
  readonly store: (rows: ReadonlyArray<StoredEvent.StoredEvent>, done: (result: StoreResult) => void) => void
}

/**
 * The store failed to keep rows.
 *
 * @since 0.1.0
 * @category errors
 */
export class SinkError extends Schema.TaggedError<SinkError>()("SinkError", {
  message: Schema.String,
  retryAfterSeconds: Schema.optional(Schema.Number)
}) {}

/**
 * The store as Effects.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Succeeds once the rows are durable (see `Sink.append`). */
  readonly append: (rows: ReadonlyArray<StoredEvent.StoredEvent>) => Effect.Effect<void, SinkError>
  /** Succeeds with each row's outcome, in input order, once the rows are stored (see `Sink.store`). */
  readonly store: (
    rows: ReadonlyArray<StoredEvent.StoredEvent>
  ) => Effect.Effect<ReadonlyArray<"accepted" | "duplicate">, SinkError>
}

/**
 * The collector's store, as a service.
 *
 * @since 0.1.0
 * @category services
 */
export class EventSink extends Context.Tag("@openaudience/collector/EventSink")<EventSink, Service>() {}

/**
 * A callback sink as a service.
 *
 * @since 0.1.0
 * @category combinators
 */
export const toService = (sink: Sink): Service => ({
  append: (rows) =>
    Effect.async<void, SinkError>((resume) =>
      sink.append(rows, (failure) =>
        resume(failure === undefined ? Effect.void : Effect.fail(new SinkError(failureFields(failure))))
      )
    ),
  store: (rows) =>
    Effect.async<ReadonlyArray<"accepted" | "duplicate">, SinkError>((resume) =>
      sink.store(rows, (result) =>
        resume(
          result._tag === "Stored" ? Effect.succeed(result.outcomes) : Effect.fail(new SinkError(failureFields(result)))
        )
      )
    )
})

const failureFields = (failure: Failure): { message: string; retryAfterSeconds?: number } =>
  failure.retryAfterSeconds === undefined
    ? { message: failure.message }
    : { message: failure.message, retryAfterSeconds: failure.retryAfterSeconds }

const fromError = (exit: Exit.Exit<unknown, SinkError>): Failure =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail"
    ? failureFields(exit.cause.error)
    : { message: "the store failed unexpectedly" }

/**
 * A service as a callback sink for the collector, running its Effects with the current runtime (one fiber per
 * call: the callback seam exists to avoid that on the fastest paths, not to forbid it).
 *
 * @since 0.1.0
 * @category combinators
 */
export const fromService = (service: Service): Effect.Effect<Sink> =>
  Effect.map(Effect.runtime<never>(), (runtime) => {
    const run = Runtime.runCallback(runtime)
    return {
      append: (rows, done) =>
        run(service.append(rows), {
          onExit: (exit) => done(Exit.isSuccess(exit) ? undefined : fromError(exit))
        }),
      store: (rows, done) =>
        run(service.store(rows), {
          onExit: (exit) =>
            done(
              Exit.isSuccess(exit) ? { _tag: "Stored", outcomes: exit.value } : { _tag: "Failed", ...fromError(exit) }
            )
        })
    }
  })

/**
 * The `EventSink` service of a callback sink.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (sink: Sink): Layer.Layer<EventSink> => Layer.succeed(EventSink, toService(sink))

/**
 * An in-memory sink that also shows what it holds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Memory extends Sink {
  /** The rows kept, in arrival order (a duplicate `(tenant, eventId)` is kept once, the first time). */
  readonly rows: () => ReadonlyArray<StoredEvent.StoredEvent>
}

/**
 * A sink in memory, for tests and examples: idempotent on `(tenant, eventId)`, answering synchronously. `append`
 * stores too (there is no database behind it to wait for).
 *
 * @since 0.1.0
 * @category constructors
 */
export const memory = (): Memory => {
  const kept = new Map<string, StoredEvent.StoredEvent>()
  const put = (row: StoredEvent.StoredEvent): "accepted" | "duplicate" => {
    const key = `${row.tenant}\u0000${row.eventId}`
    if (kept.has(key)) return "duplicate"
    kept.set(key, row)
    return "accepted"
  }
  return {
    append: (rows, done) => {
      for (const row of rows) put(row)
      done(undefined)
    },
    store: (rows, done) => done({ _tag: "Stored", outcomes: rows.map(put) }),
    rows: () => [...kept.values()]
  }
}

/**
 * The `EventSink` service of a fresh in-memory sink.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<EventSink> = Layer.sync(EventSink, () => toService(memory()))
