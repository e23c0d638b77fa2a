/**
 * Both adapters answer every route, and every outcome (success, refusal, 404-free fall-through aside), with
 * `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
 */
import { assert, describe, it } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import * as fc from "effect/FastCheck"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Collector from "../src/Collector.js"
import * as FetchCollector from "../src/FetchCollector.js"
import * as NodeCollector from "../src/NodeCollector.js"
import * as Sink from "../src/Sink.js"
import * as Tenant from "../src/Tenant.js"

const collector = () =>
  Collector.make({
    tenants: Tenant.directory(new Uint8Array(32), [Tenant.demo()]),
    sink: Sink.memory(),
    now: () => 0,
    maxBodyBytes: 1024
  })

const query = WireFormat.encodeQuery({ type: "page_view", id: "evt_headers_1", site: "demo", visitorId: "vis_h_1" })
const requests: ReadonlyArray<readonly [string, RequestInit]> = [
  [`/px.gif?${query}`, {}],
  ["/px.gif?garbage", {}],
  ["/px.gif", { method: "POST", body: "x" }],
  ["/collect", { method: "POST", body: "{not json" }],
  ["/collect", { method: "POST", body: "x".repeat(2000) }],
  ["/v1/events", { method: "POST", body: "[]" }]
]

const assertHeaders = (headers: Headers, what: string) => {
  assert.strictEqual(headers.get("x-content-type-options"), "nosniff", what)
  assert.strictEqual(headers.get("referrer-policy"), "no-referrer", what)
}

describe("collector security headers", () => {
  it("FetchCollector sets nosniff and no-referrer on every answer", async () => {
    const handle = FetchCollector.make(collector())
    for (const [path, init] of requests) {
      const response = await handle(new Request(`https://collector.example${path}`, init), "203.0.113.9")
      assert.isDefined(response, path)
      assertHeaders(response!.headers, `${init.method ?? "GET"} ${path}`)
    }
  })

  it("NodeCollector sets nosniff and no-referrer on every answer", async () => {
    const node = NodeCollector.make(collector())
    const server = createServer((req, res) => {
      if (!node.handle(req, res)) res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      for (const [path, init] of requests) {
        const response = await fetch(`${base}${path}`, init)
        await response.arrayBuffer()
        assertHeaders(response.headers, `${init.method ?? "GET"} ${path}`)
      }
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})

describe("NodeCollector.write", () => {
  // Header names and values a test can tell apart; the two defaults among the names, so that all cases meet.
  const name = fc.constantFrom("x-content-type-options", "referrer-policy", "x-a", "x-b", "cache-control", "x-c")
  const value = fc.stringMatching(/^[a-z0-9-]{1,8}$/)
  const headers = fc.dictionary(name, value, { maxKeys: 6 })

  it("answers the answer's own headers, then the extra ones it does not name, then the defaults neither names", async () => {
    let next: { own: Record<string, string>; extra: Record<string, string> | undefined; body: "binary" | "text" }
    const server = createServer((_req, res) => {
      const body = next.body === "binary" ? Buffer.from("GIF89a") : "text"
      const own = next.body === "binary" ? { ...next.own, "content-length": "6" } : next.own
      NodeCollector.write(res, { status: 200, headers: own, body }, next.extra)
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      await fc.assert(
        fc.asyncProperty(
          headers,
          fc.option(headers, { nil: undefined }),
          fc.constantFrom("binary" as const, "text" as const),
          async (own, extra, body) => {
            next = { own, extra, body }
            const response = await fetch(url)
            await response.arrayBuffer()
            const expected: Record<string, string> = {
              "x-content-type-options": "nosniff",
              "referrer-policy": "no-referrer",
              ...extra,
              ...own
            }
            for (const [header, wanted] of Object.entries(expected)) {
              // Named once: a header named twice would read "a, b".
              assert.strictEqual(response.headers.get(header), wanted, `${body} ${header}`)
            }
          }
        ),
        { numRuns: 150 }
      )
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
