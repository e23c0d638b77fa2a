/**
 * Event ids cannot be squatted: the anonymous routes (`GET /px.gif`, `POST /collect`) and the authenticated
 * server-to-server API (`POST /v1/events`) have separate id namespaces, so an event sent to the pixel first with the
 * id of a real conversion does not turn it into a duplicate (nor the reverse), while a resent id is still a
 * duplicate within each. Through the whole server, on a SQLite file (writer thread behind the segments), SQLite in
 * memory (group commit) and PostgreSQL (a schema of the test's own; fails in CI when PostgreSQL is unreachable).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import { randomBytes } from "node:crypto"
import { browserUserAgent } from "./support/browserFetch.js"
import { freshSchema, runsOnPostgres, warnWhenSkipped } from "./support/postgres.js"
import { adminKey, inspect, startServer, type TestServer } from "./support/server.js"

/** A conversion with an id of its own (`<tag>` and random characters, within the event id alphabet). */
const conversion = (tag: string, value: number) => ({
  type: "conversion" as const,
  id: `${tag}-${randomBytes(9).toString("base64url")}`,
  site: "demo",
  clientTs: 1_764_500_000_000,
  visitorId: "vis_namespace_probe_7",
  orderId: `ord-${tag}`,
  conversionType: "purchase" as const,
  currency: "EUR",
  value,
  items: []
})

const bearer = { authorization: `Bearer ${adminKey}` }

const serverToServer = async (url: string, events: ReadonlyArray<unknown>) => {
  const response = await fetch(`${url}/v1/events`, {
    method: "POST",
    headers: { ...bearer, "content-type": "application/json" },
    body: JSON.stringify(events)
  })
  assert.strictEqual(response.status, 200, "server-to-server answer")
  return (await response.json()) as { accepted: number; duplicates: number; events: Array<any> }
}

const pixel = async (url: string, event: ReturnType<typeof conversion>) => {
  const response = await fetch(`${url}/px.gif?${WireFormat.encodeQuery(event)}`, {
    headers: { "user-agent": browserUserAgent }
  })
  assert.strictEqual(response.status, 200, "pixel answer")
  await response.arrayBuffer()
}

const batch = async (url: string, events: ReadonlyArray<ReturnType<typeof conversion>>) => {
  const [body] = WireFormat.encodeBatch(events).bodies
  const response = await fetch(`${url}/collect`, {
    method: "POST",
    headers: { "content-type": "text/plain", "user-agent": browserUserAgent },
    body: body!
  })
  assert.strictEqual(response.status, 200, "batch answer")
  return (await response.json()) as { accepted: number; duplicates: number; events: Array<any> }
}

/** The stored rows with the id `id`, as the inspector shows them. */
const rowsWithId = async (url: string, id: string) => (await inspect(url, 1000)).filter((event) => event.id === id)

const conversionsCounted = async (url: string): Promise<number> => {
  const response = await fetch(`${url}/v1/stats/daily?days=366`, { headers: bearer })
  assert.strictEqual(response.status, 200)
  const body = (await response.json()) as { days: Array<{ type: string; events: number }> }
  return body.days.filter((day) => day.type === "conversion").reduce((n, day) => n + day.events, 0)
}

const scenario = (start: () => Promise<TestServer>) => () => {
  let server: TestServer
  beforeAll(async () => {
    server = await start()
  }, 60_000)
  afterAll(() => server?.stop())

  /** Conversions this server stored, one per (namespace, id): what the embedded worker must count in the end. */
  let stored = 0

  it("stores a server-to-server event whose id a pixel took first, and answers it with the sender's id", async () => {
    const squatted = conversion("sq1", 100)
    await pixel(server.url, squatted)
    const real = { ...squatted, value: 25_900 }
    const answer = await serverToServer(server.url, [real])
    assert.deepStrictEqual(answer.events, [{ index: 0, id: real.id, status: "accepted" }])
    assert.strictEqual(answer.accepted, 1)
    stored += 2
    const rows = await rowsWithId(server.url, real.id)
    assert.deepStrictEqual(rows.map((row) => row.source).sort(), ["browser", "server"])
    assert.strictEqual(rows.find((row) => row.source === "server").data.value, 25_900)
    assert.strictEqual(rows.find((row) => row.source === "browser").data.value, 100)
    // A batch with the same id lands in the browser namespace, where the pixel's row already holds it.
    const collected = await batch(server.url, [{ ...squatted, value: 1 }])
    assert.deepStrictEqual(collected.events, [{ index: 0, id: real.id, status: "duplicate" }])
  })

  it("keeps a server-to-server event unchanged whatever the pixel and batches later send with its id", async () => {
    const real = conversion("sq2", 48_000)
    const first = await serverToServer(server.url, [real])
    assert.deepStrictEqual(first.events, [{ index: 0, id: real.id, status: "accepted" }])
    const [before] = await rowsWithId(server.url, real.id)
    assert.strictEqual(before.source, "server")
    await pixel(server.url, { ...real, value: 1, orderId: "ord-forged" })
    const collected = await batch(server.url, [{ ...real, value: 2 }])
    assert.deepStrictEqual(collected.events, [{ index: 0, id: real.id, status: "duplicate" }])
    stored += 2
    const rows = await rowsWithId(server.url, real.id)
    assert.strictEqual(rows.length, 2)
    assert.deepStrictEqual(
      rows.find((row) => row.source === "server"),
      before
    )
    assert.strictEqual(rows.find((row) => row.source === "browser").data.value, 1)
  })

  it("still treats a resent id as a duplicate within each namespace", async () => {
    const fromServer = conversion("rt3", 700)
    const fromBrowser = conversion("rt4", 800)
    const once = await serverToServer(server.url, [fromServer, fromServer])
    assert.deepStrictEqual(
      once.events.map((event) => [event.id, event.status]),
      [
        [fromServer.id, "accepted"],
        [fromServer.id, "duplicate"]
      ]
    )
    const again = await serverToServer(server.url, [{ ...fromServer, value: 1 }])
    assert.deepStrictEqual(again.events, [{ index: 0, id: fromServer.id, status: "duplicate" }])
    await pixel(server.url, fromBrowser)
    await pixel(server.url, { ...fromBrowser, value: 2 })
    const collected = await batch(server.url, [fromBrowser])
    assert.strictEqual(collected.duplicates, 1)
    stored += 2
    assert.deepStrictEqual(
      (await rowsWithId(server.url, fromServer.id)).map((row) => [row.source, row.data.value]),
      [["server", 700]]
    )
    assert.deepStrictEqual(
      (await rowsWithId(server.url, fromBrowser.id)).map((row) => [row.source, row.data.value]),
      [["browser", 800]]
    )
  })

  it("refuses a pixel that spells the server namespace into its id", async () => {
    const event = conversion("sp5", 900)
    const response = await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery({ ...event, id: `s2s:${event.id}` })}`)
    assert.strictEqual(response.status, 400)
    assert.strictEqual(((await response.json()) as any).field, "id")
  })

  it("feeds every stored event, from both namespaces, to the embedded worker once", async () => {
    let counted = 0
    for (let i = 0; i < 100 && counted < stored; i++) {
      counted = await conversionsCounted(server.url)
      if (counted < stored) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.strictEqual(counted, stored)
    // Nothing more arrives later (a duplicate counted late would).
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.strictEqual(await conversionsCounted(server.url), stored)
  })
}

describe(
  "event id namespaces on a SQLite file",
  scenario(() => startServer())
)

describe(
  "event id namespaces on SQLite in memory",
  scenario(() => startServer({ databaseUrl: "sqlite::memory:" }))
)

const schema = freshSchema("oa_test_event_ids")

warnWhenSkipped("event id namespaces on PostgreSQL")

describe.runIf(runsOnPostgres)(
  "event id namespaces on PostgreSQL",
  scenario(async () => {
    await schema.create()
    const server = await startServer({ databaseUrl: schema.url })
    return {
      ...server,
      stop: async () => {
        await server.stop()
        await schema.drop()
      }
    }
  })
)
