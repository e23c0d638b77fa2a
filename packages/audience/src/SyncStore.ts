/**
 * What the audience job (`Sync`) keeps of its own besides memberships: per tenant the audiences it has applied and
 * how far an edit's backfill got (what an admin API shows, and what lets a backfill resume after a crash), the
 * position in the event stream it applied up to with the highest `seq` applied (so a backfill reads exactly the
 * events the stream has already delivered), and per audience and UTC day how many visitors entered and left.
 * `transaction` is the job's unit of work: the store's writes, the membership store's and the change sink's inside
 * it commit together, or not at all, where the implementations share a database. `layerMemory` keeps everything in
 * memory (its `transaction` runs the effect as it is, without rollback); @openaudience/storage-sql implements it over
 * SQL.
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Audience from "./Audience.js"

/**
 * A storage failure.
 *
 * @since 0.3.0
 * @category errors
 */
export class SyncStoreError extends Schema.TaggedError<SyncStoreError>()("SyncStoreError", {
  message: Schema.String
}) {}

/**
 * The audiences applied for a tenant, as of `revision`.
 *
 * @since 0.3.0
 * @category models
 */
export interface Applied {
  readonly revision: number
  readonly audiences: ReadonlyArray<Audience.Definition>
}

/**
 * Where the job stands with a tenant's audiences.
 *
 * @since 0.3.0
 * @category models
 */
export interface SyncStatus {
  /** The audience revision applied. */
  readonly revision: number
  /** `ready`, or `backfilling` while carrying visitors over to `targetRevision`. */
  readonly sync: "ready" | "backfilling"
  readonly targetRevision: number
  /** Events replayed so far out of `total` (the tenant's stored events when the backfill started). */
  readonly processed: number
  readonly total: number
  /** Why the last edit could not be applied, if it could not. */
  readonly error: string | null
  readonly updatedAt: number
}

/**
 * How far the job has applied the event stream: the position of the last record applied (positions only grow along
 * the stream) and the highest `seq` of the events those records named.
 *
 * @since 0.3.0
 * @category models
 */
export interface Cursor {
  readonly position: number
  readonly highSeq: number
}

/**
 * Entries and exits of one audience on one UTC day (`YYYY-MM-DD`).
 *
 * @since 0.3.0
 * @category models
 */
export interface DailyChanges {
  readonly day: string
  readonly entered: number
  readonly exited: number
}

/**
 * The port.
 *
 * @since 0.3.0
 * @category models
 */
export interface Service {
  /** Runs `effect` as one unit of work with the other stores' writes it makes (see the module docs). */
  readonly transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SyncStoreError, R>
  /** The audiences applied for a tenant, or none before the first edit was started. */
  readonly applied: (tenant: string) => Effect.Effect<Option.Option<Applied>, SyncStoreError>
  /** The tenant's sync status, or none before the first edit was started. */
  readonly status: (tenant: string) => Effect.Effect<Option.Option<SyncStatus>, SyncStoreError>
  /** The tenants with a status, in key order. */
  readonly tenants: Effect.Effect<ReadonlyArray<string>, SyncStoreError>
  /**
   * Starts a backfill towards `targetRevision`: the status becomes `backfilling` with nothing processed of `total`.
   * A first edit records `applied` as the audiences applied so far; later ones keep what is recorded.
   */
  readonly begin: (
    tenant: string,
    start: {
      readonly applied: Applied
      readonly targetRevision: number
      readonly total: number
      readonly at: number
    }
  ) => Effect.Effect<void, SyncStoreError>
  /** Records how far a backfill got (and clears any error). */
  readonly progress: (
    tenant: string,
    progress: {
      readonly processed: number
      readonly total: number
      readonly targetRevision: number
      readonly at: number
    }
  ) => Effect.Effect<void, SyncStoreError>
  /** Records why an edit cannot be applied (a tenant without a status keeps none). */
  readonly fail: (tenant: string, error: string, at: number) => Effect.Effect<void, SyncStoreError>
  /** Records the edit applied: `applied` is current, the status `ready`, everything processed. */
  readonly finish: (tenant: string, applied: Applied, at: number) => Effect.Effect<void, SyncStoreError>
  /** How far the event stream was applied (zeros at first). */
  readonly cursor: Effect.Effect<Cursor, SyncStoreError>
  /** Records how far the event stream was applied. */
  readonly saveCursor: (cursor: Cursor) => Effect.Effect<void, SyncStoreError>
  /** Adds entries and exits to the per-day counts of the tenant's audiences. */
  readonly addDaily: (
    tenant: string,
    counts: ReadonlyArray<DailyChanges & { readonly audienceId: string }>
  ) => Effect.Effect<void, SyncStoreError>
  /** An audience's entries and exits per UTC day since `since` (a `YYYY-MM-DD` date), newest first. */
  readonly daily: (
    tenant: string,
    audienceId: string,
    since: string
  ) => Effect.Effect<ReadonlyArray<DailyChanges>, SyncStoreError>
}

/**
 * The audience job's store.
 *
 * @since 0.3.0
 * @category services
 */
export class SyncStore extends Context.Tag("@openaudience/audience/SyncStore")<SyncStore, Service>() {}

type Row = { -readonly [K in keyof SyncStatus]: SyncStatus[K] } & { audiences: ReadonlyArray<Audience.Definition> }

/**
 * Builds an empty in-memory store (one per layer build).
 *
 * @since 0.3.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const rows = new Map<string, Row>()
  const daily = new Map<string, Map<string, { entered: number; exited: number }>>()
  let cursor: Cursor = { position: 0, highSeq: 0 }
  const update = (tenant: string, f: (row: Row) => void) =>
    Effect.sync(() => {
      const row = rows.get(tenant)
      if (row !== undefined) f(row)
    })
  return {
    transaction: (effect) => effect,
    applied: (tenant) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(rows.get(tenant)), (row) => ({
          revision: row.revision,
          audiences: row.audiences
        }))
      ),
    status: (tenant) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(rows.get(tenant)), ({ audiences: _, ...status }): SyncStatus => ({ ...status }))
      ),
    tenants: Effect.sync(() => [...rows.keys()].sort()),
    begin: (tenant, start) =>
      Effect.sync(() => {
        const row = rows.get(tenant) ?? {
          revision: start.applied.revision,
          audiences: start.applied.audiences,
          sync: "backfilling",
          targetRevision: start.targetRevision,
          processed: 0,
          total: start.total,
          error: null,
          updatedAt: start.at
        }
        rows.set(tenant, {
          ...row,
          sync: "backfilling",
          targetRevision: start.targetRevision,
          processed: 0,
          total: start.total,
          error: null,
          updatedAt: start.at
        })
      }),
    progress: (tenant, progress) =>
      update(tenant, (row) => {
        row.sync = "backfilling"
        row.processed = progress.processed
        row.total = progress.total
        row.targetRevision = progress.targetRevision
        row.error = null
        row.updatedAt = progress.at
      }),
    fail: (tenant, error, at) =>
      update(tenant, (row) => {
        row.error = error
        row.updatedAt = at
      }),
    finish: (tenant, applied, at) =>
      update(tenant, (row) => {
        row.revision = applied.revision
        row.audiences = applied.audiences
        row.sync = "ready"
        row.targetRevision = applied.revision
        row.processed = row.total
        row.error = null
        row.updatedAt = at
      }),
    cursor: Effect.sync(() => cursor),
    saveCursor: (next) =>
      Effect.sync(() => {
        cursor = next
      }),
    addDaily: (tenant, counts) =>
      Effect.sync(() => {
        for (const c of counts) {
          const key = `${tenant}\u0000${c.audienceId}`
          const days = daily.get(key) ?? new Map<string, { entered: number; exited: number }>()
          const day = days.get(c.day) ?? { entered: 0, exited: 0 }
          day.entered += c.entered
          day.exited += c.exited
          days.set(c.day, day)
          daily.set(key, days)
        }
      }),
    daily: (tenant, audienceId, since) =>
      Effect.sync(() =>
        [...(daily.get(`${tenant}\u0000${audienceId}`) ?? new Map<string, { entered: number; exited: number }>())]
          .filter(([day]) => day >= since)
          .sort((a, b) => (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0))
          .map(([day, c]) => ({ day, entered: c.entered, exited: c.exited }))
      )
  }
}

/**
 * The in-memory store as a layer.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerMemory: Layer.Layer<SyncStore> = Layer.sync(SyncStore, makeMemory)
