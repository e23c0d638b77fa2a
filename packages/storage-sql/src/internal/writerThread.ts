/**
 * Writes to the database off the calling thread: a worker thread owns a connection of its own and stores batches
 * of event lines in one transaction each, appending the event log's records in that same transaction. A batch is
 * answered only after its COMMIT returned on that thread. On a SQLite file the thread is `sqliteWriterThread.ts`
 * (better-sqlite3, prepared statements, WAL with `synchronous = FULL`); on PostgreSQL `sqlWriterThread.ts` (the
 * event store's own append through @effect/sql-pg).
 *
 * Batches queue here and one message is in flight at a time, carrying everything queued meanwhile, in order: the
 * longer a commit takes the larger the next one, and a batch handed over after another is stored after it. Reads
 * stay on the @effect/sql connection: in WAL mode a read that starts after a commit returned sees it.
 *
 * Why: better-sqlite3 is synchronous, so on the HTTP thread every commit's fsync and statement work stopped request
 * handling.
 */
import * as Effect from "effect/Effect"
import { sqliteBusyTimeoutMs } from "../Database.js"
import { StorageError } from "../StorageError.js"
import type { WriterData, WriterMessage, WriterPart, WriterReply } from "./writerProtocol.js"
import { moduleUrl, start } from "./thread.js"

/** Which thread module stores the lines, and what it is started with. */
export type Target =
  | { readonly _tag: "Sqlite"; readonly filename: string }
  | { readonly _tag: "Sql"; readonly databaseUrl: string }

/**
 * How long lines nobody waits on (pixels, durable in their segment already) may wait for more before they go to the
 * writer thread. Larger transactions touch each hot index page once for many events: fewer WAL pages written and
 * synced per event. A reader that must see them calls `hurry`. 300 ms against 100 ms gave 15.3-17.6k pixel requests
 * a second against 15.0-15.5k (three interleaved pairs, same p99), 600 ms no more than 300.
 */
export const backgroundDelayMs = 300

/** Most event lines in one message (one transaction); the rest go in the next. */
const maxLinesPerMessage = 16_384

/** Per line: the stored seq, 0 for a duplicate, -1 for a line that could not be stored; or why nothing was. */
export type WriteResult = ReadonlyArray<number> | { readonly error: string }

export interface WriterThread {
  /** Stores `lines` event lines (each ending in "\n"); `done` once committed or failed. Sent without delay. */
  readonly write: (text: string, lines: number, done: (result: WriteResult) => void) => void
  /** The same for lines already in a file, `length` bytes at `position`: the thread reads them there. May wait. */
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

export interface WriterOptions {
  /** SQLite's busy timeout on the writer's connection (ms). */
  readonly busyTimeoutMs?: number | undefined
  /**
   * How long a message whose transaction meets a busy or locked database is tried again, in short sleeps, before
   * it fails as a whole (ms); its caller decides what then.
   */
  readonly busyRetryMs?: number | undefined
  /** Where the thread's warnings go. */
  readonly warn: (message: string) => void
}

const failure = (message: string, cause?: unknown) => new StorageError({ reason: "Unavailable", message, cause })

interface Part {
  readonly text: WriterPart
  readonly lines: number
  /** Someone waits for it: sent without delay. */
  readonly urgent: boolean
  /** When it was queued (`performance.now()`). */
  readonly at: number
  readonly done: (result: WriteResult) => void
}

/** Starts the writer thread on a database whose tables already exist; it stops (after its queue) with the scope. */
export const make = (target: Target, options: WriterOptions) =>
  Effect.gen(function* () {
    const queue: Array<Part> = []
    let inFlight: ReadonlyArray<Part> | undefined
    let nextId = 1
    let stopped: string | undefined
    let drained: (() => void) | undefined
    const clock = yield* Effect.clock

    const thread = yield* Effect.async<import("node:worker_threads").Worker, StorageError>((resume) => {
      const workerData: WriterData = {
        database: target._tag === "Sqlite" ? target.filename : target.databaseUrl,
        busyTimeoutMs: options.busyTimeoutMs ?? sqliteBusyTimeoutMs,
        busyRetryMs: options.busyRetryMs ?? 5_000
      }
      const module = target._tag === "Sqlite" ? "./sqliteWriterThread" : "./sqlWriterThread"
      const worker = start(moduleUrl(module, import.meta.url), { workerData })
      const shown = target._tag === "Sqlite" ? target.filename : "the database"
      const onStart = (reply: WriterReply) => {
        worker.off("message", onStart)
        worker.off("error", onError)
        if ("fatal" in reply) resume(Effect.fail(failure(`Cannot open the event writer on ${shown}: ${reply.fatal}`)))
        else resume(Effect.succeed(worker))
      }
      const onError = (error: Error) => {
        worker.off("message", onStart)
        resume(Effect.fail(failure(`The event writer thread failed to start: ${error.message}`, error)))
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

    // Parts nobody waits on may wait up to `backgroundDelayMs` for company; anything else, a waiting reader
    // (`hurry`) or shutdown sends at once.
    let urgent = 0
    let timer: ReturnType<typeof setTimeout> | undefined
    let closing = false
    const send = () => {
      if (inFlight !== undefined || queue.length === 0) return
      if (urgent === 0 && !closing && stopped === undefined) {
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
      else if ("warning" in reply) options.warn(`event writer: ${reply.warning}`)
    })
    thread.on("error", (error) => {
      stopped = `the event writer thread failed: ${error.message}`
      finish({ error: stopped })
    })
    thread.on("exit", () => {
      stopped ??= "the event writer thread stopped"
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
          thread.postMessage("close" satisfies WriterMessage)
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

    const writer: WriterThread = {
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
    }
    return writer
  })
