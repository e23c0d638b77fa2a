/**
 * The one write path for events, on SQLite and PostgreSQL alike: what a collector hands its rows to.
 *
 * - `append` (pixels): answered once the events are **durable in a local append log** (segment files written with
 *   `O_DSYNC`, see below) and stored in the database right behind, within about 0.3 s. This is what keeps the
 *   collector fast on both databases: a request waits for one local synced write, never for a database round trip,
 *   and one database transaction stores the events of thousands of requests. It also carries the collector through
 *   a database outage: acknowledged events wait in their segments and are retried every second; once
 *   `maxPendingEvents` wait, `append` answers a failure with `retryAfterSeconds` (a 503 with Retry-After) until the
 *   database catches up.
 * - `store` (batches and server-to-server events): answered once the events are **in the database**, with per-event
 *   outcomes (`accepted` or `duplicate`). A batch handed over after a pixel group is stored after it.
 *
 * Both are callback functions: they are the collector's hot-path seam (no fiber per request). `write` is the same
 * as `store` as an Effect, for everyone else. `afterStored` calls back once every event acknowledged so far is in
 * the database (a server routes reads through it, so a reader sees every acknowledged event).
 *
 * Where the database writes happen: on a writer thread with a connection of its own (a SQLite file: better-sqlite3
 * with prepared statements; PostgreSQL: the event store's append through @effect/sql-pg), so neither a commit's
 * fsync nor the statements' work stops the event loop; SQLite in memory (tests), which a second connection cannot
 * open: group commit through the `SqlClient` in context. One transaction stores many requests' events.
 * Every transaction that stores events also appends, per tenant, one event log record naming the stored events by
 * runs of `seq` (eventlog's `StoredEvents` format) to the SQL event log: the outbox workers read.
 *
 * What an acknowledgement guarantees (see the README): with an append log, an acknowledged pixel survives the
 * process being killed (it is on disk and replayed at the next start from the same directory) but not the loss of
 * that disk or machine before it reached the database (about 0.3 s, longer during a database outage); a stored event
 * (`store`, or any event once `afterStored` called back) is as durable as the database's commit. Without an append
 * log (`segments` unset) `append` waits for the database like `store`.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { StoredEvents } from "@openaudience/eventlog"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import { join } from "node:path"
import { parseUrl } from "./Database.js"
import { EventStore } from "./EventStore.js"
import { eventLine, parseLine } from "./internal/eventLine.js"
import * as GroupCommit from "./internal/groupCommit.js"
import * as Segments from "./internal/segments.js"
import * as WriterThread from "./internal/writerThread.js"
import * as SqlEventLog from "./SqlEventLog.js"
import { StorageError } from "./StorageError.js"
import type { AppendOutcome, AppendResult, StoredEvent } from "./StoredEvent.js"

/**
 * Why events were not taken: a message for the sender, and when to try again (seconds) if trying again may help.
 *
 * @since 0.2.0
 * @category models
 */
export interface Failure {
  readonly message: string
  readonly retryAfterSeconds?: number | undefined
}

/**
 * What `store` answers: per-event outcomes in input order, or why nothing was stored.
 *
 * @since 0.2.0
 * @category models
 */
export type StoreResult =
  | { readonly _tag: "Stored"; readonly outcomes: ReadonlyArray<AppendOutcome> }
  | { readonly _tag: "Failed"; readonly message: string; readonly retryAfterSeconds?: number | undefined }

/**
 * The write path's operations (see the module doc).
 *
 * @since 0.2.0
 * @category models
 */
export interface EventWriterShape {
  /** Makes events durable (in the append log, or stored); `done` with `undefined` once they are, or why not. */
  readonly append: (rows: ReadonlyArray<StoredEvent>, done: (failure: Failure | undefined) => void) => void
  /** Stores events in the database; `done` with their outcomes once committed, or why not. */
  readonly store: (rows: ReadonlyArray<StoredEvent>, done: (result: StoreResult) => void) => void
  /** `store` as an Effect. */
  readonly write: (rows: ReadonlyArray<StoredEvent>) => Effect.Effect<AppendResult, StorageError>
  /** Calls `then` once every event acknowledged so far is in the database (at once when none is pending). */
  readonly afterStored: (then: () => void) => void
  /** Events acknowledged by `append` that are not in the database yet. */
  readonly pending: () => number
}

/**
 * The event write path service.
 *
 * @since 0.2.0
 * @category services
 */
export class EventWriter extends Context.Tag("@openaudience/storage-sql/EventWriter")<
  EventWriter,
  EventWriterShape
>() {}

/**
 * What the write path reports, for metrics (all optional; plain callbacks, called on the hot path).
 *
 * @since 0.2.0
 * @category models
 */
export interface Observer {
  /** An appended event reached the database (or could not be stored). */
  readonly countEvent?: ((type: string, outcome: "accepted" | "duplicate" | "failed") => void) | undefined
  /** A group of events was made durable in the append log, in `millis`. */
  readonly observeAppend?: ((events: number, millis: number) => void) | undefined
  /** A database transaction stored `events`, in `millis` (group commit through @effect/sql only). */
  readonly observeCommit?: ((events: number, millis: number) => void) | undefined
}

/**
 * Options of `layer`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * The append log's directory (a folder per process is made in it). Unset: no append log, `append` stores before
   * it answers.
   */
  readonly segments?: string | undefined
  /**
   * Store through a writer thread with a connection of its own to this database (a `sqlite:<file>` or `postgres://`
   * URL of the same database as the `SqlClient`'s). Unset: group commit on the `SqlClient` in context.
   */
  readonly writerThread?: string | undefined
  /** At most this many acknowledged events wait for the database before `append` refuses more (default 250,000). */
  readonly maxPendingEvents?: number | undefined
  /** The size segment files are zero-filled to (default 16 MiB). */
  readonly segmentBytes?: number | undefined
  readonly observer?: Observer | undefined
}

const noop = () => undefined

/** The writer thread a database URL calls for (a SQLite file, or PostgreSQL), or none (SQLite in memory, invalid). */
const threadTarget = (databaseUrl: string): WriterThread.Target | undefined => {
  const url = parseUrl(databaseUrl)
  if (Either.isLeft(url)) return undefined
  if (url.right._tag === "Postgres") return { _tag: "Sql", databaseUrl }
  return url.right.filename === ":memory:" ? undefined : { _tag: "Sqlite", filename: url.right.filename }
}

/** Events stored through `store` and `write` fail as a whole when one of them cannot be stored. */
const outcomesOf = (result: ReadonlyArray<number>): ReadonlyArray<AppendOutcome> | undefined => {
  const outcomes = new Array<AppendOutcome>(result.length)
  for (let i = 0; i < result.length; i++) {
    const seq = result[i]!
    if (seq < 0) return undefined
    outcomes[i] = seq > 0 ? "accepted" : "duplicate"
  }
  return outcomes
}

/**
 * The write path over the `SqlClient`'s database (see the module doc); its tables must exist (`EventStore.layer`
 * and `SqlEventLog.layer` create them). Closing the scope stores everything acknowledged first.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<EventWriter, StorageError, SqlClient.SqlClient | EventStore> =>
  Layer.scoped(
    EventWriter,
    Effect.gen(function* () {
      const runtime = yield* Effect.runtime<never>()
      const log = (effect: Effect.Effect<void>) => Runtime.runFork(runtime)(effect)
      const observer = options.observer ?? {}
      const countEvent = observer.countEvent ?? noop
      const warn = (message: string) => log(Effect.logWarning(message))

      type Backend = Segments.Backend & {
        readonly storeRows: (
          rows: ReadonlyArray<StoredEvent>,
          text: string,
          done: (result: WriterThread.WriteResult) => void
        ) => void
      }

      let backend: Backend
      const target = options.writerThread === undefined ? undefined : threadTarget(options.writerThread)
      if (target !== undefined) {
        if (target._tag === "Sqlite") {
          const sql = yield* SqlClient.SqlClient
          // The writer thread's commits checkpoint the WAL; one started by a rare write on this connection would
          // copy up to a thousand pages on the event loop.
          yield* sql`PRAGMA wal_autocheckpoint = 0`.pipe(
            Effect.mapError(
              (cause) => new StorageError({ reason: "Unavailable", message: "Cannot configure SQLite", cause })
            )
          )
        }
        const writer = yield* WriterThread.make(target, { warn })
        backend = {
          storeRows: (rows, text, done) => writer.write(text, rows.length, done),
          readsSegments: true,
          storeAppended: writer.writeFrom,
          storeLines: (text, lines, done) => writer.write(text, lines, done),
          hurry: writer.hurry
        }
      } else {
        const store = yield* EventStore
        const sql = yield* SqlClient.SqlClient
        const inTransaction = (accepted: ReadonlyArray<{ readonly tenant: string; readonly seq: number }>) =>
          SqlEventLog.appendInTransaction(StoredEvents.toLogRecords(accepted)).pipe(
            Effect.provideService(SqlClient.SqlClient, sql)
          )
        const commits = yield* GroupCommit.make({
          commit: (rows) => store.append(rows, { inTransaction }),
          backgroundDelayMs: WriterThread.backgroundDelayMs,
          observe: observer.observeCommit ?? noop,
          logFailure: (cause) => log(Effect.logError("storing events failed", cause))
        })
        backend = {
          storeRows: (rows, _text, done) => commits.submit(rows, true, done),
          readsSegments: false,
          storeAppended: (rows, done) => commits.submit(rows, false, done),
          storeLines: (text, lines, done) => {
            const rows: Array<StoredEvent> = []
            for (const line of text.split("\n")) {
              const row = line === "" ? undefined : parseLine(line)
              if (row !== undefined) rows.push(row)
            }
            if (rows.length !== lines) return done({ error: "a segment line could not be read back" })
            commits.submit(rows, true, done)
          },
          hurry: commits.hurry
        }
      }

      const store = (rows: ReadonlyArray<StoredEvent>, done: (result: StoreResult) => void) => {
        if (rows.length === 0) return done({ _tag: "Stored", outcomes: [] })
        let text = ""
        for (let i = 0; i < rows.length; i++) {
          const line = eventLine(rows[i]!, i)
          if (typeof line !== "string") return done({ _tag: "Failed", message: line.message })
          text += line
        }
        backend.storeRows(rows, text, (result) => {
          if ("error" in result)
            return done({ _tag: "Failed", message: "the event store is unavailable", retryAfterSeconds: 1 })
          const outcomes = outcomesOf(result)
          if (outcomes === undefined) return done({ _tag: "Failed", message: "an event could not be stored" })
          done({ _tag: "Stored", outcomes })
        })
      }

      let appendLog: Segments.AppendLog
      if (options.segments !== undefined) {
        appendLog = yield* Segments.make(
          options.segments,
          backend,
          {
            countEvent,
            observeAppend: observer.observeAppend ?? noop,
            warn,
            info: (message) => log(Effect.logInfo(message))
          },
          { segmentBytes: options.segmentBytes, maxPending: options.maxPendingEvents ?? 250_000 }
        ).pipe(
          Effect.mapError(
            (cause) => new StorageError({ reason: "Unavailable", message: cause.message, cause: cause.cause })
          )
        )
      } else {
        appendLog = {
          append: (rows, done) =>
            store(rows, (result) => {
              if (result._tag === "Failed") {
                for (const row of rows) countEvent(row.type, "failed")
                return done(result)
              }
              for (let i = 0; i < rows.length; i++) countEvent(rows[i]!.type, result.outcomes[i]!)
              done(undefined)
            }),
          afterStored: (then) => then(),
          pending: () => 0
        }
      }

      return EventWriter.of({
        append: appendLog.append,
        store,
        write: (rows) =>
          Effect.async<AppendResult, StorageError>((resume) =>
            store(rows, (result) => {
              if (result._tag === "Failed")
                return resume(Effect.fail(new StorageError({ reason: "Unavailable", message: result.message })))
              let accepted = 0
              for (const outcome of result.outcomes) if (outcome === "accepted") accepted++
              resume(
                Effect.succeed({
                  outcomes: result.outcomes,
                  accepted,
                  duplicates: result.outcomes.length - accepted
                })
              )
            })
          ),
        afterStored: appendLog.afterStored,
        pending: appendLog.pending
      })
    })
  )

/**
 * The write path a database URL calls for: on a SQLite file, a writer thread and an append log beside the file
 * (`<file>-segments`); on PostgreSQL, a writer thread and an append log in `segments` (if given); in memory, group
 * commit alone.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFromUrl = (
  databaseUrl: string,
  options: Omit<Options, "writerThread"> = {}
): Layer.Layer<EventWriter, StorageError, SqlClient.SqlClient | EventStore> => {
  const url = parseUrl(databaseUrl)
  if (Either.isLeft(url)) return Layer.fail(url.left)
  if (url.right._tag === "Sqlite") {
    if (url.right.filename === ":memory:") return layer({ ...options, segments: undefined })
    return layer({ ...options, writerThread: databaseUrl, segments: `${url.right.filename}-segments` })
  }
  return layer({ ...options, writerThread: databaseUrl })
}

/**
 * The default append log directory for a data folder.
 *
 * @since 0.2.0
 * @category models
 */
export const segmentsIn = (dataDir: string): string => join(dataDir, "segments")
