import { assert, describe, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { type LoggedRecord, StoredEvents } from "../src/index.js"

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

describe("StoredEvents.take", () => {
  const stored = (offset: number, tenant: string, ranges: ReadonlyArray<readonly [number, number]>) =>
    logged({ tenant, key: StoredEvents.key, payload: { stored: ranges, events: 0 } }, offset)
  const records = [
    stored(1, "a", [[1, 3]]),
    stored(2, "b", [[4, 4]]),
    logged({ tenant: "a", key: "v", payload: { membership: "Entered" } }, 3),
    stored(4, "a", [
      [5, 6],
      [8, 8]
    ])
  ]

  it("takes records up to the budget, at least one, and groups their runs by tenant", () => {
    const all = StoredEvents.take(records, 100)
    assert.isFalse(all.cut)
    assert.deepStrictEqual(
      all.items.map((item) => [item.record.offset, item.ranges]),
      [
        [1, [[1, 3]]],
        [2, [[4, 4]]],
        [3, []],
        [
          4,
          [
            [5, 6],
            [8, 8]
          ]
        ]
      ]
    )
    assert.deepStrictEqual(
      [...StoredEvents.byTenant(all.items)],
      [
        [
          "a",
          [
            [1, 3],
            [5, 6],
            [8, 8]
          ]
        ],
        ["b", [[4, 4]]]
      ]
    )
    assert.strictEqual(StoredEvents.workOf(all, records.length, 10), 3 + 1 + 1 + 3)
    assert.strictEqual(StoredEvents.workOf(all, records.length, 4), StoredEvents.eventsPerStep, "a full read")
    const some = StoredEvents.take(records, 4)
    assert.isTrue(some.cut)
    assert.deepStrictEqual(
      some.items.map((item) => item.record.offset),
      [1, 2, 3]
    )
    assert.strictEqual(StoredEvents.workOf(some, records.length, 10), StoredEvents.eventsPerStep)
    const one = StoredEvents.take(records, 1)
    assert.deepStrictEqual(
      one.items.map((item) => item.record.offset),
      [1],
      "a record larger than the budget is still taken whole"
    )
    assert.deepStrictEqual(StoredEvents.take([], 10), { items: [], cut: false })
  })
})
