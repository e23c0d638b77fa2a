/**
 * The node:http adapter: a body over the limit is answered 413 while it is still streaming, bad UTF-8 is a 400,
 * wrong methods are 405 with `Allow`, other routes are left to the caller, and a bug costs one request (500),
 * never the process.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import { createServer, request, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as Collector from "../src/Collector.js"
import * as NodeCollector from "../src/NodeCollector.js"
import * as Sink from "../src/Sink.js"
import * as Tenant from "../src/Tenant.js"
import * as NodeServer from "./support/nodeServer.js"

let server: Server | undefined
afterEach(async () => {
  await NodeServer.close(server)
  server = undefined
})

const start = async (sink: Sink.Sink = Sink.memory()): Promise<string> => {
  const node = NodeCollector.make(
    Collector.make({
      tenants: Tenant.directory(new Uint8Array(32), [Tenant.demo()]),
      sink,
      now: () => 0,
      maxBodyBytes: 1024
    })
  )
  server = createServer((req, res) => {
    if (!node.handle(req, res)) res.writeHead(404).end("not mine")
  })
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const event = { type: "page_view", id: "evt_node_adapter_1", site: "demo", visitorId: "vis_node_1" } as const

describe("NodeCollector", () => {
  it("answers 413 as soon as a streamed body passes the limit, before the body ends", async () => {
    const url = new URL(`${await start()}/collect`)
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url, { method: "POST", headers: { "transfer-encoding": "chunked" } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
        req.destroy()
      })
      req.on("error", (error) => (req.destroyed ? undefined : reject(error)))
      // 2 KiB sent, and the request never ends: only an answer while streaming resolves this.
      req.write("v=1\n".padEnd(2048, "x"))
    })
    assert.strictEqual(status, 413)
    const declared = await fetch(`${url}`, { method: "POST", body: "x".repeat(2000) })
    assert.strictEqual(declared.status, 413)
    assert.strictEqual(declared.headers.get("content-type"), "application/problem+json")
  })

  it("refuses bad UTF-8 and wrong methods, and leaves other routes to the caller", async () => {
    const url = await start()
    const bad = await fetch(`${url}/collect`, { method: "POST", body: new Uint8Array([0x76, 0x3d, 0x31, 0x0a, 0xff]) })
    assert.strictEqual(bad.status, 400)
    assert.match(((await bad.json()) as any).detail, /UTF-8/)
    const get = await fetch(`${url}/collect`)
    assert.strictEqual(get.status, 405)
    assert.strictEqual(get.headers.get("allow"), "POST")
    const post = await fetch(`${url}/px.gif`, { method: "POST", body: "x" })
    assert.strictEqual(post.status, 405)
    assert.strictEqual(post.headers.get("allow"), "GET, HEAD")
    const other = await fetch(`${url}/v1/events`)
    assert.strictEqual(await other.text(), "not mine")
    const pixel = await fetch(`${url}/px.gif?${WireFormat.encodeQuery(event)}`)
    assert.strictEqual(pixel.status, 200)
    assert.strictEqual((await pixel.arrayBuffer()).byteLength, 43)
  })

  it("answers 500 when the sink throws, and keeps serving", async () => {
    let broken = true
    const memory = Sink.memory()
    const url = await start({
      append: (rows, done) => {
        if (broken) throw new Error("a bug in the sink")
        memory.append(rows, done)
      },
      store: (rows, done) => {
        if (broken) throw new Error("a bug in the sink")
        memory.store(rows, done)
      }
    })
    const pixel = await fetch(`${url}/px.gif?${WireFormat.encodeQuery(event)}`)
    assert.strictEqual(pixel.status, 500)
    assert.strictEqual(((await pixel.json()) as any).type, "https://openaudience.dev/problems/internal")
    const [body] = WireFormat.encodeBatch([event]).bodies
    const batch = await fetch(`${url}/collect`, { method: "POST", body })
    assert.strictEqual(batch.status, 500)
    broken = false
    assert.strictEqual((await fetch(`${url}/px.gif?${WireFormat.encodeQuery(event)}`)).status, 200)
    assert.strictEqual(memory.rows().length, 1)
  })
})
