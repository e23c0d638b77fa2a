/**
 * Writes to a SQLite file off the HTTP thread: a worker thread owns a second connection to the same database
 * (WAL, `synchronous = FULL`) and stores batches of events in one transaction each, with prepared statements,
 * appending to the SQL event log one record per tenant naming them (`StoredEvents`) in that same transaction, as
 * `Committer.make` does through @effect/sql. A batch is answered only after its COMMIT returned on that thread, so
 * after the fsync.
 *
 * Batches queue here and one message is in flight at a time, carrying everything queued meanwhile, in order:
 * the longer a commit takes the larger the next one, and a batch handed over after another is stored after it.
 * Reads (inspector, worker, reports) stay on the @effect/sql connection: in WAL mode a read that starts after a
 * commit returned sees it.
 *
 * Why: better-sqlite3 is synchronous, so on the HTTP thread every commit's fsync and statement work stopped
 * request handling. PostgreSQL and `sqlite::memory:` (which a second connection cannot open) use `Committer.make`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { StoredEvents } from "@openaudience/example-worker"
import { type AppendOutcome, Database, isReceivedAt, StorageError, type StoredEvent } from "@openaudience/storage-sql"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import { Committer } from "./Committer.js"
import {
  source,
  type WriterData,
  type WriterMessage,
  type WriterPart,
  type WriterReply
} from "./internal/sqliteWriterThread.js"

/**
 * How long pixel groups may wait for more before they go to the writer thread. Larger transactions touch each hot
 * index page (a visitor's, the event log's) once for many events: fewer WAL pages written and synced per event.
 * Nobody waits on them (they are durable in their segment); a reader that must see them calls `hurry`. Those WAL
 * writes compete for the disk with the pixels' own appends: 300 ms against 100 ms gave 15.3-17.6k pixel requests a
 * second against 15.0-15.5k (three interleaved pairs, same p99), 600 ms no more than 300.
 */
const backgroundDelayMs = 300

/** Most event lines in one message (one transaction); the rest go in the next. */
const maxLinesPerMessage = 16_384

/** Per line: the stored seq, 0 for a duplicate, -1 for a line that could not be stored; or why nothing was. */
export type WriteResult = ReadonlyArray<number> | { readonly error: string }

export interface SqliteWriterShape {
  /** Stores `lines` event lines (see `eventLine`, each ending in "\n"); `done` once committed or failed. */
  readonly write: (text: string, lines: number, done: (result: WriteResult) => void) => void
  /** The same for lines already in a file, `length` bytes at `position`: the writer thread reads them there. */
  readonly writeFrom: (
    file: string,
    position: number,
    length: number,
    lines: number,
    done: (result: WriteResult) => void
  ) => void
  /** Sends what is queued now without waiting for more (someone is waiting to read it). */
  readonly hurry: () => void
}

export class SqliteWriter extends Context.Tag("@openaudience/example-server/SqliteWriter")<
  SqliteWriter,
  SqliteWriterShape
>() {}

/** JSON texts of frozen consent receipts (shared between events, see `Decision.receipts`), kept per object. */
const receiptTexts = new WeakMap<object, string>()

const consentText = (consent: unknown): string => {
  if (typeof consent !== "object" || consent === null || !Object.isFrozen(consent))
    return JSON.stringify(consent ?? null)
  let text = receiptTexts.get(consent)
  if (text === undefined) {
    text = JSON.stringify(consent)
    receiptTexts.set(consent, text)
  }
  return text
}

/**
 * One event as a line for the writer (and the append log's segments): a JSON array of the scalar columns, a tab,
 * the payload's JSON text, a tab, the consent receipt's JSON text (or `null`), and "\n". JSON text never holds a
 * raw tab or newline, and the writer thread binds the two JSON texts as they are, without parsing them again.
 * A `StorageError` if the event cannot be stored, checked here so that a bad event fails its own request and
 * never a shared batch.
 */
export const eventLine = (event: StoredEvent, index = 0): string | StorageError => {
  const invalid = (problem: string) =>
    new StorageError({ reason: "InvalidInput", message: `Cannot store event #${index}: ${problem}` })
  if (typeof event.tenant !== "string" || event.tenant === "" || event.tenant.includes("\u0000"))
    return invalid("tenant must be a non-empty string without NUL characters")
  if (typeof event.eventId !== "string" || event.eventId === "") return invalid("eventId must be a non-empty string")
  if (typeof event.type !== "string" || typeof event.site !== "string") return invalid("type and site must be strings")
  if (!isReceivedAt(event.receivedAt)) return invalid("receivedAt must be integer epoch ms from 1970 to 9999")
  const clientTs = event.clientTs ?? null
  if (clientTs !== null && !Number.isSafeInteger(clientTs)) return invalid("clientTs must be integer epoch ms")
  const visitor = event.visitor ?? null
  if (visitor !== null && typeof visitor !== "string") return invalid("visitor must be a string or null")
  let payload: string | undefined
  let consent: string | undefined
  try {
    payload = JSON.stringify(event.payload)
    consent = consentText(event.consent)
  } catch {
    return invalid("payload or consent is not representable as JSON")
  }
  // A value that serializes to nothing (undefined, a function) would not round-trip.
  if (typeof payload !== "string" || typeof consent !== "string")
    return invalid("payload or consent is not representable as JSON")
  const head = JSON.stringify([
    event.tenant,
    event.eventId,
    event.type,
    event.site,
    event.receivedAt,
    clientTs,
    visitor
  ])
  return `${head}\t${payload}\t${consent}\n`
}

const failure = (message: string, cause?: unknown) => new StorageError({ reason: "Unavailable", message, cause })

interface Part {
  /** The lines, or where they are in a file: [path, position, length]. */
  readonly text: WriterPart
  readonly lines: number
  /** Someone waits for it: sent without delay. */
  readonly urgent: boolean
  /** When it was queued (`performance.now()`). */
  readonly at: number
  readonly done: (result: WriteResult) => void
}

export interface WriterOptions {
  /** SQLite's busy timeout on the writer's connection (ms). */
  readonly busyTimeoutMs?: number
  /**
   * How long a message whose transaction meets a busy or locked database is tried again, in short sleeps, before
   * it fails as a whole (ms); its caller decides what then (the append log tries again a second later).
   */
  readonly busyRetryMs?: number
}

/** Starts the writer thread on a SQLite file whose tables already exist; it stops (after its queue) with the scope. */
export const make = (filename: string, options: WriterOptions = {}) =>
  Effect.gen(function* () {
    const queue: Array<Part> = []
    let inFlight: ReadonlyArray<Part> | undefined
    let nextId = 1
    let stopped: string | undefined
    let drained: (() => void) | undefined
    const clock = yield* Effect.clock

    const thread = yield* Effect.async<Worker, StorageError>((resume) => {
      const workerData: WriterData = {
        driver: createRequire(import.meta.url).resolve("better-sqlite3"),
        filename,
        busyTimeoutMs: options.busyTimeoutMs ?? Database.sqliteBusyTimeoutMs,
        busyRetryMs: options.busyRetryMs ?? 5_000,
        logKey: StoredEvents.key
      }
      const worker = new Worker(source, { eval: true, workerData })
      const onStart = (reply: WriterReply) => {
        worker.off("message", onStart)
        worker.off("error", onError)
        if ("fatal" in reply)
          resume(Effect.fail(failure(`Cannot open the SQLite writer on ${filename}: ${reply.fatal}`)))
        else resume(Effect.succeed(worker))
      }
      const onError = (error: Error) => {
        worker.off("message", onStart)
        resume(Effect.fail(failure(`The SQLite writer thread failed to start: ${error.message}`, error)))
      }
      worker.on("message", onStart)
      worker.once("error", onError)
    })

    const settle = (parts: ReadonlyArray<Part>, result: WriteResult) => {
      let offset = 0
      for (const part of parts) {
        part.done("error" in result ? result : result.slice(offset, offset + part.lines))
        offset += part.lines
      }
    }

    // Parts nobody waits on (pixels, durable in their segment already) may wait up to `backgroundDelayMs` for
    // company; anything else, a waiting reader (`hurry`) or shutdown sends at once.
    let urgent = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    let closing = false
    const send = () => {
      if (inFlight !== undefined || queue.length === 0) return
      if (urgent === 0 && !closing && stopped === undefined && queue.length > 0) {
        const wait = queue[0]!.at + backgroundDelayMs - performance.now()
        if (wait > 0) {
          timer ??= setTimeout(() => {
            timer = undefined
            send()
          }, wait)
          return
        }
      }
      if (timer !== undefined) {
        clearTimeout(timer)
        timer = undefined
      }
      if (stopped !== undefined) {
        const parts = queue.splice(0)
        settle(parts, { error: stopped })
        return drained?.()
      }
      let lines = 0
      let count = 0
      while (count < queue.length && (count === 0 || lines + queue[count]!.lines <= maxLinesPerMessage)) {
        lines += queue[count]!.lines
        count++
      }
      const parts = queue.splice(0, count)
      for (const part of parts) if (part.urgent) urgent--
      inFlight = parts
      const message: WriterMessage = {
        id: nextId++,
        parts: parts.map((part) => part.text),
        appendedAt: clock.unsafeCurrentTimeMillis()
      }
      thread.postMessage(message)
    }

    const finish = (result: WriteResult) => {
      const parts = inFlight
      inFlight = undefined
      if (parts !== undefined) settle(parts, result)
      if (queue.length > 0) send()
      else drained?.()
    }

    thread.on("message", (reply: WriterReply) => {
      if ("seqs" in reply) finish(reply.seqs)
      else if ("error" in reply) finish({ error: reply.error })
    })
    thread.on("error", (error) => {
      stopped = `the SQLite writer thread failed: ${error.message}`
      finish({ error: stopped })
    })
    thread.on("exit", () => {
      stopped ??= "the SQLite writer thread stopped"
      finish({ error: stopped })
    })

    // Stops after everything queued was written.
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        closing = true
        send()
        const close = () => {
          drained = undefined
          if (stopped !== undefined) return resume(Effect.void)
          thread.once("exit", () => resume(Effect.void))
          thread.postMessage("close")
        }
        if (inFlight === undefined && queue.length === 0) return close()
        drained = close
      })
    )

    const enqueue = (part: Part) => {
      if (part.lines === 0) return part.done([])
      if (stopped !== undefined) return part.done({ error: stopped })
      queue.push(part)
      if (part.urgent) urgent++
      send()
    }

    return SqliteWriter.of({
      write: (text, lines, done) => enqueue({ text, lines, done, urgent: true, at: performance.now() }),
      writeFrom: (file, position, length, lines, done) =>
        enqueue({ text: [file, position, length], lines, done, urgent: false, at: performance.now() }),
      hurry: () => {
        const last = queue[queue.length - 1]
        if (last === undefined) return
        if (!last.urgent) {
          // Counted down with the message that takes it: everything queued before it goes first.
          queue[queue.length - 1] = { ...last, urgent: true }
          urgent++
        }
        send()
      }
    })
  })

/**
 * The writer thread for a SQLite file. The HTTP thread's own connection stops checkpointing: a checkpoint started
 * by one of its rare writes would copy up to a thousand pages on the HTTP thread; the writer thread's commits do
 * them (SQLite's default, every 1,000 WAL pages).
 */
export const layer = (filename: string): Layer.Layer<SqliteWriter, StorageError, SqlClient.SqlClient> =>
  Layer.scoped(
    SqliteWriter,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`PRAGMA wal_autocheckpoint = 0`.pipe(
        Effect.mapError((cause) => failure("Cannot configure the SQLite connection", cause))
      )
      return yield* make(filename)
    })
  )

/** The group-commit step on the writer thread: a batch is stored in order with whatever else is queued. */
export const committer: Layer.Layer<Committer, never, SqliteWriter> = Layer.effect(
  Committer,
  Effect.map(SqliteWriter, (writer) =>
    Committer.of({
      commit: (events) =>
        Effect.async((resume) => {
          let text = ""
          for (let i = 0; i < events.length; i++) {
            const line = eventLine(events[i]!, i)
            if (typeof line !== "string") return resume(Effect.fail(line))
            text += line
          }
          writer.write(text, events.length, (result) => {
            if ("error" in result) return resume(Effect.fail(failure(`Appending events failed: ${result.error}`)))
            const outcomes = new Array<AppendOutcome>(result.length)
            let accepted = 0
            for (let i = 0; i < result.length; i++) {
              if (result[i]! < 0) return resume(Effect.fail(failure("Appending events failed: an event was refused")))
              if (result[i] === 0) outcomes[i] = "duplicate"
              else {
                outcomes[i] = "accepted"
                accepted++
              }
            }
            resume(Effect.succeed({ outcomes, accepted, duplicates: outcomes.length - accepted }))
          })
        })
    })
  )
)
