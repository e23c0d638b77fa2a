/**
 * The standard workers: the jobs every OpenAudience deployment runs over the log of stored events, the daily
 * counts (`DailyCounts.job`) and the audience job (`SqlAudienceJob.job`), run by @openaudience/eventlog's
 * `Consumer` runner, and beside them, with a runner of its own, the ad attribution job (`AdAttribution.job`,
 * `adJobs`). An app picks where they run:
 *
 * - `layer`: in this process, over the `EventLog` in context (the SQL log with `sharedRead`, or NATS JetStream);
 * - `layerSql`: in this process over the SQL log in the `SqlClient`'s database, the jobs sharing each read;
 * - `layerThread`: on a thread of their own with their own connection (a SQLite file, or a pool of their own on
 *   PostgreSQL). better-sqlite3 is synchronous, so on the HTTP thread every step of the jobs (reading a batch of the
 *   log, writing counts and memberships, committing) would stop request handling for milliseconds at a time; on
 *   PostgreSQL the jobs' CPU work would still compete with the HTTP thread. `sqlite::memory:` (which a second
 *   connection cannot open) and the NATS shape keep the workers in-process.
 *
 * The jobs' guarantees do not depend on where they run: each commits its derived state with its log position in one
 * transaction (exactly once) on whichever connection it has, and a writer on another thread and this one take turns
 * at SQLite's write lock through SQLite itself (busy timeout, retried snapshots).
 *
 * @since 0.2.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { MembershipStore } from "@openaudience/audience"
import { Consumer, type EventLog, type EventLogError } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Runtime from "effect/Runtime"
import type { Worker as Thread } from "node:worker_threads"
import * as AdAttribution from "./AdAttribution.js"
import type { AudienceStore } from "./AudienceStore.js"
import * as DailyCounts from "./DailyCounts.js"
import type { EventStore } from "./EventStore.js"
import { moduleUrl, start } from "./internal/thread.js"
import type { FromThread, ToThread, WorkerData } from "./internal/workerThread.js"
import * as SqlAudienceJob from "./SqlAudienceJob.js"
import * as SqlEventLog from "./SqlEventLog.js"
import * as SqlSyncStore from "./SqlSyncStore.js"
import type { StorageError } from "./StorageError.js"

/**
 * The jobs, in the order each round runs them.
 *
 * @since 0.2.0
 * @category models
 */
export const jobs: readonly [typeof DailyCounts.job, typeof SqlAudienceJob.job] = [DailyCounts.job, SqlAudienceJob.job]

/**
 * What the workers read and write besides their own tables: the event store, the audience definitions and the
 * memberships, in the `SqlClient`'s database.
 *
 * @since 0.2.0
 * @category models
 */
export type Stores = SqlClient.SqlClient | EventStore | AudienceStore | MembershipStore.MembershipStore

/**
 * Creates or updates the jobs' own tables (daily counts, the audience job's programs, cursor and counts).
 *
 * @since 0.2.0
 * @category combinators
 */
export const migrate: Effect.Effect<void, StorageError, SqlClient.SqlClient> = Effect.asVoid(
  Effect.zipRight(Effect.zipRight(DailyCounts.migrate, SqlSyncStore.migrate), AdAttribution.migrate)
)

/**
 * What the jobs run over besides the stores (the audience job's SQL ports, see `SqlAudienceJob.layer`), their
 * tables migrated when built: provide it to run rounds yourself (`Consumer.step(Workers.jobs)`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerJobs: Layer.Layer<
  Exclude<Consumer.ContextOf<(typeof jobs)[number]>, Stores>,
  StorageError,
  SqlClient.SqlClient | AudienceStore | EventStore
> = Layer.merge(SqlAudienceJob.layer, Layer.effectDiscard(DailyCounts.migrate))

/**
 * The jobs run beside `jobs` by a runner of their own: the ad attribution job (`AdAttribution.job`), which credits
 * the shop's conversions to the ads that earned them in the `SqlAdLog`.
 *
 * @since 0.4.0
 * @category models
 */
export const adJobs: readonly [typeof AdAttribution.job] = [AdAttribution.job]

/**
 * What `adJobs` run over besides the stores: `SqlAdLog` on the `SqlClient`'s database, the tables migrated when
 * built: provide it to run rounds yourself (`Consumer.step(Workers.adJobs)`).
 *
 * @since 0.4.0
 * @category layers
 */
export const layerAdJobs: Layer.Layer<
  Exclude<Consumer.ContextOf<(typeof adJobs)[number]>, Stores>,
  StorageError,
  SqlClient.SqlClient
> = AdAttribution.layerJob

/**
 * The workers in this process, over the `EventLog` in context, until the layer is released. `sharedRead` for the
 * SQL event log only (see `Consumer.run`). The jobs' tables are migrated when the layer is built.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Consumer.RunOptions): Layer.Layer<never, StorageError, Stores | EventLog.EventLog> =>
  Layer.merge(
    Consumer.layer(jobs, options).pipe(Layer.provide(layerJobs)),
    Consumer.layer(adJobs, options).pipe(Layer.provide(layerAdJobs))
  )

/**
 * The workers in this process over the SQL event log in the `SqlClient`'s database, the jobs sharing each read.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSql: Layer.Layer<never, StorageError | EventLogError, Stores> = layer({ sharedRead: true }).pipe(
  Layer.provide(SqlEventLog.layer)
)

/** How long a stopping worker thread may take before it is terminated. */
const stopTimeoutMs = 10_000

/**
 * The young generation of the thread's heap, MB. A step's events live until its commit, so with V8's default (a new
 * space of 32 MB on Node 20) more of them outlived scavenges and were copied and promoted; the garbage collector's
 * helper threads, which run at the process's priority, then took turns from the HTTP thread. With 64 MB the server
 * used about 20 µs less CPU per pixel at 5,000 requests/s with the demo's audience (116-130 against 141-145 µs,
 * three rounds each).
 */
const youngGenerationMb = 64

/** After an unexpected exit, the thread is started again after this long (the log keeps every record). */
const restartDelayMs = 1_000

/**
 * The workers on a thread of their own with their own connection to the database at `databaseUrl` (a SQLite file
 * or PostgreSQL; see the module docs), over the SQL event log. The jobs' tables are migrated first on the `SqlClient` in context, so they
 * exist before the caller goes on. A thread that exits unexpectedly is started again after a second; releasing
 * the layer asks the thread to stop after its current step, and terminates it after 10 seconds. The thread's log
 * entries are logged here, with this runtime's logger.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerThread = (databaseUrl: string): Layer.Layer<never, StorageError, SqlClient.SqlClient> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      yield* migrate
      const runFork = Runtime.runFork(yield* Effect.runtime<never>())
      const workerData: WorkerData = { _tag: "OpenAudienceWorkers", databaseUrl }
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          let stopping = false
          let timer: ReturnType<typeof setTimeout> | undefined
          let thread: Thread
          const run = () => {
            thread = start(moduleUrl("./internal/workerThread", import.meta.url), {
              workerData,
              resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb }
            })
            thread.on("message", (entry: FromThread) => {
              if (entry._tag !== "Log") return
              const log = Effect.logWithLevel(LogLevel.fromLiteral(entry.level), ...entry.message)
              runFork(
                (entry.cause === undefined ? log : Effect.annotateLogs(log, "cause", entry.cause)).pipe(
                  Effect.annotateLogs("thread", "workers")
                )
              )
            })
            thread.on("error", (error) => runFork(Effect.logError("the worker thread failed", error)))
            thread.on("exit", (code) => {
              if (stopping) return
              runFork(
                Effect.logWarning(`the worker thread stopped (exit ${code}); starting it again in ${restartDelayMs} ms`)
              )
              timer = setTimeout(run, restartDelayMs)
            })
          }
          run()
          return {
            stop: (done: () => void) => {
              stopping = true
              if (timer !== undefined) clearTimeout(timer)
              const current = thread
              if (current.threadId === -1) return done()
              const cutoff = setTimeout(() => void current.terminate(), stopTimeoutMs)
              current.once("exit", () => {
                clearTimeout(cutoff)
                done()
              })
              const stop: ToThread = { _tag: "Stop" }
              current.postMessage(stop)
            }
          }
        }),
        (handle) => Effect.async<void>((resume) => handle.stop(() => resume(Effect.void)))
      )
    })
  )
