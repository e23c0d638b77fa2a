import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Random } from "effect"
import * as Clock from "effect/Clock"
import * as Budget from "../src/Budget.js"
import type * as Campaign from "../src/Campaign.js"
import * as Caps from "../src/Caps.js"
import type * as Decision from "../src/Decision.js"
import * as Selector from "../src/Selector.js"
import { decode } from "./fixtures.js"

/** Monday 2026-01-05 00:00 UTC. */
const T0 = Date.UTC(2026, 0, 5)
const MINUTE = 60_000
const HOUR = 60 * MINUTE

const manualClock = () => {
  let now = 0
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    unsafeCurrentTimeNanos: () => BigInt(now) * BigInt(1_000_000),
    currentTimeMillis: Effect.sync(() => now),
    currentTimeNanos: Effect.sync(() => BigInt(now) * BigInt(1_000_000)),
    sleep: () => Effect.void
  }
  return {
    clock,
    set: (at: number) =>
      Effect.sync(() => {
        now = at
      })
  }
}

const campaign = (id: string, over: Record<string, unknown> = {}): Campaign.Campaign =>
  decode({
    id,
    tenant: "t1",
    name: id,
    status: "active",
    tier: { kind: "remnant" },
    schedule: { start: "2025-01-01T00:00:00Z" },
    bid: { amount: 100, currency: "EUR" },
    pacing: "asap",
    creatives: [{ id: "a", width: 300, height: 250, kind: "static", landingUrl: "https://shop.example/" }],
    ...over
  })

const request: Selector.Request = {
  site: "s1",
  childDirected: false,
  width: 300,
  height: 250,
  device: "desktop",
  visitors: new Map()
}

const run = (
  campaigns: ReadonlyArray<Campaign.Campaign>,
  times: ReadonlyArray<number>,
  delivery: Budget.Service = Budget.makeMemory()
) =>
  Effect.gen(function* () {
    const index = Selector.make(campaigns, { currency: "EUR" })
    const time = manualClock()
    const out: Array<Decision.Decision> = []
    for (const at of times) {
      yield* time.set(at)
      out.push(yield* Effect.withClock(Selector.decide(index, request), time.clock))
    }
    return out
  }).pipe(
    Effect.provide(Layer.merge(Caps.layerMemory, Layer.succeed(Budget.DeliveryStore, delivery))),
    Effect.withRandom(Random.make(5))
  )

describe("budgets in exact money", () => {
  it.effect.prop(
    "no campaign spends beyond its daily or total budget; a budgeted one's stored spend is the exact sum of its costs",
    [
      fc.array(
        fc.record({
          bid: fc.integer({ min: 1, max: 5_000 }),
          daily: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
          total: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
          even: fc.boolean()
        }),
        { minLength: 1, maxLength: 4 }
      ),
      fc.array(fc.integer({ min: 1, max: 6 * HOUR }), { minLength: 1, maxLength: 150 })
    ],
    ([specs, gaps]) =>
      Effect.gen(function* () {
        const campaigns = specs.map((s, i) =>
          campaign(`c${i}`, {
            bid: { amount: s.bid, currency: "EUR" },
            budget: {
              ...(s.daily === undefined ? {} : { daily: { amount: s.daily, currency: "EUR" } }),
              ...(s.total === undefined ? {} : { total: { amount: s.total, currency: "EUR" } })
            },
            ...(s.even && s.daily !== undefined ? { pacing: "even", schedule: { start: "2026-01-05T00:00:00Z" } } : {})
          })
        )
        const times: Array<number> = []
        for (const gap of gaps) times.push((times.at(-1) ?? T0) + gap)
        const store = Budget.makeMemory()
        const decisions = yield* run(campaigns, times, store)
        const perDay = new Map<string, number>()
        const perCampaign = new Map<string, number>()
        decisions.forEach((d, i) => {
          if (d._tag !== "Selected") return
          const day = `${d.campaignId}@${new Date(times[i]!).toISOString().slice(0, 10)}`
          perDay.set(day, (perDay.get(day) ?? 0) + d.costMillis)
          perCampaign.set(d.campaignId, (perCampaign.get(d.campaignId) ?? 0) + d.costMillis)
        })
        specs.forEach((s, i) => {
          const id = `c${i}`
          const spent = perCampaign.get(id) ?? 0
          if (s.total !== undefined) assert.isAtMost(spent, s.total * 1000, `${id} total`)
          for (const [key, value] of perDay) {
            if (key.startsWith(`${id}@`) && s.daily !== undefined) assert.isAtMost(value, s.daily * 1000, key)
          }
          assert.isTrue(Number.isSafeInteger(spent))
        })
        for (const c of campaigns) {
          if (c.budget?.daily === undefined && c.budget?.total === undefined) continue
          const stored = yield* store.read(c.id)
          assert.strictEqual(stored.spend.total, perCampaign.get(c.id) ?? 0, c.id)
        }
      }),
    { fastCheck: { numRuns: 150 } }
  )

  it.effect("a daily budget of 1.00 at a CPM of 3.00 buys exactly 333 impressions a day, no rounding up", () =>
    Effect.gen(function* () {
      const c = campaign("c", {
        bid: { amount: 300, currency: "EUR" },
        budget: { daily: { amount: 100, currency: "EUR" } }
      })
      const times = [
        ...Array.from({ length: 400 }, (_, i) => T0 + i * 1000),
        ...Array.from({ length: 400 }, (_, i) => T0 + 24 * HOUR + i * 1000)
      ]
      const decisions = yield* run([c], times)
      const served = decisions.map((d) => (d._tag === "Selected" ? 1 : 0) as number)
      assert.strictEqual(
        served.slice(0, 400).reduce((a, b) => a + b, 0),
        333
      )
      assert.strictEqual(
        served.slice(400).reduce((a, b) => a + b, 0),
        333,
        "the next UTC day starts afresh"
      )
      const last = decisions[399]!
      assert.deepStrictEqual(
        last.skipped.map((s) => s.reason),
        ["budget"]
      )
    })
  )

  it.effect("a total budget ends the campaign across days", () =>
    Effect.gen(function* () {
      const c = campaign("c", {
        bid: { amount: 1000, currency: "EUR" },
        budget: { total: { amount: 5, currency: "EUR" } }
      })
      const decisions = yield* run(
        [c],
        Array.from({ length: 10 }, (_, i) => T0 + i * 7 * HOUR)
      )
      assert.strictEqual(decisions.filter((d) => d._tag === "Selected").length, 5)
    })
  )

  it.effect("budgets fail closed: an unreadable or unchargeable store skips budgeted campaigns only", () =>
    Effect.gen(function* () {
      const failing = (what: "read" | "charge"): Budget.Service => {
        const inner = Budget.makeMemory()
        const down = Effect.fail(new Budget.DeliveryStoreError({ message: "down" }))
        return {
          read: what === "read" ? () => down : inner.read,
          charge: what === "charge" ? () => down : inner.charge,
          setPacing: inner.setPacing
        }
      }
      for (const what of ["read", "charge"] as const) {
        const decisions = yield* run(
          [
            campaign("budgeted", {
              tier: { kind: "exclusive" },
              budget: { daily: { amount: 1000, currency: "EUR" } }
            }),
            campaign("unbudgeted")
          ],
          [T0],
          failing(what)
        )
        const d = decisions[0]!
        assert.strictEqual(d._tag === "Selected" ? d.campaignId : undefined, "unbudgeted", what)
        assert.deepStrictEqual(d.skipped, [{ campaignId: "budgeted", reason: "budget-unavailable" }])
      }
    })
  )

  it.prop(
    "millis round-trip to money with the remainder kept",
    [fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })],
    ([millis]) => {
      const { money, remainderMillis } = Budget.fromMillis(millis, "EUR")
      assert.strictEqual(money.amount * 1000 + remainderMillis, millis)
      assert.isTrue(remainderMillis >= 0 && remainderMillis < 1000)
    }
  )
})
