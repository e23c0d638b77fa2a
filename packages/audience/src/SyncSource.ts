/**
 * What the audience job (`Sync`) reads from stores it does not own: a tenant's audience definitions with the
 * revision every change bumps, and the tenant's stored events, by visitor (for backfills) and by runs of `seq` (the
 * event log's records name stored events that way). A read-only port: the job never writes here. `makeMemory` is an
 * in-memory source you can fill (tests, previews); @openaudience/storage-sql adapts its `AudienceStore` and
 * `EventStore` to it.
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Audience from "./Audience.js"
import type { VisitorEvent } from "./VisitorEvent.js"

/**
 * Reading the source failed.
 *
 * @since 0.3.0
 * @category errors
 */
export class SyncSourceError extends Schema.TaggedError<SyncSourceError>()("SyncSourceError", {
  message: Schema.String
}) {}

/**
 * A stored event with its `seq`: the store's sequence number, growing in the order events were stored.
 *
 * @since 0.3.0
 * @category models
 */
export interface SequencedEvent extends VisitorEvent {
  readonly seq: number
}

/**
 * An inclusive run of `seq`s, `[first, last]`.
 *
 * @since 0.3.0
 * @category models
 */
export type SeqRange = readonly [first: number, last: number]

/**
 * A tenant's audience revision.
 *
 * @since 0.3.0
 * @category models
 */
export interface Revision {
  readonly tenant: string
  readonly revision: number
}

/**
 * The port.
 *
 * @since 0.3.0
 * @category models
 */
export interface Service {
  /** Every tenant that ever had audiences, with its current revision. */
  readonly revisions: Effect.Effect<ReadonlyArray<Revision>, SyncSourceError>
  /** A tenant's current revision (0 before its first audience). */
  readonly revision: (tenant: string) => Effect.Effect<number, SyncSourceError>
  /** A tenant's active audiences (drafts are not evaluated), in a stable order. */
  readonly audiences: (tenant: string) => Effect.Effect<ReadonlyArray<Audience.Definition>, SyncSourceError>
  /** How many events a tenant has stored. */
  readonly count: (tenant: string) => Effect.Effect<number, SyncSourceError>
  /** The distinct visitor keys of a tenant's stored events after `after`, in key order, at most `limit`. */
  readonly visitors: (
    tenant: string,
    after: string | undefined,
    limit: number
  ) => Effect.Effect<ReadonlyArray<string>, SyncSourceError>
  /** The stored events of several visitors, grouped by visitor in the order given, oldest first in each. */
  readonly byVisitors: (
    tenant: string,
    visitors: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<SequencedEvent>, SyncSourceError>
  /** The stored events whose `seq` lies in one of the runs (those still stored), in `seq` order, each once. */
  readonly bySeqRanges: (
    tenant: string,
    ranges: ReadonlyArray<SeqRange>
  ) => Effect.Effect<ReadonlyArray<SequencedEvent>, SyncSourceError>
}

/**
 * The source the audience job reads.
 *
 * @since 0.3.0
 * @category services
 */
export class SyncSource extends Context.Tag("@openaudience/audience/SyncSource")<SyncSource, Service>() {}

/**
 * An in-memory source and the means to fill it.
 *
 * @since 0.3.0
 * @category models
 */
export interface Memory extends Service {
  /** Replaces a tenant's active audiences and bumps its revision, like any audience edit. */
  readonly define: (tenant: string, audiences: ReadonlyArray<Audience.Definition>) => Effect.Effect<number>
  /** Stores events (each gets the next `seq`); returns them with their seqs. */
  readonly store: (tenant: string, events: ReadonlyArray<VisitorEvent>) => Effect.Effect<ReadonlyArray<SequencedEvent>>
}

/**
 * Builds an empty in-memory source.
 *
 * @since 0.3.0
 * @category constructors
 */
export const makeMemory = (): Memory => {
  const tenants = new Map<string, { revision: number; audiences: ReadonlyArray<Audience.Definition> }>()
  const events: Array<SequencedEvent & { readonly tenant: string }> = []
  let nextSeq = 1
  const of = (tenant: string) => events.filter((e) => e.tenant === tenant)
  const strip = ({ tenant: _, ...event }: SequencedEvent & { readonly tenant: string }): SequencedEvent => event
  return {
    revisions: Effect.sync(() =>
      [...tenants]
        .map(([tenant, t]) => ({ tenant, revision: t.revision }))
        .sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0))
    ),
    revision: (tenant) => Effect.sync(() => tenants.get(tenant)?.revision ?? 0),
    audiences: (tenant) => Effect.sync(() => tenants.get(tenant)?.audiences ?? []),
    count: (tenant) => Effect.sync(() => of(tenant).length),
    visitors: (tenant, after, limit) =>
      Effect.sync(() => {
        const keys = new Set<string>()
        for (const e of of(tenant))
          if (e.visitor !== null && (after === undefined || e.visitor > after)) keys.add(e.visitor)
        return [...keys].sort().slice(0, Math.max(0, Math.floor(limit)))
      }),
    byVisitors: (tenant, visitors) =>
      Effect.sync(() => {
        const mine = of(tenant)
        return visitors.flatMap((v) => mine.filter((e) => e.visitor === v).map(strip))
      }),
    bySeqRanges: (tenant, ranges) =>
      Effect.sync(() =>
        of(tenant)
          .filter((e) => ranges.some(([first, last]) => e.seq >= first && e.seq <= last))
          .map(strip)
      ),
    define: (tenant, audiences) =>
      Effect.sync(() => {
        const revision = (tenants.get(tenant)?.revision ?? 0) + 1
        tenants.set(tenant, { revision, audiences: [...audiences] })
        return revision
      }),
    store: (tenant, list) =>
      Effect.sync(() =>
        list.map((event) => {
          const sequenced = { ...event, seq: nextSeq++ }
          events.push({ ...sequenced, tenant })
          return sequenced
        })
      )
  }
}

/**
 * An empty in-memory source as a layer.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerMemory: Layer.Layer<SyncSource> = Layer.sync(SyncSource, makeMemory)
