import { assert, describe, it } from "@effect/vitest"
import { EventLog, SqlEventLog } from "@openaudience/eventlog"
import { Database } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { DailyCounts } from "../src/index.js"

const layer = () => SqlEventLog.layer.pipe(Layer.provideMerge(Database.layerFromUrl("sqlite::memory:")))

const day = Date.UTC(2026, 10, 28, 12)
const record = (tenant: string, type: string, visitor: string | null, receivedAt = day) => ({
  tenant,
  key: visitor ?? "event",
  payload: { seq: 1, eventId: "e", type, site: "s", receivedAt, visitor }
})

describe("DailyCounts", () => {
  it.effect("counts each logged event once per tenant, day and type, across restarts of the step", () =>
    Effect.gen(function* () {
      yield* DailyCounts.migrate
      const log = yield* EventLog.EventLog
      yield* log.append([
        record("a", "page_view", "v1"),
        record("a", "page_view", null),
        record("a", "product_view", "v1"),
        record("b", "page_view", "v2"),
        record("a", "page_view", "v1", day + 86_400_000)
      ])
      assert.strictEqual(yield* DailyCounts.step(2), 2)
      assert.strictEqual(yield* DailyCounts.step(), 3)
      assert.strictEqual(yield* DailyCounts.step(), 0)
      const a = yield* DailyCounts.read("a", "2026-11-01")
      assert.deepStrictEqual(a, [
        { day: "2026-11-29", type: "page_view", events: 1, identified: 1 },
        { day: "2026-11-28", type: "page_view", events: 2, identified: 1 },
        { day: "2026-11-28", type: "product_view", events: 1, identified: 1 }
      ])
      assert.deepStrictEqual(yield* DailyCounts.read("b", "2026-11-29"), [])
      yield* log.append([record("b", "page_view", null)])
      assert.strictEqual(yield* DailyCounts.step(), 1)
      const b = yield* DailyCounts.read("b", "2026-11-01")
      assert.deepStrictEqual(b, [{ day: "2026-11-28", type: "page_view", events: 2, identified: 1 }])
    }).pipe(Effect.provide(layer()))
  )

  it("ignores records whose payload is not a logged event", () => {
    const counts = DailyCounts.fold([
      { offset: 1, tenant: "a", key: "k", payload: null, appendedAt: day },
      { offset: 2, tenant: "a", key: "k", payload: "text", appendedAt: day },
      { offset: 3, tenant: "a", key: "k", payload: { type: "page_view" }, appendedAt: day }
    ])
    assert.deepStrictEqual(counts, [{ tenant: "a", day: "2026-11-28", type: "page_view", events: 1, identified: 0 }])
  })
})

describe("DailyCounts with redelivery", () => {
  it.effect("applies a record once even when the log delivers it again (relay duplicates, uncommitted reads)", () =>
    Effect.gen(function* () {
      yield* DailyCounts.migrate
      const log = yield* EventLog.EventLog
      const forwarded = (sourceOffset: number, type: string) => ({
        ...record("a", type, "v1"),
        payload: { ...record("a", type, "v1").payload, sourceOffset }
      })
      // The relay forwarded offsets 1 and 2, crashed before committing, and forwarded them again with 3.
      yield* log.append([forwarded(1, "page_view"), forwarded(2, "add_to_cart")])
      yield* log.append([forwarded(1, "page_view"), forwarded(2, "add_to_cart"), forwarded(3, "page_view")])
      assert.strictEqual(yield* DailyCounts.step(), 5)
      assert.deepStrictEqual(yield* DailyCounts.read("a", "2026-11-01"), [
        { day: "2026-11-28", type: "add_to_cart", events: 1, identified: 1 },
        { day: "2026-11-28", type: "page_view", events: 2, identified: 2 }
      ])
    }).pipe(Effect.provide(layer()))
  )
})
