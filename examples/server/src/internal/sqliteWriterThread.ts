/**
 * The SQLite writer thread (see `SqliteWriter.ts`), run with `new Worker(source, { eval: true })`. `main` is written
 * and type-checked here as TypeScript; `source` is its compiled text, so the thread starts without a module loader
 * and the same way under tsx, vitest and the bundled build. `main` must therefore use nothing from this module's
 * scope: it loads what it needs with the thread's `require`, which it is given, the better-sqlite3 driver by the
 * absolute path in `workerData`, and gets `StoredEvents.runsOf` (self-contained too) as its text.
 *
 * The thread owns one connection (WAL, `synchronous = FULL`) and, per message, stores a batch in one transaction:
 * each row through one prepared INSERT (idempotent on `(tenant, event_id)`), one record per tenant into `event_log`
 * (the outbox the workers read) naming the stored rows by runs of seq (the format of `StoredEvents.toLogRecords` in
 * the worker), then COMMIT, whose fsync happens here instead of on the HTTP thread. It answers only after COMMIT
 * returned.
 *
 * Message in (`WriterMessage`): `{ id, parts, appendedAt }`, each part event lines (see `eventLine`), as text or as
 * `[path, position, length]` of a segment file that holds them (read here, so the HTTP thread does not copy them
 * over). Out (`WriterReply`): `{ id, seqs }` with per line the stored seq, 0 for a duplicate, -1 for a line that
 * cannot be stored (then every other line was stored in a transaction of its own, so one bad line never sinks the
 * rest), or `{ id, error }` when no line could be stored or the database itself failed (busy past the retries, full,
 * I/O: nothing is marked unstorable); `{ ready: true }` once open, `{ fatal }` if it cannot open.
 */
import type BetterSqlite3 from "better-sqlite3"
import type * as Fs from "node:fs"
import type * as WorkerThreads from "node:worker_threads"
import { StoredEvents } from "@openaudience/example-worker"

/** What the thread is started with. */
export interface WriterData {
  /** The absolute path of the better-sqlite3 package. */
  readonly driver: string
  readonly filename: string
  readonly busyTimeoutMs: number
  /** How long a busy or locked database is retried before the message fails. */
  readonly busyRetryMs: number
  /** The partition key of the event log records (`StoredEvents.key`). */
  readonly logKey: string
}

/** A part of a message: event lines as text, or `[path, position, length]` of a segment file holding them. */
export type WriterPart = string | readonly [path: string, position: number, length: number]

/** A message to the thread. */
export type WriterMessage =
  | "close"
  | { readonly id: number; readonly parts: ReadonlyArray<WriterPart>; readonly appendedAt: number }

/** A message from the thread. */
export type WriterReply =
  | { readonly ready: true }
  | { readonly fatal: string }
  | { readonly id: number; readonly seqs: ReadonlyArray<number> }
  | { readonly id: number; readonly error: string }

/**
 * The thread's program. `load` is the thread's `require` (a parameter, so that no bundler rewrites the calls);
 * `runsOf` is `StoredEvents.runsOf`, passed in as its text.
 */
const main = (load: NodeJS.Require, runsOf: typeof StoredEvents.runsOf): void => {
  const { parentPort, workerData } = load("node:worker_threads") as typeof WorkerThreads
  const fs = load("node:fs") as typeof Fs
  const data = workerData as WriterData
  const port = parentPort!
  const reply = (message: WriterReply) => port.postMessage(message)
  const messageOf = (error: unknown): string =>
    String((error as { readonly message?: unknown } | null)?.message ?? error)

  let db: BetterSqlite3.Database
  try {
    const Database = load(data.driver) as typeof BetterSqlite3
    db = new Database(data.filename)
    db.pragma("journal_mode = WAL")
    db.pragma("synchronous = FULL")
    db.pragma(`busy_timeout = ${Number(data.busyTimeoutMs)}`)
  } catch (error) {
    reply({ fatal: messageOf(error) })
    throw error
  }
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

  /**
   * One event log record per tenant naming what the transaction stored as ascending runs of seqs: the format of
   * `StoredEvents.toLogRecords` in the worker, with its `runsOf` (a test checks that the two agree).
   */
  const logStored = (stored: Map<string, Array<number>>, appendedAt: number) => {
    for (const [tenant, seqs] of stored) {
      insertLog.run(tenant, data.logKey, JSON.stringify({ stored: runsOf(seqs), events: seqs.length }), appendedAt)
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

  const store = (text: string, appendedAt: number): Array<number> => {
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
    console.error(`SQLite writer: ${failed} event(s) cannot be stored:`, messageOf(last))
    return seqs
  }

  // Open segment files, by path: the two most recently read stay open.
  const files = new Map<string, number>()
  const readRange = (path: string, position: number, length: number): string => {
    let fd = files.get(path)
    if (fd === undefined) {
      fd = fs.openSync(path, "r")
      if (files.size >= 2) {
        const [oldest, oldFd] = files.entries().next().value as [string, number]
        files.delete(oldest)
        fs.closeSync(oldFd)
      }
    } else files.delete(path)
    files.set(path, fd)
    const buffer = Buffer.allocUnsafe(length)
    let read = 0
    while (read < length) {
      const n = fs.readSync(fd, buffer, read, length - read, position + read)
      if (n === 0) throw new Error(`segment ${path} is shorter than expected`)
      read += n
    }
    return buffer.toString("utf8")
  }
  const textOf = (parts: ReadonlyArray<WriterPart>): string => {
    let text = ""
    for (const part of parts) text += typeof part === "string" ? part : readRange(part[0], part[1], part[2])
    return text
  }

  port.on("message", (message: WriterMessage) => {
    if (message === "close") {
      db.close()
      port.close()
      return
    }
    try {
      reply({ id: message.id, seqs: store(textOf(message.parts), message.appendedAt) })
    } catch (error) {
      reply({ id: message.id, error: messageOf(error) })
    }
  })
  reply({ ready: true })
}

/**
 * The thread's source: `main`'s compiled text, called. Transpilers that keep function names (tsx) wrap functions in
 * a `__name` helper that the thread does not have, so it gets one that does nothing.
 */
export const source = `"use strict";\nconst __name = (target) => target;\n(${main.toString()})(require, ${StoredEvents.runsOf.toString()});\n`
