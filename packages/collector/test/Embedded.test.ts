/**
 * A collector as an integrator builds one, from the packages' public entry points only, on node:http and on a
 * fetch handler: the anonymization scenario's traffic (thousands of events through the pixel, batches and
 * server-to-server calls, with real user agents, client addresses behind a trusted proxy and URLs laden with
 * personal data) goes through it, and nothing raw is kept: not in the rows the sink received, not in the logs.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Ip, UserAgent } from "@openaudience/anonymizer"
import { Collect, Collector, FetchCollector, IngestKeys, NodeCollector, Sink, Tenant } from "@openaudience/collector"
import type { StoredEvent } from "@openaudience/event-schema"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { captureLogs, describeFindings, type Haystack, type LogCapture, logHaystacks, scan } from "./support/piiScan.js"
import { type DriveResult, drive, generate, type Scenario } from "./support/scenario.js"

const seed = Number(process.env.OA_ANON_SEED ?? 20_251_201)
const visitors = Number(process.env.OA_COLLECTOR_ANON_VISITORS ?? 600)
const apiKey = "collector-test-ingest-key"

/** What an integrator writes: tenants, a sink, the collector; the proxy in front is trusted (loopback). */
const build = () => {
  const tenants = Tenant.directory(new Uint8Array(32).fill(7), [Tenant.demo()])
  const sink = Sink.memory()
  const collector = Collector.make({
    tenants,
    sink,
    now: () => 1_764_000_000_000,
    ingestKeys: IngestKeys.make([{ key: Redacted.make(apiKey), tenant: tenants.bySite("demo")! }]),
    proxies: Either.getOrThrow(Ip.trustedProxies("loopback"))
  })
  return { sink, collector }
}

/** Every string inside a value, keys included, and its JSON: what a store would keep of a row. */
const haystacksOf = (rows: ReadonlyArray<StoredEvent.StoredEvent>): Array<Haystack> => {
  const out: Array<Haystack> = []
  const strings = (where: string, value: unknown): void => {
    if (typeof value === "string") out.push({ where, text: value })
    else if (Array.isArray(value)) for (const item of value) strings(where, item)
    else if (typeof value === "object" && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        out.push({ where, text: key })
        strings(where, item)
      }
    }
  }
  rows.forEach((row, i) => {
    out.push({ where: `rows[${i}]`, text: JSON.stringify(row) })
    strings(`rows[${i}]`, row)
  })
  return out
}

const suite = (
  name: string,
  start: () => Promise<{
    readonly sink: Sink.Memory
    readonly url: string
    readonly fetch?: (input: string, init?: RequestInit) => Promise<Response>
    readonly stop: () => Promise<void>
  }>
) =>
  describe(name, () => {
    let scenario: Scenario
    let result: DriveResult
    let rows: ReadonlyArray<StoredEvent.StoredEvent>
    let capture: LogCapture
    beforeAll(async () => {
      scenario = generate(seed, visitors)
      capture = captureLogs()
      const running = await start()
      try {
        result = await drive(running.url, scenario, {
          apiKey,
          ...(running.fetch === undefined ? {} : { fetch: running.fetch })
        })
      } finally {
        await running.stop()
        capture.stop()
      }
      rows = running.sink.rows()
    }, 120_000)

    it("keeps each event with only the truncated address, generalized user agent, pseudonym and scrubbed URLs", () => {
      const stored = scenario.events.filter((sent) => !sent.bot)
      assert.deepStrictEqual(result.failures, [])
      assert.isAtLeast(stored.length, 500)
      assert.strictEqual(result.accepted, stored.length, "events accepted")
      assert.strictEqual(result.dropped, scenario.events.length - stored.length, "bots' events counted, not kept")
      assert.isAbove(result.dropped, 0, "the user agents include bots")
      assert.strictEqual(rows.length, stored.length, "rows the sink received")
      const byId = new Map(scenario.events.map((sent) => [sent.event.id, sent]))
      const visitorKeys = new Map<string, string | null>()
      for (const row of rows) {
        const sent = byId.get(Collect.sentId(row.eventId).id)!
        assert.isDefined(sent, `row ${row.eventId} was sent`)
        const payload = row.payload as { context: Record<string, string>; url: string; referrer?: string }
        const expected = UserAgent.generalize(sent.userAgent)
        assert.deepStrictEqual(
          [payload.context.ip, payload.context.browser, payload.context.browserMajor, payload.context.os],
          [sent.ip, expected.browser, expected.browserMajor, expected.os],
          `context of ${sent.event.id} (${sent.channel})`
        )
        for (const keep of sent.urlKeeps) assert.include(payload.url, keep, `URL of ${sent.event.id}`)
        if (sent.referrer !== undefined) assert.strictEqual(payload.referrer, sent.referrer)
        assert.isString(row.visitor)
        assert.notStrictEqual(row.visitor, sent.visitorId)
        const known = visitorKeys.get(sent.visitorId)
        if (known === undefined) visitorKeys.set(sent.visitorId, row.visitor)
        else assert.strictEqual(row.visitor, known, `one pseudonym for visitor ${sent.visitorId}`)
        assert.isNotNull(row.consent, "the consent receipt is kept with the row")
      }
    })

    it("no row and no log line holds a raw IP, user agent, first-party id, email, phone, card, token or name", () => {
      const haystacks = haystacksOf(rows)
      const findings = scan([...haystacks, ...logHaystacks(capture.lines)], scenario.needles)
      assert.strictEqual(findings.length, 0, `seed ${seed}: ${describeFindings(findings)}`)
      // The same scan finds a raw value that was kept.
      const visitor = scenario.needles.find((needle) => needle.kind === "visitor id")!
      const planted = haystacksOf([{ ...rows[0]!, payload: { note: `cookie ${visitor.value}` } }])
      assert.isTrue(scan(planted, scenario.needles).some((finding) => finding.value === visitor.value))
    })
  })

suite("on node:http", async () => {
  const { sink, collector } = build()
  const node = NodeCollector.make(collector)
  const server: Server = createServer((req, res) => {
    if (!node.handle(req, res)) {
      res.statusCode = 404
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    sink,
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
      })
  }
})

suite("on a fetch handler", async () => {
  const { sink, collector } = build()
  const handle = FetchCollector.make(collector)
  return {
    sink,
    url: "https://collector.example",
    // The proxy in front of this fetch-style server is on loopback, as for the node:http one.
    fetch: async (input, init) =>
      (await handle(new Request(input, init), "127.0.0.1")) ?? new Response(null, { status: 404 }),
    stop: async () => {}
  }
})
