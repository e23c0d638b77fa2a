/**
 * The behaviour every EventLog implementation must have; the same suite runs in memory, on SQLite and
 * on PostgreSQL.
 */
import { assert, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import { EventLog, type LoggedRecord, type LogRecord } from "../src/index.js"
import { unique } from "./fixtures.js"

/** A consumer name that starts after every record already in the shared log. */
const freshConsumer = Effect.gen(function* () {
  const log = yield* EventLog.EventLog
  const consumer = unique("worker")
  yield* log.commit(consumer, yield* log.lastOffset)
  return consumer
})

const record = (tenant: string, key: string, payload: unknown = { key }): LogRecord => ({ tenant, key, payload })

const keys = (records: ReadonlyArray<LoggedRecord>) => records.map((r) => r.key)

export const eventLogSuite = (it: Vitest.MethodsNonLive<EventLog.EventLog, true>) => {
  it.effect("appends records with increasing offsets and reads them back in order", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const consumer = yield* freshConsumer
      const before = yield* log.lastOffset
      const payload = { event: { id: "e1", items: [1, 2.5, "x"], nested: { ok: true, none: null } } }
      const first = yield* log.append([record("t", "v1", payload), record("t", "v2")])
      const second = yield* log.append([record("u", "v1")])
      const offsets = [...first, ...second]
      assert.strictEqual(offsets.length, 3)
      assert.isTrue(offsets[0]! > before)
      assert.isTrue(offsets[0]! < offsets[1]! && offsets[1]! < offsets[2]!)
      assert.strictEqual(yield* log.lastOffset, offsets[2])
      const read = yield* log.read(consumer, 10)
      assert.deepStrictEqual(
        read.map((r) => [r.offset, r.tenant, r.key]),
        [
          [offsets[0], "t", "v1"],
          [offsets[1], "t", "v2"],
          [offsets[2], "u", "v1"]
        ]
      )
      assert.deepStrictEqual(read[0]!.payload, payload)
      assert.isTrue(Number.isSafeInteger(read[0]!.appendedAt))
      assert.deepStrictEqual(yield* log.append([]), [])
    })
  )

  it.effect("reading does not commit; commit moves the consumer forward; max limits a read", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const consumer = yield* freshConsumer
      yield* log.append(["a", "b", "c", "d", "e"].map((k) => record("t", k)))
      assert.deepStrictEqual(keys(yield* log.read(consumer, 2)), ["a", "b"])
      const again = yield* log.read(consumer, 2)
      assert.deepStrictEqual(keys(again), ["a", "b"])
      yield* log.commit(consumer, again[1]!.offset)
      assert.strictEqual(yield* log.committed(consumer), again[1]!.offset)
      assert.deepStrictEqual(keys(yield* log.read(consumer, 100)), ["c", "d", "e"])
      assert.deepStrictEqual(yield* log.read(consumer, 0), [])
    })
  )

  it.effect("consumers are independent and a commit never moves a consumer backwards", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const a = yield* freshConsumer
      const b = yield* freshConsumer
      assert.strictEqual(yield* log.committed(a), yield* log.lastOffset)
      const offsets = yield* log.append(["x", "y", "z"].map((k) => record("t", k)))
      yield* log.commit(a, offsets[2]!)
      assert.deepStrictEqual(yield* log.read(a, 10), [])
      assert.deepStrictEqual(keys(yield* log.read(b, 10)), ["x", "y", "z"])
      yield* log.commit(a, offsets[0]!)
      assert.strictEqual(yield* log.committed(a), offsets[2])
      assert.strictEqual(yield* log.committed(unique("never-committed")), 0)
    })
  )

  it.effect("processNext commits only after the handler succeeded, so a failed batch is delivered again", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const consumer = yield* freshConsumer
      yield* log.append(["1", "2", "3"].map((k) => record("t", k)))
      const failed = yield* Effect.flip(EventLog.processNext(consumer, () => Effect.fail("handler crashed" as const)))
      assert.strictEqual(failed, "handler crashed")
      const seen: Array<string> = []
      const handled = yield* EventLog.processNext(
        consumer,
        (records) => Effect.sync(() => seen.push(...keys(records))),
        { max: 2 }
      )
      assert.strictEqual(handled, 2)
      assert.deepStrictEqual(seen, ["1", "2"])
      assert.strictEqual(
        yield* EventLog.processNext(consumer, (records) => Effect.sync(() => seen.push(...keys(records)))),
        1
      )
      assert.strictEqual(yield* EventLog.processNext(consumer, () => Effect.die("not called")), 0)
      assert.deepStrictEqual(seen, ["1", "2", "3"])
    })
  )

  it.effect("consume delivers records appended while it runs", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const consumer = yield* freshConsumer
      const seen: Array<string> = []
      const worker = yield* Effect.fork(
        EventLog.consume(consumer, (records) => Effect.sync(() => seen.push(...keys(records))), {
          max: 3,
          idle: "5 millis"
        })
      )
      yield* log.append(["a", "b", "c", "d"].map((k) => record("t", k)))
      yield* Effect.sleep("20 millis")
      yield* log.append([record("t", "e")])
      // The consumer commits after its handler returns: wait for both (a commit that never comes times out).
      const last = yield* log.lastOffset
      yield* Effect.gen(function* () {
        while (seen.length < 5 || (yield* log.committed(consumer)) < last) yield* Effect.sleep("5 millis")
      }).pipe(Effect.timeout("5 seconds"))
      yield* Fiber.interrupt(worker)
      assert.deepStrictEqual(seen, ["a", "b", "c", "d", "e"])
      assert.strictEqual(yield* log.committed(consumer), last)
    })
  )

  it.effect("eraseKey removes one tenant's records of one key, and consumers never receive them", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const consumer = yield* freshConsumer
      const a = unique("ta")
      const b = unique("tb")
      yield* log.append([
        record(a, "visitor-1"),
        record(b, "visitor-1"),
        record(a, "visitor-2"),
        record(a, "visitor-1", { second: true })
      ])
      assert.strictEqual(yield* log.eraseKey(a, "visitor-1"), 2)
      assert.strictEqual(yield* log.eraseKey(a, "visitor-1"), 0)
      const read = yield* log.read(consumer, 10)
      assert.deepStrictEqual(
        read.map((r) => [r.tenant, r.key]),
        [
          [b, "visitor-1"],
          [a, "visitor-2"]
        ]
      )
      yield* log.commit(consumer, read[1]!.offset)
      yield* log.append([record(a, "visitor-3")])
      assert.deepStrictEqual(keys(yield* log.read(consumer, 10)), ["visitor-3"])
    })
  )

  it.effect("rejects invalid input with InvalidInput and appends nothing", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const last = yield* log.lastOffset
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      const errors = [
        yield* Effect.flip(log.append([record("t", "ok"), record("", "k")])),
        yield* Effect.flip(log.append([record("t", "ok"), record("t", "k", cyclic)])),
        yield* Effect.flip(log.append([record("t", "ok"), { tenant: "t", key: "k", payload: undefined }])),
        yield* Effect.flip(log.commit(unique("c"), -1)),
        yield* Effect.flip(log.commit(unique("c"), 1.5)),
        yield* Effect.flip(log.read("", 10))
      ]
      for (const error of errors) {
        assert.strictEqual(error._tag, "EventLogError")
        assert.strictEqual(error.reason, "InvalidInput")
      }
      assert.strictEqual(yield* log.lastOffset, last)
    })
  )

  it.effect.prop(
    "a consumer reading in any chunk sizes sees every appended record exactly once, in append order",
    [
      fc.array(fc.array(fc.constantFrom("v1", "v2", "v3"), { maxLength: 8 }), { maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 })
    ],
    ([batches, sizes]) =>
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const consumer = yield* freshConsumer
        const tenant = unique("t")
        const appended: Array<number> = []
        for (const batch of batches) {
          appended.push(...(yield* log.append(batch.map((key, i) => record(tenant, key, { i })))))
        }
        for (let i = 1; i < appended.length; i++) assert.isTrue(appended[i - 1]! < appended[i]!)
        const delivered: Array<number> = []
        for (let round = 0; ; round++) {
          const records = yield* log.read(consumer, sizes[round % sizes.length]!)
          if (records.length === 0) break
          delivered.push(...records.map((r) => r.offset))
          yield* log.commit(consumer, records[records.length - 1]!.offset)
        }
        assert.deepStrictEqual(delivered, appended)
      }),
    { timeout: 60_000, fastCheck: { numRuns: 30 } }
  )
}
