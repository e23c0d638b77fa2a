/**
 * The runner over jobs that apply each record once: shared reads while jobs are committed up to the same offset,
 * separate reads while they are apart, a failing job not holding the others back, repeats skipped by position.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { Consumer, EventLog, type LoggedRecord, StoredEvents } from "../src/index.js"

/** A job keeping, in memory, what it applied (seqs) and its position, as a job keeps both in one transaction. */
const counting = (name: string) => {
  const state = { seqs: [] as Array<number>, position: 0, reads: 0, fail: false, failBefore: false, befores: 0 }
  const job: Consumer.Job<string> = {
    name,
    before: Effect.suspend(() => {
      state.befores++
      return state.failBefore ? Effect.fail(`${name}: before failed`) : Effect.succeed(0)
    }),
    apply: (items) =>
      Effect.suspend(() => {
        state.reads++
        if (state.fail) return Effect.fail(`${name} failed`)
        const { fresh, high } = Consumer.unseen(items, state.position)
        for (const { ranges } of fresh)
          for (const [first, last] of ranges) for (let s = first; s <= last; s++) state.seqs.push(s)
        state.position = high
        return Effect.void
      })
  }
  return { job, state }
}

let seq = 0
/** One committed group of `n` events of tenant `a`: one record naming them. */
const commit = (n: number) =>
  Effect.flatMap(EventLog.EventLog, (log) =>
    log.append(StoredEvents.toLogRecords(Array.from({ length: n }, () => ({ tenant: "a", seq: ++seq }))))
  )

const offsets = (...names: ReadonlyArray<string>) =>
  Effect.flatMap(EventLog.EventLog, (log) => Effect.forEach(names, (name) => log.committed(name)))

describe("Consumer.step", () => {
  it.effect("shares reads, catches up when apart, and keeps one job going while the other fails", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const daily = counting("daily")
      const other = counting("other")
      const jobs = [daily.job, other.job] as const
      yield* commit(5)
      assert.strictEqual(yield* Consumer.step(jobs), 5)
      const last = yield* log.lastOffset
      assert.deepStrictEqual(yield* offsets("daily", "other"), [last, last])

      // Apart: one job ran alone on three more events.
      yield* commit(3)
      assert.strictEqual(yield* Consumer.readAndApply(daily.job), 3)
      assert.strictEqual(yield* Consumer.step(jobs), 3)
      const caughtUp = yield* log.lastOffset
      assert.deepStrictEqual(yield* offsets("daily", "other"), [caughtUp, caughtUp])

      // One job fails: the other still applies the batch; the round fails.
      daily.state.fail = true
      yield* commit(2)
      assert.isTrue(Either.isLeft(yield* Effect.either(Consumer.step(jobs))))
      const after = yield* log.lastOffset
      assert.deepStrictEqual(yield* offsets("daily", "other"), [caughtUp, after])
      // Back: the failed job reads its own batch and both meet again, each event applied once.
      daily.state.fail = false
      assert.strictEqual(yield* Consumer.step(jobs), 2)
      assert.deepStrictEqual(yield* offsets("daily", "other"), [after, after])
      assert.strictEqual(yield* Consumer.step(jobs), 0)
      assert.deepStrictEqual(daily.state.seqs, other.state.seqs)
      assert.strictEqual(new Set(daily.state.seqs).size, 10)
    }).pipe(Effect.provide(EventLog.layerMemory))
  )

  it.effect("a job whose work before reading failed sits the round out; the others apply", () =>
    Effect.gen(function* () {
      const first = counting("first")
      const second = counting("second")
      first.state.failBefore = true
      yield* commit(4)
      const failed = yield* Effect.either(Consumer.step([first.job, second.job]))
      assert.deepStrictEqual(failed, Either.left("first: before failed"))
      assert.deepStrictEqual(yield* offsets("first", "second"), [0, 1])
      assert.strictEqual(first.state.reads, 0)
      first.state.failBefore = false
      assert.strictEqual(yield* Consumer.step([first.job, second.job]), 4)
      assert.deepStrictEqual(yield* offsets("first", "second"), [1, 1])
    }).pipe(Effect.provide(EventLog.layerMemory))
  )

  it.effect("a record delivered again (relay duplicates) is applied once", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const job = counting("job")
      const source = yield* EventLog.makeMemory
      yield* source.append(StoredEvents.toLogRecords([{ tenant: "a", seq: 1 }]))
      yield* source.append(StoredEvents.toLogRecords([{ tenant: "a", seq: 2 }]))
      const [first, second] = yield* source.read("relay", 10)
      const forwarded = (record: LoggedRecord) => ({
        tenant: record.tenant,
        key: record.key,
        payload: { ...(record.payload as object), sourceOffset: record.offset }
      })
      // Forwarded, a crash before the relay committed, and forwarded again with the next one.
      yield* log.append([forwarded(first!)])
      yield* log.append([forwarded(first!), forwarded(second!)])
      yield* Consumer.stepOf(job.job)
      assert.deepStrictEqual(job.state.seqs, [1, 2])
      assert.strictEqual(job.state.position, second!.offset)
    }).pipe(Effect.provide(EventLog.layerMemory))
  )
})

describe("Consumer.run", () => {
  it.effect("keeps every job going, each reading for itself without shared reads, and retries a failing one", () =>
    Effect.gen(function* () {
      const one = counting("one")
      const two = counting("two")
      two.state.fail = true
      yield* commit(2)
      const fiber = yield* Effect.fork(Consumer.run([one.job, two.job], { sharedRead: false }))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(one.state.seqs.length, 2)
      assert.deepStrictEqual(two.state.seqs, [])
      two.state.fail = false
      yield* TestClock.adjust("15 seconds")
      assert.deepStrictEqual(two.state.seqs.length, 2)
      assert.isTrue(two.state.befores > 1, "retried")
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(EventLog.layerMemory))
  )
})
