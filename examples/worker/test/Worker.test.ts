/**
 * The worker's shared step: both jobs apply each read of the SQL event log; when their offsets are apart (one
 * job ran alone, or failed) each reads for itself until they meet; a job that fails does not hold the other back;
 * nothing is counted twice.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { EventLog } from "@openaudience/eventlog"
import {
  AudienceStore,
  Database,
  EventStore,
  SqlEventLog,
  SqlMembershipStore,
  type StoredEvent
} from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { Audiences, DailyCounts, Worker } from "../src/index.js"
import { collect } from "./support/collect.js"

const stores = Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)
const layer = () => stores.pipe(Layer.provideMerge(Database.layerFromUrl("sqlite::memory:")))

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
  return [yield* log.committed(DailyCounts.consumer), yield* log.committed(Audiences.consumer)]
})

describe("Worker.step", () => {
  it.effect("shares reads, catches up when apart, and keeps one job going while the other fails", () =>
    Effect.gen(function* () {
      yield* DailyCounts.migrate
      yield* Audiences.migrate
      const log = yield* EventLog.EventLog
      const sql = yield* SqlClient.SqlClient
      yield* commit(5)
      assert.strictEqual(yield* Worker.step(), 5)
      const last = yield* log.lastOffset
      assert.deepStrictEqual(yield* offsets, [last, last])
      assert.strictEqual(yield* counted, 5)

      // Apart: the daily-counts job ran alone on three more records.
      yield* commit(3)
      assert.strictEqual(yield* DailyCounts.step(), 3)
      assert.strictEqual(yield* Worker.step(), 3)
      const caughtUp = yield* log.lastOffset
      assert.deepStrictEqual(yield* offsets, [caughtUp, caughtUp])
      assert.strictEqual(yield* counted, 8)

      // The daily-counts job fails (its table is gone): the audience job still applies the batch.
      yield* sql`ALTER TABLE daily_event_counts RENAME TO daily_event_counts_away`
      yield* commit(2)
      const failed = yield* Effect.either(Worker.step())
      assert.isTrue(Either.isLeft(failed))
      const after = yield* log.lastOffset
      assert.deepStrictEqual(yield* offsets, [caughtUp, after])
      // Back: the daily-counts job reads its own batch and both meet again, each record counted once.
      yield* sql`ALTER TABLE daily_event_counts_away RENAME TO daily_event_counts`
      assert.strictEqual(yield* Worker.step(), 2)
      assert.deepStrictEqual(yield* offsets, [after, after])
      assert.strictEqual(yield* counted, 10)
      assert.strictEqual(yield* Worker.step(), 0)
    }).pipe(Effect.provide(layer()))
  )
})
