/**
 * The anonymizer's end-to-end scenario on the reference server, shared by the SQLite and PostgreSQL runs: the
 * collector package's seeded traffic (packages/collector/test/support/scenario.ts: thousands of events from
 * synthetic visitors with real-looking addresses, real user agents and URLs laden with personal data) goes through
 * all three entrances (`GET /px.gif`, `POST /collect`, `POST /v1/events`); then every table, the admin API's
 * answers and the server's logs are scanned for any raw value sent.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, assert, beforeAll, it } from "@effect/vitest"
import { Ip, UserAgent } from "@openaudience/anonymizer"
import { Collect } from "@openaudience/collector"
import { StoredEvents } from "@openaudience/eventlog"
import { Database } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ManagedRuntime from "effect/ManagedRuntime"
import type { ServerConfigShape } from "../../src/ServerConfig.js"
import {
  captureLogs,
  type DatabaseDump,
  describeFindings,
  type Finding,
  dumpDatabase,
  fileHaystacks,
  type Haystack,
  type LogCapture,
  logHaystacks,
  scan
} from "./piiScan.js"
import {
  type DriveResult,
  drive,
  generate,
  type Scenario
} from "../../../../packages/collector/test/support/scenario.js"
import { adminKey, type TestServer } from "./server.js"

const adminGet = async (url: string): Promise<string> => {
  const response = await fetch(url, { headers: { authorization: `Bearer ${adminKey}` } })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${text}`)
  return text
}

/** Waits until the worker has counted `expected` events (its tables are then filled too). */
const waitForWorker = async (url: string, expected: number): Promise<number> => {
  let counted = 0
  for (let i = 0; i < 300 && counted !== expected; i++) {
    const stats = JSON.parse(await adminGet(`${url}/v1/stats/daily?days=2`)) as { days: Array<{ events: number }> }
    counted = stats.days.reduce((n, day) => n + day.events, 0)
    if (counted !== expected) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return counted
}

// ---------------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------------

/** Where the suite's server keeps its data. */
export interface SuiteOptions {
  /** Starts the server with the given overrides (the suite adds the trusted loopback proxy). */
  readonly start: (overrides: Partial<ServerConfigShape>) => Promise<TestServer>
  /** The database the server writes, as the dump sees it. */
  readonly database: (server: TestServer) => {
    readonly url: string
    readonly target: { readonly dialect: "sqlite" } | { readonly dialect: "pg"; readonly schema: string }
  }
  /** Whether to scan the files of the server's data folder too (SQLite keeps everything there). */
  readonly scanDataDir: boolean
}

const parseJson = (value: unknown): any => (typeof value === "string" ? JSON.parse(value) : value)

/** The seed (`OA_ANON_SEED`) and size (`OA_ANON_VISITORS`) of the scenario. */
const seed = Number(process.env.OA_ANON_SEED ?? 20_251_201)
const visitorCount = Number(process.env.OA_ANON_VISITORS ?? 2_000)

/**
 * Registers the end-to-end anonymization tests in the current `describe`: one run of the scenario through a
 * server, then assertions on what was stored, a scan of every table and of the logs, and a proof that the scan
 * finds raw values planted on purpose.
 */
export const anonymizationSuite = (options: SuiteOptions): void => {
  const trustedProxies = Either.getOrThrow(Ip.trustedProxies("loopback"))
  let capture: LogCapture | undefined
  let server: TestServer | undefined
  let stopped = false
  let db: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown> | undefined
  let target: ReturnType<SuiteOptions["database"]>["target"]
  let scenario: Scenario
  let result: DriveResult
  let counted: number
  let dump: DatabaseDump
  let files: ReadonlyArray<Haystack> = []
  let admin: ReadonlyArray<Haystack> = []
  const context = () => `seed ${seed}, ${visitorCount} visitors, user agents from ${scenario?.userAgentSource}`

  const stopServer = async () => {
    if (server !== undefined && !stopped) {
      stopped = true
      await server.stop()
    }
  }

  beforeAll(async () => {
    scenario = generate(seed, visitorCount)
    capture = captureLogs()
    server = await options.start({ trustedProxies })
    result = await drive(server.url, scenario, { apiKey: adminKey })
    const expected = scenario.events.filter((sent) => !sent.bot).length
    counted = await waitForWorker(server.url, expected)
    const database = options.database(server)
    target = database.target
    db = ManagedRuntime.make(Database.layerFromUrl(database.url))
    dump = await db.runPromise(dumpDatabase(target))
    // SQLite's files before anything is planted in them (a dropped table's pages stay in the file).
    if (options.scanDataDir) files = fileHaystacks(server.dataDir)
    admin = [
      { where: "GET /v1/events?limit=1000", text: await adminGet(`${server.url}/v1/events?limit=1000`) },
      { where: "GET /v1/stats/daily", text: await adminGet(`${server.url}/v1/stats/daily?days=2`) },
      { where: "GET /metrics", text: await (await fetch(`${server.url}/metrics`)).text() }
    ]
  }, 180_000)

  afterAll(async () => {
    await stopServer()
    capture?.stop()
    await db?.dispose()
  })

  it("stores thousands of events, each with only the truncated address, generalized user agent and scrubbed URLs", () => {
    const stored = scenario.events.filter((sent) => !sent.bot)
    assert.deepStrictEqual(result.failures, [], context())
    assert.isAtLeast(stored.length, 2_000, context())
    assert.isAtLeast(scenario.addresses, 1_500, "distinct client addresses sent")
    assert.strictEqual(result.accepted, stored.length, "events the server accepted")
    assert.strictEqual(result.dropped, scenario.events.length - stored.length, "bots' events counted, not stored")
    assert.isAbove(result.dropped, 0, "the user agents include bots")
    assert.strictEqual(counted, stored.length, "events the worker counted")

    const rows = dump.rows.events ?? []
    assert.strictEqual(rows.length, stored.length, "rows in events")
    // The log names each stored event once (by seq, in records of a group commit each), and nothing else.
    const named = (dump.rows.event_log ?? []).flatMap((row) =>
      StoredEvents.rangesOf({
        offset: Number(row.log_offset),
        tenant: String(row.tenant),
        key: String(row.partition_key),
        payload: parseJson(row.payload),
        appendedAt: 0
      }).flatMap(([first, last]) => Array.from({ length: last - first + 1 }, (_, i) => first + i))
    )
    assert.deepStrictEqual(
      named.sort((a, b) => a - b),
      rows.map((row) => Number(row.seq)).sort((a, b) => a - b),
      "seqs the event_log names"
    )
    const byId = new Map(scenario.events.map((sent) => [sent.event.id, sent]))
    const visitorKeys = new Map<string, string>()
    const ips = new Set<string>()
    const browsers = new Set<string>()
    let keptUtm = 0
    let redacted = 0
    let origins = 0
    for (const row of rows) {
      const sent = byId.get(Collect.sentId(String(row.event_id)).id)
      assert.isDefined(sent, `stored event ${row.event_id} was sent`)
      if (sent === undefined) continue
      assert.isFalse(sent.bot, `a bot's event ${sent.event.id} is not stored`)
      const payload = parseJson(row.payload)
      const expectedUa = UserAgent.generalize(sent.userAgent)
      const context = payload.context as Record<string, unknown>
      assert.deepStrictEqual(
        { ip: context.ip, browser: context.browser, browserMajor: context.browserMajor, os: context.os },
        { ip: sent.ip, browser: expectedUa.browser, browserMajor: expectedUa.browserMajor, os: expectedUa.os },
        `context of ${sent.event.id} (${sent.channel}, ${JSON.stringify(sent.userAgent)})`
      )
      if (typeof context.ip === "string") ips.add(context.ip)
      browsers.add(String(context.browser))
      const url = String(payload.url)
      for (const keep of sent.urlKeeps) assert.include(url, keep, `stored URL of ${sent.event.id}`)
      if (sent.urlKeeps.some((keep) => keep.startsWith("utm_source="))) keptUtm++
      if (url.includes(":redacted")) redacted++
      if (sent.referrer !== undefined) {
        assert.strictEqual(payload.referrer, sent.referrer, `referrer of ${sent.event.id} cut to its origin`)
        origins++
      }
      // One stable pseudonym per visitor, never the raw id.
      const visitor = String(row.visitor)
      assert.notStrictEqual(visitor, sent.visitorId)
      const known = visitorKeys.get(sent.visitorId)
      if (known === undefined) visitorKeys.set(sent.visitorId, visitor)
      else assert.strictEqual(visitor, known, `visitor key of ${sent.visitorId}`)
    }
    assert.strictEqual(new Set(visitorKeys.values()).size, visitorKeys.size, "distinct visitors, distinct keys")
    for (const ip of ["203.0.113.0", "198.51.100.0", "192.0.2.0"]) assert.isTrue(ips.has(ip), `truncated ${ip} stored`)
    assert.isTrue(
      [...ips].some((ip) => ip.startsWith("2001:db8:") && ip.endsWith("::")),
      "a truncated 2001:db8::/48 stored"
    )
    assert.isTrue(
      [...ips].some((ip) => ip.startsWith("2002:")),
      "a truncated 6to4 address stored"
    )
    assert.deepStrictEqual(
      [...ips].sort(),
      [...new Set(stored.flatMap((sent) => (sent.ip === undefined ? [] : [sent.ip])))].sort(),
      "the truncated addresses stored are exactly those of the clients"
    )
    for (const family of ["Chrome", "Firefox", "Safari"]) assert.isTrue(browsers.has(family), `${family} stored`)
    assert.isAtLeast(browsers.size, 8, "browser families")
    assert.isAtLeast(keptUtm, 500, "URLs whose utm_source survived")
    assert.isAtLeast(redacted, 500, "URLs with a redacted part")
    assert.isAtLeast(origins, 300, "cross-site referrers cut to their origin")
  })

  it("no table, file or admin answer holds a raw IP, user agent, first-party id, email, phone, card, token or name", () => {
    assert.includeMembers([...dump.tables], ["events", "event_log", "daily_event_counts"])
    const findings = scan([...dump.haystacks, ...files, ...admin], scenario.needles)
    assert.strictEqual(findings.length, 0, `${context()}: ${describeFindings(findings)}`)
  }, 120_000)

  it("the scan finds raw values planted in a table of its own, and nothing once it is dropped", async () => {
    const probe = `scan_probe_${seed.toString(36)}`
    const v4 = scenario.needles.find((n) => n.kind === "raw IP" && n.match === "ipv4")!
    const v6 = scenario.needles.find((n) => n.kind === "raw IP" && n.value.length === 39 && !n.value.includes("ffff"))!
    const ua = scenario.needles.find((n) => n.kind === "user agent" && n.value.includes('"') === false)!
    const visitor = scenario.needles.find((n) => n.kind === "visitor id")!
    const email = scenario.needles.find((n) => n.kind === "email")!
    const phone = scenario.needles.find((n) => n.kind === "phone" && n.match === "digits")!
    const card = scenario.needles.find((n) => n.kind === "card" && n.match === "digits")!
    const planted = [
      { note: `request from ${v4.value} via proxy`, doc: "{}" },
      { note: `client ${v6.value.toUpperCase()}`, doc: JSON.stringify({ headers: { "user-agent": ua.value } }) },
      { note: "cookie", doc: JSON.stringify({ _oa_id: visitor.value }) },
      { note: `contact=${email.value.replace("@", "%2540")}`, doc: "[]" },
      {
        note: `call ${phone.value.slice(0, 3)}-${phone.value.slice(3, 6)} ${phone.value.slice(6)}`,
        doc: JSON.stringify({ card: card.value.match(/.{1,4}/g)!.join("-") })
      }
    ]
    const key = (f: Finding) => `${f.kind} ${f.value} in ${f.where}`
    const baseline = scan(dump.haystacks, scenario.needles).map(key)
    const sqlRun = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
      db!.runPromise(Effect.flatMap(SqlClient.SqlClient, f))
    await sqlRun((sql) => sql`CREATE TABLE ${sql(probe)} (note TEXT NOT NULL, doc TEXT NOT NULL)`)
    try {
      await sqlRun((sql) => sql`INSERT INTO ${sql(probe)} ${sql.insert(planted)}`)
      const withProbe = await db!.runPromise(dumpDatabase(target))
      assert.include([...withProbe.tables], probe)
      const found = scan(withProbe.haystacks, scenario.needles)
      for (const needle of [v4, v6, ua, visitor, email, phone, card]) {
        assert.isTrue(
          found.some((f) => f.value === needle.value && f.where.startsWith(`table ${probe} `)),
          `planted ${needle.kind} ${needle.value} found: ${describeFindings(found)}`
        )
      }
      assert.isTrue(
        found.some((f) => f.kind === "email address" && f.value === email.value),
        "any email address is found, even double-encoded"
      )
      // Everything else found is what the scan of the tables found without the probe (nothing, unless it leaks).
      assert.deepStrictEqual(
        found.filter((f) => !f.where.startsWith(`table ${probe} `)).map(key),
        baseline,
        "findings outside the probe"
      )
    } finally {
      await sqlRun((sql) => sql`DROP TABLE ${sql(probe)}`)
    }
    const after = await db!.runPromise(dumpDatabase(target))
    assert.notInclude([...after.tables], probe)
    assert.deepStrictEqual(scan(after.haystacks, scenario.needles).map(key), baseline)
  })

  it("the server's logs, through shutdown, hold none of them", async () => {
    await stopServer()
    capture!.stop()
    const lines = capture!.lines
    assert.isTrue(
      lines.some((line) => line.includes("consuming the event log")),
      `the capture holds the server's Effect logs: ${JSON.stringify(lines.slice(0, 5))}`
    )
    const findings = scan(logHaystacks(lines), scenario.needles)
    assert.strictEqual(findings.length, 0, `${context()}: ${describeFindings(findings)}`)
    // The same scan finds a raw value in a log line, quoted the way Effect's logger quotes messages.
    const ip = scenario.needles.find((n) => n.kind === "raw IP" && n.match === "ipv4")!
    const ua = scenario.needles.find((n) => n.kind === "user agent")!
    const planted = `timestamp=2025-12-01T00:00:00.000Z level=INFO fiber=#1 message="client ${ip.value} ${JSON.stringify(ua.value).slice(1, -1)}"`
    const found = scan(logHaystacks([...lines, planted]), scenario.needles)
    assert.includeMembers(
      found.map((f) => f.value),
      [ip.value, ua.value]
    )
  })
}
