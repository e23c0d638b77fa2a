import * as SqlClient from "@effect/sql/SqlClient"
import * as Statement from "@effect/sql/Statement"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import { EventStore } from "../src/index.js"
import { eventStoreSuite } from "./eventStoreSuite.js"
import { event, sqliteLayer, unique } from "./fixtures.js"

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

layer(EventStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "EventStore (SQLite) reads by seq ranges",
  (it) => {
    it.effect("searches only the ranges' rows, never every event of the tenant, when tenants' events interleave", () =>
      Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        const sql = yield* SqlClient.SqlClient
        const [mine, theirs] = [unique("t"), unique("u")]
        // Two tenants writing at once: each one's seqs come in short runs with the other's between them.
        for (let i = 0; i < 40; i++)
          yield* store.append([
            event(mine, `m${i}`, { visitor: `v${i % 3}` }),
            event(mine, `n${i}`, { visitor: `v${i % 3}` }),
            event(theirs, `o${i}`, { visitor: "w" })
          ])
        const seqs = (yield* store.recent(mine, 1000)).map((e) => e.seq).sort((a, b) => a - b)
        const ranges: Array<EventStore.SeqRange> = []
        for (let i = 0; i + 1 < seqs.length; i += 2) ranges.push([seqs[i]!, seqs[i + 1]!])
        assert.isAbove(ranges.length, 10)
        const statements: Array<readonly [string, ReadonlyArray<unknown>]> = []
        const record: Statement.Statement.Transformer = (self) =>
          Effect.sync(() => {
            statements.push(self.compile())
            return self
          })
        const read = yield* Statement.withTransformer(
          Effect.all([
            store.bySeqRanges(mine, ranges),
            store.bySeqRanges(mine, ranges, { types: ["page_view"], identified: true }),
            store.countBySeqRanges(mine, ranges)
          ]),
          record
        )
        // What the reads answer is unchanged: all of this tenant's events, none of the other's.
        assert.deepStrictEqual(
          read[0].map((e) => e.seq),
          seqs
        )
        assert.deepStrictEqual(
          read[1].map((e) => e.seq),
          seqs
        )
        assert.strictEqual(
          read[2].reduce((n, day) => n + day.events, 0),
          seqs.length
        )
        const reads = statements.filter(([text]) => /\bSELECT\b[\s\S]*\bevents\b/.test(text))
        assert.strictEqual(reads.length, 3)
        for (const [text, params] of reads) {
          const plan = (yield* sql.unsafe<{ readonly detail: string }>(`EXPLAIN QUERY PLAN ${text}`, params)).map(
            (row) => row.detail
          )
          const searches = plan.filter((detail) => /\bevents\b/.test(detail))
          assert.isNotEmpty(searches, plan.join("\n"))
          // Each range is a range of the table's rowid (seq): no scan, and no index searched by the tenant alone.
          for (const detail of searches)
            assert.match(detail, /^SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)$/, plan.join("\n"))
        }
      })
    )
  }
)
