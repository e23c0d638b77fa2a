/**
 * The entry of the standard workers' thread (see `Workers.layerThread`): opens its own connection to the database
 * it is given, runs the workers over the SQL event log at a lower CPU priority, and ends when its parent
 * asks it to stop (after the current step) or when the workers fail (the parent then starts another thread). Its
 * log entries go to the parent, which logs them with its own logger: one log format for the whole process.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import { parentPort, workerData } from "node:worker_threads"
import * as AudienceStore from "../AudienceStore.js"
import * as Database from "../Database.js"
import * as EventStore from "../EventStore.js"
import * as SqlMembershipStore from "../SqlMembershipStore.js"
import * as Workers from "../Workers.js"
import { lowerPriority } from "./thread.js"

/** What the thread is started with. */
export interface WorkerData {
  readonly _tag: "OpenAudienceWorkers"
  readonly databaseUrl: string
}

/** A message from the parent: stop after the current step. */
export type ToThread = { readonly _tag: "Stop" }

/** A message to the parent: a log entry of the thread, its message parts as text. */
export type FromThread = {
  readonly _tag: "Log"
  readonly level: LogLevel.Literal
  readonly message: ReadonlyArray<string>
  readonly cause: string | undefined
}

const asText = (part: unknown): string => {
  if (typeof part === "string") return part
  try {
    return JSON.stringify(part) ?? String(part)
  } catch {
    return String(part)
  }
}

const isWorkerData = (data: unknown): data is WorkerData =>
  typeof data === "object" &&
  data !== null &&
  (data as { _tag?: unknown })._tag === "OpenAudienceWorkers" &&
  typeof (data as { databaseUrl?: unknown }).databaseUrl === "string"

const isStop = (message: unknown): message is ToThread =>
  typeof message === "object" && message !== null && (message as { _tag?: unknown })._tag === "Stop"

/**
 * The thread's own connection (a pool of its own on PostgreSQL). On SQLite with `synchronous = NORMAL`: its commits
 * write the WAL without waiting for the disk (a commit is durable at the next checkpoint or at a later commit with a
 * sync). A power cut may take back its last
 * transactions, but never half of one: each holds the derived state together with the log position it was derived
 * up to, so the workers simply derive them again from the log. What this saves is an fsync per commit (several per
 * step) competing for the disk with the collector's appends, which answer pixels only once on disk.
 */
const database = (url: string) =>
  Layer.effectDiscard(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql.onDialectOrElse({ sqlite: () => sql`PRAGMA synchronous = NORMAL`, orElse: () => Effect.void })
    )
  ).pipe(Layer.provideMerge(Database.layerFromUrl(url)))

if (parentPort !== null && isWorkerData(workerData)) {
  // What the workers derive (daily counts, audience memberships) may lag by seconds; answers to pixels should not.
  // Nice 19 rather than 10: with ten audiences, 0.496 against 0.408-0.482 of the bare server's rate, the workers
  // still caught up 141 ms after the load (bench/README.md).
  lowerPriority(19)
  const port = parentPort
  const toParent = Logger.make(({ logLevel, message, cause }) => {
    const entry: FromThread = {
      _tag: "Log",
      level: logLevel._tag,
      message: (Array.isArray(message) ? message : [message]).map(asText),
      cause: Cause.isEmpty(cause) ? undefined : Cause.pretty(cause)
    }
    port.postMessage(entry)
  })
  const stores = Layer.mergeAll(EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)
  const workers = Workers.layerSql.pipe(Layer.provide(stores), Layer.provide(database(workerData.databaseUrl)))
  const fiber = Effect.runFork(
    Layer.launch(workers).pipe(
      Effect.tapErrorCause((cause) => Effect.logError("the worker thread failed", cause)),
      Effect.provide(Logger.replace(Logger.defaultLogger, toParent))
    )
  )
  // Stopped or failed (it could not open the database): the thread ends, and the parent starts another if it did not
  // ask for the stop.
  fiber.addObserver(() => port.close())
  port.on("message", (message: unknown) => {
    if (isStop(message)) Effect.runFork(Fiber.interrupt(fiber))
  })
}
