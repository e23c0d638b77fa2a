/**
 * The PostgreSQL writer thread's module (started by `writerThread.ts` through `thread.ts`, from this file: never from
 * source text). It owns a connection pool of its own and, per message, stores the message's event lines in one
 * transaction through the event store's own `append` (one multi-row INSERT … ON CONFLICT DO NOTHING per chunk), with
 * the event log's records (eventlog's `StoredEvents` format) in that same transaction; it answers after COMMIT. The
 * statement building, the protocol work and the JSON of thousands of events a second then run here, not on the event
 * loop that answers pixels. Replies as `sqliteWriterThread.ts` does: per line a positive number for a stored event,
 * 0 for a duplicate, -1 for a line that cannot be read; or `{ error }` when nothing was stored.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as StoredEvents from "@openaudience/eventlog/StoredEvents"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { parentPort, workerData } from "node:worker_threads"
import { layerFromUrl } from "../Database.js"
import { EventStore, make as makeEventStore } from "../EventStore.js"
import { appendInTransaction } from "../SqlEventLog.js"
import type { StoredEvent } from "../StoredEvent.js"
import { parseLine } from "./eventLine.js"
import { segmentReader } from "./segmentReader.js"
import type { WriterData, WriterMessage, WriterReply } from "./writerProtocol.js"

const data = workerData as WriterData
const port = parentPort!
const reply = (message: WriterReply) => port.postMessage(message)
const messageOf = (error: unknown): string => String((error as { readonly message?: unknown } | null)?.message ?? error)

const runtime = ManagedRuntime.make(
  Layer.effect(EventStore, makeEventStore).pipe(Layer.provideMerge(layerFromUrl(data.database)))
)

const store = (lines: ReadonlyArray<StoredEvent>) =>
  Effect.gen(function* () {
    const events = yield* EventStore
    const sql = yield* SqlClient.SqlClient
    return yield* events.append(lines, {
      inTransaction: (accepted) =>
        appendInTransaction(StoredEvents.toLogRecords(accepted)).pipe(Effect.provideService(SqlClient.SqlClient, sql))
    })
  })

const textOf = segmentReader()

runtime.runCallback(SqlClient.SqlClient, {
  onExit: (exit) => {
    if (Exit.isFailure(exit)) {
      reply({ fatal: messageOf(exit.cause) })
      port.close()
      return
    }
    port.on("message", (message: WriterMessage) => {
      if (message === "close") {
        textOf.close()
        void runtime.dispose().then(() => port.close())
        return
      }
      let rows: Array<StoredEvent>
      const seqs: Array<number> = []
      try {
        rows = []
        for (const line of textOf(message.parts).split("\n")) {
          if (line === "") continue
          const row = parseLine(line)
          if (row === undefined) seqs.push(-1)
          else {
            seqs.push(0)
            rows.push(row)
          }
        }
      } catch (error) {
        return reply({ id: message.id, error: messageOf(error) })
      }
      runtime.runCallback(store(rows), {
        onExit: (result) => {
          if (Exit.isFailure(result)) return reply({ id: message.id, error: messageOf(result.cause) })
          let k = 0
          for (let i = 0; i < seqs.length; i++)
            if (seqs[i] === 0) seqs[i] = result.value.outcomes[k++] === "accepted" ? 1 : 0
          reply({ id: message.id, seqs })
        }
      })
    })
    reply({ ready: true })
  }
})
