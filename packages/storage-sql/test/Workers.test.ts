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
import * as Layer from "effect/Layer"
import { join } from "node:path"
import {
  AudienceStore,
  DailyCounts,
  Database,
  EventStore,
  SqlAudienceJob,
  SqlEventLog,
  SqlMembershipStore,
  Workers
} from "../src/index.js"
import { tempDir } from "./fixtures.js"
import { commit, counted, threadRound } from "./workersThread.js"

const stores = Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)
const layer = () =>
  Workers.layerJobs.pipe(Layer.provideMerge(stores), Layer.provideMerge(Database.layerFromUrl("sqlite::memory:")))

const step = () => Consumer.step(Workers.jobs)

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
    () => Effect.flatMap(tempDir, (dir) => threadRound(`sqlite:${join(dir, "workers.db")}`)).pipe(Effect.scoped),
    30_000
  )
})
