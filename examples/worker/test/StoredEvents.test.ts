import { assert, describe, it } from "@effect/vitest"
import type { LoggedRecord } from "@openaudience/eventlog"
import { EventStore, type StoredEvent } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import { StoredEvents } from "../src/index.js"

const logged = (record: { tenant: string; key: string; payload: unknown }, offset: number): LoggedRecord => ({
  ...record,
  offset,
  appendedAt: 0
})

describe("StoredEvents.toLogRecords", () => {
  it.prop(
    "one record per tenant whose runs name exactly that tenant's seqs, each once, ascending",
    [fc.array(fc.record({ tenant: fc.constantFrom("a", "b", "c"), seq: fc.integer({ min: 1, max: 80 }) }))],
    ([accepted]) => {
      const records = StoredEvents.toLogRecords(accepted)
      const tenants = [...new Set(accepted.map((e) => e.tenant))]
      assert.deepStrictEqual(
        records.map((r) => r.tenant),
        tenants,
        "one per tenant, in order of first appearance"
      )
      records.forEach((record, i) => {
        assert.strictEqual(record.key, StoredEvents.key)
        const ranges = StoredEvents.rangesOf(logged(record, i + 1))
        const named = ranges.flatMap(([first, last]) => Array.from({ length: last - first + 1 }, (_, j) => first + j))
        const expected = [...new Set(accepted.filter((e) => e.tenant === record.tenant).map((e) => e.seq))].sort(
          (x, y) => x - y
        )
        assert.deepStrictEqual(named, expected)
        // Runs are maximal: consecutive seqs never end up in two runs.
        for (let r = 1; r < ranges.length; r++) assert.isAbove(ranges[r]![0], ranges[r - 1]![1] + 1)
        assert.strictEqual(
          (record.payload as StoredEvents.StoredPayload).events,
          accepted.filter((e) => e.tenant === record.tenant).length
        )
      })
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("reads the earlier per-event format as a run of one and anything else as nothing", () => {
    const of = (payload: unknown) => StoredEvents.rangesOf(logged({ tenant: "a", key: "k", payload }, 1))
    assert.deepStrictEqual(of({ seq: 7, type: "page_view" }), [[7, 7]])
    assert.deepStrictEqual(
      of({
        stored: [
          [3, 5],
          [9, 9]
        ],
        events: 4
      }),
      [
        [3, 5],
        [9, 9]
      ]
    )
    for (const bad of [
      null,
      "text",
      { membership: "Entered" },
      { seq: 0 },
      { seq: 1.5 },
      { stored: [[5, 3]] },
      { stored: [[1, "2"]] },
      { stored: [[-1, 2]] },
      { stored: "1-2" }
    ]) {
      assert.deepStrictEqual(of(bad), [], JSON.stringify(bad))
    }
  })
})

describe("StoredEvents.load", () => {
  const event = (tenant: string, i: number): StoredEvent => ({
    tenant,
    eventId: `${tenant}-${i}`,
    type: "page_view",
    site: "s",
    receivedAt: 0,
    clientTs: null,
    visitor: i % 2 === 0 ? `v${i}` : null,
    payload: { i },
    consent: null
  })

  it.effect("hands each record its own events and stops before the budget, taking at least one record", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      yield* store.append([...Array.from({ length: 6 }, (_, i) => event("a", i)), event("b", 0)])
      const seqs = (yield* store.recent("a", 10)).map((e) => e.seq).sort((x, y) => x - y)
      const [b0] = (yield* store.recent("b", 1)).map((e) => e.seq)
      const records = [
        logged({ tenant: "a", key: StoredEvents.key, payload: { stored: [[seqs[0], seqs[2]]], events: 3 } }, 1),
        logged({ tenant: "b", key: StoredEvents.key, payload: { stored: [[b0, b0]], events: 1 } }, 2),
        logged({ tenant: "a", key: "v", payload: { membership: "Entered" } }, 3),
        logged({ tenant: "a", key: StoredEvents.key, payload: { stored: [[seqs[3], seqs[5]]], events: 3 } }, 4)
      ]
      const all = yield* StoredEvents.load(records, 100)
      assert.isFalse(all.cut)
      assert.deepStrictEqual(
        all.items.map((item) => [item.record.offset, item.events.map((e) => e.eventId)]),
        [
          [1, ["a-0", "a-1", "a-2"]],
          [2, ["b-0"]],
          [3, []],
          [4, ["a-3", "a-4", "a-5"]]
        ]
      )
      assert.strictEqual(StoredEvents.workOf(all, records.length, 10), 3 + 1 + 1 + 3)
      assert.strictEqual(StoredEvents.workOf(all, records.length, 4), StoredEvents.eventsPerStep, "a full read")
      const some = yield* StoredEvents.load(records, 4)
      assert.isTrue(some.cut)
      assert.deepStrictEqual(
        some.items.map((item) => item.record.offset),
        [1, 2, 3]
      )
      assert.strictEqual(StoredEvents.workOf(some, records.length, 10), StoredEvents.eventsPerStep)
      const one = yield* StoredEvents.load(records, 1)
      assert.deepStrictEqual(
        one.items.map((item) => item.events.length),
        [3],
        "a record larger than the budget is still taken whole"
      )
    }).pipe(Effect.provide(EventStore.layerMemory))
  )
})
