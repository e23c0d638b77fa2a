/**
 * The commit step of group commit: store a batch of events and, in the same transaction, append one event log
 * record per tenant naming the accepted ones by seq (`StoredEvents.toLogRecords`), so the worker sees exactly
 * the stored events, each once.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { EventLogError } from "@openaudience/eventlog"
import { StoredEvents } from "@openaudience/example-worker"
import {
  type AppendResult,
  EventStore,
  type SequencedEvent,
  SqlEventLog,
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

export const make = Effect.gen(function* () {
  const store = yield* EventStore.EventStore
  const sql = yield* SqlClient.SqlClient
  const inTransaction = (accepted: ReadonlyArray<SequencedEvent>) =>
    SqlEventLog.appendInTransaction(StoredEvents.toLogRecords(accepted)).pipe(
      Effect.provideService(SqlClient.SqlClient, sql)
    )
  return Committer.of({ commit: (events) => store.append(events, { inTransaction }) })
})

export const layer = Layer.effect(Committer, make)
