/**
 * The source of the SQLite writer thread (see `SqliteWriter.ts`), run with `new Worker(source, { eval: true })`:
 * plain CommonJS so it loads the same way under tsx, vitest and the bundled build, with the better-sqlite3 driver
 * passed in by absolute path. It owns one connection (WAL, `synchronous = FULL`) and, per message, stores a
 * batch in one transaction: each row through one prepared INSERT (idempotent on `(tenant, event_id)`), one record
 * per tenant into `event_log` (the outbox the workers read) naming the stored rows by runs of seq (the format of
 * `StoredEvents.toLogRecords` in the worker), then COMMIT, whose fsync happens here
 * instead of on the HTTP thread. It answers only after COMMIT returned.
 *
 * Message in: `{ id, parts, appendedAt }`, each part event lines (see `eventLine`), as text or as `[path, position,
 * length]` of a segment file that holds them (read here, so the HTTP thread does not copy them over). Out: `{ id, seqs }` with
 * per line the stored seq, 0 for a duplicate, -1 for a line that cannot be stored (then every other line was
 * stored in a transaction of its own, so one bad line never sinks the rest), or `{ id, error }` when no line
 * could be stored or the database itself failed (busy past the retries, full, I/O: nothing is marked unstorable); `{ ready: true }` once open, `{ fatal }` if it cannot open.
 */

export const source = `
"use strict"
const { parentPort, workerData } = require("node:worker_threads")
const fs = require("node:fs")
let db
try {
  const Database = require(workerData.driver)
  db = new Database(workerData.filename)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = FULL")
  db.pragma("busy_timeout = " + Number(workerData.busyTimeoutMs))
} catch (error) {
  parentPort.postMessage({ fatal: String((error && error.message) || error) })
  throw error
}
const insertEvent = db.prepare(
  "INSERT INTO events (tenant, event_id, type, site, received_at, client_ts, visitor, payload, consent) " +
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, event_id) DO NOTHING RETURNING seq"
)
const insertLog = db.prepare(
  "INSERT INTO event_log (tenant, partition_key, payload, appended_at) VALUES (?, ?, ?, ?)"
)
const begin = db.prepare("BEGIN IMMEDIATE")
const commit = db.prepare("COMMIT")
const rollback = db.prepare("ROLLBACK")
// Stores one line; returns its seq (0 for a duplicate) and adds a stored one to \`stored\` (seqs per tenant).
const storeLine = (line, stored) => {
  const parts = line.split("\\t")
  if (parts.length !== 3) throw new Error("not an event line")
  const [tenant, eventId, type, site, receivedAt, clientTs, visitor] = JSON.parse(parts[0])
  const inserted = insertEvent.get(
    tenant,
    eventId,
    type,
    site,
    receivedAt,
    clientTs,
    visitor,
    parts[1],
    parts[2] === "null" ? null : parts[2]
  )
  if (inserted === undefined) return 0
  const seq = inserted.seq
  const seqs = stored.get(tenant)
  if (seqs === undefined) stored.set(tenant, [seq])
  else seqs.push(seq)
  return seq
}
// One event log record per tenant naming what the transaction stored as ascending runs of seqs: the format of
// StoredEvents.toLogRecords in the worker (the server's tests check that the two agree).
const logStored = (stored, appendedAt) => {
  for (const [tenant, seqs] of stored) {
    seqs.sort((a, b) => a - b)
    const runs = []
    for (const seq of seqs) {
      const run = runs[runs.length - 1]
      if (run !== undefined && seq === run[1] + 1) run[1] = seq
      else if (run === undefined || seq > run[1]) runs.push([seq, seq])
    }
    insertLog.run(tenant, workerData.logKey, JSON.stringify({ stored: runs, events: seqs.length }), appendedAt)
  }
}
const transaction = (lines, from, to, seqs, appendedAt) => {
  begin.run()
  try {
    const stored = new Map()
    for (let i = from; i < to; i++) seqs[i] = storeLine(lines[i], stored)
    logStored(stored, appendedAt)
    commit.run()
  } catch (error) {
    if (db.inTransaction) rollback.run()
    throw error
  }
}
// Errors of the database rather than of a line (locked, busy, disk full, I/O): no line is to blame, so none is
// marked unstorable; the whole message fails and the caller tries it again later.
const transient = (error) =>
  typeof (error && error.code) === "string" && /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|NOMEM|PROTOCOL|INTERRUPT)/.test(error.code)
const pause = new Int32Array(new SharedArrayBuffer(4))
const store = (text, appendedAt) => {
  const lines = text.split("\\n")
  if (lines[lines.length - 1] === "") lines.pop()
  const seqs = new Array(lines.length)
  let error
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
      if (Date.now() - started >= Number(workerData.busyRetryMs)) throw caught
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
  console.error("SQLite writer: " + failed + " event(s) cannot be stored:", String((last && last.message) || last))
  return seqs
}
// Open segment files, by path: the two most recently read stay open.
const files = new Map()
const readRange = (path, position, length) => {
  let fd = files.get(path)
  if (fd === undefined) {
    fd = fs.openSync(path, "r")
    if (files.size >= 2) {
      const [oldest, oldFd] = files.entries().next().value
      files.delete(oldest)
      fs.closeSync(oldFd)
    }
  } else files.delete(path)
  files.set(path, fd)
  const buffer = Buffer.allocUnsafe(length)
  let read = 0
  while (read < length) {
    const n = fs.readSync(fd, buffer, read, length - read, position + read)
    if (n === 0) throw new Error("segment " + path + " is shorter than expected")
    read += n
  }
  return buffer.toString("utf8")
}
const textOf = (parts) => {
  let text = ""
  for (const part of parts) text += typeof part === "string" ? part : readRange(part[0], part[1], part[2])
  return text
}
parentPort.on("message", (message) => {
  if (message === "close") {
    db.close()
    parentPort.close()
    return
  }
  try {
    parentPort.postMessage({ id: message.id, seqs: store(textOf(message.parts), message.appendedAt) })
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: String((error && error.message) || error) })
  }
})
parentPort.postMessage({ ready: true })
`
