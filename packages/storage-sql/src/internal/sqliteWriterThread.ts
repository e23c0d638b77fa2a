/**
 * The SQLite writer thread's module (started by `writerThread.ts` through `thread.ts`, from this file: never from
 * source text). It owns one connection (WAL, `synchronous = FULL`) and, per message, stores a batch in one
 * transaction: each row through one prepared INSERT (idempotent on `(tenant, event_id)`), one record per tenant into
 * the SQL event log (the outbox the workers read) naming the stored rows by runs of seq (eventlog's `StoredEvents`
 * format), then COMMIT, whose fsync happens here instead of on the HTTP thread. It answers only after COMMIT
 * returned.
 *
 * Message in (`WriterMessage`): `{ id, parts, appendedAt }`, each part event lines (see `eventLine.ts`), as text or
 * as `[path, position, length]` of a segment file that holds them (read here, so the HTTP thread does not copy them
 * over). Out (`WriterReply`): `{ id, seqs }` with per line the stored seq, 0 for a duplicate, -1 for a line that
 * cannot be stored (then every other line was stored in a transaction of its own, so one bad line never sinks the
 * rest), or `{ id, error }` when no line could be stored or the database itself failed (busy past the retries, full,
 * I/O: nothing is marked unstorable); `{ ready: true }` once open, `{ fatal }` if it cannot open.
 */
import * as StoredEvents from "@openaudience/eventlog/StoredEvents"
import type Database from "better-sqlite3"
import { parentPort, workerData } from "node:worker_threads"
import type { WriterData, WriterMessage, WriterReply } from "./writerProtocol.js"
import { segmentReader } from "./segmentReader.js"
import { openWriterConnection } from "./sqliteWriterConnection.js"
import { lowerPriority } from "./thread.js"

const data = workerData as WriterData
const port = parentPort!
const reply = (message: WriterReply) => port.postMessage(message)
const messageOf = (error: unknown): string => String((error as { readonly message?: unknown } | null)?.message ?? error)

/** How often the thread checkpoints the WAL besides its own commits' automatic checkpoints. */
const checkpointEveryMs = 1_000

// Pixels are answered from the append log; storing them may lag a little behind when the cores are busy (as on
// PostgreSQL, sqlWriterThread.ts): at the same priority this thread took the HTTP thread's turns on its core.
lowerPriority()

const open = (): Database.Database | undefined => {
  try {
    return openWriterConnection(data.database, data.busyTimeoutMs)
  } catch (error) {
    reply({ fatal: messageOf(error) })
    port.close()
    return undefined
  }
}

const run = (db: Database.Database) => {
  // No RETURNING: the new row's rowid (its seq) comes with run()'s result, about 2 µs an event cheaper.
  const insertEvent = db.prepare<
    [string, string, string, string, number, number | null, string | null, string, string | null]
  >(
    "INSERT INTO events (tenant, event_id, type, site, received_at, client_ts, visitor, payload, consent) " +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, event_id) DO NOTHING"
  )
  const insertLog = db.prepare<[string, string, string, number]>(
    "INSERT INTO event_log (tenant, partition_key, payload, appended_at) VALUES (?, ?, ?, ?)"
  )
  const begin = db.prepare("BEGIN IMMEDIATE")
  const commit = db.prepare("COMMIT")
  const rollback = db.prepare("ROLLBACK")

  /** Stores one line; returns its seq (0 for a duplicate) and adds a stored one to `stored` (seqs per tenant). */
  const storeLine = (line: string, stored: Map<string, Array<number>>): number => {
    const parts = line.split("\t")
    if (parts.length !== 3) throw new Error("not an event line")
    const [tenant, eventId, type, site, receivedAt, clientTs, visitor] = JSON.parse(parts[0]!) as [
      string,
      string,
      string,
      string,
      number,
      number | null,
      string | null
    ]
    const inserted = insertEvent.run(
      tenant,
      eventId,
      type,
      site,
      receivedAt,
      clientTs,
      visitor,
      parts[1]!,
      parts[2] === "null" ? null : parts[2]!
    )
    // A duplicate changes nothing (and leaves lastInsertRowid at an earlier row's).
    if (inserted.changes === 0) return 0
    const seq = Number(inserted.lastInsertRowid)
    const seqs = stored.get(tenant)
    if (seqs === undefined) stored.set(tenant, [seq])
    else seqs.push(seq)
    return seq
  }

  /** The event log records of what the transaction stored: eventlog's `StoredEvents.toLogRecords` format. */
  const logStored = (stored: Map<string, Array<number>>, appendedAt: number) => {
    for (const [tenant, seqs] of stored) {
      const payload: StoredEvents.StoredPayload = { stored: StoredEvents.runsOf(seqs), events: seqs.length }
      insertLog.run(tenant, StoredEvents.key, JSON.stringify(payload), appendedAt)
    }
  }

  const transaction = (lines: ReadonlyArray<string>, from: number, to: number, seqs: Array<number>, at: number) => {
    begin.run()
    try {
      const stored = new Map<string, Array<number>>()
      for (let i = from; i < to; i++) seqs[i] = storeLine(lines[i]!, stored)
      logStored(stored, at)
      commit.run()
    } catch (error) {
      if (db.inTransaction) rollback.run()
      throw error
    }
  }

  /**
   * Errors of the database rather than of a line (locked, busy, disk full, I/O): no line is to blame, so none is
   * marked unstorable; the whole message fails and the caller tries it again later.
   */
  const transient = (error: unknown): boolean => {
    const code = (error as { readonly code?: unknown } | null)?.code
    return typeof code === "string" && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|NOMEM|PROTOCOL|INTERRUPT)/.test(code)
  }
  const pause = new Int32Array(new SharedArrayBuffer(4))

  const store = (id: number, text: string, appendedAt: number): Array<number> => {
    const lines = text.split("\n")
    if (lines[lines.length - 1] === "") lines.pop()
    const seqs = new Array<number>(lines.length)
    let error: unknown
    // A busy database (another connection's long transaction, a checkpoint) is waited out a little longer here,
    // in short sleeps, before the message fails.
    const started = Date.now()
    for (let attempt = 0; ; attempt++) {
      try {
        transaction(lines, 0, lines.length, seqs, appendedAt)
        return seqs
      } catch (caught) {
        error = caught
        if (!transient(caught)) break
        if (Date.now() - started >= Number(data.busyRetryMs)) throw caught
        Atomics.wait(pause, 0, 0, Math.min(5 * 2 ** attempt, 200))
      }
    }
    // One line at a time: a line that fails alone is bad (-1); if every line fails, the whole message fails, to be
    // retried; a transient error on the way fails it too (lines stored before it are duplicates on the retry).
    let failed = 0
    let last = error
    for (let i = 0; i < lines.length; i++) {
      try {
        transaction(lines, i, i + 1, seqs, appendedAt)
      } catch (lineError) {
        if (transient(lineError)) throw lineError
        seqs[i] = -1
        failed++
        last = lineError
      }
    }
    if (failed === lines.length) throw last
    reply({ id, warning: `${failed} event(s) cannot be stored: ${messageOf(last)}` })
    return seqs
  }

  const textOf = segmentReader()

  // The HTTP thread's connection never checkpoints (`wal_autocheckpoint = 0` there, see EventWriter: a checkpoint
  // copies pages on the event loop), and this thread's commits do only while events arrive. Where the other
  // connections write and no events do (an ad server logging decisions, a quiet shop), the WAL would grow without
  // end and every read slow down with it: so this thread also runs a passive checkpoint (never waiting for readers
  // or writers) every `checkpointEveryMs`, between messages.
  const checkpoints = setInterval(() => {
    try {
      db.pragma("wal_checkpoint(PASSIVE)")
    } catch {
      // Busy (another checkpoint running) or closing: the next tick tries again.
    }
  }, checkpointEveryMs)

  port.on("message", (message: WriterMessage) => {
    if (message === "close") {
      clearInterval(checkpoints)
      textOf.close()
      db.close()
      port.close()
      return
    }
    try {
      reply({ id: message.id, seqs: store(message.id, textOf(message.parts), message.appendedAt) })
    } catch (error) {
      reply({ id: message.id, error: messageOf(error) })
    }
  })
  reply({ ready: true })
}

const db = open()
if (db !== undefined) run(db)
