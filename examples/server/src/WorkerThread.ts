/**
 * The embedded worker on a thread of its own: on a SQLite file the server runs the worker (`@openaudience/example-worker`)
 * in a worker thread with its own connection to the database, instead of on the HTTP thread. better-sqlite3 is
 * synchronous, so on the HTTP thread every worker step (reading a batch of the event log, writing counts and
 * memberships, committing) stopped request handling for milliseconds at a time, and a step that met the writer
 * thread's lock slept there. PostgreSQL, `sqlite::memory:` (which a second connection cannot open) and the NATS
 * shape keep the worker in-process.
 *
 * The worker's guarantees do not depend on where it runs: it commits its derived state with its log position in
 * one transaction (exactly once) on whichever connection it has, and the SQLite writer thread and this one take
 * turns at the write lock through SQLite itself (busy timeout, retried snapshots).
 *
 * This module is also the thread's entry point: imported in a worker thread started by `layer`, it runs the
 * worker until the server asks it to stop. From TypeScript sources (tsx, vitest) the thread registers tsx first;
 * the bundle carries it as `dist/WorkerThread.js`.
 */
import { Audiences, DailyCounts, Worker } from "@openaudience/example-worker"
import * as SqlClient from "@effect/sql/SqlClient"
import {
  AudienceStore,
  Database,
  EventStore,
  SqlEventLog,
  SqlMembershipStore,
  type StorageError
} from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { readFileSync, readlinkSync } from "node:fs"
import { createRequire } from "node:module"
import { setPriority } from "node:os"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { isMainThread, parentPort, Worker as Thread, workerData } from "node:worker_threads"

/** What the thread is started with. */
interface ThreadData {
  readonly role: "openaudience-worker"
  readonly databaseUrl: string
}

const isThreadData = (data: unknown): data is ThreadData =>
  typeof data === "object" && data !== null && (data as { role?: unknown }).role === "openaudience-worker"

/** How long a stopping worker thread may take before it is terminated. */
const stopTimeoutMs = 10_000

/** After an unexpected exit, the thread is started again after this long (the log keeps every record). */
const restartDelayMs = 1_000

/** The file of tsx's ESM API (`tsx/esm/api` as `import` resolves it; `require` would give its CommonJS twin). */
const tsxEsmApi = (packageJson: string): string => {
  const manifest = JSON.parse(readFileSync(packageJson, "utf8")) as {
    readonly exports?: { readonly "./esm/api"?: { readonly import?: { readonly default?: string } } }
  }
  const file = manifest.exports?.["./esm/api"]?.import?.default
  if (file === undefined) throw new Error("tsx does not export an ESM API (tsx/esm/api)")
  return join(dirname(packageJson), file)
}

const start = (databaseUrl: string): Thread => {
  const data: ThreadData = { role: "openaudience-worker", databaseUrl }
  const here = import.meta.url
  if (!here.endsWith(".ts")) return new Thread(new URL("./WorkerThread.js", here), { workerData: data })
  // Running from TypeScript sources: the thread loads this module through tsx, registered in the thread.
  const tsx = pathToFileURL(tsxEsmApi(createRequire(here).resolve("tsx/package.json"))).href
  const boot =
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); ` + `return import(${JSON.stringify(here)}) })`
  return new Thread(boot, { eval: true, workerData: data })
}

/**
 * The worker in a thread with its own connection to the SQLite database at `databaseUrl`; stopped (after its
 * current step) with the scope.
 */
export const layer = (databaseUrl: string): Layer.Layer<never, StorageError, SqlClient.SqlClient> =>
  Layer.scopedDiscard(
    Effect.zipRight(
      // The worker's tables exist before the server answers (the thread takes a moment to start).
      Effect.zipRight(DailyCounts.migrate, Audiences.migrate),
      Effect.acquireRelease(
        Effect.sync(() => {
          let stopping = false
          let timer: ReturnType<typeof setTimeout> | undefined
          let thread: Thread
          const run = () => {
            thread = start(databaseUrl)
            thread.on("error", (error) => console.error("the worker thread failed", error))
            thread.on("exit", (code) => {
              if (stopping) return
              console.error(`the worker thread stopped (exit ${code}); starting it again in ${restartDelayMs} ms`)
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
              current.postMessage("stop")
            }
          }
        }),
        (handle) => Effect.async<void>((resume) => handle.stop(() => resume(Effect.void)))
      )
    )
  )

/**
 * The worker's own connection, with `synchronous = NORMAL`: its commits write the WAL without waiting for the disk
 * (a commit is durable at the next checkpoint or at a later commit with a sync). A power cut may take back its last
 * transactions, but never half of one: each holds the derived state together with the log position it was derived
 * up to, so the worker simply derives them again from the log. What this saves is an fsync per commit (several
 * per step) competing for the disk with the collector's appends, which answer pixels only once on disk.
 */
const workerDatabase = (url: string) =>
  Layer.effectDiscard(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA synchronous = NORMAL`)).pipe(
    Layer.provideMerge(Database.layerFromUrl(url))
  )

/**
 * The embedded worker's thread runs at a lower CPU priority (nice 10) than the HTTP thread: what it derives
 * (daily counts, audience memberships) may lag by seconds, answers to pixels should not, and on a small machine
 * the two compete for the same cores. Linux only (a thread's id is read from `/proc/thread-self`); elsewhere it
 * keeps the process's priority.
 */
const lowerPriority = () => {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop())
    if (Number.isSafeInteger(tid) && tid > 0) setPriority(tid, 10)
  } catch {
    // Not Linux, or not allowed: the default priority.
  }
}

if (!isMainThread && parentPort !== null && isThreadData(workerData)) {
  lowerPriority()
  const port = parentPort
  const stores = Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)
  const fiber = Effect.runFork(
    Worker.runWith({ sharedRead: true }).pipe(
      Effect.provide(stores.pipe(Layer.provideMerge(workerDatabase(workerData.databaseUrl)))),
      Effect.tapErrorCause((cause) => Effect.logError("the worker thread failed", cause))
    )
  )
  // Stopped or failed (it could not open the database): the thread ends, and the server starts another if it
  // did not ask for the stop.
  fiber.addObserver(() => port.close())
  port.on("message", (message) => {
    if (message === "stop") Effect.runFork(Fiber.interrupt(fiber))
  })
}
