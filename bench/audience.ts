/**
 * Audiences: 100 active audiences of 12 kinds (category viewers, cart abandoners, spenders, lapsed buyers, URL
 * visitors, sequences, "viewed but not bought" bound on the product, distinct counts…) over a month of shop
 * traffic from 20,000 visitors (about 300,000 events, time order), from
 * `packages/audience/test/fixtures/workload.ts`.
 *
 * - `audience.incremental_events_per_s`: events applied per second on one core by `Evaluator.update` (matching,
 *   counters, every audience reading what changed re-evaluated, membership changes reported), each visitor's
 *   state looked up in a Map as a worker would hold them.
 * - `audience.bytes_per_visitor`: after the month, the mean size of a visitor's in-memory state as V8 serializes
 *   it (`v8.serialize`: its typed arrays in full, capacity included, key strings and field names), over the
 *   visitors with a state; `audience.stored_bytes_per_visitor` is the mean of `VisitorState.toBytes`.
 * - `audience.speedup_vs_json_rules_engine`: visitors evaluated per second against every audience
 *   json-rules-engine can express (all but the bound ones), by `Evaluator.evaluate` and by json-rules-engine on
 *   the same visitor facts (the same day-bucketed counters as JSON, windows computed by a cached dynamic fact),
 *   in paired rounds; before measuring, both must find the same audiences holding for every sampled visitor.
 */
import { serialize } from "node:v8"
import * as Either from "effect/Either"
import { Batch, Evaluator, Program, VisitorState } from "../packages/audience/src/index.ts"
import * as Jre from "../packages/audience/test/fixtures/jsonRulesEngine.ts"
import { audiences, DAY, START, traffic } from "../packages/audience/test/fixtures/workload.ts"
import type { VisitorEvent } from "../packages/audience/src/VisitorEvent.ts"
import { type Figure, log, median, significant } from "./stats.ts"

export interface AudienceOptions {
  /** Measured rounds of each loop; the median is reported. */
  readonly rounds: number
  /** Length of one measured round of the evaluation comparison, ms. */
  readonly roundMs: number
  /** Warm-up of each evaluation loop, ms. */
  readonly warmupMs: number
}

const visitors = 20_000
const spanDays = 30
const sampleVisitors = 1_000

const pass = (program: Program.Program, events: ReadonlyArray<VisitorEvent>) => {
  const states = new Map<string, VisitorState.VisitorState>()
  let changes = 0
  const started = performance.now()
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    let state = states.get(e.visitor!)
    if (state === undefined) {
      state = VisitorState.make()
      states.set(e.visitor!, state)
    }
    changes += Evaluator.update(program, state, e).length
  }
  const ms = performance.now() - started
  return { perSecond: (events.length * 1000) / ms, states, changes }
}

const loop = async (ms: number, once: () => number | Promise<number>): Promise<{ perSecond: number; sink: number }> => {
  let sink = 0
  let passes = 0
  const started = performance.now()
  let elapsed = 0
  while (elapsed < ms) {
    sink += await once()
    passes++
    elapsed = performance.now() - started
  }
  return { perSecond: (passes * sampleVisitors * 1000) / elapsed, sink }
}

/** Runs the three audience benchmarks. */
export const run = async (options: AudienceOptions): Promise<ReadonlyArray<Figure>> => {
  const definitions = audiences(100)
  const program = Either.getOrThrow(Program.makeEither(definitions))
  const events = traffic(visitors, spanDays)
  const end = START + spanDays * DAY
  log(
    `audience: ${definitions.length} audiences compiled to ${Program.trackCount(program)} tracks; ` +
      `${events.length} events from ${visitors} visitors over ${spanDays} days`
  )

  // Incremental: whole passes over the month, fresh states each time.
  pass(program, events)
  const rates: Array<number> = []
  let last = pass(program, events)
  for (let round = 0; round < options.rounds; round++) {
    last = pass(program, events)
    rates.push(last.perSecond)
    log(
      `audience round ${round + 1}/${options.rounds}: ${Math.round(last.perSecond)} events/s, ${last.changes} changes`
    )
  }

  // Memory: every state brought to the end of the month.
  const v8Sizes: Array<number> = []
  const stored: Array<number> = []
  for (const state of last.states.values()) {
    Evaluator.advance(program, state, end)
    if (VisitorState.isEmpty(state)) continue
    v8Sizes.push(serialize(state).length)
    stored.push(VisitorState.byteSize(state))
  }
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
  const sorted = [...v8Sizes].sort((a, b) => a - b)
  log(
    `audience: ${v8Sizes.length} visitor states, v8.serialize mean ${Math.round(mean(v8Sizes))} B, median ` +
      `${sorted[sorted.length >> 1]} B, p95 ${sorted[Math.floor(sorted.length * 0.95)]} B, max ${sorted.at(-1)} B; ` +
      `stored form mean ${Math.round(mean(stored))} B`
  )

  // Evaluation against json-rules-engine, on the audiences it can express.
  const subset = definitions.filter(Jre.expressible)
  const subsetProgram = Either.getOrThrow(Program.makeEither(subset))
  const byVisitor = new Map<string, Array<VisitorEvent>>()
  for (const e of events) {
    const list = byVisitor.get(e.visitor!)
    if (list === undefined) byVisitor.set(e.visitor!, [e])
    else list.push(e)
  }
  const sample: Array<{ readonly state: VisitorState.VisitorState; readonly facts: Record<string, unknown> }> = []
  for (const list of byVisitor.values()) {
    if (sample.length >= sampleVisitors) break
    const state = Batch.rebuild(subsetProgram, list, end)
    if (VisitorState.isEmpty(state)) continue
    sample.push({ state, facts: Jre.factsOf(state, end) })
  }
  const engine = Jre.makeEngine(subsetProgram)
  let holding = 0
  for (const { state, facts } of sample) {
    const ours = Jre.holdsByProgram(subsetProgram, state, end)
    const theirs = await Jre.holdsByEngine(engine, facts)
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
      throw new Error(`audience: json-rules-engine disagrees: ${JSON.stringify(ours)} vs ${JSON.stringify(theirs)}`)
    }
    holding += ours.length
  }
  log(
    `audience: ${subset.length} audiences without bind; ${sample.length} visitors, both engines agree ` +
      `(${(holding / sample.length).toFixed(2)} audiences holding per visitor)`
  )
  const oursOnce = () => {
    let n = 0
    for (const { state } of sample) n += Evaluator.evaluate(subsetProgram, state, end).length
    return n + 1
  }
  const theirsOnce = async () => {
    let n = 0
    for (const { facts } of sample) n += (await engine.run(facts)).events.length
    return n + 1
  }
  await loop(options.warmupMs, oursOnce)
  await loop(options.warmupMs, theirsOnce)
  const ours: Array<number> = []
  const theirs: Array<number> = []
  const ratios: Array<number> = []
  let sink = 0
  for (let round = 0; round < options.rounds; round++) {
    const first = round % 2 === 0
    const a = first ? await loop(options.roundMs, oursOnce) : undefined
    const b = await loop(options.roundMs, theirsOnce)
    const c = a ?? (await loop(options.roundMs, oursOnce))
    sink += b.sink + c.sink
    ours.push(c.perSecond)
    theirs.push(b.perSecond)
    ratios.push(c.perSecond / b.perSecond)
    log(
      `audience round ${round + 1}/${options.rounds}: ${Math.round(c.perSecond)} visitors/s compiled, ` +
        `${Math.round(b.perSecond)} visitors/s json-rules-engine`
    )
  }
  if (sink === 0) throw new Error("audience: the loops did no work")

  return [
    {
      name: "audience.incremental_events_per_s",
      value: significant(median(rates)),
      unit: "events/s",
      note: "Evaluator.update through 100 active audiences, one core"
    },
    {
      name: "audience.bytes_per_visitor",
      value: Math.round(mean(v8Sizes)),
      unit: "bytes",
      note: "mean v8.serialize size of a visitor state, 100 audiences, after 30 days"
    },
    {
      name: "audience.stored_bytes_per_visitor",
      value: Math.round(mean(stored)),
      unit: "bytes",
      note: "mean VisitorState.toBytes size (what storage keeps)"
    },
    {
      name: "audience.evaluations_per_s",
      value: significant(median(ours)),
      unit: "visitors/s",
      note: `Evaluator.evaluate, ${subset.length} audiences per visitor`
    },
    {
      name: "audience.json_rules_engine_per_s",
      value: significant(median(theirs)),
      unit: "visitors/s",
      note: "baseline: json-rules-engine on the same facts and audiences"
    },
    {
      name: "audience.speedup_vs_json_rules_engine",
      value: significant(median(ratios), 3),
      unit: "ratio",
      note: "compiled evaluation / json-rules-engine (median of paired rounds)"
    }
  ]
}
