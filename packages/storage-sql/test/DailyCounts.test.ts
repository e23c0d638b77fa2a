import { assert, describe, it } from "@effect/vitest"
import { Consumer, EventLog, StoredEvents } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { DailyCounts, Database, EventStore, SqlEventLog, type StoredEvent } from "../src/index.js"
import { collect } from "./collect.js"

const layer = () =>
  Layer.mergeAll(SqlEventLog.layer, EventStore.layer).pipe(Layer.provideMerge(Database.layerFromUrl("sqlite::memory:")))

/** One round of the job on its own: its next records (up to `max`), applied and committed. */
const step = (max?: number) => Consumer.readAndApply(DailyCounts.job, max)

const day = Date.UTC(2026, 10, 28, 12)
let counter = 0
const event = (tenant: string, type: string, visitor: string | null, receivedAt = day): StoredEvent => ({
  tenant,
  eventId: `e${++counter}`,
  type,
  site: "s",
  receivedAt,
  clientTs: null,
  visitor,
  payload: {},
  consent: null
})

describe("DailyCounts", () => {
  it.effect("counts each stored event once per tenant, day and type, across steps", () =>
    Effect.gen(function* () {
      yield* DailyCounts.migrate
      // Three group commits: three log records (one per tenant and commit).
      yield* collect(event("a", "page_view", "v1"), event("a", "page_view", null), event("b", "page_view", "v2"))
      yield* collect(event("a", "product_view", "v1"))
      yield* collect(event("a", "page_view", "v1", day + 86_400_000))
      // One record per read: the first step applies tenant a's first commit only.
      assert.strictEqual(yield* step(1), StoredEvents.eventsPerStep, "a full read: more may wait")
      assert.deepStrictEqual(yield* DailyCounts.read("a", "2026-11-01"), [
        { day: "2026-11-28", type: "page_view", events: 2, identified: 1 }
      ])
      assert.strictEqual(yield* step(), 3)
      assert.strictEqual(yield* step(), 0)
      assert.deepStrictEqual(yield* DailyCounts.read("a", "2026-11-01"), [
        { day: "2026-11-29", type: "page_view", events: 1, identified: 1 },
        { day: "2026-11-28", type: "page_view", events: 2, identified: 1 },
        { day: "2026-11-28", type: "product_view", events: 1, identified: 1 }
      ])
      assert.deepStrictEqual(yield* DailyCounts.read("b", "2026-11-29"), [])
      yield* collect(event("b", "page_view", null))
      assert.strictEqual(yield* step(), 1)
      assert.deepStrictEqual(yield* DailyCounts.read("b", "2026-11-01"), [
        { day: "2026-11-28", type: "page_view", events: 2, identified: 1 }
      ])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("counts only what is stored: other records, erased events and the earlier per-event format", () =>
    Effect.gen(function* () {
      yield* DailyCounts.migrate
      const log = yield* EventLog.EventLog
      const store = yield* EventStore.EventStore
      yield* collect(event("a", "page_view", "gone"), event("a", "page_view", "kept"))
      // Erased after it was logged, before the job read it: not counted.
      assert.strictEqual(yield* store.eraseVisitor("a", "gone"), 1)
      const kept = (yield* store.recent("a", 10))[0]!
      // Stored by an earlier version, which logged one record per event, `{ seq, … }`.
      yield* store.append([event("a", "product_view", "old")])
      const old = (yield* store.recent("a", 1))[0]!
      yield* log.append([
        { tenant: "a", key: "kept", payload: { membership: "Entered", visitor: "kept" } },
        { tenant: "a", key: "x", payload: null },
        { tenant: "a", key: "x", payload: "text" },
        { tenant: "a", key: "x", payload: { stored: [[1, "2"]], events: 1 } },
        { tenant: "b", key: "x", payload: { stored: [[kept.seq, kept.seq]], events: 1 } },
        {
          tenant: "a",
          key: "old",
          payload: { seq: old.seq, eventId: old.eventId, type: "product_view", visitor: "old" }
        }
      ])
      yield* step()
      assert.deepStrictEqual(yield* DailyCounts.read("a", "2026-11-01"), [
        { day: "2026-11-28", type: "page_view", events: 1, identified: 1 },
        { day: "2026-11-28", type: "product_view", events: 1, identified: 1 }
      ])
      assert.deepStrictEqual(yield* DailyCounts.read("b", "2026-11-01"), [], "another tenant's record reads nothing")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("applies a record once even when the log delivers it again (relay duplicates, uncommitted reads)", () =>
    Effect.gen(function* () {
      yield* DailyCounts.migrate
      const log = yield* EventLog.EventLog
      yield* collect(event("a", "page_view", "v1"), event("a", "add_to_cart", "v1"))
      yield* collect(event("a", "page_view", "v1"))
      const source = yield* log.read("test/relay", 10)
      const forwarded = (offset: number) => {
        const record = source.find((r) => r.offset === offset)!
        return {
          tenant: record.tenant,
          key: record.key,
          payload: { ...(record.payload as object), sourceOffset: offset }
        }
      }
      const [first, second] = source.map((r) => r.offset)
      // The relay forwarded the first record, crashed before committing, and forwarded it again with the second.
      yield* log.append([forwarded(first!)])
      yield* log.append([forwarded(first!), forwarded(second!)])
      yield* step()
      assert.deepStrictEqual(yield* DailyCounts.read("a", "2026-11-01"), [
        { day: "2026-11-28", type: "add_to_cart", events: 1, identified: 1 },
        { day: "2026-11-28", type: "page_view", events: 2, identified: 2 }
      ])
    }).pipe(Effect.provide(layer()))
  )
})
