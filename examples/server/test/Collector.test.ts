import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Snippet, WireFormat } from "@openaudience/pixel"
import { browserUserAgent } from "./support/browserFetch.js"
import { adminKey, inspect, startServer, type TestServer } from "./support/server.js"

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server.stop())

let counter = 0
const eventId = () => `evt_test_${Date.now().toString(36)}_${(counter++).toString(36).padStart(4, "0")}`

const productView = (overrides: Record<string, unknown> = {}) =>
  ({
    type: "product_view",
    id: eventId(),
    site: "demo",
    clientTs: 1_764_000_000_000,
    url: "https://shop.example/products/boots?email=jane%40example.com#reviews",
    referrer: "https://news.example/article/123?utm_source=x",
    visitorId: "vis_0123456789abcdef",
    productId: "sku-boots",
    category: "shoes",
    unitPrice: 12900,
    currency: "EUR",
    ...overrides
  }) as any

const s2s = (body: unknown, key = adminKey, contentType = "application/json") =>
  fetch(`${server.url}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

describe("GET /px.gif", () => {
  it("stores the event durably and answers the 43-byte GIF, uncached", async () => {
    const event = productView()
    const response = await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(event)}`)
    assert.strictEqual(response.status, 200)
    assert.strictEqual(response.headers.get("content-type"), "image/gif")
    assert.match(response.headers.get("cache-control") ?? "", /no-store/)
    assert.strictEqual((await response.arrayBuffer()).byteLength, 43)
    const stored = (await inspect(server.url)).find((e) => e.id === event.id)
    assert.isDefined(stored)
    assert.strictEqual(stored.type, "product_view")
    assert.strictEqual(stored.data.productId, "sku-boots")
    assert.strictEqual(stored.data.unitPrice, 12900)
    assert.match(stored.receivedAt, /^\d{4}-\d\d-\d\dT/)
  })

  it("keeps only a keyed pseudonym, the truncated IP, the generalized user agent and the scrubbed URL", async () => {
    const event = productView()
    await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(event)}`, {
      headers: { "user-agent": `${browserUserAgent} Zzqx/9.9` }
    })
    const stored = (await inspect(server.url)).find((e) => e.id === event.id)
    assert.isString(stored.visitor)
    assert.notStrictEqual(stored.visitor, event.visitorId)
    const json = JSON.stringify(stored)
    assert.notInclude(json, "vis_0123456789abcdef")
    assert.notInclude(json, "jane")
    assert.notInclude(json, "Zzqx")
    assert.notInclude(json, "utm_source")
    assert.strictEqual(stored.data.url, "https://shop.example/products/boots#reviews")
    assert.strictEqual(stored.data.referrer, "https://news.example")
    assert.deepStrictEqual(stored.data.context, {
      ip: "127.0.0.0",
      browser: "Chrome",
      browserMajor: "131",
      os: "Linux",
      device: "desktop"
    })
  })

  it("keeps no visitor identifier when Sec-GPC, DNT or the event's own signals say so", async () => {
    const cases: Array<[Record<string, unknown>, Record<string, string>]> = [
      [{}, { "sec-gpc": "1" }],
      [{}, { dnt: "1" }],
      [{}, { cookie: "other=1; oa_optout=1" }],
      [{ consent: { gpc: true } }, {}],
      [{ consent: { optout: true } }, {}]
    ]
    for (const [fields, headers] of cases) {
      const event = productView(fields)
      const response = await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(event)}`, { headers })
      assert.strictEqual(response.status, 200)
      const stored = (await inspect(server.url)).find((e) => e.id === event.id)
      assert.isNull(stored.visitor, JSON.stringify({ fields, headers }))
      assert.isFalse(stored.consent.decision.identifier)
    }
  })

  it("stores an event id seen twice once", async () => {
    const event = productView()
    const url = `${server.url}/px.gif?${WireFormat.encodeQuery(event)}`
    const [a, b] = await Promise.all([fetch(url), fetch(url)])
    assert.strictEqual(a.status, 200)
    assert.strictEqual(b.status, 200)
    await fetch(url)
    const copies = (await inspect(server.url, 1000)).filter((e) => e.id === event.id)
    assert.strictEqual(copies.length, 1)
  })

  it("answers bad input with a problem naming the field", async () => {
    const bad = await fetch(
      `${server.url}/px.gif?${WireFormat.encodeQuery(productView({ unitPrice: 1 }))}`.replace(
        /([?&])pr=1(&|$)/,
        "$1pr=-3$2"
      )
    )
    assert.strictEqual(bad.status, 400)
    assert.strictEqual(bad.headers.get("content-type"), "application/problem+json")
    const problem = (await bad.json()) as any
    assert.strictEqual(problem.status, 400)
    assert.isString(problem.field)
    const unknownSite = await fetch(
      `${server.url}/px.gif?${WireFormat.encodeQuery(productView({ site: "nosuchsite" }))}`
    )
    assert.strictEqual(unknownSite.status, 400)
    assert.strictEqual(((await unknownSite.json()) as any).field, "site")
    const empty = await fetch(`${server.url}/px.gif`)
    assert.strictEqual(empty.status, 400)
    const huge = await fetch(`${server.url}/px.gif?u=${"a".repeat(100_000)}`)
    assert.isTrue(huge.status >= 400 && huge.status < 500, `status ${huge.status}`)
  })
})

describe("POST /collect", () => {
  it("stores every valid event of a batch and names the invalid ones", async () => {
    const good = [
      productView(),
      productView({
        type: "page_view",
        productId: undefined,
        category: undefined,
        unitPrice: undefined,
        currency: undefined
      })
    ]
    for (const e of good) for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k]
    const [body] = WireFormat.encodeBatch(good).bodies
    const lines = body!.split("\n")
    lines.splice(2, 0, "e=vw&id=evt_bad_line_01&s=demo&p=sku&pr=-3&c=EUR")
    const response = await fetch(`${server.url}/collect`, {
      method: "POST",
      headers: { "content-type": "text/plain;charset=UTF-8" },
      body: lines.join("\n")
    })
    assert.strictEqual(response.status, 400)
    const problem = (await response.json()) as any
    assert.strictEqual(problem.accepted, 2)
    assert.strictEqual(problem.rejected, 1)
    const stored = await inspect(server.url)
    for (const e of good)
      assert.isDefined(
        stored.find((s) => s.id === e.id),
        e.id
      )
  })

  it("refuses bodies over the limit, bad UTF-8 and the wrong method", async () => {
    const big = await fetch(`${server.url}/collect`, { method: "POST", body: "v=1\n".padEnd(70_000, "x") })
    assert.strictEqual(big.status, 413)
    assert.strictEqual(big.headers.get("content-type"), "application/problem+json")
    const badUtf8 = await fetch(`${server.url}/collect`, {
      method: "POST",
      body: new Uint8Array([0x76, 0x3d, 0x31, 0x0a, 0xff, 0xfe, 0x80])
    })
    assert.strictEqual(badUtf8.status, 400)
    assert.match(((await badUtf8.json()) as any).detail, /UTF-8/)
    const get = await fetch(`${server.url}/collect`)
    assert.strictEqual(get.status, 405)
  })
})

describe("POST /v1/events", () => {
  it("answers per event: accepted, duplicate, or rejected with the reason", async () => {
    const first = productView({ visitorId: undefined })
    delete first.visitorId
    const again = { ...first }
    const invalid = { ...productView(), currency: "XYZ" }
    const response = await s2s([first, again, invalid])
    assert.strictEqual(response.status, 400)
    const problem = (await response.json()) as any
    assert.deepStrictEqual(
      problem.events.map((e: any) => e.status),
      ["accepted", "duplicate", "rejected"]
    )
    assert.strictEqual(problem.events[2].field, "currency")
    assert.match(problem.events[2].reason, /ISO 4217/)
    const ok = await s2s({ events: [productView()] })
    assert.strictEqual(ok.status, 200)
    assert.deepStrictEqual(((await ok.json()) as any).accepted, 1)
    const repeat = await s2s([first])
    assert.deepStrictEqual(((await repeat.json()) as any).events[0].status, "duplicate")
  })

  it("requires a tenant API key and JSON", async () => {
    assert.strictEqual((await s2s([productView()], "wrong-key")).status, 401)
    assert.strictEqual((await s2s("[]", adminKey, "text/plain")).status, 415)
    assert.strictEqual((await s2s("{not json", adminKey)).status, 400)
    assert.strictEqual((await s2s("[]", adminKey)).status, 400)
    const deep = await s2s("[".repeat(5000) + "]".repeat(5000))
    assert.strictEqual(deep.status, 400)
    assert.match(((await deep.json()) as any).detail, /nested/)
  })
})

describe("admin and operations", () => {
  it("GET /v1/events returns the newest events first, with a bounded limit", async () => {
    const ids = [productView(), productView(), productView()]
    for (const e of ids) await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(e)}`)
    const events = await inspect(server.url, 2)
    assert.deepStrictEqual(
      events.map((e) => e.id),
      [ids[2].id, ids[1].id]
    )
    const bad = await fetch(`${server.url}/v1/events?limit=abc`, { headers: { authorization: `Bearer ${adminKey}` } })
    assert.strictEqual(bad.status, 400)
    assert.strictEqual(((await bad.json()) as any).field, "limit")
    assert.strictEqual((await fetch(`${server.url}/v1/events?limit=1`)).status, 401)
  })

  it("serves the tag, health, metrics, the demo shop and problem 404s", async () => {
    const tag = await fetch(`${server.url}/tag.js`)
    assert.strictEqual(tag.status, 200)
    assert.match(tag.headers.get("content-type") ?? "", /javascript/)
    assert.isString(tag.headers.get("etag"))
    const health = await fetch(`${server.url}/healthz`)
    assert.deepStrictEqual(await health.json(), { status: "ok", storage: "ok" })
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(metrics, /oa_events_total\{type="product_view",outcome="accepted"\} \d+/)
    const shop = await fetch(`${server.url}/demo/shop/product.html?sku=sku-boots`)
    assert.strictEqual(shop.status, 200)
    const html = await shop.text()
    assert.include(html, Snippet.snippet(server.url, "demo", { tcfVendorId: 1000 }))
    assert.notInclude(html, "OA_SNIPPET")
    const missing = await fetch(`${server.url}/nope`)
    assert.strictEqual(missing.status, 404)
    assert.strictEqual(missing.headers.get("content-type"), "application/problem+json")
    const traversal = await fetch(`${server.url}/demo/..%2f..%2fpackage.json`)
    assert.strictEqual(traversal.status, 404)
  })
})

describe("README", () => {
  it("tells integrators to paste exactly the snippet the demo shop embeds", async () => {
    const { readFileSync } = await import("node:fs")
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
    assert.include(readme, Snippet.snippet("https://collector.example.com", "demo", { tcfVendorId: 1000 }))
  })
})

describe("embedded worker", () => {
  it("consumes the event log: stored events show up in the daily counts, duplicates do not", async () => {
    const before = async () => {
      const response = await fetch(`${server.url}/v1/stats/daily?days=2`, {
        headers: { authorization: `Bearer ${adminKey}` }
      })
      assert.strictEqual(response.status, 200)
      const body = (await response.json()) as { days: Array<{ type: string; events: number; identified: number }> }
      return body.days.filter((d) => d.type === "add_to_cart").reduce((n, d) => n + d.events, 0)
    }
    const start = await before()
    const event = productView({ type: "add_to_cart", quantity: 2 })
    await s2s([event, productView({ type: "add_to_cart", quantity: 1 })])
    await s2s([event])
    let seen = start
    for (let i = 0; i < 50 && seen < start + 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      seen = await before()
    }
    assert.strictEqual(seen, start + 2)
    const bad = await fetch(`${server.url}/v1/stats/daily?days=0`, { headers: { authorization: `Bearer ${adminKey}` } })
    assert.strictEqual(bad.status, 400)
  })
})

describe("bots", () => {
  it("counts events from bots and automation without storing them", async () => {
    for (const ua of [
      "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
      "curl/8.5.0"
    ]) {
      const event = productView()
      const response = await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(event)}`, {
        headers: { "user-agent": ua }
      })
      assert.strictEqual(response.status, 200, ua)
      assert.isUndefined(
        (await inspect(server.url)).find((e) => e.id === event.id),
        ua
      )
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(metrics, /oa_events_total\{type="product_view",outcome="bot"\} [3-9]/)
  })
})
