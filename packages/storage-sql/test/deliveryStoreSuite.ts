/**
 * The behaviour of a `DeliveryStore` (ad-selector has no shared suite for it), run over `Budget.layerMemory` as the
 * reference and over `SqlDeliveryStore` on SQLite and PostgreSQL: random sequences of charges (daily and total limits,
 * days passing and clocks going back) and pacing states answer exactly as the in-memory store does; concurrent
 * charges never overspend and spend exactly what they accepted; amounts above 2^53 millis compare exactly. Every test
 * uses campaigns of its own, so the suite can share one store.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Budget, type Pacing } from "@openaudience/ad-selector"
import { Effect, FastCheck as fc } from "effect"
import { unique } from "./fixtures.js"

const DAY = 86_400_000

/** 2026-12-05 00:00 UTC. */
export const morning = Date.UTC(2026, 11, 5)

/** A pacing state with awkward doubles. */
export const pacingState = (p = 0.1 + 0.2): Pacing.State => ({
  day: Math.floor(morning / DAY),
  p,
  stepAt: morning + 1,
  spentAtStep: 123_456,
  target: 9_007_199_254_740_991,
  nextAt: morning + 60_000.5
})

type Op =
  | {
      readonly _tag: "charge"
      readonly campaign: number
      readonly cost: number
      readonly daily: number | undefined
      readonly total: number | undefined
      readonly step: number
    }
  | { readonly _tag: "pacing"; readonly campaign: number; readonly p: number }

const limit = fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined, freq: 3 })

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      _tag: fc.constant("charge" as const),
      campaign: fc.integer({ min: 0, max: 2 }),
      cost: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constant(-3)),
      daily: limit,
      total: fc.option(fc.integer({ min: 0, max: 150 }), { nil: undefined, freq: 3 }),
      // Minutes to hours ahead, sometimes a day or more, sometimes back (another process's clock).
      step: fc.oneof(fc.integer({ min: 0, max: 6 * 3_600_000 }), fc.constantFrom(DAY, 3 * DAY, -60_000, -DAY))
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("pacing" as const),
      campaign: fc.integer({ min: 0, max: 2 }),
      p: fc.double({ min: 0, max: 1, noNaN: true })
    })
  }
)

export const deliveryStoreSuite = (it: Vitest.MethodsNonLive<Budget.DeliveryStore, true>) => {
  it.effect("answers every charge and read as the in-memory store does, over random charges, days and limits", () =>
    Effect.gen(function* () {
      const store = yield* Budget.DeliveryStore
      const runs = fc.sample(fc.array(op, { minLength: 1, maxLength: 40 }), { seed: 83, numRuns: 25 })
      for (const ops of runs) {
        const reference = Budget.makeMemory()
        const campaigns = [unique("c"), unique("c"), unique("c")]
        let now = morning - 2 * 3_600_000
        for (const o of ops) {
          const campaign = campaigns[o.campaign]!
          if (o._tag === "charge") {
            now += o.step
            const limits = { daily: o.daily, total: o.total }
            assert.strictEqual(
              yield* store.charge(campaign, o.cost, limits, now),
              yield* reference.charge(campaign, o.cost, limits, now),
              JSON.stringify(ops)
            )
          } else {
            yield* store.setPacing(campaign, pacingState(o.p))
            yield* reference.setPacing(campaign, pacingState(o.p))
          }
          for (const c of campaigns) {
            assert.deepStrictEqual(yield* store.read(c), yield* reference.read(c), JSON.stringify(ops))
          }
        }
      }
    })
  )

  it.effect("never overspends under concurrent charges, and spends exactly what it accepted", () =>
    Effect.gen(function* () {
      const store = yield* Budget.DeliveryStore
      const campaign = unique("c")
      const charges = (n: number, limits: Budget.Limits, now: number) =>
        Effect.all(
          Array.from({ length: n }, () => store.charge(campaign, 7, limits, now)),
          { concurrency: "unbounded" }
        )
      // The daily limit binds first: 100 / 7 → 14 accepted.
      const day1 = yield* charges(40, { daily: 100, total: 150 }, morning)
      assert.strictEqual(day1.filter(Boolean).length, 14)
      assert.deepStrictEqual((yield* store.read(campaign)).spend, {
        day: Math.floor(morning / DAY),
        today: 98,
        total: 98
      })
      // The next day the total binds: (150 - 98) / 7 → 7 more.
      const day2 = yield* charges(40, { daily: 100, total: 150 }, morning + DAY)
      assert.strictEqual(day2.filter(Boolean).length, 7)
      assert.deepStrictEqual((yield* store.read(campaign)).spend, {
        day: Math.floor(morning / DAY) + 1,
        today: 49,
        total: 147
      })
    })
  )

  it.effect("keeps the pacing state exactly, apart from the spend", () =>
    Effect.gen(function* () {
      const store = yield* Budget.DeliveryStore
      const campaign = unique("c")
      assert.deepStrictEqual(yield* store.read(campaign), { spend: Budget.zero, pacing: undefined })
      yield* store.setPacing(campaign, pacingState())
      assert.deepStrictEqual(yield* store.read(campaign), { spend: Budget.zero, pacing: pacingState() })
      assert.isTrue(yield* store.charge(campaign, 5, { daily: undefined, total: undefined }, morning))
      yield* store.setPacing(campaign, pacingState(Number.MIN_VALUE))
      const read = yield* store.read(campaign)
      assert.strictEqual(read.spend.total, 5)
      assert.deepStrictEqual(read.pacing, pacingState(Number.MIN_VALUE))
      assert.deepStrictEqual((yield* store.read(unique("c"))).pacing, undefined)
    })
  )

  it.effect("compares limits above 2^53 millis exactly, and treats odd limits as the in-memory store does", () =>
    Effect.gen(function* () {
      const store = yield* Budget.DeliveryStore
      const reference = Budget.makeMemory()
      const campaign = unique("c")
      const huge = Budget.toMillis({ amount: Number.MAX_SAFE_INTEGER, currency: "EUR" })
      const cases: ReadonlyArray<Budget.Limits> = [
        { daily: huge, total: huge },
        { daily: 0, total: undefined },
        { daily: undefined, total: 2.5 },
        { daily: Number.POSITIVE_INFINITY, total: undefined },
        { daily: undefined, total: Number.NaN },
        { daily: Number.NEGATIVE_INFINITY, total: undefined },
        { daily: undefined, total: 1e30 },
        { daily: -1, total: undefined }
      ]
      for (const limits of cases) {
        assert.strictEqual(
          yield* store.charge(campaign, 1, limits, morning),
          yield* reference.charge(campaign, 1, limits, morning),
          JSON.stringify(limits)
        )
        assert.deepStrictEqual(yield* store.read(campaign), yield* reference.read(campaign))
      }
    })
  )
}
