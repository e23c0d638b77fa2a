/**
 * The same server on PostgreSQL (the scale-out database): events in, inspector and worker out, in a schema of
 * the test's own that is dropped afterwards. Fails in CI when PostgreSQL is unreachable.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import { randomUUID } from "node:crypto"
import { freshSchema, runsOnPostgres, warnWhenSkipped } from "./support/postgres.js"
import { adminKey, inspect, startServer, type TestServer } from "./support/server.js"

const schema = freshSchema("oa_test_server")

warnWhenSkipped("server on PostgreSQL")

describe.runIf(runsOnPostgres)("server on PostgreSQL", () => {
  let server: TestServer
  beforeAll(async () => {
    await schema.create()
    server = await startServer({ databaseUrl: schema.url })
  })
  afterAll(async () => {
    await server?.stop()
    await schema.drop()
  })

  it("collects, deduplicates, inspects and feeds the worker", async () => {
    const id = `evt_pg_${randomUUID().slice(0, 12)}`
    const event = {
      type: "product_view",
      id,
      site: "demo",
      visitorId: "vis_pg_0123456789",
      productId: "sku-boots",
      unitPrice: 12900,
      currency: "EUR"
    } as const
    assert.strictEqual((await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(event)}`)).status, 200)
    const s2s = await fetch(`${server.url}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify([event, { ...event, id: `${id}_2`, type: "add_to_cart", quantity: 1 }])
    })
    // The pixel's ids and the authenticated API's live in separate namespaces: the pixel cannot squat an id.
    assert.deepStrictEqual(
      ((await s2s.json()) as any).events.map((e: any) => e.status),
      ["accepted", "accepted"]
    )
    const again = await fetch(`${server.url}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify([event])
    })
    assert.deepStrictEqual(((await again.json()) as any).events[0].status, "duplicate")
    assert.strictEqual((await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(event)}`)).status, 200)
    const events = await inspect(server.url, 10)
    assert.deepStrictEqual(
      events.map((e) => [e.id, e.source]),
      [
        [`${id}_2`, "server"],
        [id, "server"],
        [id, "browser"]
      ]
    )
    assert.strictEqual(events[2].data.unitPrice, 12900)
    assert.isString(events[2].visitor)
    let total = 0
    for (let i = 0; i < 50 && total < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      const stats = (await (
        await fetch(`${server.url}/v1/stats/daily?days=1`, { headers: { authorization: `Bearer ${adminKey}` } })
      ).json()) as { days: Array<{ events: number }> }
      total = stats.days.reduce((n, d) => n + d.events, 0)
    }
    assert.strictEqual(total, 3)
  })
})
