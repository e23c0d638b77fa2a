/**
 * Group commit: request handlers hand their events to one writer fiber, which commits everything that
 * arrived since its last commit in a single transaction and then answers each handler. A request is answered
 * only after its events are durable, and under load one fsync covers many requests.
 *
 * `submit` is synchronous and callback-based so the node:http hot path never enters Effect per request.
 */
import type { AppendOutcome, StoredEvent } from "@openaudience/storage-sql"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import { Committer } from "./Committer.js"
import { Metrics } from "./Metrics.js"

export type Outcome =
  | { readonly _tag: "Stored"; readonly outcomes: ReadonlyArray<AppendOutcome> }
  | {
      readonly _tag: "Failed"
      readonly message: string
    }

interface Job {
  readonly events: ReadonlyArray<StoredEvent>
  readonly done: (outcome: Outcome) => void
}

export interface GroupCommitShape {
  /** Queues events for the next commit; `done` is called once they are durable (or the commit failed). */
  readonly submit: (events: ReadonlyArray<StoredEvent>, done: (outcome: Outcome) => void) => void
  /** Whether the writer still takes work (false once shutdown began). */
  readonly accepting: () => boolean
}

export class GroupCommit extends Context.Tag("@openaudience/example-server/GroupCommit")<
  GroupCommit,
  GroupCommitShape
>() {}

/** Resumes after the event loop's current poll phase (`setImmediate` runs once pending I/O callbacks ran). */
const afterPendingIo = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** Most events committed in one transaction; the rest wait for the next round. */
const maxEventsPerCommit = 4096

export const layer = Layer.scoped(
  GroupCommit,
  Effect.gen(function* () {
    const committer = yield* Committer
    const metrics = yield* Metrics
    const queue = yield* Queue.unbounded<Job>()
    let open = true

    const commit = (jobs: ReadonlyArray<Job>) => {
      const events: Array<StoredEvent> = []
      for (const job of jobs) for (const event of job.events) events.push(event)
      const started = performance.now()
      return committer.commit(events).pipe(
        Effect.map((result): Outcome => ({ _tag: "Stored", outcomes: result.outcomes })),
        Effect.catchAllCause((cause) =>
          Effect.logError("commit failed; answering its requests with 503", cause).pipe(
            Effect.as<Outcome>({ _tag: "Failed", message: "the event store is unavailable" })
          )
        ),
        Effect.tap((outcome) =>
          Effect.sync(() => {
            metrics.observeCommit(events.length, performance.now() - started)
            let offset = 0
            for (const job of jobs) {
              const n = job.events.length
              job.done(
                outcome._tag === "Stored"
                  ? { _tag: "Stored", outcomes: outcome.outcomes.slice(offset, offset + n) }
                  : outcome
              )
              offset += n
            }
          })
        ),
        Effect.uninterruptible
      )
    }

    // Take whatever is queued (at least one job), bounded by events per commit. After the first job arrives the
    // writer yields to the macrotask queue once: the I/O callbacks of every request already readable run first
    // and queue their events, so one commit (one fsync) covers all of them instead of one request each.
    const takeBatch = Effect.gen(function* () {
      const first = yield* Queue.take(queue)
      yield* afterPendingIo
      const jobs = [first]
      let size = first.events.length
      while (size < maxEventsPerCommit) {
        const next = yield* Queue.poll(queue)
        if (next._tag === "None") break
        jobs.push(next.value)
        size += next.value.events.length
      }
      return jobs
    })

    const writer = yield* Effect.forkScoped(Effect.forever(Effect.flatMap(takeBatch, commit)))

    // On shutdown (after the HTTP server stopped accepting), commit whatever is still queued.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        open = false
        // The commit in progress is uninterruptible: this waits for it, then the writer stops.
        yield* Fiber.interrupt(writer)
        let jobs = yield* Queue.takeAll(queue)
        while (jobs.length > 0) {
          yield* commit([...jobs])
          jobs = yield* Queue.takeAll(queue)
        }
        yield* Queue.shutdown(queue)
      })
    )

    return GroupCommit.of({
      submit: (events, done) => {
        if (!open) return done({ _tag: "Failed", message: "the server is shutting down" })
        if (events.length === 0) return done({ _tag: "Stored", outcomes: [] })
        queue.unsafeOffer({ events, done })
      },
      accepting: () => open
    })
  })
)
