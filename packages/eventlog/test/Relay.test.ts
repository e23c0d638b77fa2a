import { assert, describe, it } from "@effect/vitest"
import { EventLog, EventLogError, Relay } from "../src/index.js"
import * as Effect from "effect/Effect"

const record = (i: number) => ({ tenant: "t", key: `k${i % 3}`, payload: { eventId: `e${i}`, type: "page_view" } })

describe("Relay", () => {
  it.effect("forwards the SQL log in order with each record's source offset, and resumes where it committed", () =>
    Effect.gen(function* () {
      const source = yield* EventLog.makeMemory
      const target = yield* EventLog.makeMemory
      const offsets = yield* source.append(Array.from({ length: 5 }, (_, i) => record(i)))
      assert.strictEqual(yield* Relay.step(source, target, 3), 3)
      assert.strictEqual(yield* Relay.step(source, target, 3), 2)
      assert.strictEqual(yield* Relay.step(source, target, 3), 0)
      const forwarded = yield* target.read("reader", 10)
      assert.deepStrictEqual(
        forwarded.map((r) => (r.payload as { sourceOffset: number }).sourceOffset),
        offsets
      )
      assert.deepStrictEqual(
        forwarded.map((r) => (r.payload as { eventId: string }).eventId),
        ["e0", "e1", "e2", "e3", "e4"]
      )
      assert.strictEqual(yield* source.committed(Relay.consumer), offsets[4])
    })
  )

  it.effect("commits nothing when the target refuses, so the records are forwarded later", () =>
    Effect.gen(function* () {
      const source = yield* EventLog.makeMemory
      const target = yield* EventLog.makeMemory
      yield* source.append([record(1), record(2)])
      const failing = {
        ...target,
        append: () => Effect.fail(new EventLogError({ reason: "Unavailable", message: "NATS is down" }))
      }
      const result = yield* Effect.either(Relay.step(source, failing))
      assert.isTrue(result._tag === "Left")
      assert.strictEqual(yield* source.committed(Relay.consumer), 0)
      assert.strictEqual(yield* Relay.step(source, target), 2)
    })
  )
})
