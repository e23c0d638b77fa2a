/**
 * The behaviour of a `CapStore` (ad-selector has no shared suite for it), run over `Caps.layerMemory` as the
 * reference and over `SqlCapStore` on SQLite and PostgreSQL: random sequences of records (keys repeated, times
 * crossing hour, day and week windows and going back), reads and erasures answer exactly as the in-memory store
 * does; concurrent records of one visitor lose no count; tenants and visitors are kept apart. Every test uses
 * tenants of its own, so the suite can share one store.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Caps } from "@openaudience/ad-selector"
import { Effect, FastCheck as fc } from "effect"
import { unique } from "./fixtures.js"

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** Monday 2026-11-30 00:00 UTC, a week boundary. */
export const monday = Date.UTC(2026, 10, 30)

/** A map's entries in key order, for comparing two reads. */
const entries = (counters: Caps.Counters) => [...counters.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

type Op =
  | { readonly _tag: "record"; readonly visitor: number; readonly keys: ReadonlyArray<string>; readonly step: number }
  | { readonly _tag: "forget"; readonly visitor: number }

const capKeys = ["advertiser", "campaign:c1", "campaign:c2", "creative:c1/a", "creative:c1/b", "campaign:ünï 😀"]

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      _tag: fc.constant("record" as const),
      visitor: fc.integer({ min: 0, max: 2 }),
      keys: fc.array(fc.constantFrom(...capKeys), { maxLength: 5 }),
      // Minutes to hours ahead (windows roll over), sometimes days or a week, sometimes back (another clock).
      step: fc.oneof(fc.integer({ min: 0, max: 90 * 60_000 }), fc.constantFrom(HOUR, DAY - 1, DAY, 7 * DAY, -HOUR, -1))
    })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("forget" as const), visitor: fc.integer({ min: 0, max: 2 }) }) }
)

export const capStoreSuite = (it: Vitest.MethodsNonLive<Caps.CapStore, true>) => {
  it.effect("answers every read as the in-memory store does, over random records, window changes and erasures", () =>
    Effect.gen(function* () {
      const store = yield* Caps.CapStore
      const runs = fc.sample(fc.array(op, { minLength: 1, maxLength: 40 }), { seed: 71, numRuns: 25 })
      for (const ops of runs) {
        const reference = Caps.makeMemory()
        const tenant = unique("caps")
        const visitors = [unique("v"), unique("v"), unique("v")]
        let now = monday - 2 * HOUR
        for (const o of ops) {
          const visitor = visitors[o.visitor]!
          if (o._tag === "record") {
            now += o.step
            yield* store.record(tenant, visitor, o.keys, now)
            yield* reference.record(tenant, visitor, o.keys, now)
          } else {
            yield* store.forget(tenant, visitor)
            yield* reference.forget(tenant, visitor)
          }
          for (const v of visitors) {
            assert.deepStrictEqual(
              entries(yield* store.read(tenant, v)),
              entries(yield* reference.read(tenant, v)),
              JSON.stringify(ops)
            )
          }
        }
      }
    })
  )

  it.effect("counts a key named twice in one call once, and an empty call not at all", () =>
    Effect.gen(function* () {
      const store = yield* Caps.CapStore
      const tenant = unique("caps")
      yield* store.record(tenant, "v", ["campaign:a", "campaign:a", "advertiser"], monday)
      yield* store.record(tenant, "v", [], monday + 1)
      const counters = yield* store.read(tenant, "v")
      assert.deepStrictEqual(counters.get("campaign:a"), Caps.increment(undefined, monday))
      assert.strictEqual(Caps.count(counters.get("advertiser"), "day", monday), 1)
      assert.strictEqual(counters.size, 2)
    })
  )

  it.effect("counts every impression recorded at once for one visitor", () =>
    Effect.gen(function* () {
      const store = yield* Caps.CapStore
      const tenant = unique("caps")
      const n = 40
      yield* Effect.all(
        Array.from({ length: n }, (_, i) =>
          store.record(tenant, "v", i % 2 === 0 ? ["advertiser", "campaign:a"] : ["campaign:a", "advertiser"], monday)
        ),
        { concurrency: "unbounded", discard: true }
      )
      const counters = yield* store.read(tenant, "v")
      for (const key of ["advertiser", "campaign:a"]) {
        const counter = counters.get(key)
        assert.strictEqual(counter?.total, n)
        for (const window of ["hour", "day", "week", "lifetime"] as const) {
          assert.strictEqual(Caps.count(counter, window, monday), n)
        }
      }
    })
  )

  it.effect("keeps tenants and visitors apart, and forgets one visitor of one tenant only", () =>
    Effect.gen(function* () {
      const store = yield* Caps.CapStore
      const [one, two] = [unique("caps"), unique("caps")]
      yield* store.record(one, "v", ["advertiser"], monday)
      yield* store.record(one, "w", ["advertiser"], monday)
      yield* store.record(two, "v", ["advertiser"], monday)
      yield* store.record(two, "v", ["advertiser"], monday + 1)
      assert.strictEqual((yield* store.read(one, "v")).get("advertiser")?.total, 1)
      assert.strictEqual((yield* store.read(two, "v")).get("advertiser")?.total, 2)
      assert.strictEqual((yield* store.read(one, "v'; --")).size, 0)
      yield* store.forget(one, "v")
      assert.strictEqual((yield* store.read(one, "v")).size, 0)
      assert.strictEqual((yield* store.read(one, "w")).get("advertiser")?.total, 1)
      assert.strictEqual((yield* store.read(two, "v")).get("advertiser")?.total, 2)
      yield* store.forget(one, "nobody")
    })
  )
}
