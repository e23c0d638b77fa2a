/**
 * The behaviour every EventStore implementation must have. The same suite runs against the in-memory
 * store, SQLite and PostgreSQL.
 */
import { assert, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import { type AppendOutcome, EventStore, maxReceivedAt, type SequencedEvent, type StoredEvent } from "../src/index.js"
import { event, receipt, unique } from "./fixtures.js"

const ids = (events: ReadonlyArray<SequencedEvent>) => events.map((e) => e.eventId)

export const eventStoreSuite = (it: Vitest.MethodsNonLive<EventStore.EventStore, true>) => {
  it.effect("stores a batch and reads it back with payload and consent intact", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      const consent = receipt(false)
      const payload = { url: "/p/42", product: { id: "42", price: 19.99, tags: ["a", "é", "🛒"] }, empty: null }
      const result = yield* store.append([
        event(tenant, "e1", { payload, consent, visitor: "v1", clientTs: 1_699_999_999_000 }),
        event(tenant, "e2", { type: "add_to_cart", site: "other.example", receivedAt: 1_700_000_000_123 })
      ])
      assert.deepStrictEqual(result, { outcomes: ["accepted", "accepted"], accepted: 2, duplicates: 0 })
      assert.strictEqual(yield* store.count(tenant), 2)
      const [second, first] = yield* store.recent(tenant, 10)
      assert.deepStrictEqual(first, {
        seq: first!.seq,
        tenant,
        eventId: "e1",
        type: "page_view",
        site: "shop.example",
        receivedAt: 1_700_000_000_000,
        clientTs: 1_699_999_999_000,
        visitor: "v1",
        payload,
        consent
      })
      assert.strictEqual(second!.type, "add_to_cart")
      assert.strictEqual(second!.site, "other.example")
      assert.strictEqual(second!.receivedAt, 1_700_000_000_123)
      assert.strictEqual(second!.consent, null)
      assert.strictEqual(second!.visitor, null)
      assert.isTrue(second!.seq > first!.seq)
    })
  )

  it.effect("a consent that is not a complete receipt reads back as null, the rest of the event intact", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      // From untyped callers: a decision instead of a receipt, a receipt of an unknown version, a string.
      const odd = [{ decision: { personalization: true, child: false } }, { ...receipt(), v: 2 }, "granted"]
      yield* store.append([
        ...odd.map((consent, i) => event(tenant, `odd${i}`, { consent: consent as never, visitor: "v" })),
        event(tenant, "good", { consent: receipt(), visitor: "v" })
      ])
      const read = yield* store.byVisitor(tenant, "v")
      assert.deepStrictEqual(
        read.map((e) => [e.eventId, e.consent, e.payload]).sort(),
        [
          ["good", receipt(), { url: "/", n: 1 }],
          ["odd0", null, { url: "/", n: 1 }],
          ["odd1", null, { url: "/", n: 1 }],
          ["odd2", null, { url: "/", n: 1 }]
        ].sort()
      )
    })
  )

  it.effect("an empty batch stores nothing", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      assert.deepStrictEqual(yield* store.append([]), { outcomes: [], accepted: 0, duplicates: 0 })
    })
  )

  it.effect("a duplicate inside one batch is stored once and the first copy wins", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      const result = yield* store.append([
        event(tenant, "a", { payload: { copy: 1 } }),
        event(tenant, "b"),
        event(tenant, "a", { payload: { copy: 2 } }),
        event(tenant, "a", { payload: { copy: 3 } })
      ])
      assert.deepStrictEqual(result.outcomes, ["accepted", "accepted", "duplicate", "duplicate"])
      assert.strictEqual(result.accepted, 2)
      assert.strictEqual(result.duplicates, 2)
      const stored = yield* store.recent(tenant, 10)
      assert.deepStrictEqual(ids(stored), ["b", "a"])
      assert.deepStrictEqual(stored[1]!.payload, { copy: 1 })
    })
  )

  it.effect("a duplicate of an earlier batch is reported and not stored again", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      yield* store.append([event(tenant, "a", { payload: { first: true } })])
      const retry = yield* store.append([event(tenant, "c"), event(tenant, "a", { payload: { first: false } })])
      assert.deepStrictEqual(retry.outcomes, ["accepted", "duplicate"])
      assert.strictEqual(yield* store.count(tenant), 2)
      const stored = yield* store.recent(tenant, 10)
      assert.deepStrictEqual(ids(stored), ["c", "a"])
      assert.deepStrictEqual(stored[1]!.payload, { first: true })
    })
  )

  it.effect("the same event id in two tenants is two events", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const a = unique("ta")
      const b = unique("tb")
      const result = yield* store.append([event(a, "same"), event(b, "same")])
      assert.deepStrictEqual(result.outcomes, ["accepted", "accepted"])
      assert.strictEqual(yield* store.count(a), 1)
      assert.strictEqual(yield* store.count(b), 1)
    })
  )

  it.effect("recent is newest first by sequence, not by timestamp, and honours the limit", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      // Received times run backwards: the order must still follow insertion.
      for (let i = 0; i < 5; i++) {
        yield* store.append([event(tenant, `e${i}`, { receivedAt: 1_700_000_000_000 - i * 1000 })])
      }
      yield* store.append([event(tenant, "e5"), event(tenant, "e6")])
      assert.deepStrictEqual(ids(yield* store.recent(tenant, 3)), ["e6", "e5", "e4"])
      assert.deepStrictEqual(ids(yield* store.recent(tenant, 100)), ["e6", "e5", "e4", "e3", "e2", "e1", "e0"])
      assert.deepStrictEqual(yield* store.recent(tenant, 0), [])
      assert.deepStrictEqual(yield* store.recent(tenant, -5), [])
      const seqs = (yield* store.recent(tenant, 100)).map((e) => e.seq)
      assert.deepStrictEqual(
        seqs,
        [...seqs].sort((x, y) => y - x)
      )
      assert.strictEqual(new Set(seqs).size, seqs.length)
    })
  )

  it.effect("one tenant's reads never return another tenant's rows", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const a = unique("ta")
      const b = unique("tb")
      yield* store.append([
        event(a, "a1", { visitor: "shared-visitor" }),
        event(b, "b1", { visitor: "shared-visitor" }),
        event(b, "b2", { visitor: "shared-visitor" }),
        event(a, "a2", { visitor: "other" })
      ])
      const recentA = yield* store.recent(a, 100)
      assert.deepStrictEqual(ids(recentA), ["a2", "a1"])
      assert.isTrue(recentA.every((e) => e.tenant === a))
      const visitorA = yield* store.byVisitor(a, "shared-visitor")
      assert.deepStrictEqual(ids(visitorA), ["a1"])
      const visitorB = yield* store.byVisitor(b, "shared-visitor")
      assert.deepStrictEqual(ids(visitorB), ["b1", "b2"])
      assert.strictEqual(yield* store.eraseVisitor(a, "shared-visitor"), 1)
      assert.deepStrictEqual(ids(yield* store.byVisitor(b, "shared-visitor")), ["b1", "b2"])
      assert.strictEqual(yield* store.count(b), 2)
      assert.deepStrictEqual(yield* store.recent(unique("nobody"), 10), [])
    })
  )

  it.effect("visitors pages through every distinct visitor once; byVisitors groups their events by visitor", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      const other = unique("t")
      const keys = Array.from({ length: 23 }, (_, i) => `vis-${String(i).padStart(2, "0")}${i % 3 === 0 ? "_x" : ""}`)
      yield* store.append(
        keys.flatMap((v, i) => [
          event(tenant, `${v}-a`, { visitor: v, receivedAt: 1_700_000_000_000 + i }),
          event(tenant, `anon-${i}`, { visitor: null }),
          event(tenant, `${v}-b`, { visitor: v, receivedAt: 1_600_000_000_000 + i })
        ])
      )
      yield* store.append([event(other, "o1", { visitor: "vis-99" })])
      const seen: Array<string> = []
      let after: string | undefined
      for (;;) {
        const page = yield* store.visitors(tenant, after, 5)
        if (page.length === 0) break
        assert.isAtMost(page.length, 5)
        seen.push(...page)
        after = page[page.length - 1]
      }
      assert.deepStrictEqual([...seen].sort(), [...keys].sort())
      assert.deepStrictEqual(yield* store.visitors(tenant, undefined, 0), [])
      assert.deepStrictEqual(yield* store.visitors(unique("t"), undefined, 10), [])
      const wanted = [keys[7]!, keys[2]!, "nobody"]
      const events = yield* store.byVisitors(tenant, wanted)
      // Grouped in the order asked, oldest stored first within a visitor (seq order, not receivedAt).
      assert.deepStrictEqual(ids(events), [`${keys[7]}-a`, `${keys[7]}-b`, `${keys[2]}-a`, `${keys[2]}-b`])
      assert.deepStrictEqual(yield* store.byVisitors(tenant, []), [])
      assert.deepStrictEqual(yield* store.byVisitors(other, [keys[7]!]), [])
      const many = yield* store.byVisitors(tenant, [...keys, ...Array.from({ length: 600 }, (_, i) => `none-${i}`)])
      assert.strictEqual(many.length, keys.length * 2)
      const some = yield* store.recent(tenant, 1000)
      const seqs = [some[3]!.seq, some[0]!.seq, some[40]!.seq, 987_654_321]
      assert.deepStrictEqual(
        (yield* store.bySeqs(tenant, seqs)).map((e) => e.seq),
        [some[40]!.seq, some[3]!.seq, some[0]!.seq]
      )
      assert.deepStrictEqual(yield* store.bySeqs(other, seqs), [])
      assert.deepStrictEqual(yield* store.bySeqs(tenant, []), [])
      // Ranges: inclusive, overlapping or touching ones read once, invalid ones ignored, other tenants' never.
      const all = (yield* store.recent(tenant, 1000)).map((e) => e.seq).sort((a, b) => a - b)
      const ranges: ReadonlyArray<EventStore.SeqRange> = [
        [all[30]!, all[35]!],
        [all[2]!, all[4]!],
        [all[33]!, all[40]!],
        [all[41]!, all[41]!],
        [all[10]!, all[5]!],
        [Number.NaN, all[20]!],
        [987_654_321, 987_654_400]
      ]
      const inRanges = all.filter((seq) => (seq >= all[2]! && seq <= all[4]!) || (seq >= all[30]! && seq <= all[41]!))
      assert.deepStrictEqual(
        (yield* store.bySeqRanges(tenant, ranges)).map((e) => e.seq),
        inRanges
      )
      assert.deepStrictEqual(yield* store.bySeqRanges(other, ranges), [])
      assert.deepStrictEqual(yield* store.bySeqRanges(tenant, []), [])
      // More ranges than one statement carries (every other event, then 300 ranges past the end), in seq order.
      const everyOther = all.filter((_, i) => i % 2 === 0)
      const spread: ReadonlyArray<EventStore.SeqRange> = [
        ...Array.from({ length: 300 }, (_, i): EventStore.SeqRange => [900_000_000 + 3 * i, 900_000_001 + 3 * i]),
        ...everyOther.map((seq): EventStore.SeqRange => [seq, seq]).reverse()
      ]
      assert.deepStrictEqual(
        (yield* store.bySeqRanges(tenant, spread)).map((e) => e.seq),
        everyOther
      )
    })
  )

  it.effect("bySeqRanges with a filter reads only events of those types, or with a visitor, in seq order", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      const types = ["page_view", "conversion", "product_view", "conversion", "add_to_cart", "page_view", "conversion"]
      yield* store.append(types.map((type, i) => event(tenant, `typed-${i}`, { type, visitor: `v${i % 3}` })))
      yield* store.append([event(unique("other"), "typed-x", { type: "conversion" })])
      const seqs = (yield* store.recent(tenant, 10)).map((e) => e.seq).sort((a, b) => a - b)
      const all: ReadonlyArray<EventStore.SeqRange> = [[seqs[0]!, seqs[seqs.length - 1]!]]
      const typeOf = (events: ReadonlyArray<{ readonly type: string }>) => events.map((e) => e.type)
      assert.deepStrictEqual(typeOf(yield* store.bySeqRanges(tenant, all, { types: ["conversion"] })), [
        "conversion",
        "conversion",
        "conversion"
      ])
      assert.deepStrictEqual(typeOf(yield* store.bySeqRanges(tenant, all, { types: ["add_to_cart", "page_view"] })), [
        "page_view",
        "add_to_cart",
        "page_view"
      ])
      // Only the second conversion's range: the filter narrows the ranges, never widens them.
      assert.deepStrictEqual(
        (yield* store.bySeqRanges(tenant, [[seqs[2]!, seqs[4]!]], { types: ["conversion"] })).map((e) => e.seq),
        [seqs[3]!]
      )
      assert.deepStrictEqual(yield* store.bySeqRanges(tenant, all, { types: [] }), [])
      assert.deepStrictEqual(yield* store.bySeqRanges(tenant, all, { types: ["purchase"] }), [])
      assert.deepStrictEqual(typeOf(yield* store.bySeqRanges(tenant, all)), types)
      // Identified only: the events appended without a visitor are skipped, alone or with a type filter.
      const bare = unique("t")
      yield* store.append([
        event(bare, "id-a", { type: "page_view", visitor: "v1" }),
        event(bare, "id-b", { type: "page_view" }),
        event(bare, "id-c", { type: "conversion" }),
        event(bare, "id-d", { type: "conversion", visitor: "v2" })
      ])
      const bareSeqs = (yield* store.recent(bare, 10)).map((e) => e.seq).sort((a, b) => a - b)
      const bareAll: ReadonlyArray<EventStore.SeqRange> = [[bareSeqs[0]!, bareSeqs[3]!]]
      assert.deepStrictEqual(
        (yield* store.bySeqRanges(bare, bareAll, { identified: true })).map((e) => e.eventId),
        ["id-a", "id-d"]
      )
      assert.deepStrictEqual(
        (yield* store.bySeqRanges(bare, bareAll, { identified: true, types: ["conversion"] })).map((e) => e.eventId),
        ["id-d"]
      )
      assert.strictEqual((yield* store.bySeqRanges(bare, bareAll, { identified: false })).length, 4)
    })
  )

  it.effect("countBySeqRanges counts the ranges' events per UTC day and type, and those with a visitor", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      const midnight = Date.UTC(2026, 10, 28)
      const at = [midnight - 1, midnight, midnight + 86_399_999, midnight + 86_400_000]
      yield* store.append([
        event(tenant, "a", { receivedAt: at[0]!, visitor: "v1" }),
        event(tenant, "b", { receivedAt: at[1]!, visitor: "v1" }),
        event(tenant, "c", { receivedAt: at[1]!, type: "product_view" }),
        event(tenant, "d", { receivedAt: at[2]!, visitor: "v2" }),
        event(tenant, "e", { receivedAt: at[3]!, visitor: "v2" }),
        event(tenant, "f", { receivedAt: at[2]! })
      ])
      yield* store.append([event(unique("other"), "x", { receivedAt: at[1]! })])
      const seqs = (yield* store.recent(tenant, 10)).map((e) => e.seq).sort((a, b) => a - b)
      const all: ReadonlyArray<EventStore.SeqRange> = [[seqs[0]!, seqs[5]! + 1]]
      assert.deepStrictEqual(yield* store.countBySeqRanges(tenant, all), [
        { day: "2026-11-27", type: "page_view", events: 1, identified: 1 },
        { day: "2026-11-28", type: "page_view", events: 3, identified: 2 },
        { day: "2026-11-28", type: "product_view", events: 1, identified: 0 },
        { day: "2026-11-29", type: "page_view", events: 1, identified: 1 }
      ])
      // Overlapping ranges count an event once; sums across more ranges than one statement carries.
      const pieces: Array<EventStore.SeqRange> = [
        [seqs[1]!, seqs[3]!],
        [seqs[3]!, seqs[3]!],
        ...Array.from({ length: 250 }, (_, i): EventStore.SeqRange => [900_000_000 + 3 * i, 900_000_000 + 3 * i]),
        [seqs[5]!, seqs[5]!]
      ]
      assert.deepStrictEqual(yield* store.countBySeqRanges(tenant, pieces), [
        { day: "2026-11-28", type: "page_view", events: 3, identified: 2 },
        { day: "2026-11-28", type: "product_view", events: 1, identified: 0 }
      ])
      assert.deepStrictEqual(yield* store.countBySeqRanges(unique("none"), all), [])
      // The first and the last instant the store accepts.
      const edges = unique("t")
      yield* store.append([
        event(edges, "first", { receivedAt: 0 }),
        event(edges, "last", { receivedAt: maxReceivedAt })
      ])
      const edgeSeqs = (yield* store.recent(edges, 2)).map((e) => e.seq).sort((a, b) => a - b)
      assert.deepStrictEqual(
        (yield* store.countBySeqRanges(edges, [[edgeSeqs[0]!, edgeSeqs[1]!]])).map((c) => c.day),
        ["1970-01-01", "9999-12-31"]
      )
      assert.deepStrictEqual(yield* store.countBySeqRanges(tenant, []), [])
    })
  )

  it.effect("countBySeqRanges puts any accepted receivedAt on its UTC date, as JavaScript's Date does", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      // Instants anywhere in the accepted range, and next to midnights (the first and last millisecond of a day).
      const midnight = fc.integer({ min: 1, max: Math.floor(maxReceivedAt / 86_400_000) }).map((d) => d * 86_400_000)
      const instants = fc.sample(
        fc.oneof(
          fc.integer({ min: 0, max: maxReceivedAt }),
          midnight,
          midnight.map((m) => m - 1)
        ),
        { numRuns: 120, seed: 20261207 }
      )
      yield* store.append(instants.map((receivedAt, i) => event(tenant, `d${i}`, { receivedAt })))
      const seqs = (yield* store.recent(tenant, instants.length)).map((e) => e.seq)
      const counted = yield* store.countBySeqRanges(tenant, [[Math.min(...seqs), Math.max(...seqs)]])
      const expected = new Map<string, number>()
      for (const at of instants) {
        const day = new Date(at).toISOString().slice(0, 10)
        expected.set(day, (expected.get(day) ?? 0) + 1)
      }
      assert.deepStrictEqual(
        counted.map((c) => [c.day, c.events]),
        [...expected].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      )
    })
  )

  it.effect("byVisitor lists a visitor's events oldest first and eraseVisitor removes exactly them", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      yield* store.append([
        event(tenant, "v1-1", { visitor: "v1" }),
        event(tenant, "v2-1", { visitor: "v2" }),
        event(tenant, "anon", { visitor: null }),
        event(tenant, "v1-2", { visitor: "v1" })
      ])
      assert.deepStrictEqual(ids(yield* store.byVisitor(tenant, "v1")), ["v1-1", "v1-2"])
      assert.strictEqual(yield* store.eraseVisitor(tenant, "v1"), 2)
      assert.deepStrictEqual(yield* store.byVisitor(tenant, "v1"), [])
      assert.strictEqual(yield* store.eraseVisitor(tenant, "v1"), 0)
      assert.deepStrictEqual(ids(yield* store.recent(tenant, 10)), ["anon", "v2-1"])
      assert.strictEqual(yield* store.count(tenant), 2)
    })
  )

  it.effect(
    "appends 5,000 events in one call and recognises all of them as duplicates on retry",
    () =>
      Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        const tenant = unique("t")
        const batch = Array.from({ length: 5000 }, (_, i) =>
          event(tenant, `big-${i}`, { visitor: `v${i % 50}`, payload: { i, path: `/p/${i}` } })
        )
        const first = yield* store.append(batch)
        assert.strictEqual(first.accepted, 5000)
        assert.isTrue(first.outcomes.every((o) => o === "accepted"))
        assert.strictEqual(yield* store.count(tenant), 5000)
        const retry = yield* store.append(batch)
        assert.strictEqual(retry.duplicates, 5000)
        assert.strictEqual(yield* store.count(tenant), 5000)
        const newest = yield* store.recent(tenant, 1)
        assert.deepStrictEqual(newest[0]!.payload, { i: 4999, path: "/p/4999" })
        assert.strictEqual((yield* store.byVisitor(tenant, "v7")).length, 100)
      }),
    60_000
  )

  it.effect("an invalid event fails the whole batch with InvalidInput and stores nothing", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      const cases: ReadonlyArray<StoredEvent> = [
        event(tenant, "", {}),
        event(tenant, "x", { receivedAt: 1.5 }),
        event(tenant, "x", { receivedAt: -1 }),
        event(tenant, "x", { receivedAt: 253_402_300_800_000 }),
        event(tenant, "x", { clientTs: Number.NaN }),
        event(tenant, "x", { payload: cyclic }),
        event(tenant, "x", { payload: undefined }),
        event("", "x")
      ]
      for (const bad of cases) {
        const exit = yield* Effect.exit(store.append([event(tenant, "good"), bad]))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          assert.strictEqual(error?._tag, "StorageError")
          assert.strictEqual(error?.reason, "InvalidInput")
          assert.match(error?.message ?? "", /event #1/)
        }
      }
      assert.strictEqual(yield* store.count(tenant), 0)
    })
  )

  it.effect("inTransaction sees the accepted events and its failure rolls the append back", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      yield* store.append([event(tenant, "old")])
      let seen: ReadonlyArray<SequencedEvent> = []
      const result = yield* store.append([event(tenant, "old"), event(tenant, "n1"), event(tenant, "n2")], {
        inTransaction: (accepted) =>
          Effect.sync(() => {
            seen = accepted
          })
      })
      assert.deepStrictEqual(result.outcomes, ["duplicate", "accepted", "accepted"])
      assert.deepStrictEqual(
        seen.map((e) => e.eventId),
        ["n1", "n2"]
      )
      const stored = yield* store.recent(tenant, 2)
      assert.deepStrictEqual(
        seen.map((e) => e.seq),
        [stored[1]!.seq, stored[0]!.seq]
      )

      const failed = yield* Effect.flip(
        store.append([event(tenant, "n3"), event(tenant, "n1")], {
          inTransaction: () => Effect.fail("log unavailable" as const)
        })
      )
      assert.strictEqual(failed, "log unavailable")
      assert.strictEqual(yield* store.count(tenant), 3)
      const again = yield* store.append([event(tenant, "n3")])
      assert.deepStrictEqual(again.outcomes, ["accepted"])
    })
  )

  it.effect.prop(
    "for any sequence of batches the stored set is the distinct (tenant, eventId) pairs and flags agree",
    [
      fc.array(
        fc.array(fc.record({ tenant: fc.constantFrom("a", "b"), id: fc.integer({ min: 0, max: 11 }) }), {
          maxLength: 25
        }),
        { maxLength: 6 }
      )
    ],
    ([batches]) =>
      Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        const run = unique("p")
        const tenantOf = (t: string) => `${run}-${t}`
        const firstPayload = new Map<string, unknown>()
        for (let b = 0; b < batches.length; b++) {
          const batch = batches[b]!
          const expected: Array<AppendOutcome> = []
          const events = batch.map(({ id, tenant }, position) => {
            const key = `${tenant}/${id}`
            const payload = { batch: b, position }
            if (firstPayload.has(key)) {
              expected.push("duplicate")
            } else {
              firstPayload.set(key, payload)
              expected.push("accepted")
            }
            return event(tenantOf(tenant), `id-${id}`, { payload })
          })
          const result = yield* store.append(events)
          assert.deepStrictEqual(result.outcomes, expected)
          assert.strictEqual(result.accepted, expected.filter((o) => o === "accepted").length)
          assert.strictEqual(result.accepted + result.duplicates, batch.length)
        }
        for (const t of ["a", "b"]) {
          const stored = yield* store.recent(tenantOf(t), 1000)
          const expectedKeys = [...firstPayload.keys()].filter((key) => key.startsWith(`${t}/`))
          assert.strictEqual(stored.length, expectedKeys.length)
          assert.strictEqual(yield* store.count(tenantOf(t)), expectedKeys.length)
          for (const e of stored) {
            assert.strictEqual(e.tenant, tenantOf(t))
            assert.deepStrictEqual(e.payload, firstPayload.get(`${t}/${e.eventId.slice(3)}`))
          }
        }
      }),
    { timeout: 60_000, fastCheck: { numRuns: 40 } }
  )
}
