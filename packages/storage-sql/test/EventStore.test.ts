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

/** The store's own statements run by `effect`, recorded as compiled, with its result. */
const recording = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const statements: Array<readonly [string, ReadonlyArray<unknown>]> = []
    const record: Statement.Statement.Transformer = (self) =>
      Effect.sync(() => {
        statements.push(self.compile())
        return self
      })
    return Effect.map(Statement.withTransformer(effect, record), (result) => ({ result, statements }))
  })

/** SQLite's plan of each recorded statement that reads `events`: the lines that name the table. */
const plansOfEventReads = (statements: ReadonlyArray<readonly [string, ReadonlyArray<unknown>]>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const reads = statements.filter(([text]) => /\bSELECT\b[\s\S]*\bevents\b/.test(text))
    return yield* Effect.forEach(reads, ([text, params]) =>
      Effect.map(Effect.orDie(sql.unsafe<{ readonly detail: string }>(`EXPLAIN QUERY PLAN ${text}`, params)), (rows) =>
        rows.map((row) => row.detail).filter((detail) => /\bevents\b/.test(detail))
      )
    )
  })

layer(EventStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "EventStore (SQLite) query plans",
  (it) => {
    // Two tenants writing at once: each one's seqs come in short runs with the other's between them.
    const interleaved = Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const [mine, theirs] = [unique("t"), unique("u")]
      for (let i = 0; i < 40; i++)
        yield* store.append([
          event(mine, `m${i}`, { visitor: `v${i % 3}` }),
          event(mine, `n${i}`, { visitor: `v${i % 3}` }),
          event(theirs, `o${i}`, { visitor: "w" })
        ])
      const seqs = (yield* store.recent(mine, 1000)).map((e) => e.seq).sort((a, b) => a - b)
      return { store, mine, seqs }
    })

    it.effect("reads by seq ranges search each range of the rowid, never every event of the tenant", () =>
      Effect.gen(function* () {
        const { store, mine, seqs } = yield* interleaved
        const ranges: Array<EventStore.SeqRange> = []
        for (let i = 0; i + 1 < seqs.length; i += 2) ranges.push([seqs[i]!, seqs[i + 1]!])
        assert.isAbove(ranges.length, 10)
        const { result, statements } = yield* recording(
          Effect.all([
            store.bySeqRanges(mine, ranges),
            store.bySeqRanges(mine, ranges, { types: ["page_view"], identified: true }),
            store.countBySeqRanges(mine, ranges)
          ])
        )
        // What the reads answer is unchanged: all of this tenant's events, none of the other's, in seq order.
        assert.deepStrictEqual(
          result[0].map((e) => e.seq),
          seqs
        )
        assert.deepStrictEqual(
          result[1].map((e) => e.seq),
          seqs
        )
        assert.strictEqual(
          result[2].reduce((n, day) => n + day.events, 0),
          seqs.length
        )
        const plans = yield* plansOfEventReads(statements)
        assert.strictEqual(plans.length, 3)
        // No scan, and no index searched by the tenant alone.
        for (const plan of plans) {
          assert.isNotEmpty(plan)
          for (const detail of plan)
            assert.match(detail, /^SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)$/, plan.join("\n"))
        }
      })
    )

    it.effect("reads by visitors and by seqs search per value, never every event of the tenant", () =>
      Effect.gen(function* () {
        const { store, mine, seqs } = yield* interleaved
        const { result, statements } = yield* recording(
          Effect.all([store.byVisitors(mine, ["v2", "v0", "nobody"]), store.bySeqs(mine, [...seqs].reverse())])
        )
        const [byVisitors, bySeqs] = result
        // Grouped by visitor in the order asked, each in seq order; by seq in seq order.
        const eventsOf = (visitor: string) =>
          2 * Array.from({ length: 40 }, (_, i) => `v${i % 3}`).filter((v) => v === visitor).length
        assert.deepStrictEqual(
          byVisitors.map((e) => e.visitor),
          [...Array(eventsOf("v2")).fill("v2"), ...Array(eventsOf("v0")).fill("v0")]
        )
        for (let i = 1; i < byVisitors.length; i++)
          if (byVisitors[i]!.visitor === byVisitors[i - 1]!.visitor)
            assert.isAbove(byVisitors[i]!.seq, byVisitors[i - 1]!.seq)
        assert.deepStrictEqual(
          bySeqs.map((e) => e.seq),
          seqs
        )
        const plans = yield* plansOfEventReads(statements)
        assert.strictEqual(plans.length, 2)
        assert.match(
          plans[0]!.join("\n"),
          /^SEARCH events USING INDEX events_tenant_visitor \(tenant=\? AND visitor=\?\)$/
        )
        assert.match(
          plans[1]!.join("\n"),
          /^SEARCH events USING (INTEGER PRIMARY KEY \(rowid=\?\)|INDEX events_tenant_seq \(tenant=\? AND seq=\?( AND rowid=\?)?\))$/
        )
      })
    )
  }
)
