/**
 * `/metrics` scraped from a running server: valid Prometheus text from prom-client, Prometheus naming (base units,
 * `_seconds`, counters ending in `_total`), the standard process and Node.js metrics, the collector's and the write
 * path's counters moving with traffic, the workers' lag, and the bearer token guarding it all.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import * as Redacted from "effect/Redacted"
import { inspect, startServer, type TestServer } from "./support/server.js"

const token = "metrics-test-token"
let server: TestServer
beforeAll(async () => {
  server = await startServer({ metricsToken: Redacted.make(token) })
})
afterAll(() => server.stop())

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

interface Exposition {
  /** Metric family name → type, from `# TYPE`. */
  readonly types: ReadonlyMap<string, string>
  readonly samples: ReadonlyArray<Sample>
}

/** The sample names a family of each type may have (text format 0.0.4). */
const suffixes: Record<string, ReadonlyArray<string>> = {
  counter: [""],
  gauge: [""],
  untyped: [""],
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["", "_sum", "_count"]
}

/** Parses the text exposition, failing on any line that is not a comment or a sample of a declared family. */
const parse = (text: string): Exposition => {
  const types = new Map<string, string>()
  const samples: Array<Sample> = []
  for (const line of text.split("\n")) {
    if (line === "") continue
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (type !== null) {
      assert.isFalse(types.has(type[1]!), `${type[1]} is declared once`)
      types.set(type[1]!, type[2]!)
      continue
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.isNotNull(sample, `not a sample line: ${line}`)
    const [, name, labelText, valueText] = sample!
    const family = [...types].find(([family, kind]) => suffixes[kind]!.some((suffix) => `${family}${suffix}` === name))
    assert.isDefined(family, `${name} belongs to no declared # TYPE`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (labelText ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!
    }
    // Go's ParseFloat, which Prometheus uses: a decimal number, or NaN and ±Inf in any case (prom-client writes `Nan`).
    assert.match(valueText!, /^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|nan|[+-]?inf)$/i, `${line} has a numeric value`)
    const value = /inf$/i.test(valueText!) ? (valueText!.startsWith("-") ? -1 : 1) * Infinity : Number(valueText)
    samples.push({ name: name!, labels, value })
  }
  return { types, samples }
}

const scrape = async (): Promise<Exposition> => {
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })
  assert.strictEqual(response.status, 200)
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/)
  return parse(await response.text())
}

const value = (exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined =>
  exposition.samples.find(
    (sample) => sample.name === name && Object.entries(labels).every(([key, v]) => sample.labels[key] === v)
  )?.value

const pixel = (n: number, overrides: Record<string, unknown> = {}) =>
  fetch(
    `${server.url}/px.gif?${WireFormat.encodeQuery({
      type: "page_view",
      id: `evt_metrics_${n}_${Date.now().toString(36)}`,
      site: "demo",
      clientTs: 1_764_000_000_000,
      url: "https://shop.example/",
      visitorId: "vis_0123456789abcdef",
      ...overrides
    } as any)}`
  )

describe("GET /metrics", () => {
  it("needs the bearer token when OA_METRICS_TOKEN is set", async () => {
    assert.strictEqual((await fetch(`${server.url}/metrics`)).status, 401)
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } })
    assert.strictEqual(wrong.status, 401)
    await scrape()
  })

  it("is valid Prometheus text with Prometheus naming and the standard process and Node.js metrics", async () => {
    const { types } = await scrape()
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds"]) {
      assert.isTrue(types.has(name), `${name} is exposed`)
    }
    for (const [name, type] of types) {
      if (type === "counter") assert.match(name, /_total$/, `counter ${name} ends in _total`)
      if (/duration|latency|lag|time/.test(name) && !/_(records|events|bytes|total)$/.test(name)) {
        assert.match(name, /_seconds(_total)?$/, `${name} is in seconds`)
      }
      assert.notMatch(name, /_(ms|millis|milliseconds|us|kb|mb)(_|$)/, `${name} is in base units`)
    }
    // Everything the hand-written exposition had, under Prometheus names.
    for (const [name, type] of [
      ["oa_events_total", "counter"],
      ["oa_http_requests_total", "counter"],
      ["oa_redactions_total", "counter"],
      ["oa_commit_duration_seconds", "histogram"],
      ["oa_committed_events_total", "counter"],
      ["oa_append_duration_seconds", "histogram"],
      ["oa_appended_events_total", "counter"],
      ["oa_store_pending_events", "gauge"],
      ["oa_worker_lag_seconds", "gauge"],
      ["oa_worker_lag_records", "gauge"]
    ] as const) {
      assert.strictEqual(types.get(name), type, `${name} is a ${type}`)
    }
  })

  it("counts the events, requests, redactions and appends of pixels sent", async () => {
    const before = await scrape()
    for (let n = 0; n < 3; n++) assert.strictEqual((await pixel(n)).status, 200)
    assert.strictEqual((await pixel(3, { type: "product_view", productId: "jane.doe@example.com" })).status, 200)
    await inspect(server.url) // answers once every acknowledged pixel is in the database
    const after = await scrape()
    const grew = (name: string, labels: Record<string, string> = {}) =>
      (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0)
    assert.strictEqual(grew("oa_events_total", { type: "page_view", outcome: "accepted" }), 3)
    assert.strictEqual(grew("oa_http_requests_total", { route: "pixel", status: "2xx" }), 4)
    assert.strictEqual(grew("oa_redactions_total", { field: "productId", kind: "email" }), 1)
    assert.strictEqual(grew("oa_appended_events_total"), 4)
    assert.isAtLeast(grew("oa_append_duration_seconds_count"), 1)
    assert.isAbove(value(after, "oa_append_duration_seconds_bucket", { le: "+Inf" }) ?? 0, 0)
    assert.isAtLeast(value(after, "process_resident_memory_bytes") ?? 0, 1_000_000)
  })

  it("reports each worker's lag behind the event log, back to zero once it caught up", async () => {
    for (let n = 10; n < 13; n++) await pixel(n)
    await inspect(server.url)
    const consumers = ["worker/daily-counts", "worker/audiences"]
    const lag = (exposition: Exposition) =>
      consumers.map((consumer) => ({
        consumer,
        seconds: value(exposition, "oa_worker_lag_seconds", { consumer }),
        records: value(exposition, "oa_worker_lag_records", { consumer })
      }))
    for (const { seconds, records } of lag(await scrape())) {
      assert.isTrue(Number.isFinite(seconds) && seconds! >= 0, "lag in seconds is a number")
      assert.isTrue(Number.isInteger(records) && records! >= 0, "lag in records is a count")
    }
    // The workers apply the new records within moments: the lag goes back to zero.
    const deadline = Date.now() + 20_000
    let current = lag(await scrape())
    while (current.some((l) => l.records !== 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      current = lag(await scrape())
    }
    assert.deepStrictEqual(
      current,
      consumers.map((consumer) => ({ consumer, seconds: 0, records: 0 }))
    )
  })
})
