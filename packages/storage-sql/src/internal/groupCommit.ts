/**
 * Group commit through @effect/sql (PostgreSQL, and SQLite where no writer thread can open the file): callers hand
 * rows over with a callback, and one commit at a time stores everything queued since the last one in a single
 * transaction (`EventStore.append`, with the event log's records in the same transaction), then answers each
 * caller. Under load one commit (one fsync, one round trip) covers many requests.
 *
 * Rows somebody waits for (a batch answered with per-event outcomes) go at once; rows nobody waits for (pixels,
 * already durable in the append log) may wait up to `backgroundDelayMs` for company, so the database sees fewer,
 * larger transactions. The callback API is the hot path's seam: no fiber per request.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import type { StorageError } from "../StorageError.js"
import type { AppendResult, StoredEvent } from "../StoredEvent.js"
import type { WriteResult } from "./writerThread.js"

/** Most events committed in one transaction; the rest wait for the next round. */
const maxEventsPerCommit = 4096

interface Job {
  readonly rows: ReadonlyArray<StoredEvent>
  readonly urgent: boolean
  readonly at: number
  readonly done: (result: WriteResult) => void
}

export interface GroupCommit {
  /** Queues rows for a commit; `done` with a positive number per stored row, 0 per duplicate, or why none was. */
  readonly submit: (rows: ReadonlyArray<StoredEvent>, urgent: boolean, done: (result: WriteResult) => void) => void
  /** Sends what is queued now. */
  readonly hurry: () => void
}

export const make = <E>(options: {
  readonly commit: (rows: ReadonlyArray<StoredEvent>) => Effect.Effect<AppendResult, StorageError | E>
  readonly backgroundDelayMs: number
  readonly observe: (events: number, millis: number) => void
  readonly logFailure: (error: unknown) => void
}) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runCallback(runtime)
    const queue: Array<Job> = []
    let queued = 0
    let urgent = 0
    let inFlight = false
    let closing = false
    let timer: ReturnType<typeof setTimeout> | undefined
    let drained: (() => void) | undefined

    const send = (): void => {
      if (inFlight || queue.length === 0) return
      if (urgent === 0 && !closing && queued < maxEventsPerCommit) {
        const wait = queue[0]!.at + options.backgroundDelayMs - performance.now()
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
      let size = 0
      let count = 0
      while (count < queue.length && (count === 0 || size + queue[count]!.rows.length <= maxEventsPerCommit)) {
        size += queue[count]!.rows.length
        count++
      }
      const jobs = queue.splice(0, count)
      queued -= size
      for (const job of jobs) if (job.urgent) urgent--
      const rows: Array<StoredEvent> = []
      for (const job of jobs) for (const row of job.rows) rows.push(row)
      inFlight = true
      const started = performance.now()
      run(Effect.uninterruptible(options.commit(rows)), {
        onExit: (exit) => {
          inFlight = false
          options.observe(rows.length, performance.now() - started)
          if (Exit.isSuccess(exit)) {
            const outcomes = exit.value.outcomes
            let offset = 0
            for (const job of jobs) {
              const result = new Array<number>(job.rows.length)
              for (let i = 0; i < result.length; i++) result[i] = outcomes[offset + i] === "accepted" ? 1 : 0
              offset += job.rows.length
              job.done(result)
            }
          } else {
            options.logFailure(exit.cause)
            for (const job of jobs) job.done({ error: "the event store is unavailable" })
          }
          if (queue.length > 0) send()
          else drained?.()
        }
      })
    }

    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        closing = true
        const done = () => {
          drained = undefined
          resume(Effect.void)
        }
        if (!inFlight && queue.length === 0) return done()
        drained = done
        send()
      })
    )

    const writer: GroupCommit = {
      submit: (rows, isUrgent, done) => {
        if (rows.length === 0) return done([])
        queue.push({ rows, urgent: isUrgent, at: performance.now(), done })
        queued += rows.length
        if (isUrgent) urgent++
        send()
      },
      hurry: () => {
        const last = queue[queue.length - 1]
        if (last === undefined) return
        if (!last.urgent) {
          queue[queue.length - 1] = { ...last, urgent: true }
          urgent++
        }
        send()
      }
    }
    return writer
  })
