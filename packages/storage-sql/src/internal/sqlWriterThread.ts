/**
 * The PostgreSQL writer thread's module (started by `writerThread.ts` through `thread.ts`, from this file: never from
 * source text). It owns a connection pool of its own and, per message, stores the message's event lines in one
 * transaction: ONE statement inserting every line from ONE JSON parameter (`jsonb_to_recordset`; idempotent on
 * `(tenant, event_id)`, see `store`; the array is built from the JSON texts the lines already hold, never parsed or escaped
 * here), then the event log's records (eventlog's `StoredEvents` format) naming what was stored, then COMMIT. The statement
 * building, the protocol work and the JSON of thousands of events a second run here, not on the event loop that
 * answers pixels, and PostgreSQL parses and plans one short statement per message whatever its size. Replies as
 * `sqliteWriterThread.ts` does: per line the stored seq, 0 for a duplicate, -1 for a line that cannot be read; or
 * `{ error }` when nothing was stored.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as StoredEvents from "@openaudience/eventlog/StoredEvents"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { parentPort, workerData } from "node:worker_threads"
import { layerFromUrl } from "../Database.js"
import { isReceivedAt } from "../StoredEvent.js"
import { appendInTransaction } from "../SqlEventLog.js"
import { segmentReader } from "./segmentReader.js"
import { lowerPriority } from "./thread.js"
import type { WriterData, WriterMessage, WriterReply } from "./writerProtocol.js"

const data = workerData as WriterData
const port = parentPort!
const reply = (message: WriterReply) => port.postMessage(message)
const messageOf = (error: unknown): string => String((error as { readonly message?: unknown } | null)?.message ?? error)

// Pixels are answered from the append log; storing them may lag a little behind when the cores are busy.
lowerPriority()

const runtime = ManagedRuntime.make(layerFromUrl(data.database))

/**
 * The lines of one message as ONE JSON array of events, each an object of the `events` columns: built by
 * concatenation, with the payload and receipt texts of the lines as they are (never parsed or escaped again here);
 * only each head is read, for the keys and the scalar columns. Per line: its event's index in the array, -1 for a line that cannot be read, or the index of the earlier line
 * of the message it repeats.
 */
const batchOf = (
  text: string
): { readonly json: string; readonly keys: Array<string>; readonly indexOf: Array<number> } => {
  const parts: Array<string> = []
  const keys: Array<string> = []
  const indexOf: Array<number> = []
  const seen = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    const fields = line.split("\t")
    let head: unknown
    try {
      head = fields.length === 3 ? JSON.parse(fields[0]!) : undefined
    } catch {
      head = undefined
    }
    if (!Array.isArray(head) || head.length !== 7) {
      indexOf.push(-1)
      continue
    }
    const [tenant, eventId, type, site, receivedAt, clientTs, visitor] = head as Array<unknown>
    if (
      typeof tenant !== "string" ||
      typeof eventId !== "string" ||
      typeof type !== "string" ||
      typeof site !== "string" ||
      !isReceivedAt(receivedAt) ||
      (clientTs !== null && !Number.isSafeInteger(clientTs)) ||
      (visitor !== null && typeof visitor !== "string")
    ) {
      indexOf.push(-1)
      continue
    }
    const key = `${tenant}\u0000${eventId}`
    const known = seen.get(key)
    if (known !== undefined) {
      indexOf.push(known)
      continue
    }
    seen.set(key, keys.length)
    indexOf.push(keys.length)
    keys.push(key)
    parts.push(
      `{"tenant":${JSON.stringify(tenant)},"event_id":${JSON.stringify(eventId)},"type":${JSON.stringify(type)},` +
        `"site":${JSON.stringify(site)},"received_at":${receivedAt},"client_ts":${clientTs},` +
        `"visitor":${JSON.stringify(visitor)},"payload":${fields[1]!},"consent":${fields[2]!}}`
    )
  }
  return { json: `[${parts.join(",")}]`, keys, indexOf }
}

/** A unique violation (SQLSTATE 23505): here, an event stored before. */
const isDuplicate = (error: SqlError): boolean =>
  (error.cause as { readonly code?: unknown } | null | undefined)?.code === "23505"

/**
 * Stores the events in one transaction with their event log records (seqs assigned in input order); the seq of
 * each event stored now, 0 for one stored before.
 *
 * The insert is `oa_insert_events` (storage migration 2), whose plan PostgreSQL keeps per connection. A plain INSERT
 * first: nearly every message holds only new events. When one was stored before (a replay after a
 * crash, an event sent again), the statement fails on the unique key, the transaction rolls back, and it runs again
 * skipping the stored ones (`ON CONFLICT DO NOTHING`). That clause alone cost PostgreSQL about 6 µs more per row of
 * new events (speculative insertion), measured on 3,000-row statements (50 against 44 µs a row).
 */
const store = (batch: { readonly json: string; readonly keys: ReadonlyArray<string> }) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const attempt = (skipStored: boolean) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const returned = yield* sql<{
            readonly seq: number | string
            readonly tenant: string
            readonly event_id: string
          }>`
            SELECT out_seq AS seq, out_tenant AS tenant, out_event_id AS event_id
            FROM oa_insert_events(${batch.json}::jsonb, ${skipStored})`
          const seqOf = new Map<string, number>()
          const accepted: Array<{ readonly tenant: string; readonly seq: number }> = []
          for (const row of returned) {
            const seq = Number(row.seq)
            seqOf.set(`${row.tenant}\u0000${row.event_id}`, seq)
            accepted.push({ tenant: row.tenant, seq })
          }
          yield* appendInTransaction(StoredEvents.toLogRecords(accepted))
          return batch.keys.map((key) => seqOf.get(key) ?? 0)
        })
      )
    return yield* attempt(false).pipe(
      Effect.catchIf(
        (error): error is SqlError => error._tag === "SqlError" && isDuplicate(error),
        () => attempt(true)
      )
    )
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
      let batch: ReturnType<typeof batchOf>
      try {
        batch = batchOf(textOf(message.parts))
      } catch (error) {
        return reply({ id: message.id, error: messageOf(error) })
      }
      const { indexOf: rowOf } = batch
      if (batch.keys.length === 0) return reply({ id: message.id, seqs: rowOf.map(() => -1) })
      runtime.runCallback(store(batch), {
        onExit: (result) => {
          if (Exit.isFailure(result)) return reply({ id: message.id, error: messageOf(result.cause) })
          // A row's seq goes to its first line; a line repeating an earlier one in the message is a duplicate.
          const first = new Set<number>()
          const seqs = rowOf.map((row) => {
            if (row < 0) return -1
            if (first.has(row)) return 0
            first.add(row)
            return result.value[row]!
          })
          reply({ id: message.id, seqs })
        }
      })
    })
    reply({ ready: true })
  }
})
