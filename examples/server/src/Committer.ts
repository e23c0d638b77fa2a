/**
 * The commit step of group commit: store a batch of events and append the accepted ones to the event log in
 * the same transaction, so the worker sees exactly the stored events, each once.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { type EventLogError, SqlEventLog } from "@openaudience/eventlog"
import {
  type AppendResult,
  EventStore,
  type SequencedEvent,
  type StorageError,
  type StoredEvent
} from "@openaudience/storage-sql"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export interface CommitterShape {
  readonly commit: (events: ReadonlyArray<StoredEvent>) => Effect.Effect<AppendResult, StorageError | EventLogError>
}

export class Committer extends Context.Tag("@openaudience/example-server/Committer")<Committer, CommitterShape>() {}

/**
 * The event log record of a stored event: keyed by visitor (or event id) so one visitor's events stay in order.
 * It carries the envelope, not the event's data: workers that need the data read the stored event by `seq`, and
 * the hot path does not serialise and write every event twice.
 */
export const toLogRecord = (event: SequencedEvent) => ({
  tenant: event.tenant,
  key: event.visitor ?? event.eventId,
  payload: {
    seq: event.seq,
    eventId: event.eventId,
    type: event.type,
    site: event.site,
    receivedAt: event.receivedAt,
    visitor: event.visitor
  }
})

export const make = Effect.gen(function* () {
  const store = yield* EventStore.EventStore
  const sql = yield* SqlClient.SqlClient
  const inTransaction = (accepted: ReadonlyArray<SequencedEvent>) =>
    SqlEventLog.appendInTransaction(accepted.map(toLogRecord)).pipe(Effect.provideService(SqlClient.SqlClient, sql))
  return Committer.of({ commit: (events) => store.append(events, { inTransaction }) })
})

export const layer = Layer.effect(Committer, make)
