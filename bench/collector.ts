/**
 * Collector throughput: requests per second of `GET /px.gif` carrying a realistic product view through the
 * reference server's whole path (decode, validate, tenant check, durable append: on SQLite an fsync'd segment
 * file before the answer, then the database through its writer thread), divided by the requests per second of a
 * bare node:http server answering the same GIF. Both servers run in child processes on 127.0.0.1, so
 * autocannon's own CPU is spent in this process; both are driven the same way (50 connections, identical request
 * lines and headers, every request with a unique event id) in interleaved rounds of warm-up + measurement. After
 * each collector run the harness waits until the database holds every answered event (nothing else runs
 * meanwhile) and reports that time; afterwards the collector's /metrics and inspector must show every answered
 * event as stored: a fast server that drops events would be no result at all.
 */
import autocannon, { type Result } from "autocannon"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { WireFormat } from "../packages/pixel/src/index.ts"
import { Database } from "../packages/storage-sql/src/index.ts"
import { categories, eventId, productView } from "./events.ts"
import { type Figure, log, median, significant } from "./stats.ts"

export interface CollectorOptions {
  /** Interleaved rounds (bare, collector, then collector, bare, …); medians are reported. */
  readonly rounds: number
  /** Measured seconds per server per round. */
  readonly durationS: number
  /** Warm-up seconds before each measured run (same load, not recorded). */
  readonly warmupS: number
  readonly connections: number
}

const adminKey = "demo-admin-key"

/**
 * What the collector runs on in a measurement: the embedded default (SQLite file, no audience), the same on the
 * local PostgreSQL (a schema of its own, dropped afterwards), or with active audiences the worker keeps current.
 */
export interface Variant {
  /** Names the variant's figures: `collector.ratio_vs_bare` for the default, `collector.<ratio>` otherwise. */
  readonly ratioName: string
  /** Prefix of the variant's other figures (`collector` for the default). */
  readonly prefix: string
  readonly env?: Record<string, string> | undefined
  readonly audiences: number
  /** Full figures (the default) or the ratio and a few beside it. */
  readonly full: boolean
  readonly setup?:
    | (() => Promise<{ readonly env: Record<string, string>; readonly teardown: () => Promise<void> }>)
    | undefined
}

/** The embedded default; BENCH_AUDIENCES=<n> adds n audiences (not part of the figures' definition). */
export const embedded: Variant = {
  ratioName: "collector.ratio_vs_bare",
  prefix: "collector",
  audiences: Number(process.env.BENCH_AUDIENCES ?? 0),
  full: true
}

/** Ten audiences of product viewers on the demo tenant, the embedded worker keeping them current. */
export const withAudiences: Variant = {
  ratioName: "collector.ratio_with_audiences",
  prefix: "collector_audiences",
  audiences: 10,
  full: false
}

/** The store on the local PostgreSQL (OA_BENCH_DATABASE_URL, default the test database), in a fresh schema. */
export const onPostgres: Variant = {
  ratioName: "collector.ratio_vs_bare_postgres",
  prefix: "collector_postgres",
  audiences: 0,
  full: false,
  setup: async () => {
    const base = process.env.OA_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
    const schema = `oa_bench_${process.pid.toString(36)}_${Date.now().toString(36)}`
    const admin = (statement: string) =>
      Effect.runPromise(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
          Effect.provide(Database.layerFromUrl(base))
        )
      )
    await admin(`CREATE SCHEMA ${schema}`)
    const separator = base.includes("?") ? "&" : "?"
    return {
      env: { OA_DATABASE_URL: `${base}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}` },
      teardown: () => admin(`DROP SCHEMA ${schema} CASCADE`).then(() => undefined)
    }
  }
}

/** Headers of a browser's image request, sent to both servers so they parse the same bytes. */
const browserHeaders = {
  "user-agent":
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  accept: "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
  "accept-language": "en-US,en;q=0.9",
  referer: "https://shop.example.com/"
}

/**
 * Request paths with a fresh event id each: 64 product-view templates split around their id, so that making a
 * path costs autocannon a string concatenation rather than an encode.
 */
export const pixelPaths = (runTag: string): { readonly next: () => string; readonly sent: () => number } => {
  const placeholder = "IDPLACEHOLDER0000"
  const templates = Array.from({ length: 64 }, (_, n) => {
    const query = WireFormat.encodeQuery(productView(placeholder, n))
    const at = query.indexOf(placeholder)
    if (at === -1 || query.indexOf(placeholder, at + 1) !== -1) throw new Error("collector: the id must occur once")
    return { prefix: `/px.gif?${query.slice(0, at)}`, suffix: query.slice(at + placeholder.length) }
  })
  let counter = 0
  const next = (): string => {
    const template = templates[counter % templates.length]!
    return template.prefix + eventId(runTag, counter++) + template.suffix
  }
  const sample = next()
  const decoded = WireFormat.decodeQuery(sample.slice(sample.indexOf("?") + 1))
  if (decoded._tag !== "Right")
    throw new Error(`collector: the benchmark request does not decode: ${decoded.left.message}`)
  log(`collector: request line ${sample.length} bytes, e.g. GET ${sample}`)
  return { next, sent: () => counter }
}

/**
 * The headers of a real answer worth copying to a baseline server: all but the per-connection and per-response
 * ones (date, connection, keep-alive, content-length, transfer-encoding), which node:http writes itself.
 */
export const answerHeaders = (headers: Headers): Record<string, string> => {
  const skip = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding"])
  const out: Record<string, string> = {}
  headers.forEach((value, key) => {
    if (!skip.has(key)) out[key] = value
  })
  return out
}

/**
 * The reference server as deployed: the bundle `pnpm build` (or `pnpm --filter @openaudience/example-server run
 * build:bundle`) writes, run by plain node. The tsx loader the development command uses costs the ad server about a
 * tenth of its throughput (esbuild's `keepNames` names every closure as it is made), which no deployment pays.
 */
const serverEntry = "examples/server/dist/main.js"

/** `serverEntry` under `root`, or an error saying how to build it. */
export const serverArgs = (root: string): ReadonlyArray<string> => {
  if (!existsSync(join(root, serverEntry))) {
    throw new Error(
      `${join(root, serverEntry)} is missing: build the server bundle first ` +
        "(pnpm --filter @openaudience/example-server run build:bundle; pnpm bench does it)"
    )
  }
  return [serverEntry]
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export interface Child {
  readonly name: string
  readonly url: string
  readonly pid: number | undefined
  readonly stop: () => Promise<void>
}

/** `GET /healthz` answers 200: the default readiness of `startChild`. */
const healthy = (url: string): Promise<boolean> =>
  fetch(`${url}/healthz`).then(
    (response) => response.status === 200,
    () => false
  )

/** Starts a server in a child process and waits until `ready(url)` holds (`GET /healthz` by default; 60 s at most). */
export const startChild = async (
  name: string,
  root: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  ready: (url: string) => Promise<boolean> = healthy
): Promise<Child> => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-8_000)
  }
  child.stdout!.on("data", keep)
  child.stderr!.on("data", keep)
  let exited: string | undefined
  const exit = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = `exit ${code ?? signal}`
      resolve()
    })
  )
  const deadline = performance.now() + 60_000
  for (;;) {
    if (exited !== undefined) throw new Error(`${name} stopped before it was ready (${exited}):\n${output}`)
    if (performance.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`${name} was not ready within 60 s:\n${output}`)
    }
    if (await ready(url).catch(() => false)) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  log(`${name}: ready at ${url} (pid ${child.pid})`)
  return {
    name,
    url,
    pid: child.pid,
    stop: async () => {
      if (exited !== undefined) return
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
      await exit
      clearTimeout(timer)
    }
  }
}

interface Run {
  /** Server CPU time (all its threads) per request answered, µs: what the request rate costs the machine. */
  readonly cpuUsPerRequest: number
  /** The load generator's CPU time (this process: autocannon runs here) per request answered, µs. */
  readonly loadCpuUsPerRequest: number
  /** CPU time of the PostgreSQL server's processes per request answered, µs (NaN where none run). */
  readonly databaseCpuUsPerRequest: number
  /** Share of the machine's CPU time (all cores) that was busy during the run, from /proc/stat (NaN without it). */
  readonly machineBusy: number
  readonly rps: number
  readonly p99: number
  readonly ok: number
  readonly non2xx: number
  readonly errors: number
}

/** CPU time (user + system, all threads) a process used so far, in ms; undefined where /proc is missing. */
const cpuMs = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return undefined
  }
}

/** CPU time (ms) used so far by every process of this machine named `name` (e.g. `postgres`); undefined without /proc. */
const cpuMsOfProcesses = (name: string): number | undefined => {
  try {
    let total = 0
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
        if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) !== name) continue
        const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ")
        total += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
      } catch {
        // The process ended meanwhile.
      }
    }
    return total
  } catch {
    return undefined
  }
}

/** Busy and total CPU time of the whole machine so far (clock ticks), from /proc/stat; undefined where it is missing. */
const machineTicks = (): { readonly busy: number; readonly total: number } | undefined => {
  try {
    const [, ...values] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/)
    const ticks = values.map(Number)
    // user nice system idle iowait irq softirq steal (guest time is already counted in user)
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0)
    return { busy: total - ticks[3]! - ticks[4]!, total }
  } catch {
    return undefined
  }
}

const load = async (child: Child, next: () => string, options: CollectorOptions, seconds: number): Promise<Run> => {
  const cpuBefore = cpuMs(child.pid)
  const databaseBefore = cpuMsOfProcesses("postgres")
  const ownBefore = process.cpuUsage()
  const machineBefore = machineTicks()
  const result: Result = await autocannon({
    url: child.url,
    connections: options.connections,
    duration: seconds,
    headers: browserHeaders,
    requests: [
      {
        method: "GET",
        setupRequest: (request) => {
          request.path = next()
          return request
        }
      }
    ]
  })
  const cpuAfter = cpuMs(child.pid)
  const databaseAfter = cpuMsOfProcesses("postgres")
  const own = process.cpuUsage(ownBefore)
  const machineAfter = machineTicks()
  const total = result.requests.total
  return {
    cpuUsPerRequest:
      cpuBefore === undefined || cpuAfter === undefined || total === 0
        ? Number.NaN
        : ((cpuAfter - cpuBefore) * 1000) / total,
    loadCpuUsPerRequest: total === 0 ? Number.NaN : (own.user + own.system) / total,
    databaseCpuUsPerRequest:
      databaseBefore === undefined || databaseAfter === undefined || total === 0
        ? Number.NaN
        : ((databaseAfter - databaseBefore) * 1000) / total,
    machineBusy:
      machineBefore === undefined || machineAfter === undefined || machineAfter.total === machineBefore.total
        ? Number.NaN
        : (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total),
    rps: result.requests.average,
    p99: result.latency.p99,
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts
  }
}

interface Stored {
  /** `oa_events_total{type="product_view",outcome="…"}` by outcome. */
  readonly outcomes: Record<string, number>
  readonly commits: number
  readonly commitMs: number
  readonly committedEvents: number
  readonly appends: number
  readonly appendMs: number
  readonly appendedEvents: number
  /** Acknowledged events not yet in the database. */
  readonly pending: number
}

/** What the collector's /metrics says it stored, and how its group commits went. */
const storedCounts = async (url: string): Promise<Stored> => {
  const text = await (await fetch(`${url}/metrics`)).text()
  const outcomes: Record<string, number> = {}
  for (const match of text.matchAll(/^oa_events_total\{type="product_view",outcome="([a-z]+)"\} (\d+)$/gm)) {
    outcomes[match[1]!] = Number(match[2])
  }
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN)
  return {
    outcomes,
    commits: value("oa_commit_duration_seconds_count"),
    commitMs: value("oa_commit_duration_seconds_sum") * 1000,
    committedEvents: value("oa_committed_events_total"),
    appends: value("oa_append_duration_seconds_count"),
    appendMs: value("oa_append_duration_seconds_sum") * 1000,
    appendedEvents: value("oa_appended_events_total"),
    pending: value("oa_store_pending_events")
  }
}

/** Waits until the collector's database holds every acknowledged event; returns how long that took (ms). */
const caughtUp = async (url: string): Promise<number> => {
  const started = performance.now()
  for (;;) {
    const { pending } = await storedCounts(url)
    if (!(pending > 0)) return performance.now() - started
    if (performance.now() - started > 300_000)
      throw new Error(`collector: ${pending} events still not stored after 5 min`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Waits until the worker has applied every stored event (its daily counts, kept in the same shared step as the
 * audience job's memberships, add up to the events stored); returns how long that took (ms).
 */
const workerCaughtUp = async (url: string): Promise<number> => {
  const started = performance.now()
  const { outcomes } = await storedCounts(url)
  const target = outcomes.accepted ?? 0
  for (;;) {
    const response = await fetch(`${url}/v1/stats/daily?days=2`, { headers: { authorization: `Bearer ${adminKey}` } })
    const body = (await response.json()) as { days?: Array<{ type: string; events: number }> }
    const counted = (body.days ?? []).filter((d) => d.type === "product_view").reduce((n, d) => n + d.events, 0)
    if (counted >= target) return performance.now() - started
    if (performance.now() - started > 300_000)
      throw new Error(`collector: the worker is ${target - counted} events behind after 5 min`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * BENCH_AUDIENCES=<n> (default 0): defines n active audiences of product viewers on the demo tenant before the
 * rounds, so that the embedded worker also reads every stored event back and evaluates it (what a shop running
 * retargeting pays); not part of the figures' definition.
 */
export const defineAudiences = async (url: string, n: number): Promise<void> => {
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${url}/v1/audiences`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: `Bench viewers ${i}`,
        rule: {
          version: 1,
          conditions: [
            {
              kind: "event",
              event: "product_view",
              where: { category: categories[i % categories.length] },
              compare: { op: "gte", value: 2 },
              window: { days: 14 }
            }
          ]
        }
      })
    })
    if (response.status !== 201) throw new Error(`collector: defining an audience answered ${response.status}`)
  }
  if (n > 0) log(`collector: ${n} active audience(s) defined on the demo tenant`)
}

/** Runs both servers through the interleaved rounds and checks what the collector stored. */
export const run = async (
  root: string,
  options: CollectorOptions,
  variant: Variant = embedded
): Promise<ReadonlyArray<Figure>> => {
  const dataDir = mkdtempSync(join(tmpdir(), "oa-bench-"))
  const runTag = `b${process.pid.toString(36)}${variant.prefix.length.toString(36)}${Date.now().toString(36)}`
  const paths = pixelPaths(runTag)
  const children: Array<Child> = []
  const prepared = variant.setup === undefined ? undefined : await variant.setup()
  try {
    // BENCH_CPU_PROF=<dir>: the reference server writes a V8 CPU profile there when it stops.
    const profile = process.env.BENCH_CPU_PROF
    const profileArgs = profile === undefined || profile === "" ? [] : ["--cpu-prof", "--cpu-prof-dir", profile]
    const collector = await startChild("reference server", root, [...profileArgs, ...serverArgs(root)], {
      OA_DATA_DIR: dataDir,
      OA_DEMO: "1",
      ...variant.env,
      ...prepared?.env
    })
    children.push(collector)
    log(`collector variant: ${variant.ratioName}`)
    // The baseline answers with the collector's own headers (its security headers and the cookie a browser without
    // one gets), read from one real pixel answer: the same bytes on the wire for both servers and the load generator.
    const sample = await fetch(`${collector.url}${paths.next()}`, { headers: browserHeaders })
    await sample.arrayBuffer()
    if (sample.status !== 200) throw new Error(`collector: a sample pixel answered ${sample.status}`)
    const gifHeaders = answerHeaders(sample.headers)
    log(`collector: a pixel's answer headers, sent by the baseline too: ${Object.keys(gifHeaders).join(", ")}`)
    const bare = await startChild("bare server", root, ["--import", "tsx", "bench/bareServer.ts"], {
      BENCH_HEADERS: JSON.stringify(gifHeaders)
    })
    children.push(bare)
    await defineAudiences(collector.url, variant.audiences)

    const measured = { bare: [] as Array<Run>, collector: [] as Array<Run> }
    let collectorOk = 0
    const ratios: Array<number> = []
    const catchUps: Array<number> = []
    const sustained: Array<number> = []
    const sustainedRatios: Array<number> = []
    const workerLags: Array<number> = []
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? (["bare", "collector"] as const) : (["collector", "bare"] as const)
      for (const which of order) {
        const child = which === "bare" ? bare : collector
        const warm = await load(child, paths.next, options, options.warmupS)
        const result = await load(child, paths.next, options, options.durationS)
        // Pixels are answered once durable in the collector's append log and reach the database right after:
        // wait until the database holds every answered event before anything else runs, and count that time.
        const catchUp = which === "collector" ? await caughtUp(child.url) : 0
        // With audiences, the worker must keep up too: how long after the load until it applied every event.
        if (which === "collector" && variant.audiences > 0) workerLags.push(await workerCaughtUp(child.url))
        if (which === "collector") {
          collectorOk += warm.ok + result.ok
          catchUps.push(catchUp)
          sustained.push((result.rps * options.durationS) / (options.durationS + catchUp / 1000))
        }
        measured[which].push(result)
        log(
          `round ${round + 1}/${options.rounds} ${which}: ${Math.round(result.rps)} req/s, p99 ${result.p99} ms, ` +
            `non-2xx ${result.non2xx}, errors ${result.errors}, server CPU ${result.cpuUsPerRequest.toFixed(0)} µs/request, ` +
            `load generator ${result.loadCpuUsPerRequest.toFixed(0)} µs/request, PostgreSQL ${result.databaseCpuUsPerRequest.toFixed(0)} µs/request, ` +
            `machine ${(100 * result.machineBusy).toFixed(0)} % busy` +
            (which === "collector" ? `; database caught up ${catchUp.toFixed(0)} ms after the load` : "")
        )
      }
      ratios.push(measured.collector[round]!.rps / measured.bare[round]!.rps)
      sustainedRatios.push(sustained[round]! / measured.bare[round]!.rps)
    }

    // Every 2xx the collector answered is an event it says is durable: the store must hold at least that many
    // (a few more when autocannon closed connections with answers in flight), and no duplicates.
    const stored = await storedCounts(collector.url)
    const counts = stored.outcomes
    const accepted = counts.accepted ?? 0
    const inspector = await fetch(`${collector.url}/v1/events?limit=1`, {
      headers: { authorization: `Bearer ${adminKey}` }
    })
    const latest =
      inspector.status === 200 ? ((await inspector.json()) as { events?: Array<{ id?: string }> }) : undefined
    log(
      `collector stored: ${accepted} product views accepted (metrics), ${counts.duplicate ?? 0} duplicates, ` +
        `${counts.rejected ?? 0} rejected, ${counts.failed ?? 0} failed; ${collectorOk} answered 2xx; ` +
        `${paths.sent()} ids used (both servers); inspector ${inspector.status}, latest ${JSON.stringify(latest?.events?.[0]?.id)}`
    )
    const average = (total: number, n: number) => (n === 0 ? "0" : (total / n).toFixed(2))
    log(
      `collector group commits: ${stored.commits}, ${average(stored.committedEvents, stored.commits)} events ` +
        `and ${average(stored.commitMs, stored.commits)} ms each on average; append-log groups: ${stored.appends}, ` +
        `${average(stored.appendedEvents, stored.appends)} events and ${average(stored.appendMs, stored.appends)} ms ` +
        `each until durable; ${stored.pending} events not yet in the database`
    )
    const shortfall = collectorOk - accepted
    if (shortfall > 0) log(`WARNING: ${shortfall} events answered 2xx are missing from the store`)
    if ((latest?.events?.length ?? 0) === 0) log("WARNING: the inspector shows no stored event")

    const sum = (runs: ReadonlyArray<Run>, key: "non2xx" | "errors") => runs.reduce((n, r) => n + r[key], 0)
    const cpuRatios = measured.collector.map((c, round) => {
      const b = measured.bare[round]!
      return (b.cpuUsPerRequest + b.loadCpuUsPerRequest) / (c.cpuUsPerRequest + c.loadCpuUsPerRequest)
    })
    const non2xx = sum(measured.collector, "non2xx")
    if (non2xx > 0) log(`WARNING: the collector answered ${non2xx} non-2xx responses during measurement`)
    if (!variant.full) {
      const figures: Array<Figure> = [
        {
          name: variant.ratioName,
          value: significant(median(ratios), 3),
          unit: "ratio",
          note: `collector req/s / bare node:http req/s, ${variant.prefix.replace("collector_", "")} (median of paired rounds)`
        },
        {
          name: `${variant.prefix}.sustained_ratio_vs_bare`,
          value: significant(median(sustainedRatios), 3),
          unit: "ratio",
          note: "the same, counting the time the database took to catch up after the load"
        },
        {
          name: `${variant.prefix}.rps`,
          value: significant(median(measured.collector.map((r) => r.rps))),
          unit: "req/s",
          note: "GET /px.gif, median of rounds"
        },
        {
          name: `${variant.prefix}.p99_ms`,
          value: median(measured.collector.map((r) => r.p99)),
          unit: "ms",
          note: "p99 latency, median of rounds"
        },
        {
          name: `${variant.prefix}.catchup_ms`,
          value: Math.round(median(catchUps)),
          unit: "ms",
          note: "after the load, until every answered event was in the database (median of rounds)"
        },
        {
          name: `${variant.prefix}.server_cpu_us`,
          value: significant(median(measured.collector.map((r) => r.cpuUsPerRequest)), 3),
          unit: "µs",
          note: "server CPU time (all threads) per request, median of rounds"
        },
        { name: `${variant.prefix}.non2xx`, value: non2xx, unit: "responses", note: "non-2xx during measured runs" }
      ]
      if (variant.prefix === "collector_postgres")
        figures.push({
          name: `${variant.prefix}.database_cpu_us`,
          value: significant(median(measured.collector.map((r) => r.databaseCpuUsPerRequest)), 3),
          unit: "µs",
          note: "CPU time of the PostgreSQL server's processes per request (the same cores), median of rounds"
        })
      if (workerLags.length > 0)
        figures.push({
          name: `${variant.prefix}.worker_lag_ms`,
          value: Math.round(median(workerLags)),
          unit: "ms",
          note: "after the load and the database catching up, until the worker applied every event (median)"
        })
      return figures
    }
    return [
      {
        name: "collector.ratio_vs_bare",
        value: significant(median(ratios), 3),
        unit: "ratio",
        note: "collector req/s / bare node:http req/s (median of paired rounds)"
      },
      {
        name: "collector.sustained_ratio_vs_bare",
        value: significant(median(sustainedRatios), 3),
        unit: "ratio",
        note: "the same, counting the time the database took to catch up after the load"
      },
      {
        name: "collector.catchup_ms",
        value: Math.round(median(catchUps)),
        unit: "ms",
        note: "after the load, until every answered event was in the database (median of rounds)"
      },
      {
        name: "collector.rps",
        value: significant(median(measured.collector.map((r) => r.rps))),
        unit: "req/s",
        note: `GET /px.gif, durable before the answer, ${options.connections} connections`
      },
      {
        name: "bare.rps",
        value: significant(median(measured.bare.map((r) => r.rps))),
        unit: "req/s",
        note: "baseline: bare node:http answering the same GIF"
      },
      {
        name: "collector.p99_ms",
        value: median(measured.collector.map((r) => r.p99)),
        unit: "ms",
        note: "p99 latency, median of rounds"
      },
      {
        name: "bare.p99_ms",
        value: median(measured.bare.map((r) => r.p99)),
        unit: "ms",
        note: "p99 latency, median of rounds"
      },
      {
        name: "collector.accepted_events",
        value: accepted,
        unit: "events",
        note: `stored per /metrics (vs ${collectorOk} answered 2xx, warm-ups included)`
      },
      {
        name: "collector.server_cpu_us",
        value: significant(median(measured.collector.map((r) => r.cpuUsPerRequest)), 3),
        unit: "µs",
        note: "server CPU time (all threads) per request, median of rounds"
      },
      {
        name: "bare.server_cpu_us",
        value: significant(median(measured.bare.map((r) => r.cpuUsPerRequest)), 3),
        unit: "µs",
        note: "the same for the bare server"
      },
      {
        name: "collector.load_cpu_us",
        value: significant(median(measured.collector.map((r) => r.loadCpuUsPerRequest)), 3),
        unit: "µs",
        note: "autocannon's CPU time per request (it shares the cores), median of rounds"
      },
      {
        name: "collector.cpu_ratio_vs_bare",
        value: significant(median(cpuRatios), 3),
        unit: "ratio",
        note: "bare (server + autocannon) CPU per request / collector's: the ratio if CPU were all that limited both"
      },
      { name: "collector.non2xx", value: non2xx, unit: "responses", note: "non-2xx during measured runs" },
      {
        name: "collector.errors",
        value: sum(measured.collector, "errors"),
        unit: "requests",
        note: "connection errors and timeouts during measured runs"
      },
      {
        name: "bare.non2xx",
        value: sum(measured.bare, "non2xx"),
        unit: "responses",
        note: "non-2xx during measured runs"
      }
    ]
  } finally {
    for (const child of children.reverse()) await child.stop()
    rmSync(dataDir, { recursive: true, force: true })
    await prepared?.teardown()
  }
}
