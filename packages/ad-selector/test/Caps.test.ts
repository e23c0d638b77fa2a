import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Random } from "effect"
import * as TestClock from "effect/TestClock"
import * as Budget from "../src/Budget.js"
import type * as Campaign from "../src/Campaign.js"
import * as Caps from "../src/Caps.js"
import type * as Decision from "../src/Decision.js"
import * as Selector from "../src/Selector.js"
import type * as Targeting from "../src/Targeting.js"
import { manualClock, decode, creative } from "./fixtures.js"

/** Monday 2026-01-05 00:00 UTC. */
const T0 = Date.UTC(2026, 0, 5)
const MINUTE = 60_000
const HOUR = 60 * MINUTE

const campaign = (id: string, over: Record<string, unknown> = {}): Campaign.Campaign =>
  decode({
    id,
    tenant: "t1",
    name: id,
    status: "active",
    tier: { kind: "contract", priority: 1 },
    schedule: { start: "2025-01-01T00:00:00Z" },
    bid: { amount: 100, currency: "EUR" },
    pacing: "asap",
    creatives: [creative("a")],
    ...over
  })

const house = campaign("house", { tier: { kind: "house" }, bid: { amount: 0, currency: "EUR" } })

const request = (key: string | undefined, over: Partial<Selector.Request> = {}): Selector.Request => ({
  site: "s1",
  childDirected: false,
  width: 300,
  height: 250,
  device: "desktop",
  visitors: new Map<string, Targeting.Visitor>([["t1", { key, personalization: true, audiences: new Set() }]]),
  ...over
})

const memory = Layer.merge(Caps.layerMemory, Budget.layerMemory)

const run = (
  campaigns: ReadonlyArray<Campaign.Campaign>,
  steps: ReadonlyArray<{ readonly at: number; readonly request: Selector.Request }>,
  layer: Layer.Layer<Caps.CapStore | Budget.DeliveryStore> = memory
) =>
  Effect.gen(function* () {
    const index = Selector.make(campaigns, { currency: "EUR" })
    const time = manualClock()
    const out: Array<Decision.Decision> = []
    for (const step of steps) {
      yield* time.set(step.at)
      out.push(yield* Effect.withClock(Selector.decide(index, step.request), time.clock))
    }
    return out
  }).pipe(Effect.provide(layer), Effect.withRandom(Random.make(7)))

const served = (d: Decision.Decision) => (d._tag === "Selected" ? `${d.campaignId}/${d.creativeId}` : "-")

// Windows computed with Date, independently of the library's calendar arithmetic.
const windowKey = (window: Campaign.CapWindow, at: number): string => {
  const d = new Date(at)
  switch (window) {
    case "hour":
      return d.toISOString().slice(0, 13)
    case "day":
      return d.toISOString().slice(0, 10)
    case "week": {
      const monday = new Date(at - ((d.getUTCDay() + 6) % 7) * 86_400_000)
      return monday.toISOString().slice(0, 10)
    }
    case "lifetime":
      return "ever"
  }
}

const capArb = fc.record({
  scope: fc.constantFrom("creative", "campaign", "advertiser") as fc.Arbitrary<"creative" | "campaign" | "advertiser">,
  window: fc.constantFrom("hour", "day", "week", "lifetime") as fc.Arbitrary<Campaign.CapWindow>,
  max: fc.integer({ min: 1, max: 4 })
})

const cappedCampaignArb = (id: string) =>
  fc
    .record({
      caps: fc.array(capArb, { minLength: 1, maxLength: 3 }),
      block: fc.option(fc.integer({ min: 1, max: 7_200 }), { nil: undefined }),
      priority: fc.integer({ min: 1, max: 3 })
    })
    .map(({ block, caps, priority }) =>
      campaign(id, {
        tier: { kind: "contract", priority },
        caps,
        ...(block === undefined ? {} : { recencyBlockSeconds: block }),
        creatives: [creative("a"), creative("b")]
      })
    )

/** Gaps between requests: seconds to days, so every window rolls over now and then. */
const gapArb = fc.oneof(
  fc.integer({ min: 1, max: 600 }).map((s) => s * 1000),
  fc.integer({ min: 1, max: 180 }).map((m) => m * MINUTE),
  fc.integer({ min: 1, max: 72 }).map((h) => h * HOUR),
  fc.integer({ min: 1, max: 9 }).map((d) => d * 24 * HOUR)
)

describe("frequency caps and recency blocks", () => {
  it.effect.prop(
    "no cap of any scope and window is exceeded and no recency block broken, over random impression sequences",
    [
      fc.tuple(cappedCampaignArb("c1"), cappedCampaignArb("c2"), cappedCampaignArb("c3")),
      fc.array(fc.tuple(gapArb, fc.constantFrom("v1", "v2")), { minLength: 1, maxLength: 120 })
    ],
    ([campaigns, gaps]) =>
      Effect.gen(function* () {
        let at = T0 + 7 * HOUR
        const steps = gaps.map(([gap, key]) => {
          at += gap
          return { at, request: request(key) }
        })
        const decisions = yield* run([...campaigns, house], steps)
        const log: Array<{ at: number; key: string; campaign: string; creative: string }> = []
        decisions.forEach((d, i) => {
          if (d._tag !== "Selected" || d.campaignId === "house") return
          const step = steps[i]!
          const key = step.request.visitors.get("t1")!.key!
          const c = campaigns.find((x) => x.id === d.campaignId)!
          for (const cap of c.caps ?? []) {
            const before = log.filter(
              (e) =>
                e.key === key &&
                windowKey(cap.window, e.at) === windowKey(cap.window, step.at) &&
                (cap.scope === "advertiser" ||
                  (e.campaign === c.id && (cap.scope === "campaign" || e.creative === d.creativeId)))
            ).length
            assert.isBelow(before, cap.max, `${c.id} ${cap.scope}/${cap.window} max ${cap.max} at ${step.at}`)
          }
          if (c.recencyBlockSeconds !== undefined) {
            const last = log.filter((e) => e.key === key && e.campaign === c.id).at(-1)
            if (last !== undefined) assert.isAtLeast(step.at - last.at, c.recencyBlockSeconds * 1000)
          }
          log.push({ at: step.at, key, campaign: c.id, creative: d.creativeId })
        })
      }),
    { fastCheck: { numRuns: 150 } }
  )

  it.effect("a cap of 3 a day serves 3 times, then house, then 3 again the next UTC day", () =>
    Effect.gen(function* () {
      const capped = campaign("capped", { caps: [{ scope: "campaign", window: "day", max: 3 }] })
      const times = [0, 1, 2, 3, 4].map((i) => T0 + 23 * HOUR + i * MINUTE)
      const next = [0, 1, 2, 3].map((i) => T0 + 24 * HOUR + i * MINUTE)
      const decisions = yield* run(
        [capped, house],
        [...times, ...next].map((at) => ({ at, request: request("v1") }))
      )
      assert.deepStrictEqual(decisions.map(served), [
        "capped/a",
        "capped/a",
        "capped/a",
        "house/a",
        "house/a",
        "capped/a",
        "capped/a",
        "capped/a",
        "house/a"
      ])
    })
  )

  it.effect("under TestClock: a cap of 1 an hour opens again when the clock moves to the next hour", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0 + 30 * MINUTE)
      const index = Selector.make(
        [campaign("hourly", { caps: [{ scope: "campaign", window: "hour", max: 1 }] }), house],
        { currency: "EUR" }
      )
      const first = yield* Selector.decide(index, request("v1"))
      yield* TestClock.adjust("29 minutes")
      const second = yield* Selector.decide(index, request("v1"))
      yield* TestClock.adjust("1 minute")
      const third = yield* Selector.decide(index, request("v1"))
      assert.deepStrictEqual([first, second, third].map(served), ["hourly/a", "house/a", "hourly/a"])
    }).pipe(Effect.provide(memory), Effect.withRandom(Random.make(1)))
  )

  it.effect("hour and week windows roll at the UTC hour and on Monday 00:00 UTC", () =>
    Effect.gen(function* () {
      const hourly = campaign("hourly", { caps: [{ scope: "campaign", window: "hour", max: 1 }] })
      const weekly = campaign("weekly", {
        tier: { kind: "remnant" },
        caps: [{ scope: "campaign", window: "week", max: 1 }]
      })
      const sunday = T0 + 6 * 24 * HOUR
      const decisions = yield* run(
        [hourly, weekly, house],
        [
          T0 + 10 * HOUR,
          T0 + 10 * HOUR + 59 * MINUTE,
          T0 + 11 * HOUR,
          sunday + 23 * HOUR + 59 * MINUTE + 30_000,
          sunday + 23 * HOUR + 59 * MINUTE + 40_000,
          sunday + 24 * HOUR + 10 * MINUTE,
          sunday + 24 * HOUR + 20 * MINUTE
        ].map((at) => ({ at, request: request("v1") }))
      )
      assert.deepStrictEqual(decisions.map(served), [
        "hourly/a",
        "weekly/a",
        "hourly/a",
        "hourly/a",
        "house/a",
        "hourly/a",
        "weekly/a"
      ])
    })
  )

  it.effect("creative caps leave the campaign's other creatives; advertiser caps count every campaign", () =>
    Effect.gen(function* () {
      const a = campaign("a", {
        caps: [{ scope: "creative", window: "lifetime", max: 1 }],
        creatives: [creative("x"), creative("y")]
      })
      const b = campaign("b", {
        tier: { kind: "remnant" },
        caps: [{ scope: "advertiser", window: "lifetime", max: 3 }]
      })
      const decisions = yield* run(
        [a, b, house],
        [0, 1, 2, 3].map((i) => ({ at: T0 + i * MINUTE, request: request("v1") }))
      )
      const shown = decisions.map(served)
      assert.deepStrictEqual(shown.slice(0, 2).sort(), ["a/x", "a/y"])
      assert.deepStrictEqual(shown.slice(2), ["b/a", "house/a"], "the advertiser had 3 impressions: b is capped")
    })
  )

  it.effect("a recency block keeps the campaign away for exactly its seconds", () =>
    Effect.gen(function* () {
      const blocked = campaign("blocked", { recencyBlockSeconds: 600 })
      const decisions = yield* run(
        [blocked, house],
        [0, 599_999, 600_000].map((dt) => ({ at: T0 + dt, request: request("v1") }))
      )
      assert.deepStrictEqual(decisions.map(served), ["blocked/a", "house/a", "blocked/a"])
    })
  )

  it.effect(
    "no capped or recency-blocked campaign without an identifier, with a child signal or on a child-directed site",
    () =>
      Effect.gen(function* () {
        const decisions = yield* run(
          [
            campaign("capped", { caps: [{ scope: "campaign", window: "lifetime", max: 100 }] }),
            campaign("blocked", { recencyBlockSeconds: 1 }),
            house
          ],
          [
            { at: T0, request: request(undefined) },
            { at: T0, request: request("v1", { visitors: new Map() }) },
            { at: T0, request: request("v1", { childDirected: true }) },
            { at: T0, request: request("v1", { child: true }) },
            {
              at: T0,
              request: request("v1", {
                visitors: new Map([["t1", { key: "v1", child: true, personalization: true, audiences: new Set() }]])
              })
            },
            { at: T0, request: request("v1") }
          ]
        )
        assert.deepStrictEqual(decisions.map(served), [
          "house/a",
          "house/a",
          "house/a",
          "house/a",
          "house/a",
          "blocked/a"
        ])
        assert.deepStrictEqual(
          decisions[2]!.skipped.map((s) => s.reason),
          ["child", "child"]
        )
      })
  )
})

describe("caps fail closed", () => {
  const failing = (failRead: boolean, failRecord: boolean) =>
    Layer.merge(
      Layer.sync(Caps.CapStore, () => {
        const inner = Caps.makeMemory()
        return {
          read: (tenant, visitor) =>
            failRead ? Effect.fail(new Caps.CapStoreError({ message: "down" })) : inner.read(tenant, visitor),
          record: (tenant, visitor, keys, now) =>
            failRecord
              ? Effect.fail(new Caps.CapStoreError({ message: "down" }))
              : inner.record(tenant, visitor, keys, now),
          forget: inner.forget
        }
      }),
      Budget.layerMemory
    )

  for (const [failRead, failRecord] of [
    [true, false],
    [false, true]
  ] as const) {
    it.effect(`an unreadable (${failRead}) or unwritable (${failRecord}) store skips capped campaigns only`, () =>
      Effect.gen(function* () {
        const decisions = yield* run(
          [
            campaign("capped", { caps: [{ scope: "campaign", window: "day", max: 1000 }] }),
            campaign("blocked", { tier: { kind: "contract", priority: 2 }, recencyBlockSeconds: 1 }),
            campaign("free", { tier: { kind: "remnant" } }),
            house
          ],
          [0, 1, 2].map((i) => ({ at: T0 + i * MINUTE, request: request("v1") })),
          failing(failRead, failRecord)
        )
        assert.deepStrictEqual(decisions.map(served), ["free/a", "free/a", "free/a"])
        const first = decisions[0]!
        assert.deepStrictEqual(first.skipped, [
          { campaignId: "capped", reason: "caps-unavailable" },
          { campaignId: "blocked", reason: "caps-unavailable" }
        ])
      })
    )
  }
})

describe("Caps counters", () => {
  it.prop(
    "count after n increments in one window is n, and 0 in a later window; lifetime keeps counting",
    [fc.integer({ min: 0, max: 3_000 * 24 }), fc.integer({ min: 1, max: 20 })],
    ([hour, n]) => {
      const start = hour * HOUR
      let counter: Caps.Counter | undefined
      for (let i = 0; i < n; i++) counter = Caps.increment(counter, start + i * 1000)
      const now = start + n * 1000
      assert.strictEqual(Caps.count(counter, "hour", now), n)
      assert.strictEqual(Caps.count(counter, "hour", start + HOUR), 0)
      assert.strictEqual(Caps.count(counter, "day", start + 24 * HOUR), 0)
      assert.strictEqual(Caps.count(counter, "week", start + 7 * 24 * HOUR), 0)
      assert.strictEqual(Caps.count(counter, "lifetime", start + 1_000 * 24 * HOUR), n)
      assert.strictEqual(counter!.last, now - 1000)
    }
  )
})
