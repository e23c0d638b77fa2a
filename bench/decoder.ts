/**
 * Decoder throughput: how many wire-format events one core decodes and validates per second on the
 * collector's hot path (`WireFormat.decodeQuery`: parse the query string, then the strict event schema), over a
 * few thousand distinct realistic events (product views, page views, purchases with three line items). The
 * baseline, measured in the same run on the same events, is `JSON.parse` of each event's JSON: parsing alone,
 * with no validation at all, so the ratio says what the wire format plus validation costs next to the cheapest
 * thing a collector accepting JSON could possibly do.
 */
import { WireFormat } from "../packages/pixel/src/index.ts"
import { conversion, eventId, pageView, productView } from "./events.ts"
import { type Figure, log, median, significant } from "./stats.ts"

/** Distinct events per kind (product view, page view, conversion). */
const perKind = 1_000

export interface DecoderOptions {
  /** Measured rounds of each loop, interleaved; the median is reported. */
  readonly rounds: number
  /** Length of one measured round, ms. */
  readonly roundMs: number
  /** Warm-up of each loop before the first round, ms. */
  readonly warmupMs: number
}

interface Inputs {
  readonly queries: ReadonlyArray<string>
  readonly json: ReadonlyArray<string>
}

const inputs = (): Inputs => {
  const queries: Array<string> = []
  const json: Array<string> = []
  for (let n = 0; n < perKind; n++) {
    for (const event of [
      productView(eventId("dv", n), n),
      pageView(eventId("dp", n), n),
      conversion(eventId("dc", n), n)
    ]) {
      queries.push(WireFormat.encodeQuery(event))
      json.push(JSON.stringify(event))
    }
  }
  return { queries, json }
}

/** Runs `pass` (one pass over all inputs, returning a checksum) until `ms` elapsed; returns items per second. */
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

/** Measures the decoder and its JSON.parse baseline. */
export const run = (options: DecoderOptions): ReadonlyArray<Figure> => {
  const { queries, json } = inputs()
  const decodePass = (): number => {
    let ok = 0
    for (let i = 0; i < queries.length; i++) if (WireFormat.decodeQuery(queries[i]!)._tag === "Right") ok++
    return ok
  }
  const jsonPass = (): number => {
    let n = 0
    for (let i = 0; i < json.length; i++) n += (JSON.parse(json[i]!) as { type: string }).type.length
    return n
  }
  // Every input must decode: a benchmark of the error path would flatter the decoder.
  const valid = decodePass()
  if (valid !== queries.length) throw new Error(`decoder: only ${valid} of ${queries.length} benchmark events decode`)

  const meanQuery = queries.reduce((sum, q) => sum + q.length, 0) / queries.length
  const meanJson = json.reduce((sum, j) => sum + j.length, 0) / json.length
  log(
    `decoder: ${queries.length} distinct events, mean ${meanQuery.toFixed(0)} chars as query, ${meanJson.toFixed(0)} as JSON`
  )
  throughput(queries.length, options.warmupMs, decodePass)
  throughput(json.length, options.warmupMs, jsonPass)

  const decoded: Array<number> = []
  const parsed: Array<number> = []
  const ratios: Array<number> = []
  let sink = 0
  for (let round = 0; round < options.rounds; round++) {
    // Alternating the order spreads any drift (thermal, neighbours) over both loops.
    const first = round % 2 === 0
    const a = first ? throughput(queries.length, options.roundMs, decodePass) : undefined
    const b = throughput(json.length, options.roundMs, jsonPass)
    const d = a ?? throughput(queries.length, options.roundMs, decodePass)
    sink += d.sink + b.sink
    decoded.push(d.perSecond)
    parsed.push(b.perSecond)
    ratios.push(d.perSecond / b.perSecond)
    log(
      `decoder round ${round + 1}/${options.rounds}: ${Math.round(d.perSecond)} events/s, JSON.parse ${Math.round(b.perSecond)}/s`
    )
  }
  if (sink === 0) throw new Error("decoder: the loops did no work")

  return [
    {
      name: "decoder.events_per_s",
      value: significant(median(decoded)),
      unit: "events/s",
      note: "WireFormat.decodeQuery (parse + validate), one core"
    },
    {
      name: "decoder.json_parse_per_s",
      value: significant(median(parsed)),
      unit: "events/s",
      note: "baseline: JSON.parse of the same events, no validation"
    },
    {
      name: "decoder.ratio_vs_json_parse",
      value: significant(median(ratios), 3),
      unit: "ratio",
      note: "decoder / JSON.parse (median of paired rounds)"
    }
  ]
}
