/**
 * The standard workers' shared round: both jobs apply each read of the SQL event log; when their offsets are apart (one
 * job ran alone, or failed) each reads for itself until they meet; a job that fails does not hold the other back;
 * nothing is counted twice.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { Consumer, EventLog } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { join } from "node:path"
import {
  AudienceStore,
  DailyCounts,
  Database,
  EventStore,
  SqlAudienceJob,
  SqlEventLog,
  SqlMembershipStore,
  type StoredEvent,
  Workers
} from "../src/index.js"
import { collect } from "./collect.js"
import { tempDir } from "./fixtures.js"

const stores = Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)
const layer = () =>
  Workers.layerJobs.pipe(Layer.provideMerge(stores), Layer.provideMerge(Database.layerFromUrl("sqlite::memory:")))

const step = () => Consumer.step(Workers.jobs)

const day = Date.UTC(2026, 10, 28, 12)
let counter = 0
/** One group commit of `n` page views: one log record naming them. */
const commit = (n: number) =>
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

const counted = Effect.map(DailyCounts.read("a", "2026-11-01"), (rows) => rows.reduce((n, r) => n + r.events, 0))

const offsets = Effect.gen(function* () {
  const log = yield* EventLog.EventLog
  return [yield* log.committed(DailyCounts.consumer), yield* log.committed(SqlAudienceJob.consumer)]
})

describe("Workers: Consumer.step over the standard jobs", () => {
  it.effect("shares reads, catches up when apart, and keeps one job going while the other fails", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const sql = yield* SqlClient.SqlClient
      yield* commit(5)
      assert.strictEqual(yield* step(), 5)
      const last = yield* log.lastOffset
      assert.deepStrictEqual(yield* offsets, [last, last])
      assert.strictEqual(yield* counted, 5)

      // Apart: the daily-counts job ran alone on three more records.
      yield* commit(3)
      assert.strictEqual(yield* Consumer.readAndApply(DailyCounts.job), 3)
      assert.strictEqual(yield* step(), 3)
      const caughtUp = yield* log.lastOffset
      assert.deepStrictEqual(yield* offsets, [caughtUp, caughtUp])
      assert.strictEqual(yield* counted, 8)

      // The daily-counts job fails (its table is gone): the audience job still applies the batch.
      yield* sql`ALTER TABLE daily_event_counts RENAME TO daily_event_counts_away`
      yield* commit(2)
      const failed = yield* Effect.either(step())
      assert.isTrue(Either.isLeft(failed))
      const after = yield* log.lastOffset
      assert.deepStrictEqual(yield* offsets, [caughtUp, after])
      // Back: the daily-counts job reads its own batch and both meet again, each record counted once.
      yield* sql`ALTER TABLE daily_event_counts_away RENAME TO daily_event_counts`
      assert.strictEqual(yield* step(), 2)
      assert.deepStrictEqual(yield* offsets, [after, after])
      assert.strictEqual(yield* counted, 10)
      assert.strictEqual(yield* step(), 0)
    }).pipe(Effect.provide(layer()))
  )
})

describe("Workers.layerThread", () => {
  it.live(
    "runs the jobs on a thread with its own connection to the SQLite file, logs through this logger, stops with the layer",
    () =>
      Effect.gen(function* () {
        const logged: Array<{ readonly message: unknown; readonly thread: unknown }> = []
        const collect = Logger.make(({ message, annotations }) => {
          logged.push({ message, thread: Option.getOrUndefined(HashMap.get(annotations, "thread")) })
        })
        const dir = yield* tempDir
        const database = Database.layerFromUrl(`sqlite:${join(dir, "workers.db")}`)
        const stores = Layer.mergeAll(
          SqlEventLog.layer,
          EventStore.layer,
          AudienceStore.layer,
          SqlMembershipStore.layer
        )
        yield* Effect.gen(function* () {
          yield* commit(4)
          const counts = yield* Effect.scoped(
            Effect.gen(function* () {
              yield* Layer.build(
                Workers.layerThread(`sqlite:${join(dir, "workers.db")}`).pipe(
                  Layer.provide(Logger.replace(Logger.defaultLogger, collect))
                )
              )
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
        }).pipe(Effect.provide(stores.pipe(Layer.provideMerge(database))))
      }).pipe(Effect.scoped),
    30_000
  )
})
