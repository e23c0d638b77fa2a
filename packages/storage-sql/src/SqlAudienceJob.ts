/**
 * The audience job for @openaudience/eventlog's `Consumer` runner, and the audience package's `Sync` ports over this
 * package's stores. `job` is audience's `Sync` as a `Consumer.Job`: pending edits first (`before`), then the records
 * read from the log (each record's position and runs of stored events, see `StoredEvents`) applied in one
 * transaction with the job's cursor (`apply`), then the sweep (`after`). It runs over the ports in context;
 * `layer` gives them over SQL: `SqlSyncStore`, the change sink writing each membership change to the SQL event log
 * in the job's transaction (`layerChangeSink`), and the source reading `AudienceStore` and `EventStore`
 * (`layerSource`, any implementation of those).
 *
 * The job lives here rather than in @openaudience/audience because it is the one place that meets both the log's
 * record format and the audience engine: audience stays free of the log, and eventlog free of audiences.
 *
 * @since 0.2.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { ChangeSink, type Membership, Sync, SyncSource, type SyncStore } from "@openaudience/audience"
import { Consumer, type LogRecord, type StoredEvents } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AudienceStore } from "./AudienceStore.js"
import { EventStore } from "./EventStore.js"
import * as SqlEventLog from "./SqlEventLog.js"
import * as SqlSyncStore from "./SqlSyncStore.js"
import type { StorageError } from "./StorageError.js"

/**
 * The consumer name the job commits its log offsets under.
 *
 * @since 0.2.0
 * @category models
 */
export const consumer = SqlSyncStore.consumer

/**
 * The log's items as audience deliveries: each record's position (`Consumer.position`), tenant and runs of stored
 * events.
 *
 * @since 0.2.0
 * @category combinators
 */
export const deliveries = (items: ReadonlyArray<StoredEvents.Item>): ReadonlyArray<Sync.Delivery> =>
  items.map(({ record, ranges }) => ({ position: Consumer.position(record), tenant: record.tenant, ranges }))

/**
 * The audience job (see the module docs), over the `Sync` ports in context.
 *
 * @since 0.2.0
 * @category models
 */
export const job: Consumer.Job<Sync.SyncError, Sync.Ports> = {
  name: consumer,
  before: Sync.applyAllEdits,
  apply: (items) => Sync.ingest(deliveries(items)),
  after: Sync.sweep()
}

/**
 * The log record of a membership change, emitted for other consumers (an ad server's cache, exports): keyed by
 * visitor like the visitor's events. It names no stored events, so event consumers pass over it.
 *
 * @since 0.2.0
 * @category combinators
 */
export const toLogRecord = (tenant: string, visitor: string, change: Membership.Change): LogRecord => {
  const { _tag, ...fields } = change
  return { tenant, key: visitor, payload: { membership: _tag, visitor, ...fields } }
}

/**
 * The change sink writing to the SQL event log in the caller's transaction (the event log's tables must exist).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerChangeSink: Layer.Layer<ChangeSink.ChangeSink, never, SqlClient.SqlClient> = Layer.effect(
  ChangeSink.ChangeSink,
  Effect.map(Effect.context<SqlClient.SqlClient>(), (context) => {
    const append = (records: ReadonlyArray<LogRecord>) =>
      SqlEventLog.appendInTransaction(records).pipe(
        Effect.asVoid,
        Effect.mapError((error) => new ChangeSink.ChangeSinkError({ message: error.message })),
        Effect.provide(context)
      )
    return ChangeSink.ChangeSink.of({
      emit: (tenant, visitor, changes) => append(changes.map((change) => toLogRecord(tenant, visitor, change))),
      emitAll: (tenant, batch) =>
        append(batch.flatMap(([visitor, changes]) => changes.map((change) => toLogRecord(tenant, visitor, change))))
    })
  })
)

const sourceFailure = (error: StorageError) => new SyncSource.SyncSourceError({ message: error.message })

/**
 * The source over the `AudienceStore` and `EventStore` in context (SQL or in memory).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSource: Layer.Layer<SyncSource.SyncSource, never, AudienceStore | EventStore> = Layer.effect(
  SyncSource.SyncSource,
  Effect.gen(function* () {
    const audiences = yield* AudienceStore
    const events = yield* EventStore
    return SyncSource.SyncSource.of({
      revisions: Effect.mapError(audiences.revisions, sourceFailure),
      revision: (tenant) => Effect.mapError(audiences.revision(tenant), sourceFailure),
      audiences: (tenant) =>
        audiences.list(tenant).pipe(
          Effect.map((list) => list.filter((a) => a.status === "active").map((a) => ({ id: a.id, rule: a.rule }))),
          Effect.mapError(sourceFailure)
        ),
      count: (tenant) => Effect.mapError(events.count(tenant), sourceFailure),
      visitors: (tenant, after, limit) => Effect.mapError(events.visitors(tenant, after, limit), sourceFailure),
      byVisitors: (tenant, visitors) => Effect.mapError(events.byVisitors(tenant, visitors), sourceFailure),
      // Only events with a visitor key can move a visitor's state (audience's VisitorEvent.matters): the database
      // skips the rest (cookieless, consentless and server-side events without an id).
      bySeqRanges: (tenant, ranges) =>
        Effect.mapError(events.bySeqRanges(tenant, ranges, { identified: true }), sourceFailure)
    })
  })
)

/**
 * Every `Sync` port but the membership store (see `SqlMembershipStore`) over SQL: `SqlSyncStore` (its tables
 * migrated when built), `layerChangeSink` (the event log's tables must exist: the SQL event log's layer creates them)
 * and `layerSource`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<
  SyncSource.SyncSource | SyncStore.SyncStore | ChangeSink.ChangeSink,
  StorageError,
  SqlClient.SqlClient | AudienceStore | EventStore
> = Layer.mergeAll(SqlSyncStore.layer, layerChangeSink, layerSource)
