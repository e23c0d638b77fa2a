/**
 * Inserts ad decisions off the calling thread: a worker thread (`adDecisionThread.ts`) owns a connection of its own to
 * the SQLite file and stores each group of rows in one transaction, answering once it committed. Reads stay on the
 * @effect/sql connection: in WAL mode a read that starts after a commit returned sees it.
 *
 * Why: better-sqlite3 is synchronous, so on the thread answering ads every flush of the decision log (a few hundred
 * rows, three indexes, and the commit's fsync every 50 ms under load) stopped request handling for milliseconds.
 *
 * When the thread cannot start, or stops, `write` answers `undefined` from then on: the caller stores through its
 * own connection instead (see `SqlAdLog.layerWriteBehindFromUrl`).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { Worker } from "node:worker_threads"
import { sqliteBusyTimeoutMs } from "../Database.js"
import type {
  AdDecisionData,
  AdDecisionMessage,
  AdDecisionReply,
  AdDecisionRow,
  DeliveryCharge
} from "./adDecisionProtocol.js"
import type { DeliveryRow } from "./deliveryRow.js"
import { moduleUrl, start } from "./thread.js"

/** How one group went: stored, refused for a duplicate id, or failed (busy or worse), nothing of it stored. */
export type Outcome =
  | {
      readonly _tag: "Stored"
      /** The `ad_delivery` rows of the campaigns charged, read after the charges. */
      readonly deliveries: ReadonlyArray<readonly [campaignId: string, row: DeliveryRow]>
    }
  | { readonly _tag: "Failed"; readonly unique: boolean; readonly message: string }

export interface Service {
  /**
   * Stores `rows` and adds `charges` in one transaction; `undefined` when the thread is gone (the caller writes them
   * itself).
   */
  readonly write: (
    rows: ReadonlyArray<AdDecisionRow>,
    charges?: ReadonlyArray<DeliveryCharge>
  ) => Effect.Effect<Outcome> | undefined
}

/** The thread `SqlAdLog.make` hands its decisions to, when there is one. */
export class AdDecisionWriter extends Context.Tag("@openaudience/storage-sql/internal/AdDecisionWriter")<
  AdDecisionWriter,
  Service
>() {}

/**
 * Starts the thread on a SQLite file whose `ad_decisions` table exists; it stops with the scope, after what was sent
 * before. `warn` is told once when the thread fails.
 */
export const make = (filename: string, warn: (message: string) => void) =>
  Effect.gen(function* () {
    const waiting = new Map<number, (outcome: Outcome) => void>()
    let nextId = 1
    let gone = false

    const stop = (reason: string) => {
      if (gone) return
      gone = true
      warn(`the ad decision writer thread stopped (${reason}); decisions are written on the main connection`)
      for (const resume of waiting.values()) resume({ _tag: "Failed", unique: false, message: reason })
      waiting.clear()
    }

    const thread = yield* Effect.async<Worker | undefined>((resume) => {
      const workerData: AdDecisionData = { filename, busyTimeoutMs: sqliteBusyTimeoutMs }
      let worker: Worker
      try {
        worker = start(moduleUrl("./adDecisionThread", import.meta.url), { workerData })
      } catch (error) {
        warn(`the ad decision writer thread could not start: ${String(error)}`)
        gone = true
        return resume(Effect.succeed(undefined))
      }
      let started = false
      worker.on("message", (reply: AdDecisionReply) => {
        if ("ready" in reply) {
          started = true
          return resume(Effect.succeed(worker))
        }
        if ("fatal" in reply) {
          warn(`the ad decision writer thread could not open ${filename}: ${reply.fatal}`)
          gone = true
          return resume(Effect.succeed(undefined))
        }
        const done = waiting.get(reply.id)
        waiting.delete(reply.id)
        done?.(
          "ok" in reply
            ? { _tag: "Stored", deliveries: reply.deliveries }
            : { _tag: "Failed", unique: reply.unique, message: reply.error }
        )
      })
      worker.on("error", (error) => {
        if (!started) {
          gone = true
          warn(`the ad decision writer thread failed to start: ${error.message}`)
          return resume(Effect.succeed(undefined))
        }
        stop(error.message)
      })
      worker.on("exit", (code) => stop(`exit ${code}`))
    })

    if (thread !== undefined) {
      yield* Effect.addFinalizer(() =>
        Effect.async<void>((resume) => {
          if (gone) return resume(Effect.void)
          gone = true
          thread.once("exit", () => resume(Effect.void))
          thread.postMessage("close" satisfies AdDecisionMessage)
        })
      )
    }

    const writer: Service = {
      write: (rows, charges = []) => {
        if (gone || thread === undefined) return undefined
        return Effect.async<Outcome>((resume) => {
          if (gone) return resume(Effect.succeed({ _tag: "Failed", unique: false, message: "the thread stopped" }))
          const id = nextId++
          waiting.set(id, (outcome) => resume(Effect.succeed(outcome)))
          thread.postMessage({ id, rows, charges } satisfies AdDecisionMessage)
        })
      }
    }
    return writer
  })
