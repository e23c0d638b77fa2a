/**
 * Consent decisions per second on the collector's hot path: events carrying a TC string and a GPP string, drawn
 * with repetition from a small realistic set (full consent, rejection, partial consent; usnat, California,
 * Virginia, US Privacy and the EU TCF inside GPP), each decided by a `DecisionCache` — a decode per distinct
 * string, then map lookups. The baseline, measured in the same run on the same events, decodes both strings with
 * the IAB reference libraries every time (`TCString.decode` of @iabtcf/core, `new GppModel(s).toObject()` of
 * @iabgpp/cmpapi) and decides nothing, so the ratio is what caching by value plus our decoder buys.
 */
import { Decision, DecisionCache, type Jurisdiction, Policy, type Signals } from "../packages/consent/src/index.ts"
import { referenceGpp, referenceTc } from "../packages/consent/test/fixtures/reference.ts"
import { gppStrings, tcStrings } from "../packages/consent/test/fixtures/strings.ts"
import { type Figure, log, median, significant } from "./stats.ts"

export interface ConsentOptions {
  /** Measured rounds of each loop, interleaved; the median is reported. */
  readonly rounds: number
  /** Length of one measured round, ms. */
  readonly roundMs: number
  /** Warm-up of each loop before the first round, ms. */
  readonly warmupMs: number
}

/** Events per pass; strings repeat across them as they do in real traffic. */
const eventCount = 4_096

const tcPool = [
  tcStrings.full,
  tcStrings.rejectAll,
  tcStrings.noPurpose1,
  tcStrings.noPurpose3,
  tcStrings.noPurpose7,
  tcStrings.measureByLi,
  tcStrings.otherVendorOnly,
  tcStrings.v22Full
]

const gppPool = [
  gppStrings.usnatAllowed,
  gppStrings.usnatSaleOptOut,
  gppStrings.usnatGpc,
  gppStrings.uscaAllowed,
  gppStrings.uscaSharingOptOut,
  gppStrings.usvaTargetedOptOut,
  gppStrings.uspv1OptOut,
  gppStrings.tcfFullAndUsnatAllowed
]

const jurisdictions: ReadonlyArray<Jurisdiction.Jurisdiction> = ["EU", "US-CA", "US", "unknown"]

interface Input {
  readonly signals: Signals.Signals
  readonly jurisdiction: Jurisdiction.Jurisdiction
}

/** Deterministic events: a linear congruential generator, so every run measures the same sequence. */
const inputs = (): ReadonlyArray<Input> => {
  let state = 0x2545f491
  const next = (n: number) => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
    return (state >>> 8) % n
  }
  // Skewed towards the first strings of each pool, as a few CMP configurations dominate real traffic.
  const pick = <A>(pool: ReadonlyArray<A>): A => pool[Math.min(next(pool.length), next(pool.length))]!
  // Each event gets its own copy of its strings, as each request is parsed separately: cache lookups then
  // compare contents, not just pointers.
  const copy = (s: string) => Buffer.from(s, "latin1").toString("latin1")
  return Array.from({ length: eventCount }, () => ({
    signals: {
      gpc: next(10) === 0,
      dnt: next(12) === 0,
      optout: false,
      tcf: copy(pick(tcPool)),
      gpp: copy(pick(gppPool))
    },
    jurisdiction: pick(jurisdictions)
  }))
}

const throughput = (
  items: number,
  ms: number,
  pass: () => number
): { readonly perSecond: number; readonly sink: number } => {
  let sink = 0
  let passes = 0
  const started = performance.now()
  let elapsed = 0
  while (elapsed < ms) {
    sink += pass()
    passes++
    elapsed = performance.now() - started
  }
  return { perSecond: (passes * items * 1000) / elapsed, sink }
}

/** Measures cached decisions against decoding with the reference libraries. */
export const run = (options: ConsentOptions): ReadonlyArray<Figure> => {
  const events = inputs()
  const policy = Policy.demo
  const cache = DecisionCache.make(1_024)
  const cachedPass = (): number => {
    let kept = 0
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!
      if (cache.decide(e.signals, policy, e.jurisdiction).identifier) kept++
    }
    return kept + 1
  }
  const uncachedPass = (): number => {
    let kept = 0
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!
      if (Decision.decide(e.signals, policy, e.jurisdiction).identifier) kept++
    }
    return kept + 1
  }
  const referencePass = (): number => {
    let n = 0
    for (let i = 0; i < events.length; i++) {
      const { tcf, gpp } = events[i]!.signals
      n += Number(referenceTc(tcf!).cmpId)
      n += Object.keys(referenceGpp(gpp!)).length
    }
    return n
  }

  // The reference must read every string, or the baseline would measure exceptions.
  for (const tc of tcPool) referenceTc(tc)
  for (const gpp of gppPool) referenceGpp(gpp)
  // The cache must decide exactly as the uncached path does.
  for (const e of events) {
    const a = cache.decide(e.signals, policy, e.jurisdiction)
    const b = Decision.decide(e.signals, policy, e.jurisdiction)
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error("consent: cached and uncached decisions differ")
  }
  log(
    `consent: ${events.length} events over ${tcPool.length} TC strings (mean ${Math.round(
      tcPool.reduce((n, s) => n + s.length, 0) / tcPool.length
    )} chars) and ${gppPool.length} GPP strings`
  )
  throughput(events.length, options.warmupMs, cachedPass)
  throughput(events.length, options.warmupMs, referencePass)
  throughput(events.length, options.warmupMs / 2, uncachedPass)

  const cached: Array<number> = []
  const reference: Array<number> = []
  const uncached: Array<number> = []
  const ratios: Array<number> = []
  let sink = 0
  for (let round = 0; round < options.rounds; round++) {
    // Alternating the order spreads any drift (thermal, neighbours) over both loops.
    const first = round % 2 === 0
    const a = first ? throughput(events.length, options.roundMs, cachedPass) : undefined
    const b = throughput(events.length, options.roundMs, referencePass)
    const c = a ?? throughput(events.length, options.roundMs, cachedPass)
    const u = throughput(events.length, options.roundMs / 2, uncachedPass)
    sink += b.sink + c.sink + u.sink
    cached.push(c.perSecond)
    reference.push(b.perSecond)
    uncached.push(u.perSecond)
    ratios.push(c.perSecond / b.perSecond)
    log(
      `consent round ${round + 1}/${options.rounds}: ${Math.round(c.perSecond)} decisions/s cached, ` +
        `${Math.round(u.perSecond)} uncached, reference decode ${Math.round(b.perSecond)}/s`
    )
  }
  if (sink === 0) throw new Error("consent: the loops did no work")

  return [
    {
      name: "consent.decisions_per_s",
      value: significant(median(cached)),
      unit: "events/s",
      note: "DecisionCache.decide, TC + GPP string per event, one core"
    },
    {
      name: "consent.uncached_per_s",
      value: significant(median(uncached)),
      unit: "events/s",
      note: "Decision.decide decoding both strings every time"
    },
    {
      name: "consent.reference_per_s",
      value: significant(median(reference)),
      unit: "events/s",
      note: "baseline: @iabtcf/core + @iabgpp/cmpapi decode, no decision"
    },
    {
      name: "consent.speedup_vs_reference",
      value: significant(median(ratios), 3),
      unit: "ratio",
      note: "cached decisions / reference decodes (median of paired rounds)"
    }
  ]
}
