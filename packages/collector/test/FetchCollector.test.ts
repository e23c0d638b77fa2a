/**
 * The fetch adapter: a body that never ends is answered 413 once it passes the limit, `HEAD` gets the pixel's
 * headers without a body, other routes resolve to `undefined`, and a bug is answered 500.
 */
import { assert, describe, it } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import * as Collector from "../src/Collector.js"
import * as FetchCollector from "../src/FetchCollector.js"
import * as Sink from "../src/Sink.js"
import * as Tenant from "../src/Tenant.js"

const make = (sink: Sink.Sink = Sink.memory()) =>
  FetchCollector.make(
    Collector.make({
      tenants: Tenant.directory(new Uint8Array(32), [Tenant.demo()]),
      sink,
      now: () => 0,
      maxBodyBytes: 1024
    })
  )

const event = { type: "page_view", id: "evt_fetch_adapter_1", site: "demo", visitorId: "vis_fetch_1" } as const
const base = "https://collector.example"

describe("FetchCollector", () => {
  it("answers 413 once a streamed body passes the limit, without reading it to the end", async () => {
    let pulled = 0
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        pulled++
        controller.enqueue(new Uint8Array(512).fill(0x78))
      }
    })
    const response = await make()(
      new Request(`${base}/collect`, { method: "POST", body: endless, duplex: "half" } as RequestInit)
    )
    assert.strictEqual(response?.status, 413)
    assert.isBelow(pulled, 10)
    const declared = await make()(
      new Request(`${base}/collect`, { method: "POST", body: "x".repeat(2000), headers: { "content-length": "2000" } })
    )
    assert.strictEqual(declared?.status, 413)
  })

  it("answers the pixel (HEAD without a body), wrong methods and other routes as node:http does", async () => {
    const sink = Sink.memory()
    const handle = make(sink)
    const query = WireFormat.encodeQuery(event)
    const headers = { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" }
    const get = await handle(new Request(`${base}/px.gif?${query}#fragment`, { headers }), "203.0.113.9")
    assert.strictEqual(get?.status, 200)
    assert.strictEqual((await get!.arrayBuffer()).byteLength, 43)
    assert.strictEqual((sink.rows()[0]!.payload as any).context.ip, "203.0.113.0")
    const head = await handle(new Request(`${base}/px.gif?${query}`, { method: "HEAD" }))
    assert.strictEqual(head?.status, 200)
    assert.strictEqual(head?.body, null)
    const post = await handle(new Request(`${base}/px.gif`, { method: "POST", body: "x" }))
    assert.strictEqual(post?.status, 405)
    assert.strictEqual(post?.headers.get("allow"), "GET, HEAD")
    assert.isUndefined(await handle(new Request(`${base}/v1/events`)))
    const bad = await handle(
      new Request(`${base}/collect`, { method: "POST", body: new Uint8Array([0x76, 0x3d, 0x31, 0x0a, 0xff]) })
    )
    assert.strictEqual(bad?.status, 400)
  })

  it("answers 500 when the sink throws", async () => {
    const handle = make({
      append: () => {
        throw new Error("a bug in the sink")
      },
      store: () => {
        throw new Error("a bug in the sink")
      }
    })
    const response = await handle(new Request(`${base}/px.gif?${WireFormat.encodeQuery(event)}`))
    assert.strictEqual(response?.status, 500)
    assert.strictEqual(((await response!.json()) as any).type, "https://openaudience.dev/problems/internal")
  })
})
