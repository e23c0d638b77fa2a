/**
 * Ad serving: one decision in process (bench/adDecision.ts: `ads.decision_p50_us`, `ads.decision_p99_us`,
 * `ads.decision_speedup_vs_scan`), then requests per second of
 * `GET /ad?site=demo-news&slot=side&w=300&h=250&ctx=news&format=json` through the reference server (embedded SQLite
 * in a temporary directory, demo mode, so the demo campaigns and the news site `demo-news` are seeded) divided by
 * the requests per second of a bare node:http server answering a real `/ad` JSON answer (same bytes, same headers)
 * every time. Both servers run in child processes on 127.0.0.1, so autocannon's own CPU is spent in this process;
 * both are driven the same way (a few connections, the same request, warm-up then measurement) in interleaved
 * rounds, and medians are reported.
 *
 * Only answers that name a campaign count: a non-2xx, a connection error or a 2xx without a campaign (the server
 * answers a failed ad with an empty document rather than a 5xx) is reported and left out of the rate, so a server
 * that fails fast cannot pass as fast.
 *
 * `run` is what bench/run.ts calls (`npx tsx bench/run.ts ads`); BENCH_CPU_PROF=<dir> makes the reference server
 * write a V8 CPU profile there when it stops.
 */
import autocannon, { type Result } from "autocannon"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AdDecision from "./adDecision.ts"
import { answerHeaders, type Child, serverArgs, startChild } from "./collector.ts"
import { type Figure, log, median, significant } from "./stats.ts"

export interface AdsOptions {
  /** Interleaved rounds (bare, ads, then ads, bare, …); medians are reported. */
  readonly rounds: number
  /** Measured seconds per server per round. */
  readonly durationS: number
  /** Warm-up seconds before each measured run (same load, not recorded). */
  readonly warmupS: number
  readonly connections: number
  /** Options of the in-process decision measurement. */
  readonly decision: AdDecision.AdDecisionOptions
}

/** The request the issue names: the demo news site's side slot, as JSON. */
export const adPath = "/ad?site=demo-news&slot=side&w=300&h=250&ctx=news&format=json"

/** Headers of a browser's request from a page: a device to generalize, nothing that identifies it. */
const browserHeaders = {
  "user-agent":
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  accept: "application/json",
  "accept-language": "en-US,en;q=0.9",
  referer: "http://localhost/news/"
}

/** A `/ad` JSON answer that names a campaign (a cheap test, the same for both servers' bodies). */
const namesCampaign = (body: string): boolean => body.includes('"campaignId":"')

/**
 * The bare baseline, run with `node -e`: answers every request with the body and headers given in its environment
 * (`GET /healthz` too), and does nothing else.
 */
const bareScript = `
const { createServer } = require("node:http")
const body = Buffer.from(process.env.BENCH_BODY, "utf8")
const headers = { ...JSON.parse(process.env.BENCH_HEADERS), "content-length": String(body.length) }
const server = createServer({ keepAliveTimeout: 5000 }, (_req, res) => { res.writeHead(200, headers); res.end(body) })
server.listen(Number(process.env.PORT), "127.0.0.1")
const stop = () => { server.close(() => process.exit(0)); server.closeAllConnections() }
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
`

interface Run {
  /** Answers naming a campaign per second of the run. */
  readonly rps: number
  readonly p99: number
  readonly good: number
  readonly non2xx: number
  readonly errors: number
  /** 2xx answers that name no campaign. */
  readonly noAd: number
}

const load = async (url: string, options: AdsOptions, seconds: number): Promise<Run> => {
  let good = 0
  let noAd = 0
  // autocannon calls `onResponse` with every answer's status and body (bench/autocannon.d.ts leaves it out).
  const request = {
    method: "GET",
    path: adPath,
    onResponse: (status: number, body: string) => {
      if (status < 200 || status > 299) return
      if (namesCampaign(body)) good++
      else noAd++
    }
  }
  const result: Result = await autocannon({
    url: `${url}${adPath}`,
    connections: options.connections,
    duration: seconds,
    headers: browserHeaders,
    requests: [request]
  })
  return {
    rps: result.duration > 0 ? good / result.duration : 0,
    p99: result.latency.p99,
    good,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    noAd
  }
}

/** Runs the decision measurement, then both servers through the interleaved rounds. */
export const run = async (root: string, options: AdsOptions): Promise<ReadonlyArray<Figure>> => {
  const decisionFigures = AdDecision.run(options.decision)
  const dataDir = mkdtempSync(join(tmpdir(), "oa-bench-ads-"))
  const children: Array<Child> = []
  try {
    const profile = process.env.BENCH_CPU_PROF
    const profileArgs = profile === undefined || profile === "" ? [] : ["--cpu-prof", "--cpu-prof-dir", profile]
    let sample: { readonly body: string; readonly headers: Record<string, string> } | undefined
    const server = await startChild(
      "reference server",
      root,
      [...profileArgs, ...serverArgs(root)],
      { OA_DATA_DIR: dataDir, OA_DEMO: "1" },
      // Ready once the demo is seeded: the slot answers a campaign.
      async (url) => {
        const response = await fetch(`${url}${adPath}`, { headers: browserHeaders })
        const body = await response.text()
        if (response.status !== 200 || !namesCampaign(body)) return false
        sample = { body, headers: answerHeaders(response.headers) }
        return true
      }
    )
    children.push(server)
    const answer = sample!
    const bytes = Buffer.byteLength(answer.body)
    log(`ads: a /ad JSON answer is ${bytes} bytes, e.g. ${answer.body.slice(0, 160)}…`)
    const bare = await startChild(
      "bare server",
      root,
      ["-e", bareScript],
      { BENCH_BODY: answer.body, BENCH_HEADERS: JSON.stringify(answer.headers) },
      async (url) => (await fetch(url)).status === 200
    )
    children.push(bare)

    const measured = { bare: [] as Array<Run>, ads: [] as Array<Run> }
    const ratios: Array<number> = []
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? (["bare", "ads"] as const) : (["ads", "bare"] as const)
      for (const which of order) {
        const url = which === "bare" ? bare.url : server.url
        await load(url, options, options.warmupS)
        const result = await load(url, options, options.durationS)
        measured[which].push(result)
        log(
          `round ${round + 1}/${options.rounds} ${which}: ${Math.round(result.rps)} answers with a campaign/s, ` +
            `p99 ${result.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}, 2xx without a campaign ${result.noAd}`
        )
      }
      ratios.push(measured.ads[round]!.rps / measured.bare[round]!.rps)
    }
    const sum = (runs: ReadonlyArray<Run>, key: "non2xx" | "errors" | "noAd") => runs.reduce((n, r) => n + r[key], 0)
    const failed = sum(measured.ads, "non2xx") + sum(measured.ads, "errors") + sum(measured.ads, "noAd")
    const adsRps = median(measured.ads.map((r) => r.rps))
    const bareRps = median(measured.bare.map((r) => r.rps))
    const ratio = median(ratios)
    log(
      `ads: ${Math.round(adsRps)} req/s (p99 ${median(measured.ads.map((r) => r.p99))} ms) vs bare ${Math.round(bareRps)} ` +
        `req/s (p99 ${median(measured.bare.map((r) => r.p99))} ms): ratio ${ratio.toFixed(3)}` +
        (failed > 0 ? `; ${failed} failed answers, left out of the rate` : "")
    )
    return [
      ...decisionFigures,
      {
        name: "ads.requests_ratio_vs_bare",
        value: significant(ratio, 3),
        unit: "ratio",
        note: `GET /ad JSON answers with a campaign/s / bare node:http's (median of rounds; target ≥ 0.4)`
      },
      {
        name: "ads.requests_last_vs_first_round",
        value: significant(measured.ads[measured.ads.length - 1]!.rps / measured.ads[0]!.rps, 3),
        unit: "ratio",
        note: "the last round's ads/s / the first's: well below 1 when the server slows as it runs"
      },
      {
        name: "ads.requests_rps",
        value: significant(adsRps),
        unit: "req/s",
        note: `GET /ad?…&format=json answered with a campaign, ${options.connections} connections`
      },
      {
        name: "ads.bare_rps",
        value: significant(bareRps),
        unit: "req/s",
        note: `baseline: bare node:http answering the same ${bytes} bytes of JSON`
      },
      {
        name: "ads.requests_p99_ms",
        value: median(measured.ads.map((r) => r.p99)),
        unit: "ms",
        note: "p99 latency of GET /ad, median of rounds"
      },
      {
        name: "ads.bare_p99_ms",
        value: median(measured.bare.map((r) => r.p99)),
        unit: "ms",
        note: "p99 latency of the bare server, median of rounds"
      },
      { name: "ads.answer_bytes", value: bytes, unit: "bytes", note: "one /ad JSON answer (the bare body's size)" },
      {
        name: "ads.failed",
        value: failed,
        unit: "responses",
        note: "non-2xx, errors and 2xx without a campaign during measured runs (not counted in the rate)"
      },
      {
        name: "ads.bare_failed",
        value: sum(measured.bare, "non2xx") + sum(measured.bare, "errors") + sum(measured.bare, "noAd"),
        unit: "responses",
        note: "the same for the bare server"
      }
    ]
  } finally {
    for (const child of children.reverse()) await child.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
