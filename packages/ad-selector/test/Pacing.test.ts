import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Random } from "effect"
import * as Budget from "../src/Budget.js"
import type * as Campaign from "../src/Campaign.js"
import * as Caps from "../src/Caps.js"
import * as Pacing from "../src/Pacing.js"
import * as Selector from "../src/Selector.js"
import { manualClock, decode } from "./fixtures.js"

/** Monday 2026-01-05 00:00 UTC. */
const T0 = Date.UTC(2026, 0, 5)
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

const campaign = (id: string, over: Record<string, unknown> = {}): Campaign.Campaign =>
  decode({
    id,
    tenant: "t1",
    name: id,
    status: "active",
    tier: { kind: "contract", priority: 1 },
    schedule: { start: "2025-01-01T00:00:00Z" },
    bid: { amount: 1000, currency: "EUR" },
    pacing: "even",
    budget: { daily: { amount: 500, currency: "EUR" } },
    creatives: [{ id: "a", width: 300, height: 250, kind: "static", landingUrl: "https://shop.example/" }],
    ...over
  })

const house = campaign("house", { tier: { kind: "house" }, bid: { amount: 0, currency: "EUR" }, pacing: "asap" })

const request: Selector.Request = {
  site: "s1",
  childDirected: false,
  width: 300,
  height: 250,
  device: "desktop",
  visitors: new Map()
}

/** Serves `times` (sorted) and returns, per served impression of `id`, its time. */
const simulate = (
  campaigns: ReadonlyArray<Campaign.Campaign>,
  id: string,
  times: ReadonlyArray<number>,
  pacing: Pacing.Options = Pacing.defaults
) =>
  Effect.gen(function* () {
    const index = Selector.make(campaigns, { currency: "EUR", pacing })
    const time = manualClock()
    const impressions: Array<number> = []
    let guarded = 0
    for (const at of times) {
      yield* time.set(at)
      const d = yield* Effect.withClock(Selector.decide(index, request), time.clock)
      if (d._tag === "Selected" && d.campaignId === id) impressions.push(at)
      for (const skip of d.skipped) if (skip.campaignId === id) guarded += skip.reason === "ahead-of-curve" ? 1 : 0
    }
    return { impressions, guarded: guarded / times.length }
  }).pipe(Effect.provide(Layer.merge(Caps.layerMemory, Budget.layerMemory)), Effect.withRandom(Random.make(3)))

/** Request times over one day: `perMinute(hour)` requests in each minute, evenly spread. */
const traffic = (day: number, perMinute: (hour: number) => number): Array<number> => {
  const out: Array<number> = []
  for (let m = 0; m < 24 * 60; m++) {
    const n = perMinute(Math.floor(m / 60))
    for (let i = 0; i < n; i++) out.push(day + m * MINUTE + Math.floor((i * MINUTE) / n))
  }
  return out
}

/** The largest gap, as a share of the day's impressions, between cumulative delivery and the ideal line. */
const deviation = (impressions: ReadonlyArray<number>, budgetImpressions: number, active: (h: number) => boolean) => {
  const hours = Array.from({ length: 24 }, (_, h) => h).filter(active)
  let worst = 0
  for (let k = 1; k <= hours.length; k++) {
    const end = T0 + (hours[k - 1]! + 1) * HOUR
    const delivered = impressions.filter((t) => t < end).length
    worst = Math.max(worst, Math.abs(delivered - (budgetImpressions * k) / hours.length) / budgetImpressions)
  }
  return worst
}

describe("even pacing over a simulated day", () => {
  // Tolerance: cumulative delivery stays within 5% of the day's budget of the ideal line at every hour, and at
  // least 97% of the budget is spent, when traffic offers 10–20 times the impressions the budget buys (measured:
  // 1.2–2.3%, 494–500 of 500). The guard alone would hold the line too: the controller must do the pacing.
  it.effect("steady traffic: within 5% of the ideal line at every hour, 97% spent", () =>
    Effect.gen(function* () {
      const { guarded, impressions } = yield* simulate(
        [campaign("even"), house],
        "even",
        traffic(T0, () => 6)
      )
      assert.isAtMost(impressions.length, 500)
      assert.isAtLeast(impressions.length, 485)
      assert.isAtMost(
        deviation(impressions, 500, () => true),
        0.05
      )
      assert.isBelow(guarded, 0.05, "the controller paces: the guard turns away under 5% of requests")
    })
  )

  it.effect("traffic five times heavier in the evening: still within 5% at every hour, 97% spent", () =>
    Effect.gen(function* () {
      const { guarded, impressions } = yield* simulate(
        [campaign("even"), house],
        "even",
        traffic(T0, (h) => (h >= 17 && h < 22 ? 20 : 4))
      )
      assert.isAtMost(impressions.length, 500)
      assert.isAtLeast(impressions.length, 485)
      assert.isAtMost(
        deviation(impressions, 500, () => true),
        0.05
      )
      assert.isBelow(guarded, 0.05, "the controller paces: the guard turns away under 5% of requests")
    })
  )

  it.effect("a schedule of 09–17 UTC spreads the budget over those hours only", () =>
    Effect.gen(function* () {
      const hours = [9, 10, 11, 12, 13, 14, 15, 16]
      const { guarded, impressions } = yield* simulate(
        [campaign("office", { schedule: { start: "2025-01-01T00:00:00Z", hours } }), house],
        "office",
        traffic(T0, () => 20)
      )
      assert.isTrue(impressions.every((t) => hours.includes(new Date(t).getUTCHours())))
      assert.isAtLeast(impressions.length, 485)
      assert.isAtMost(
        deviation(impressions, 500, (h) => hours.includes(h)),
        0.05
      )
      assert.isBelow(guarded, 0.05, "the controller paces: the guard turns away under 5% of requests")
    })
  )

  it.effect("the controller alone, without the guard: within 5% of the ideal line at every hour, 97% spent", () =>
    Effect.gen(function* () {
      const noGuard = { ...Pacing.defaults, slack: 1 }
      for (const perMinute of [(_: number) => 6, (h: number) => (h >= 17 && h < 22 ? 20 : 4)]) {
        const { impressions } = yield* simulate([campaign("even"), house], "even", traffic(T0, perMinute), noGuard)
        assert.isAtMost(impressions.length, 500)
        assert.isAtLeast(impressions.length, 485)
        assert.isAtMost(
          deviation(impressions, 500, () => true),
          0.05
        )
      }
    })
  )

  it.effect("asap spends the day's budget on the first requests (the baseline pacing improves on)", () =>
    Effect.gen(function* () {
      const { impressions } = yield* simulate(
        [campaign("asap", { pacing: "asap" }), house],
        "asap",
        traffic(T0, () => 6)
      )
      assert.strictEqual(impressions.length, 500)
      assert.isAbove(
        deviation(impressions, 500, () => true),
        0.8
      )
    })
  )

  it.effect("a total budget with an end is spread over the days left", () =>
    Effect.gen(function* () {
      const c = campaign("total", {
        schedule: { start: "2026-01-05T00:00:00Z", end: "2026-01-09T00:00:00Z" },
        budget: { total: { amount: 2000, currency: "EUR" } }
      })
      const { impressions } = yield* simulate(
        [c, house],
        "total",
        traffic(T0, () => 6)
      )
      // 2000 minor units at 1 minor unit an impression over 4 days: 500 today.
      assert.isAtMost(impressions.length, 500)
      assert.isAtLeast(impressions.length, 485)
      assert.isAtMost(
        deviation(impressions, 500, () => true),
        0.05
      )
    })
  )
})

describe("Pacing controller", () => {
  const always: Pacing.ActiveTime = (from, to) => Math.max(0, to - from)

  it.prop(
    "p stays in [minProbability, 1] whatever the spend observed",
    [fc.array(fc.tuple(fc.integer({ min: 1, max: 3_600_000 }), fc.integer({ min: 0, max: 10_000_000 })))],
    ([steps]) => {
      let state: Pacing.State | undefined
      let now = T0
      let spent = 0
      for (const [dt, spend] of steps) {
        now += dt
        spent += spend
        state = Pacing.step(state, { now, spentToday: spent, target: 1_000_000, cost: 1_000, active: always })
        assert.isAtLeast(state.p, Pacing.defaults.minProbability)
        assert.isAtMost(state.p, 1)
      }
    }
  )

  it("lowers p when spend runs ahead of the curve, raises it (at most doubling) when behind", () => {
    const first = Pacing.step(undefined, { now: T0, spentToday: 0, target: 24_000, cost: 1, active: always })
    const fast = Pacing.step(first, { now: T0 + HOUR, spentToday: 5_000, target: 24_000, cost: 1, active: always })
    assert.isBelow(fast.p, first.p)
    const slow = Pacing.step(
      { ...fast, p: 0.1 },
      { now: T0 + 6 * HOUR, spentToday: 5_100, target: 24_000, cost: 1, active: always }
    )
    assert.isAbove(slow.p, 0.1)
    assert.isAtMost(slow.p, 0.2, "one step at most doubles p")
  })

  it("the ideal curve follows active time only", () => {
    const officeHours: Pacing.ActiveTime = (from, to) => {
      let ms = 0
      for (let t = from; t < to; t += MINUTE) {
        const h = new Date(t).getUTCHours()
        if (h >= 9 && h < 17) ms += Math.min(MINUTE, to - t)
      }
      return ms
    }
    assert.strictEqual(Pacing.idealFraction(officeHours, T0 + 8 * HOUR), 0)
    assert.strictEqual(Pacing.idealFraction(officeHours, T0 + 13 * HOUR), 0.5)
    assert.strictEqual(Pacing.idealFraction(officeHours, T0 + 20 * HOUR), 1)
    assert.isFalse(Pacing.withinCurve(officeHours, T0 + 13 * HOUR, 600, 1, 1_000))
    assert.isTrue(Pacing.withinCurve(officeHours, T0 + 13 * HOUR, 500, 20, 1_000))
  })

  it("today's target from a total budget divides what is left by the active days left", () => {
    assert.strictEqual(
      Pacing.dailyTarget({ daily: undefined, total: 10_000, spentToday: 0, spentTotal: 4_000, activeDaysLeft: 3 }),
      2_000
    )
    assert.strictEqual(
      Pacing.dailyTarget({ daily: 1_500, total: 10_000, spentToday: 500, spentTotal: 4_000, activeDaysLeft: 3 }),
      1_500
    )
    assert.strictEqual(
      Pacing.dailyTarget({ daily: undefined, total: undefined, spentToday: 0, spentTotal: 0, activeDaysLeft: 3 }),
      undefined
    )
    assert.strictEqual(DAY, 86_400_000)
  })
})
