/**
 * User-agent generalization on the collector's hot path: the 16,917 real user-agent strings of the shared corpus
 * (`../shared/data/user-agents.txt` beside the repository; uap-core test data, Apache-2.0), drawn with Zipf-like
 * frequencies (s = 1.1: a few strings dominate, as in real traffic), each generalized by `UserAgent.generalize`
 * through its bounded cache. The baseline, measured in the same run on the same events, calls ua-parser-js 1.x
 * uncached for every event (`setUA` then `getBrowser`, `getOS`, `getDevice`: the parsing the cache saves), so the
 * ratio is what caching by value buys. Without the corpus file the benchmark says so and reports nothing.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { UserAgent } from "../packages/anonymizer/src/index.ts"
import { parseUncached } from "../packages/anonymizer/test/fixtures/reference.ts"
import { type Figure, log, median, significant } from "./stats.ts"

export interface UaOptions {
  /** Measured rounds of each loop, interleaved; the median is reported. */
  readonly rounds: number
  /** Length of one measured round, ms. */
  readonly roundMs: number
  /** Warm-up of each loop before the first round, ms. */
  readonly warmupMs: number
}

/** Zipf exponent of the draw. */
const ZIPF_S = 1.1
/** Events drawn; passes walk through them in order, wrapping around. */
const EVENTS = 200_000
/** Events per timed pass. */
const PASS = 2_048

/** A deterministic generator (LCG), so every run measures the same sequence. */
const lcg = (seed: number) => {
  let state = seed >>> 0
  return (): number => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
    return state / 4_294_967_296
  }
}

/** Draws `count` strings with probability ∝ 1 / rank^s, ranks assigned by a seeded shuffle of the corpus. */
const zipfDraw = (corpus: ReadonlyArray<string>, count: number): Array<string> => {
  const random = lcg(0x5eed)
  const ranked = [...corpus]
  for (let i = ranked.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const swap = ranked[i]!
    ranked[i] = ranked[j]!
    ranked[j] = swap
  }
  const cumulative = new Float64Array(ranked.length)
  let total = 0
  for (let r = 0; r < ranked.length; r++) {
    total += 1 / (r + 1) ** ZIPF_S
    cumulative[r] = total
  }
  const out: Array<string> = []
  for (let i = 0; i < count; i++) {
    const target = random() * total
    let lo = 0
    let hi = ranked.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cumulative[mid]! < target) lo = mid + 1
      else hi = mid
    }
    out.push(ranked[lo]!)
  }
  return out
}

/**
 * Runs timed passes for about `ms`. Before each pass (untimed) the next `PASS` events are copied into fresh
 * strings, as each request's header is a new string: a lookup then hashes and compares contents, as it would in
 * the collector, instead of finding a hash cached on a string it saw before.
 */
const throughput = (
  events: ReadonlyArray<string>,
  cursor: { at: number },
  ms: number,
  pass: (batch: ReadonlyArray<string>) => number
): { readonly perSecond: number; readonly sink: number } => {
  let sink = 0
  let passes = 0
  let timed = 0
  const started = performance.now()
  const batch: Array<string> = new Array(PASS)
  while (performance.now() - started < ms) {
    for (let i = 0; i < PASS; i++) {
      batch[i] = Buffer.from(events[cursor.at]!, "latin1").toString("latin1")
      cursor.at = cursor.at + 1 === events.length ? 0 : cursor.at + 1
    }
    const t0 = performance.now()
    sink += pass(batch)
    timed += performance.now() - t0
    passes++
  }
  return { perSecond: (passes * PASS * 1000) / timed, sink }
}

/** Measures cached generalization against parsing every event with ua-parser-js. */
export const run = (root: string, options: UaOptions): ReadonlyArray<Figure> => {
  const path = join(root, "..", "shared", "data", "user-agents.txt")
  if (!existsSync(path)) {
    log(`ua: ${path} is missing (the shared corpus lies beside the repository): ua.speedup_vs_uncached skipped`)
    return []
  }
  const corpus = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
  const events = zipfDraw(corpus, EVENTS)
  const distinct = new Set(events).size
  const cache = UserAgent.make()
  let lookups = 0

  const cachedPass = (batch: ReadonlyArray<string>): number => {
    let n = 0
    for (let i = 0; i < batch.length; i++) if (cache.generalize(batch[i]!).device === "mobile") n++
    lookups += batch.length
    return n + 1
  }
  const uncachedPass = (batch: ReadonlyArray<string>): number => {
    let n = 0
    for (let i = 0; i < batch.length; i++) {
      const parsed = parseUncached(batch[i]!)
      if (parsed.device === "mobile") n++
      n += (parsed.browser?.length ?? 0) + (parsed.os?.length ?? 0)
    }
    return n + 1
  }
  const cachedCursor = { at: 0 }
  const uncachedCursor = { at: 0 }
  const timedCached = (ms: number) => throughput(events, cachedCursor, ms, cachedPass)

  log(
    `ua: ${corpus.length} strings, ${EVENTS} events drawn with Zipf s=${ZIPF_S}: ${distinct} distinct, ` +
      `the top string ${((events.filter((e) => e === events[0]).length / EVENTS) * 100).toFixed(1)}% of events`
  )
  timedCached(options.warmupMs)
  throughput(events, uncachedCursor, options.warmupMs, uncachedPass)

  const before = cache.stats().parses
  lookups = 0
  const cached: Array<number> = []
  const uncached: Array<number> = []
  const ratios: Array<number> = []
  let sink = 0
  for (let round = 0; round < options.rounds; round++) {
    const first = round % 2 === 0
    const a = first ? timedCached(options.roundMs) : undefined
    const b = throughput(events, uncachedCursor, options.roundMs, uncachedPass)
    const c = a ?? timedCached(options.roundMs)
    sink += b.sink + c.sink
    cached.push(c.perSecond)
    uncached.push(b.perSecond)
    ratios.push(c.perSecond / b.perSecond)
    log(
      `ua round ${round + 1}/${options.rounds}: ${Math.round(c.perSecond)} generalizations/s cached, ` +
        `${Math.round(b.perSecond)} uncached ua-parser-js`
    )
  }
  if (sink === 0) throw new Error("ua: the loops did no work")
  const stats = cache.stats()
  const hitRate = 1 - (stats.parses - before) / lookups
  log(`ua: cache ${stats.entries} entries, ~${Math.round(stats.bytes / 1024)} KiB, ${stats.parses} parses in all`)

  return [
    {
      name: "ua.generalize_per_s",
      value: significant(median(cached)),
      unit: "events/s",
      note: "UserAgent.generalize (bounded LRU), Zipf-drawn real UAs, one core"
    },
    {
      name: "ua.uncached_per_s",
      value: significant(median(uncached)),
      unit: "events/s",
      note: "baseline: ua-parser-js 1.x browser + OS + device parse per event"
    },
    {
      name: "ua.hit_rate",
      value: significant(hitRate, 3),
      unit: "ratio",
      note: `cache hits during the measured rounds (${distinct} distinct strings drawn)`
    },
    {
      name: "ua.speedup_vs_uncached",
      value: significant(median(ratios), 3),
      unit: "ratio",
      note: "cached generalization / uncached parsing (median of paired rounds)"
    }
  ]
}
