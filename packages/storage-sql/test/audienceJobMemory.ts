/**
 * The audience job's suite in memory: an in-memory `AudienceStore` (same revision and ordering rules as the SQL one),
 * a change sink appending to the `EventLog` in context, and the collector's path over the in-memory event store and
 * log.
 */
import { ChangeSink, MembershipStore, SyncStore } from "@openaudience/audience"
import { EventLog, StoredEvents } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AudienceStore, EventStore, SqlAudienceJob, StorageError, type StoredEvent } from "../src/index.js"

/** An in-memory audience store: every change bumps the tenant's revision; `list` in creation order. */
export const makeMemoryAudienceStore = (): AudienceStore.AudienceStoreService => {
  const audiences = new Map<string, Map<string, AudienceStore.StoredAudience>>()
  const revisions = new Map<string, number>()
  const bump = (tenant: string) => revisions.set(tenant, (revisions.get(tenant) ?? 0) + 1)
  const of = (tenant: string) => {
    let map = audiences.get(tenant)
    if (map === undefined) {
      map = new Map()
      audiences.set(tenant, map)
    }
    return map
  }
  return {
    create: (tenant, id, input, now) =>
      Effect.suspend(() => {
        if (of(tenant).has(id)) {
          return Effect.fail(new StorageError({ reason: "InvalidInput", message: `An audience ${id} already exists` }))
        }
        const stored: AudienceStore.StoredAudience = { ...input, id, version: 1, createdAt: now, updatedAt: now }
        of(tenant).set(id, stored)
        bump(tenant)
        return Effect.succeed(stored)
      }),
    update: (tenant, id, input, now) =>
      Effect.sync(() => {
        const known = of(tenant).get(id)
        if (known === undefined) return Option.none()
        const stored = { ...known, ...input, version: known.version + 1, updatedAt: now }
        of(tenant).set(id, stored)
        bump(tenant)
        return Option.some(stored)
      }),
    remove: (tenant, id) =>
      Effect.sync(() => {
        if (!of(tenant).delete(id)) return false
        bump(tenant)
        return true
      }),
    get: (tenant, id) => Effect.sync(() => Option.fromNullable(of(tenant).get(id))),
    list: (tenant) =>
      Effect.sync(() =>
        [...of(tenant).values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      ),
    revision: (tenant) => Effect.sync(() => revisions.get(tenant) ?? 0),
    revisions: Effect.sync(() =>
      [...revisions]
        .map(([tenant, revision]) => ({ tenant, revision }))
        .sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0))
    )
  }
}

/** A change sink appending each change to the `EventLog` in context, as the SQL one does in its transaction. */
export const changeSinkToLog: Layer.Layer<ChangeSink.ChangeSink, never, EventLog.EventLog> = Layer.effect(
  ChangeSink.ChangeSink,
  Effect.map(EventLog.EventLog, (log) =>
    ChangeSink.ChangeSink.of({
      emit: (tenant, visitor, changes) =>
        log.append(changes.map((change) => SqlAudienceJob.toLogRecord(tenant, visitor, change))).pipe(
          Effect.asVoid,
          Effect.mapError((error) => new ChangeSink.ChangeSinkError({ message: error.message }))
        )
    })
  )
)

/** Every store the suite needs, in memory. */
export const memoryLayer = Layer.mergeAll(
  SqlAudienceJob.layerSource,
  SyncStore.layerMemory,
  changeSinkToLog,
  MembershipStore.layerMemory
).pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      EventStore.layerMemory,
      EventLog.layerMemory,
      Layer.sync(AudienceStore.AudienceStore, makeMemoryAudienceStore)
    )
  )
)

/** The collector's path in memory: events stored, then the log records naming them (dropped if appending fails). */
export const collectMemory = (...events: ReadonlyArray<StoredEvent>) =>
  Effect.gen(function* () {
    const store = yield* EventStore.EventStore
    const log = yield* EventLog.EventLog
    return yield* store.append(events, {
      inTransaction: (accepted) => log.append(StoredEvents.toLogRecords(accepted))
    })
  })
