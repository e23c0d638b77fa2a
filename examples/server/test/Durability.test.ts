/**
 * Durability of the real server process: under concurrent load (GET pixels and server-to-server batches), an
 * event the server acknowledged is in the store after `kill -9` and a restart on the same data folder, exactly
 * once; and `SIGTERM` drains in-flight requests and exits 0 within seconds without losing an acknowledged event.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Collect } from "@openaudience/collector"
import { WireFormat } from "@openaudience/pixel"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "./support/ports.js"

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
const adminKey = "durability-admin-key"
const pixelLoops = 40
const batchLoops = 4
const batchSize = 20

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const serverToServer = (acked: ReadonlySet<string>): number => [...acked].filter((id) => id.includes("_s2s_")).length

/**
 * Lets the load run ~1.5 s, and longer on a slow machine until at least `minimum` events, and at least one batch
 * of server-to-server events, were acknowledged (the retry below needs some).
 */
const underLoad = async (load: Load, minimum = 100): Promise<void> => {
  await sleep(1500)
  const deadline = Date.now() + 15_000
  while ((load.acked.size < minimum || serverToServer(load.acked) < batchSize) && Date.now() < deadline) await sleep(50)
}

interface Running {
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const children = new Set<ChildProcess>()
const dataDirs: Array<string> = []

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
})

/** Runs `examples/server/src/main.ts` as its own process in demo mode and waits until `/healthz` answers 200. */
const launch = async (dataDir: string): Promise<Running> => {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.OA_DATABASE_URL
  delete env.OA_SECRET
  delete env.OA_PUBLIC_URL
  const child = spawn(process.execPath, ["--import", "tsx", "examples/server/src/main.ts"], {
    cwd: repoRoot,
    env: {
      ...env,
      PORT: String(port),
      HOST: "127.0.0.1",
      OA_DATA_DIR: dataDir,
      OA_DEMO: "1",
      OA_DEMO_ADMIN_KEY: adminKey
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break
    const ok = await fetch(`${url}/healthz`).then(
      (response) => response.status === 200,
      () => false
    )
    if (ok) return { url, child, output: () => output, exited }
    await sleep(100)
  }
  child.kill("SIGKILL")
  return assert.fail(`the server did not become healthy within 30 s:\n${output}`)
}

const productView = (id: string) =>
  ({
    type: "product_view",
    id,
    site: "demo",
    clientTs: 1_764_000_000_000,
    url: "https://shop.example/products/boots",
    visitorId: "vis_durability_0001",
    productId: "sku-boots",
    unitPrice: 12900,
    currency: "EUR"
  }) as const

interface Load {
  /** Event ids the server answered with a 2xx, i.e. promised are durable. */
  readonly acked: Set<string>
  /** Every HTTP status the server answered, with how often. */
  readonly statuses: Map<number, number>
  readonly stop: () => Promise<void>
}

/** Concurrent loops of GET /px.gif (one event each) and POST /v1/events batches, each with fresh event ids. */
const startLoad = (url: string, run: string): Load => {
  const acked = new Set<string>()
  const statuses = new Map<number, number>()
  let stopped = false
  let counter = 0
  const nextId = (kind: string) => `${run}_${kind}_${(counter++).toString(36).padStart(6, "0")}`
  const answered = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1)

  const pixelLoop = async () => {
    while (!stopped) {
      const id = nextId("px")
      try {
        const response = await fetch(`${url}/px.gif?${WireFormat.encodeQuery(productView(id))}`)
        answered(response.status)
        if (response.status >= 200 && response.status < 300) acked.add(id)
        await response.arrayBuffer().catch(() => undefined)
      } catch {
        // Refused or cut off by the dying server: not acknowledged, so it may or may not be stored.
        await sleep(20)
      }
    }
  }

  const batchLoop = async () => {
    while (!stopped) {
      const events = Array.from({ length: batchSize }, () => productView(nextId("s2s")))
      try {
        const response = await fetch(`${url}/v1/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
          body: JSON.stringify(events)
        })
        answered(response.status)
        if (response.status >= 200 && response.status < 300) for (const event of events) acked.add(event.id)
        await response.arrayBuffer().catch(() => undefined)
      } catch {
        await sleep(20)
      }
    }
  }

  const loops = [...Array.from({ length: pixelLoops }, pixelLoop), ...Array.from({ length: batchLoops }, batchLoop)]
  return {
    acked,
    statuses,
    stop: async () => {
      stopped = true
      await Promise.all(loops)
    }
  }
}

/**
 * Reads the demo tenant's stored event ids (as their senders chose them: see `Collect.sentId`), with how often each
 * is stored, straight from the SQLite file.
 */
const storedIds = (dataDir: string): Promise<Map<string, number>> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly event_id: string; readonly copies: number }>`
      SELECT event_id, COUNT(*) AS copies FROM events WHERE tenant = ${"demo"} GROUP BY event_id`
    const stored = new Map<string, number>()
    for (const row of rows) {
      const id = Collect.sentId(row.event_id).id
      stored.set(id, (stored.get(id) ?? 0) + Number(row.copies))
    }
    return stored
  }).pipe(
    Effect.provide(SqliteClient.layer({ filename: join(dataDir, "openaudience.db"), readonly: true })),
    Effect.runPromise
  )

const missing = (acked: ReadonlySet<string>, stored: ReadonlyMap<string, number>): Array<string> =>
  [...acked].filter((id) => !stored.has(id))

const newDataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "oa-durability-"))
  dataDirs.push(dir)
  return dir
}

describe("durability of acknowledged events", () => {
  it("keeps every acknowledged event, exactly once, after kill -9 mid-load and a restart", async () => {
    const dataDir = newDataDir()
    const first = await launch(dataDir)
    const load = startLoad(first.url, "kill9")
    await underLoad(load)
    first.child.kill("SIGKILL")
    const exit = await first.exited
    await load.stop()
    assert.strictEqual(exit.signal, "SIGKILL")
    assert.isAtLeast(load.acked.size, 100, "the load reached the server before the kill")
    assert.isAtLeast(serverToServer(load.acked), batchSize, "a batch was acknowledged before the kill")
    assert.deepStrictEqual(
      [...load.statuses.keys()].filter((status) => status !== 200),
      [],
      `every answer before the kill was 200: ${JSON.stringify([...load.statuses])}`
    )

    const second = await launch(dataDir)
    try {
      const stored = await storedIds(dataDir)
      const lost = missing(load.acked, stored)
      assert.deepStrictEqual(lost.slice(0, 20), [], `${lost.length} of ${load.acked.size} acknowledged events are lost`)
      const doubled = [...stored].filter(([, copies]) => copies > 1)
      assert.deepStrictEqual(doubled, [], "no event is stored twice")

      // A sender that retries after the crash (it never saw some answers) gets "duplicate", not a second copy
      // (server-to-server ids: the pixel's live in a namespace of their own).
      const retried = [...load.acked]
        .filter((id) => id.includes("_s2s_"))
        .slice(0, 200)
        .map(productView)
      const response = await fetch(`${second.url}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
        body: JSON.stringify(retried)
      })
      const text = await response.text()
      assert.strictEqual(response.status, 200, text)
      const body = JSON.parse(text) as { accepted: number; duplicates: number }
      assert.deepInclude(body, { accepted: 0, duplicates: retried.length })
      assert.strictEqual((await storedIds(dataDir)).size, stored.size)
    } finally {
      second.child.kill("SIGTERM")
      await second.exited
    }
  }, 90_000)

  it("drains on SIGTERM: exits 0 within seconds and keeps every event acknowledged before exit", async () => {
    const dataDir = newDataDir()
    const running = await launch(dataDir)
    const load = startLoad(running.url, "sigterm")
    await underLoad(load)
    const acknowledgedBeforeSignal = load.acked.size
    const signalled = Date.now()
    running.child.kill("SIGTERM")
    const exit = await Promise.race([running.exited, sleep(8_000).then(() => undefined)])
    const tookMs = Date.now() - signalled
    await load.stop()
    assert.isDefined(exit, `the server did not exit within 8 s of SIGTERM:\n${running.output().slice(-4000)}`)
    assert.deepStrictEqual(exit, { code: 0, signal: null }, running.output().slice(-4000))
    assert.isBelow(tookMs, 5_000, "graceful shutdown takes seconds, not the 10 s connection cut-off")
    assert.isAtLeast(acknowledgedBeforeSignal, 100, "the load reached the server before the signal")
    // While draining, the server may refuse new work (503) but never answers with another error.
    assert.deepStrictEqual(
      [...load.statuses.keys()].filter((status) => status !== 200 && status !== 503),
      [],
      JSON.stringify([...load.statuses])
    )

    const stored = await storedIds(dataDir)
    const lost = missing(load.acked, stored)
    assert.deepStrictEqual(lost.slice(0, 20), [], `${lost.length} of ${load.acked.size} acknowledged events are lost`)
    assert.deepStrictEqual(
      [...stored].filter(([, copies]) => copies > 1),
      []
    )
  }, 60_000)
})
