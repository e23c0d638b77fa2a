/**
 * Ad decisions: one `Selector.decide` in process over 10,000 campaigns of 20 advertiser tenants (six slot sizes,
 * 60% targeting audiences, the rest contextual by site, category or device; tiers exclusive to house; half capped,
 * most budgeted, a third paced evenly), for a browser in 100 targetable audiences (5 of each tenant), with the
 * in-memory cap and delivery stores filling up as the run goes (1,000 visitors rotate).
 *
 * - `ads.decision_p50_us`, `ads.decision_p99_us`: the median and 99th percentile of one decision, microseconds
 *   (the target: p99 at most 1,000 µs, goal 200).
 * - `ads.decision_speedup_vs_scan`: the median time of a linear scan that only checks every campaign's schedule and
 *   targeting (no caps, budgets, pacing or choice), divided by the median decision: what the load-time index saves.
 *
 * `run` is what bench/ads.ts calls (benchmark `ads` of bench/run.ts); `npx tsx bench/adDecision.ts` runs it alone
 * and prints the figures.
 */
import { pathToFileURL } from "node:url"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Random from "effect/Random"
import { Budget, Campaign, Caps, Rng, Selector, Targeting } from "../packages/ad-selector/src/index.ts"
import { type Figure, log, median, significant } from "./stats.ts"

export interface AdDecisionOptions {
  /** Measured decisions. */
  readonly decisions: number
  /** Decisions run before measuring. */
  readonly warmup: number
}

const START = Date.UTC(2026, 0, 5, 6)
const DAY = 86_400_000
const sizes = [
  [300, 250],
  [728, 90],
  [160, 600],
  [320, 50],
  [300, 600],
  [970, 250]
] as const
const tenants = Array.from({ length: 20 }, (_, i) => `tenant-${i}`)
const audiencesPerTenant = 200
const sites = Array.from({ length: 50 }, (_, i) => `site-${i}`)
const categories = ["news", "sport", "food", "travel", "tech", "finance", "culture", "auto"]
const devices = ["desktop", "mobile", "tablet"] as const

const pick = <A>(rng: Rng.Rng, values: ReadonlyArray<A>): A => values[Math.floor(rng.next() * values.length)]!
const some = <A>(rng: Rng.Rng, values: ReadonlyArray<A>, n: number): Array<A> => {
  const out = new Set<A>()
  while (out.size < n) out.add(pick(rng, values))
  return [...out]
}

/** The 10,000 campaigns, decoded through `Campaign.decode` as a server would load them. */
export const campaigns = (count = 10_000, seed = 42): Array<Campaign.Campaign> => {
  const rng = Rng.seeded(seed)
  const out: Array<Campaign.Campaign> = []
  for (let i = 0; i < count; i++) {
    const tenant = pick(rng, tenants)
    const r = rng.next()
    const tier =
      r < 0.02
        ? { kind: "exclusive" }
        : r < 0.17
          ? { kind: "contract", priority: 1 + Math.floor(rng.next() * 10) }
          : r < 0.97
            ? { kind: "remnant" }
            : { kind: "house" }
    const kind = rng.next()
    const audiences = () =>
      Array.from({ length: 1 + Math.floor(rng.next() * 3) }, () => `a${Math.floor(rng.next() * audiencesPerTenant)}`)
    const targeting =
      tier.kind === "exclusive"
        ? { sites: { include: some(rng, sites, 1) } }
        : kind < 0.6
          ? {
              audiences: { include: audiences(), ...(rng.next() < 0.3 ? { exclude: audiences().slice(0, 1) } : {}) },
              ...(rng.next() < 0.2 ? { recencyDays: 30 } : {})
            }
          : kind < 0.8
            ? { sites: { include: some(rng, sites, 3) }, devices: some(rng, devices, 2) }
            : { categories: some(rng, categories, 2), sites: { exclude: some(rng, sites, 2) } }
    const house = tier.kind === "house"
    const bid = house ? 0 : 50 + Math.floor(rng.next() * 2_000)
    const budgeted = !house && rng.next() < 0.8
    const paced = budgeted && rng.next() < 0.4
    const encoded = {
      id: `c${i}`,
      tenant,
      name: `campaign ${i}`,
      status: "active",
      tier,
      schedule: {
        start: new Date(START - 10 * DAY).toISOString(),
        ...(rng.next() < 0.2 ? { hours: some(rng, [...Array(24).keys()], 16) } : {})
      },
      bid: { amount: bid, currency: "EUR" },
      ...(budgeted ? { budget: { daily: { amount: 1_000 + Math.floor(rng.next() * 100_000), currency: "EUR" } } } : {}),
      targeting,
      ...(rng.next() < 0.5
        ? {
            caps: [
              { scope: "campaign", window: "day", max: 3 },
              { scope: "creative", window: "hour", max: 2 }
            ],
            ...(rng.next() < 0.3 ? { recencyBlockSeconds: 300 } : {})
          }
        : {}),
      pacing: paced ? "even" : "asap",
      creatives: Array.from({ length: 1 + Math.floor(rng.next() * 3) }, (_, k) => {
        const [width, height] = pick(rng, sizes)
        return { id: `k${k}`, width, height, kind: "static", landingUrl: `https://${tenant}.example/p/${i}` }
      })
    }
    out.push(
      Either.getOrElse(Campaign.decode(encoded), (message) => {
        throw new Error(`campaign ${i}: ${message}`)
      })
    )
  }
  return out
}

/**
 * The `i`-th request: a browser in 100 audiences (5 per tenant), 1,000 visitors rotating. Built just before its
 * decision, as a server builds the request's visitor views from its stores.
 */
const request = (rng: Rng.Rng, i: number): Selector.Request => {
  const visitor = i % 1_000
  const visitors = new Map<string, Targeting.Visitor>()
  for (const tenant of tenants) {
    visitors.set(tenant, {
      key: `${tenant}:v${visitor}`,
      personalization: true,
      audiences: new Set(some(rng, [...Array(audiencesPerTenant).keys()], 5).map((a) => `a${a}`)),
      lastSeen: START - 2 * DAY
    })
  }
  const [width, height] = pick(rng, sizes)
  return {
    site: pick(rng, sites),
    childDirected: false,
    width,
    height,
    category: pick(rng, categories),
    device: pick(rng, devices),
    visitors
  }
}

const percentile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/** Runs the ad decision benchmark. */
export const run = (options: AdDecisionOptions): ReadonlyArray<Figure> => {
  const loaded = performance.now()
  const all = campaigns()
  const decodedMs = performance.now() - loaded
  const indexed = performance.now()
  const index = Selector.make(all, { currency: "EUR" })
  const indexMs = performance.now() - indexed
  log(`ad decision: ${all.length} campaigns decoded in ${decodedMs.toFixed(0)} ms, indexed in ${indexMs.toFixed(0)} ms`)

  const total = options.warmup + options.decisions
  const rng = Rng.seeded(7)
  const context = Context.make(Caps.CapStore, Caps.makeMemory()).pipe(
    Context.add(Budget.DeliveryStore, Budget.makeMemory())
  )
  let now = START
  // A clock the loop moves by hand (20 ms a decision: the run spans hours of simulated traffic).
  const clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    unsafeCurrentTimeNanos: () => BigInt(now) * BigInt(1_000_000),
    currentTimeMillis: Effect.sync(() => now),
    currentTimeNanos: Effect.sync(() => BigInt(now) * BigInt(1_000_000)),
    sleep: () => Effect.void
  } satisfies Clock.Clock
  const random = Random.make(1)
  const decide = (request: Selector.Request) =>
    Selector.decide(index, request).pipe(Effect.provide(context), Effect.withClock(clock), Effect.withRandom(random))

  const times: Array<number> = []
  let selected = 0
  let personalized = 0
  for (let i = 0; i < total; i++) {
    now += 20
    const next = request(rng, i)
    const started = performance.now()
    const decision = Effect.runSync(decide(next))
    const elapsed = performance.now() - started
    if (i < options.warmup) continue
    times.push(elapsed * 1000)
    if (decision._tag === "Selected") {
      selected++
      if (decision.personalized) personalized++
    }
  }
  times.sort((a, b) => a - b)

  // Baseline: check every campaign's schedule and targeting, nothing else.
  const compiled = all.map((c) => ({ c, t: Targeting.compile(c.targeting) }))
  const scanTimes: Array<number> = []
  let sink = 0
  for (let i = 0; i < Math.min(2_000, options.decisions); i++) {
    const next = request(rng, i)
    const started = performance.now()
    for (const { c, t } of compiled) {
      if (c.schedule.start.epochMillis > now) continue
      if (!c.creatives.some((k) => k.width === next.width && k.height === next.height)) continue
      if (Targeting.check(t, next, next.visitors.get(c.tenant), now) === undefined) sink++
    }
    scanTimes.push((performance.now() - started) * 1000)
  }
  if (sink === 0) throw new Error("ad decision: the scan found nothing eligible")
  const p50 = median(times)
  log(
    `ad decision: ${times.length} decisions, ${selected} selected (${personalized} personalized), p50 ${p50.toFixed(1)} µs, ` +
      `p99 ${percentile(times, 0.99).toFixed(1)} µs, max ${times.at(-1)!.toFixed(0)} µs; scan p50 ${median(scanTimes).toFixed(1)} µs`
  )
  return [
    {
      name: "ads.decision_p50_us",
      value: significant(p50, 3),
      unit: "µs",
      note: "Selector.decide, 10,000 campaigns, a browser in 100 audiences (median)"
    },
    {
      name: "ads.decision_p99_us",
      value: significant(percentile(times, 0.99), 3),
      unit: "µs",
      note: "the same, 99th percentile (target ≤ 1,000, goal 200)"
    },
    {
      name: "ads.decision_speedup_vs_scan",
      value: significant(median(scanTimes) / p50, 3),
      unit: "ratio",
      note: "targeting scan of all campaigns / one indexed decision (medians)"
    }
  ]
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = run({ decisions: Number(process.env.BENCH_DECISIONS ?? 20_000), warmup: 5_000 })
  for (const f of figures) console.log(`${f.name.padEnd(30)} ${String(f.value).padStart(10)} ${f.unit}  ${f.note}`)
}
