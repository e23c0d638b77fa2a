import { assert, describe, it, layer } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import { EventStore } from "../src/index.js"
import { eventStoreSuite } from "./eventStoreSuite.js"
import { sqliteLayer } from "./fixtures.js"

layer(EventStore.layerMemory, { excludeTestServices: true })("EventStore (memory)", eventStoreSuite)

layer(EventStore.layer.pipe(Layer.provide(sqliteLayer)), { excludeTestServices: true })(
  "EventStore (SQLite)",
  eventStoreSuite
)

describe("EventStore.mergeRanges", () => {
  it.prop(
    "names each seq of the valid ranges once, in sorted ranges that neither overlap nor touch",
    [fc.array(fc.tuple(fc.integer({ min: -5, max: 60 }), fc.integer({ min: -5, max: 60 })), { maxLength: 12 })],
    ([ranges]) => {
      const merged = EventStore.mergeRanges(ranges)
      const covered = (rs: ReadonlyArray<EventStore.SeqRange>) =>
        Array.from({ length: 66 }, (_, i) => i - 5).filter((n) => rs.some(([a, b]) => a <= n && n <= b))
      assert.deepStrictEqual(covered(merged), covered(ranges))
      for (let i = 0; i < merged.length; i++) {
        assert.isAtMost(merged[i]![0], merged[i]![1])
        if (i > 0) assert.isAbove(merged[i]![0], merged[i - 1]![1] + 1)
      }
    },
    { fastCheck: { numRuns: 300 } }
  )
})
