/** Stores events the way the collector does: event store insert and `StoredEvents` log records in one transaction. */
import * as SqlClient from "@effect/sql/SqlClient"
import { StoredEvents } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import { EventStore, type SequencedEvent, SqlEventLog, type StoredEvent } from "../src/index.js"

export const collect = (...events: ReadonlyArray<StoredEvent>) =>
  Effect.gen(function* () {
    const store = yield* EventStore.EventStore
    const sql = yield* SqlClient.SqlClient
    return yield* store.append(events, {
      inTransaction: (accepted: ReadonlyArray<SequencedEvent>) =>
        SqlEventLog.appendInTransaction(StoredEvents.toLogRecords(accepted)).pipe(
          Effect.provideService(SqlClient.SqlClient, sql)
        )
    })
  })
