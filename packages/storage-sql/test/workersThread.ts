/**
 * Helpers of the standard workers' tests: group commits of page views, the daily total they add up to, and one
 * round of the workers on their thread against a database URL (SQLite file or PostgreSQL).
 */
import { assert } from "@effect/vitest"
import { EventLog } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import {
  AudienceStore,
  DailyCounts,
  Database,
  EventStore,
  SqlEventLog,
  SqlMembershipStore,
  type StoredEvent,
  Workers
} from "../src/index.js"
import { collect } from "./collect.js"

const day = Date.UTC(2026, 10, 28, 12)
let counter = 0

/** One group commit of `n` page views of tenant `a`: one log record naming them. */
export const commit = (n: number) =>
  collect(
    ...Array.from(
      { length: n },
      (_, i): StoredEvent => ({
        tenant: "a",
        eventId: `e${++counter}`,
        type: "page_view",
        site: "s",
        receivedAt: day,
        clientTs: null,
        visitor: `v${i}`,
        payload: {},
        consent: null
      })
    )
  )

/** Tenant `a`'s page views counted so far. */
export const counted = Effect.map(DailyCounts.read("a", "2026-11-01"), (rows) => rows.reduce((n, r) => n + r.events, 0))

/**
 * Stores events in the database at `url`, runs the workers on their thread until they counted them, checks that the
 * thread logged through this runtime's logger, and that nothing is applied once the layer is released.
 */
export const threadRound = (url: string) =>
  Effect.gen(function* () {
    const logged: Array<{ readonly message: unknown; readonly thread: unknown }> = []
    const logger = Logger.make(({ message, annotations }) => {
      logged.push({ message, thread: Option.getOrUndefined(HashMap.get(annotations, "thread")) })
    })
    yield* commit(4)
    const counts = yield* Effect.scoped(
      Effect.gen(function* () {
        yield* Layer.build(Workers.layerThread(url).pipe(Layer.provide(Logger.replace(Logger.defaultLogger, logger))))
        // The tables exist as soon as the layer is built; the thread fills them shortly after.
        assert.deepStrictEqual(yield* DailyCounts.read("other", "2026-11-01"), [])
        return yield* counted.pipe(
          Effect.filterOrFail((n) => n === 4),
          Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("20 seconds")))
        )
      })
    )
    assert.strictEqual(counts, 4)
    assert.deepInclude(logged, {
      message: ["consuming the event log: worker/daily-counts, worker/audiences (shared reads)"],
      thread: "workers"
    })
    const log = yield* EventLog.EventLog
    assert.strictEqual(yield* log.committed(DailyCounts.consumer), yield* log.lastOffset)
    // Stopped: nothing more is applied.
    yield* commit(1)
    yield* Effect.sleep("500 millis")
    assert.strictEqual(yield* counted, 4)
  }).pipe(
    Effect.provide(
      Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer).pipe(
        Layer.provideMerge(Database.layerFromUrl(url))
      )
    )
  )
