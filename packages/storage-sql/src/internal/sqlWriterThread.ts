/**
 * The PostgreSQL writer thread's module (started by `writerThread.ts` through `thread.ts`, from this file: never from
 * source text). It owns a connection pool of its own and, per message, stores the message's event lines in one
 * transaction: ONE statement inserting every line through `unnest` of nine array parameters (idempotent on
 * `(tenant, event_id)`, the payload and receipt bound as the JSON text the lines already hold, never parsed here),
 * then the event log's records (eventlog's `StoredEvents` format) naming what was stored, then COMMIT. The statement
 * building, the protocol work and the JSON of thousands of events a second run here, not on the event loop that
 * answers pixels, and PostgreSQL parses and plans one short statement per message whatever its size. Replies as
 * `sqliteWriterThread.ts` does: per line the stored seq, 0 for a duplicate, -1 for a line that cannot be read; or
 * `{ error }` when nothing was stored.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as StoredEvents from "@openaudience/eventlog/StoredEvents"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { parentPort, workerData } from "node:worker_threads"
import { layerFromUrl } from "../Database.js"
import { isReceivedAt } from "../StoredEvent.js"
import { appendInTransaction } from "../SqlEventLog.js"
import { segmentReader } from "./segmentReader.js"
import type { WriterData, WriterMessage, WriterReply } from "./writerProtocol.js"

const data = workerData as WriterData
const port = parentPort!
const reply = (message: WriterReply) => port.postMessage(message)
const messageOf = (error: unknown): string => String((error as { readonly message?: unknown } | null)?.message ?? error)

const runtime = ManagedRuntime.make(layerFromUrl(data.database))

/** The columns of the lines of one message, each line once (the first of a repeated `(tenant, event_id)`). */
interface Columns {
  readonly tenant: Array<string>
  readonly eventId: Array<string>
  readonly type: Array<string>
  readonly site: Array<string>
  readonly receivedAt: Array<number>
  readonly clientTs: Array<number | null>
  readonly visitor: Array<string | null>
  readonly payload: Array<string>
  readonly consent: Array<string | null>
}

/** Reads the lines: per line its row in `columns`, -1 for a line that cannot be read, or the row it repeats. */
const columnsOf = (text: string): { readonly columns: Columns; readonly rowOf: Array<number> } => {
  const columns: Columns = {
    tenant: [],
    eventId: [],
    type: [],
    site: [],
    receivedAt: [],
    clientTs: [],
    visitor: [],
    payload: [],
    consent: []
  }
  const rowOf: Array<number> = []
  const seen = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    const parts = line.split("\t")
    let head: unknown
    try {
      head = parts.length === 3 ? JSON.parse(parts[0]!) : undefined
    } catch {
      head = undefined
    }
    if (!Array.isArray(head) || head.length !== 7) {
      rowOf.push(-1)
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
      rowOf.push(-1)
      continue
    }
    const key = `${tenant}\u0000${eventId}`
    const known = seen.get(key)
    if (known !== undefined) {
      rowOf.push(known)
      continue
    }
    const row = columns.tenant.length
    seen.set(key, row)
    rowOf.push(row)
    columns.tenant.push(tenant)
    columns.eventId.push(eventId)
    columns.type.push(type)
    columns.site.push(site)
    columns.receivedAt.push(receivedAt)
    columns.clientTs.push(clientTs as number | null)
    columns.visitor.push(visitor as string | null)
    columns.payload.push(parts[1]!)
    columns.consent.push(parts[2] === "null" ? null : parts[2]!)
  }
  return { columns, rowOf }
}

/**
 * Stores the rows in one transaction with their event log records (seqs assigned in input order); the seq of each
 * row stored now, 0 for one stored before.
 */
const store = (columns: Columns) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        const returned = yield* sql<{
          readonly seq: number | string
          readonly tenant: string
          readonly event_id: string
        }>`
          INSERT INTO events (tenant, event_id, type, site, received_at, client_ts, visitor, payload, consent)
          SELECT tenant, event_id, type, site, received_at, client_ts, visitor, payload, consent FROM unnest(
            ${columns.tenant}::text[], ${columns.eventId}::text[], ${columns.type}::text[], ${columns.site}::text[],
            ${columns.receivedAt}::bigint[], ${columns.clientTs}::bigint[], ${columns.visitor}::text[],
            ${columns.payload}::jsonb[], ${columns.consent}::jsonb[]
          ) WITH ORDINALITY AS input (tenant, event_id, type, site, received_at, client_ts, visitor, payload, consent, n)
          ORDER BY n
          ON CONFLICT (tenant, event_id) DO NOTHING
          RETURNING seq, tenant, event_id`
        const seqOf = new Map<string, number>()
        const accepted: Array<{ readonly tenant: string; readonly seq: number }> = []
        for (const row of returned) {
          const seq = Number(row.seq)
          seqOf.set(`${row.tenant}\u0000${row.event_id}`, seq)
          accepted.push({ tenant: row.tenant, seq })
        }
        yield* appendInTransaction(StoredEvents.toLogRecords(accepted))
        const seqs = new Array<number>(columns.tenant.length)
        for (let i = 0; i < seqs.length; i++)
          seqs[i] = seqOf.get(`${columns.tenant[i]}\u0000${columns.eventId[i]}`) ?? 0
        return seqs
      })
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
      let read: ReturnType<typeof columnsOf>
      try {
        read = columnsOf(textOf(message.parts))
      } catch (error) {
        return reply({ id: message.id, error: messageOf(error) })
      }
      const { columns, rowOf } = read
      if (columns.tenant.length === 0) return reply({ id: message.id, seqs: rowOf.map(() => -1) })
      runtime.runCallback(store(columns), {
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
