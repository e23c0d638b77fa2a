import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Random } from "effect"
import * as Budget from "../src/Budget.js"
import * as Campaign from "../src/Campaign.js"
import * as Caps from "../src/Caps.js"
import type * as Chooser from "../src/Chooser.js"
import * as Decision from "../src/Decision.js"
import * as Rng from "../src/Rng.js"
import * as Selector from "../src/Selector.js"
import type * as Targeting from "../src/Targeting.js"
import { manualClock, decode } from "./fixtures.js"

/** Monday 2026-01-05 00:00 UTC. */
const T0 = Date.UTC(2026, 0, 5)
const HOUR = 3_600_000
const DAY = 24 * HOUR

const creative = (id: string, width = 300, height = 250) => ({
  id,
  width,
  height,
  kind: "static",
  landingUrl: "https://shop.example/p"
})

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
    creatives: [creative("a")],
    ...over
  })

const request = (over: Partial<Selector.Request> = {}): Selector.Request => ({
  site: "s1",
  childDirected: false,
  width: 300,
  height: 250,
  device: "desktop",
  visitors: new Map(),
  ...over
})

const visitor = (over: Partial<Targeting.Visitor> = {}): Targeting.Visitor => ({
  key: "v1",
  personalization: true,
  audiences: new Set(),
  ...over
})

const stores = Layer.merge(Caps.layerMemory, Budget.layerMemory)

/** Runs `requests` in order, each at its time, against fresh in-memory stores, with a seeded random source. */
const run = (
  index: Selector.Index,
  steps: ReadonlyArray<{ readonly at: number; readonly request: Selector.Request }>,
  seed = 1,
  layer: Layer.Layer<Caps.CapStore | Budget.DeliveryStore> = stores
) =>
  Effect.gen(function* () {
    const time = manualClock()
    const out: Array<Decision.Decision> = []
    for (const step of steps) {
      yield* time.set(step.at)
      out.push(yield* Effect.withClock(Selector.decide(index, step.request), time.clock))
    }
    return out
  }).pipe(Effect.provide(layer), Effect.withRandom(Random.make(seed)))

const selectedId = (d: Decision.Decision): string | undefined => (Decision.isSelected(d) ? d.campaignId : undefined)

// ---------------------------------------------------------------------------------------------------------------
// An oracle written from the rules, on decoded campaigns, with Date for calendar fields: the index, the compiled
// targeting and schedules must agree with it.

const personalizedOracle = (c: Campaign.Campaign) =>
  (c.targeting?.audiences?.include ?? []).length > 0 ||
  (c.targeting?.audiences?.exclude ?? []).length > 0 ||
  c.targeting?.recencyDays !== undefined

const eligibleOracle = (c: Campaign.Campaign, r: Selector.Request, now: number): boolean => {
  if (c.status !== "active" || c.bid.currency !== "EUR") return false
  if (!c.creatives.some((k) => k.width === r.width && k.height === r.height)) return false
  const s = c.schedule
  if (now < s.start.epochMillis || (s.end !== undefined && now >= s.end.epochMillis)) return false
  const date = new Date(now)
  if (s.hours !== undefined && !s.hours.includes(date.getUTCHours())) return false
  if (s.days !== undefined && !s.days.includes(date.getUTCDay())) return false
  const t = c.targeting
  if (t?.sites?.include !== undefined && t.sites.include.length > 0 && !t.sites.include.includes(r.site)) return false
  if (t?.sites?.exclude?.includes(r.site)) return false
  if (t?.categories !== undefined && t.categories.length > 0 && !t.categories.includes(r.category ?? "")) return false
  if (t?.devices !== undefined && !t.devices.includes(r.device)) return false
  const v = r.visitors.get(c.tenant)
  if (personalizedOracle(c)) {
    if (v?.key === undefined || !v.personalization || v.child === true || r.child === true || r.childDirected) {
      return false
    }
    if ((t?.audiences?.exclude ?? []).some((a) => v.audiences.has(a))) return false
    const include = t?.audiences?.include ?? []
    if (include.length > 0 && !include.some((a) => v.audiences.has(a))) return false
    if (t?.recencyDays !== undefined) {
      if (v.lastSeen === undefined || v.lastSeen > now || now - v.lastSeen > t.recencyDays * DAY) return false
    }
  }
  if ((c.caps ?? []).length > 0 || c.recencyBlockSeconds !== undefined) {
    if (v?.key === undefined || v.child === true || r.child === true || r.childDirected) return false
  }
  return true
}

const rankOracle = (c: Campaign.Campaign): number =>
  c.tier.kind === "exclusive" ? 0 : c.tier.kind === "contract" ? c.tier.priority : c.tier.kind === "remnant" ? 11 : 12

/** Lowest tier rank, then highest bid (the predictor is constant), then smallest id. */
const expectedWinner = (campaigns: ReadonlyArray<Campaign.Campaign>, r: Selector.Request, now: number) => {
  const eligible = campaigns.filter((c) => eligibleOracle(c, r, now))
  eligible.sort(
    (a, b) => rankOracle(a) - rankOracle(b) || b.bid.amount - a.bid.amount || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  )
  return eligible[0]
}

const subset = <A>(values: ReadonlyArray<A>) => fc.subarray([...values], { minLength: 1 })
/** Absent three times in four: each present restriction removes many campaigns, and ties in order must happen. */
const rarely = <A>(arb: fc.Arbitrary<A>): fc.Arbitrary<A | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: arb, weight: 1 })
const audiencesArb = subset(["a1", "a2", "a3", "a4"])

const encodedCampaignArb = (id: string) =>
  fc
    .record(
      {
        tenant: fc.constantFrom("t1", "t2"),
        tier: fc.oneof(
          fc.constant({ kind: "exclusive" }),
          fc.integer({ min: 1, max: 3 }).map((priority) => ({ kind: "contract", priority })),
          fc.constant({ kind: "remnant" }),
          fc.constant({ kind: "house" })
        ),
        status: fc.constantFrom("active", "active", "active", "paused"),
        bid: fc.integer({ min: 1, max: 4 }),
        startDay: fc.integer({ min: -2, max: 2 }),
        startHour: fc.integer({ min: 0, max: 23 }),
        endDays: rarely(fc.integer({ min: 1, max: 4 })),
        hours: rarely(subset(Array.from({ length: 24 }, (_, h) => h))),
        days: rarely(subset([0, 1, 2, 3, 4, 5, 6])),
        include: rarely(audiencesArb),
        exclude: rarely(audiencesArb),
        recencyDays: rarely(fc.integer({ min: 1, max: 3 })),
        sitesInclude: rarely(subset(["s1", "s2"])),
        sitesExclude: rarely(subset(["s1", "s2", "s3"])),
        categories: rarely(subset(["news", "sport"])),
        devices: rarely(subset(["desktop", "mobile", "tablet"] as const)),
        capped: fc.boolean(),
        sizes: subset(["300x250", "728x90"])
      },
      { requiredKeys: ["tenant", "tier", "status", "bid", "startDay", "startHour", "capped", "sizes"] }
    )
    .map((g) => {
      const start = T0 + g.startDay * DAY + g.startHour * HOUR
      return decode({
        id,
        tenant: g.tenant,
        name: id,
        status: g.status,
        tier: g.tier,
        schedule: {
          start: new Date(start).toISOString(),
          ...(g.endDays === undefined ? {} : { end: new Date(start + g.endDays * DAY).toISOString() }),
          ...(g.hours === undefined ? {} : { hours: g.hours }),
          ...(g.days === undefined ? {} : { days: g.days })
        },
        bid: { amount: g.bid, currency: "EUR" },
        targeting: {
          ...(g.include === undefined && g.exclude === undefined
            ? {}
            : {
                audiences: {
                  ...(g.include === undefined ? {} : { include: g.include }),
                  ...(g.exclude === undefined ? {} : { exclude: g.exclude })
                }
              }),
          ...(g.recencyDays === undefined ? {} : { recencyDays: g.recencyDays }),
          ...(g.sitesInclude === undefined && g.sitesExclude === undefined
            ? {}
            : {
                sites: {
                  ...(g.sitesInclude === undefined ? {} : { include: g.sitesInclude }),
                  ...(g.sitesExclude === undefined ? {} : { exclude: g.sitesExclude })
                }
              }),
          ...(g.categories === undefined ? {} : { categories: g.categories }),
          ...(g.devices === undefined ? {} : { devices: g.devices })
        },
        ...(g.capped ? { caps: [{ scope: "campaign", window: "day", max: 5 }] } : {}),
        pacing: "asap",
        creatives: g.sizes.map((s, i) => {
          const [w, h] = s.split("x").map(Number)
          return creative(`k${i}`, w, h)
        })
      })
    })

const campaignsArb = fc
  .integer({ min: 1, max: 25 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => encodedCampaignArb(`c${i}`))))

const visitorArb = fc.record(
  {
    key: fc.option(fc.constantFrom("v1", "v2"), { nil: undefined }),
    child: fc.boolean(),
    personalization: fc.boolean(),
    audiences: fc.subarray(["a1", "a2", "a3", "a4"]).map((a) => new Set(a)),
    lastSeenHoursAgo: fc.option(fc.integer({ min: -2, max: 100 }), { nil: undefined })
  },
  { requiredKeys: ["key", "child", "personalization", "audiences", "lastSeenHoursAgo"] }
)

const requestArb = fc.record({
  offset: fc.integer({ min: 0, max: 4 * DAY - 1 }),
  site: fc.constantFrom("s1", "s2", "s3"),
  childDirected: fc.boolean(),
  child: fc.boolean(),
  size: fc.constantFrom([300, 250], [728, 90], [160, 600]),
  category: fc.option(fc.constantFrom("news", "sport", "food"), { nil: undefined }),
  device: fc.constantFrom("desktop", "mobile", "tablet", "other") as fc.Arbitrary<Campaign.Device>,
  t1: fc.option(visitorArb, { nil: undefined }),
  t2: fc.option(visitorArb, { nil: undefined })
})

const toRequest = (g: typeof requestArb extends fc.Arbitrary<infer A> ? A : never) => {
  const now = T0 + g.offset
  const visitors = new Map<string, Targeting.Visitor>()
  for (const tenant of ["t1", "t2"] as const) {
    const v = g[tenant]
    if (v === undefined) continue
    visitors.set(tenant, {
      key: v.key,
      child: v.child,
      personalization: v.personalization,
      audiences: v.audiences,
      lastSeen: v.lastSeenHoursAgo === undefined ? undefined : now - v.lastSeenHoursAgo * HOUR
    })
  }
  return {
    now,
    request: request({
      site: g.site,
      childDirected: g.childDirected,
      child: g.child,
      width: g.size[0]!,
      height: g.size[1]!,
      category: g.category,
      device: g.device,
      visitors
    })
  }
}

describe("Selector.decide: eligibility and order", () => {
  it.effect.prop(
    "serves exactly the oracle's winner: lowest tier, then highest bid, then id; Empty when nothing is eligible",
    [campaignsArb, requestArb],
    ([campaigns, g]) =>
      Effect.gen(function* () {
        const { now, request: r } = toRequest(g)
        const index = Selector.make(campaigns, { currency: "EUR" })
        const decision = (yield* run(index, [{ at: now, request: r }]))[0]!
        const expected = expectedWinner(campaigns, r, now)
        assert.strictEqual(selectedId(decision), expected?.id)
        if (decision._tag === "Selected") {
          const c = campaigns.find((x) => x.id === decision.campaignId)!
          assert.strictEqual(decision.personalized, personalizedOracle(c))
          assert.deepStrictEqual(decision.tier, c.tier)
          assert.strictEqual(decision.costMillis, c.bid.amount)
          assert.isTrue(
            c.creatives.some((k) => k.id === decision.creativeId && k.width === r.width && k.height === r.height)
          )
        }
      }),
    { fastCheck: { numRuns: 120 } }
  )

  it.effect.prop(
    "never personalized, capped or audience-excluded where that is forbidden, over sequences of requests",
    [campaignsArb, fc.array(requestArb, { minLength: 1, maxLength: 15 })],
    ([campaigns, gs]) =>
      Effect.gen(function* () {
        const steps = gs.map(toRequest).sort((a, b) => a.now - b.now)
        const index = Selector.make(campaigns, { currency: "EUR" })
        const decisions = yield* run(
          index,
          steps.map((s) => ({ at: s.now, request: s.request }))
        )
        decisions.forEach((d, i) => {
          if (d._tag !== "Selected") return
          const r = steps[i]!.request
          const c = campaigns.find((x) => x.id === d.campaignId)!
          const v = r.visitors.get(c.tenant)
          if (personalizedOracle(c)) {
            assert.isFalse(r.childDirected, "personalized on a child-directed site")
            assert.notStrictEqual(r.child, true, "personalized with a child signal")
            assert.notStrictEqual(v?.child, true, "personalized with the tenant's child signal")
            assert.isDefined(v?.key, "personalized without an identifier")
            assert.isTrue(v!.personalization, "personalized without consent")
          }
          if (Campaign.isCapped(c)) {
            assert.isDefined(v?.key, "capped without an identifier")
            assert.isFalse(r.childDirected, "capped on a child-directed site")
            assert.notStrictEqual(r.child, true, "capped with a child signal")
            assert.notStrictEqual(v?.child, true, "capped with the tenant's child signal")
          }
          for (const a of c.targeting?.audiences?.exclude ?? []) assert.isFalse(v?.audiences.has(a) ?? false)
        })
      }),
    { fastCheck: { numRuns: 120 } }
  )

  it.effect("an audience of another tenant never selects a campaign: each tenant's view is its own", () =>
    Effect.gen(function* () {
      const index = Selector.make(
        [campaign("mine", { tenant: "t1", targeting: { audiences: { include: ["buyers"] } } })],
        { currency: "EUR" }
      )
      const other = request({ visitors: new Map([["t2", visitor({ audiences: new Set(["buyers"]) })]]) })
      const own = request({ visitors: new Map([["t1", visitor({ audiences: new Set(["buyers"]) })]]) })
      const decisions = yield* run(index, [
        { at: T0, request: other },
        { at: T0, request: own }
      ])
      assert.deepStrictEqual(decisions.map(selectedId), [undefined, "mine"])
    })
  )

  it.effect("house fills when no paid campaign can, and explains why the others were passed over", () =>
    Effect.gen(function* () {
      const index = Selector.make(
        [
          campaign("house", { tier: { kind: "house" }, bid: { amount: 0, currency: "EUR" } }),
          campaign("mobile-only", { targeting: { devices: ["mobile"] } }),
          campaign("capped", { caps: [{ scope: "campaign", window: "day", max: 1 }] })
        ],
        { currency: "EUR" }
      )
      const [d] = yield* run(index, [{ at: T0, request: request({ category: "news", explain: true }) }])
      assert.strictEqual(selectedId(d!), "house")
      assert.match(d!.reason, /^house/)
      assert.deepStrictEqual(
        [...d!.skipped].sort((a, b) => a.campaignId.localeCompare(b.campaignId)),
        [
          { campaignId: "capped", reason: "no-identifier" },
          { campaignId: "mobile-only", reason: "device" }
        ]
      )
    })
  )

  it.effect("schedules: start inclusive, end exclusive, UTC hours and days to the millisecond", () =>
    Effect.gen(function* () {
      const house = campaign("house", { tier: { kind: "house" }, bid: { amount: 0, currency: "EUR" } })
      const windowed = campaign("windowed", {
        schedule: { start: "2026-01-05T09:00:00Z", end: "2026-01-12T17:00:00Z", hours: [9, 10, 16], days: [1, 5] }
      })
      const at = (iso: string) => ({ at: Date.parse(iso), request: request() })
      const decisions = yield* run(Selector.make([windowed, house], { currency: "EUR" }), [
        at("2026-01-05T08:59:59.999Z"), // Monday, before the start
        at("2026-01-05T09:00:00.000Z"), // the start
        at("2026-01-05T10:59:59.999Z"),
        at("2026-01-05T11:00:00.000Z"), // hour 11 is not listed
        at("2026-01-06T09:30:00.000Z"), // Tuesday is not listed
        at("2026-01-09T16:59:59.999Z"), // Friday 16h
        at("2026-01-12T16:59:59.999Z"), // Monday, last millisecond
        at("2026-01-12T17:00:00.000Z") // the end
      ])
      assert.deepStrictEqual(decisions.map(selectedId), [
        "house",
        "windowed",
        "windowed",
        "house",
        "house",
        "windowed",
        "windowed",
        "house"
      ])
    })
  )

  it("rejects campaigns in another currency and leaves paused ones out", () => {
    const index = Selector.make(
      [
        campaign("eur"),
        campaign("usd", { bid: { amount: 100, currency: "USD" } }),
        campaign("p", { status: "paused" })
      ],
      { currency: "EUR" }
    )
    assert.strictEqual(index.size, 1)
    assert.deepStrictEqual(
      index.rejected.map((r) => r.campaignId),
      ["usd"]
    )
  })

  it.effect("orders remnant campaigns by bid × predicted response, not bid alone", () =>
    Effect.gen(function* () {
      const predictor: Selector.Predictor = (c) => (c.id === "cheap-but-clicked" ? 0.05 : 0.001)
      const index = Selector.make(
        [campaign("rich", { bid: { amount: 1000, currency: "EUR" } }), campaign("cheap-but-clicked")],
        { currency: "EUR", predictor }
      )
      const [d] = yield* run(index, [{ at: T0, request: request() }])
      assert.strictEqual(selectedId(d!), "cheap-but-clicked", "100 × 0.05 = 5 > 1000 × 0.001 = 1")
    })
  )

  it.effect("the chooser gets the campaign's creatives of the slot's size with the predictor's priors", () =>
    Effect.gen(function* () {
      const seen: Array<ReadonlyArray<Chooser.Arm>> = []
      const chooser: Chooser.Chooser = {
        choose: (_scope, arms) => {
          seen.push(arms)
          return { id: arms[arms.length - 1]!.id, propensity: 0.25 }
        }
      }
      const index = Selector.make(
        [campaign("c", { creatives: [creative("x"), creative("wide", 728, 90), creative("y")] })],
        { currency: "EUR", chooser, predictor: (_c, k) => (k.id === "x" ? 0.02 : 0.01) }
      )
      const [d] = yield* run(index, [{ at: T0, request: request() }])
      assert.deepStrictEqual(seen, [
        [
          { id: "x", prior: 0.02 },
          { id: "y", prior: 0.01 }
        ]
      ])
      const first = d!
      assert.isTrue(Decision.isSelected(first))
      if (first._tag === "Selected") {
        assert.strictEqual(first.creativeId, "y")
        assert.strictEqual(first.propensity, 0.25)
      }
    })
  )
})

describe("Selector.decide: determinism", () => {
  it.effect.prop(
    "the same seed, clock and requests give the same decisions",
    [campaignsArb, fc.array(requestArb, { minLength: 1, maxLength: 10 }), fc.integer()],
    ([campaigns, gs, seed]) =>
      Effect.gen(function* () {
        const withCreatives = campaigns.map((c) =>
          decode({
            ...Campaign.encode(c),
            pacing: "even",
            budget: { daily: { amount: 50, currency: "EUR" } },
            creatives: [creative("p"), creative("q"), creative("r")]
          })
        )
        const steps = gs
          .map(toRequest)
          .sort((a, b) => a.now - b.now)
          .map((s) => ({ at: s.now, request: s.request }))
        const a = yield* run(Selector.make(withCreatives, { currency: "EUR" }), steps, seed)
        const b = yield* run(Selector.make(withCreatives, { currency: "EUR" }), steps, seed)
        assert.deepStrictEqual(a, b)
      }),
    { fastCheck: { numRuns: 100 } }
  )

  it.effect("different seeds explore differently (the random source is used)", () =>
    Effect.gen(function* () {
      const index = () =>
        Selector.make([campaign("c", { creatives: [creative("p"), creative("q"), creative("r")] })], {
          currency: "EUR"
        })
      const steps = Array.from({ length: 30 }, (_, i) => ({ at: T0 + i * 1000, request: request() }))
      const creatives = (ds: ReadonlyArray<Decision.Decision>) =>
        ds.map((d) => (d._tag === "Selected" ? d.creativeId : "-")).join("")
      const a = creatives(yield* run(index(), steps, 1))
      const b = creatives(yield* run(index(), steps, 2))
      assert.notStrictEqual(a, b)
      assert.strictEqual(a, creatives(yield* run(index(), steps, 1)))
    })
  )
})

describe("Selector.unsafeDecide", () => {
  let refused = 0
  /**
   * Some campaigns get a daily budget of one impression (a CPM of 10 to 40 EUR, a budget of 1 to 4 cents),
   * half of those paced evenly: reads, charges, refusals and pacing steps.
   */
  const budgetedArb = campaignsArb.chain((campaigns) =>
    fc
      .array(fc.constantFrom("none", "asap", "even"), { minLength: campaigns.length, maxLength: campaigns.length })
      .map((modes) =>
        campaigns.map((c, i) =>
          modes[i] === "none" || c.tier.kind === "house"
            ? c
            : decode({
                ...Campaign.encode(c),
                bid: { amount: 1000 * c.bid.amount, currency: "EUR" },
                budget: { daily: { amount: c.bid.amount, currency: "EUR" } },
                pacing: modes[i]
              })
        )
      )
  )

  /** `seed`'s first draw, as `decide` seeds its generator under `Random.make(seed)`. */
  const rngOf = (seed: number) =>
    Rng.seeded(Effect.runSync(Random.nextIntBetween(0, 2 ** 31).pipe(Effect.withRandom(Random.make(seed)))))

  it.effect.prop(
    "decides as decide does, from memory or suspended and resumed, and leaves the stores as decide does",
    [budgetedArb, fc.array(requestArb, { minLength: 10, maxLength: 40 }), fc.boolean()],
    ([campaigns, gs, sync]) =>
      Effect.gen(function* () {
        const steps = gs.map(toRequest).sort((a, b) => a.now - b.now)
        const index = () => Selector.make(campaigns, { currency: "EUR" })
        // The reference: `decide`, each step under its own seed, over stores that answer through effects only.
        const effectsOnly = Budget.makeMemory()
        const referenceStores = Layer.merge(
          Caps.layerMemory,
          Layer.succeed(Budget.DeliveryStore, {
            read: effectsOnly.read,
            charge: effectsOnly.charge,
            setPacing: effectsOnly.setPacing
          })
        )
        const expected: Array<Decision.Decision> = []
        const reference = index()
        yield* Effect.gen(function* () {
          const time = manualClock()
          for (const [i, step] of steps.entries()) {
            yield* time.set(step.now)
            const decision = Selector.decide(reference, step.request).pipe(
              Effect.withClock(time.clock),
              Effect.withRandom(Random.make(i))
            )
            expected.push(yield* decision)
          }
        }).pipe(Effect.provide(referenceStores))
        // The same from memory: a store with the synchronous methods (or, `sync` false, without them).
        const caps = Caps.makeMemory()
        const full = Budget.makeMemory()
        const delivery: Budget.Service = sync
          ? full
          : { read: full.read, charge: full.charge, setPacing: full.setPacing }
        const unsafe = index()
        let suspended = 0
        for (const [i, step] of steps.entries()) {
          let decision = Selector.unsafeDecide(unsafe, step.request, {
            now: step.now,
            rng: rngOf(i),
            deliveryStore: delivery
          })
          if (decision._tag === "Suspended") {
            suspended++
            decision = yield* decision.resume.pipe(
              Effect.provideService(Caps.CapStore, caps),
              Effect.provideService(Budget.DeliveryStore, delivery)
            )
          }
          assert.deepStrictEqual(decision, expected[i])
        }
        // Without the synchronous methods every decision that reads a budget stops and resumes.
        if (!sync) {
          const budgeted = expected.filter((d) => d.skipped.some((s) => s.reason === "budget"))
          assert.isAtLeast(suspended, budgeted.length)
        }
        refused += expected.filter((d) => d.skipped.some((s) => s.reason === "budget")).length
      }),
    { fastCheck: { numRuns: 150 } }
  )

  it.effect("a suspended decision resumes once", () =>
    Effect.gen(function* () {
      const index = Selector.make([campaign("c", { budget: { daily: { amount: 100, currency: "EUR" } } })], {
        currency: "EUR"
      })
      const full = Budget.makeMemory()
      // A store without the synchronous methods: the budget read suspends the decision.
      const effectsOnly: Budget.Service = { read: full.read, charge: full.charge, setPacing: full.setPacing }
      const decided = Selector.unsafeDecide(index, request(), {
        now: T0,
        rng: Rng.seeded(1),
        deliveryStore: effectsOnly
      })
      assert.strictEqual(decided._tag, "Suspended")
      if (decided._tag !== "Suspended") return
      const provide = <A, E>(effect: Effect.Effect<A, E, Caps.CapStore | Budget.DeliveryStore>) =>
        effect.pipe(Effect.provide(Caps.layerMemory), Effect.provideService(Budget.DeliveryStore, effectsOnly))
      const first = yield* provide(decided.resume)
      assert.strictEqual(first._tag === "Selected" ? first.campaignId : first._tag, "c")
      const again = yield* Effect.exit(provide(decided.resume))
      assert.isTrue(again._tag === "Failure")
      assert.strictEqual((yield* full.read("c")).spend.total, 100)
    })
  )

  it("the property's budgets run out: refusals happen", () => {
    assert.isAbove(refused, 0)
  })
})
