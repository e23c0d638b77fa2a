/**
 * Where the audience job (`Sync`) sends every membership change it makes, for other consumers (an ad server's cache,
 * exports): called inside the job's unit of work (`SyncStore.transaction`), so an implementation writing to the same
 * database emits exactly the changes committed. @openaudience/storage-sql emits them as event log records;
 * `makeMemory` keeps them in a list (tests), `layerDiscard` drops them.
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Membership from "./Membership.js"

/**
 * Emitting changes failed.
 *
 * @since 0.3.0
 * @category errors
 */
export class ChangeSinkError extends Schema.TaggedError<ChangeSinkError>()("ChangeSinkError", {
  message: Schema.String
}) {}

/**
 * A visitor's membership change in a tenant.
 *
 * @since 0.3.0
 * @category models
 */
export interface Emitted {
  readonly tenant: string
  readonly visitor: string
  readonly change: Membership.Change
}

/**
 * The port.
 *
 * @since 0.3.0
 * @category models
 */
export interface Service {
  /** Emits a visitor's changes, in order (never called with none). */
  readonly emit: (
    tenant: string,
    visitor: string,
    changes: ReadonlyArray<Membership.Change>
  ) => Effect.Effect<void, ChangeSinkError>
  /**
   * Optional: emits the changes of many visitors at once, visitor by visitor in the order given (never called with
   * none); what `emit` per visitor would do, in one write where the sink can. Without it, `Sync` calls `emit` per
   * visitor.
   *
   * @since 0.4.0
   */
  readonly emitAll?:
    | ((
        tenant: string,
        batch: ReadonlyArray<readonly [visitor: string, changes: ReadonlyArray<Membership.Change>]>
      ) => Effect.Effect<void, ChangeSinkError>)
    | undefined
}

/**
 * The change sink service.
 *
 * @since 0.3.0
 * @category services
 */
export class ChangeSink extends Context.Tag("@openaudience/audience/ChangeSink")<ChangeSink, Service>() {}

/**
 * An in-memory sink and what it received.
 *
 * @since 0.3.0
 * @category models
 */
export interface Memory extends Service {
  /** Every change emitted so far, in order. */
  readonly emitted: Effect.Effect<ReadonlyArray<Emitted>>
}

/**
 * Builds an in-memory sink that keeps every change.
 *
 * @since 0.3.0
 * @category constructors
 */
export const makeMemory = (): Memory => {
  const emitted: Array<Emitted> = []
  return {
    emit: (tenant, visitor, changes) =>
      Effect.sync(() => {
        for (const change of changes) emitted.push({ tenant, visitor, change })
      }),
    emitted: Effect.sync(() => [...emitted])
  }
}

/**
 * A sink that keeps every change in memory.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerMemory: Layer.Layer<ChangeSink> = Layer.sync(ChangeSink, makeMemory)

/**
 * A sink that drops every change (nobody consumes them).
 *
 * @since 0.3.0
 * @category layers
 */
export const layerDiscard: Layer.Layer<ChangeSink> = Layer.succeed(ChangeSink, { emit: () => Effect.void })
