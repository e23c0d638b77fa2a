/**
 * The worker's audience job, now @openaudience/audience's `Sync` run as @openaudience/storage-sql's
 * `SqlAudienceJob.job` over the SQL ports (`SqlAudienceJob.layer`). This module only keeps the worker's former entry
 * points, over the stores in context, until the worker composes `SqlAudienceJob.job` with eventlog's `Consumer`;
 * then it goes.
 */
import { Sync, SyncStore } from "@openaudience/audience"
import { Consumer, EventLog, type StoredEvents } from "@openaudience/eventlog"
import { SqlAudienceJob, SqlSyncStore } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The `Sync` ports over the SQL stores in context (tables migrated by `migrate`). */
const ports = Layer.mergeAll(
  Layer.effect(SyncStore.SyncStore, SqlSyncStore.make),
  SqlAudienceJob.layerChangeSink,
  SqlAudienceJob.layerSource
)

const withPorts = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, ports)

const job = {
  name: SqlAudienceJob.consumer,
  before: withPorts(Sync.applyAllEdits),
  apply: (items: ReadonlyArray<StoredEvents.Item>) => withPorts(SqlAudienceJob.job.apply(items)),
  after: withPorts(Sync.sweep())
}

export const consumer = SqlAudienceJob.consumer
export const migrate = SqlSyncStore.migrate
export const applied = SqlSyncStore.applied
export const status = SqlSyncStore.status
export const daily = SqlSyncStore.daily
export const applyEdits = (tenant: string) => withPorts(Sync.applyEdits(tenant))
export const applyAllEdits = job.before
export const sweep = (limit = 1_000) => withPorts(Sync.sweep(limit))
export const ingest = (max = 500) => Consumer.readAndApply(job, max)
export const step = (max = 500) => Consumer.stepOf(job, max)

/** Applies records read after this job's committed offset, then commits past them. */
export const apply = (items: ReadonlyArray<StoredEvents.Item>) =>
  items.length === 0
    ? Effect.void
    : Effect.zipRight(
        job.apply(items),
        Effect.flatMap(EventLog.EventLog, (log) => log.commit(consumer, items[items.length - 1]!.record.offset))
      )
