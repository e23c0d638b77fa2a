/**
 * Hostile request headers and bodies on the server's own routes: an `Origin` that is `null` or does not parse is
 * never this page (and never a 500), a declared length that is not a number is refused, and the opt-out form is
 * refused with 413 past its small limit while the opt-out itself still works from anywhere; a 413 ends a keep-alive
 * connection once its answer is read, whoever answers it.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { connect } from "node:net"
import * as BodyLimit from "../src/BodyLimit.js"
import * as OptOut from "../src/OptOut.js"
import { startServer, type TestServer } from "./support/server.js"

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server.stop())

const form = (body: string, headers: Record<string, string>) =>
  fetch(`${server.url}/optout`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body
  })

describe("hostile input", () => {
  it("never throws on any Origin and Host, and only a matching http(s) origin is this page", () => {
    fc.assert(
      fc.property(
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.string(), { nil: undefined }),
        (origin, host) => {
          const same = OptOut.sameOrigin({ origin, host })
          if (same) assert.isTrue(origin !== undefined && host !== undefined && /^https?:\/\//i.test(origin))
        }
      ),
      { numRuns: 2_000 }
    )
    assert.isFalse(OptOut.sameOrigin({ origin: "null", host: "null" }))
    assert.isFalse(OptOut.sameOrigin({ origin: "file://shop.example", host: "shop.example" }))
    assert.isTrue(OptOut.sameOrigin({ origin: "https://Shop.Example:8443", host: "shop.example:8443" }))
    assert.isFalse(
      OptOut.sameOrigin({ "sec-fetch-site": "cross-site", origin: "https://a.example", host: "a.example" })
    )
  })

  it("reads a declared length only when it is a plain decimal", () => {
    assert.strictEqual(BodyLimit.declaredLength(undefined), undefined)
    assert.strictEqual(BodyLimit.declaredLength("42"), 42)
    for (const bad of ["", "-1", "1e3", "0x10", "12abc", "9".repeat(30)]) assert.isNaN(BodyLimit.declaredLength(bad))
  })

  it("answers POST /optout with a hostile Origin below 500: opting out works, opting back in is refused", async () => {
    for (const origin of ["null", "http://[", "https://", "%", "file:///etc/passwd"]) {
      const optin = await form("action=optin", { origin })
      assert.strictEqual(optin.status, 403, `optin with Origin ${origin}`)
      const optout = await form("action=optout", { origin })
      assert.strictEqual(optout.status, 303, `optout with Origin ${origin}`)
    }
  })

  it("refuses an opt-out form past its limit with 413, declared or streamed", async () => {
    const big = `action=optout&pad=${"a".repeat(OptOut.maxFormBytes)}`
    const declared = await form(big, {})
    assert.strictEqual(declared.status, 413)
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      }
    })
    const streamed = await fetch(`${server.url}/optout`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: stream,
      duplex: "half"
    } as RequestInit)
    assert.strictEqual(streamed.status, 413)
    assert.strictEqual(streamed.headers.get("content-type"), "application/problem+json")
  })

  it("ends a keep-alive connection after a 413, declared or streamed, on the router's and the collector's routes", async () => {
    const port = Number(new URL(server.url).port)
    // The request's body is over every limit here (64 KiB by default); the client asks to keep the connection.
    const size = 256 * 1024
    const heads = (path: string, chunked: boolean) =>
      `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer test-admin-key\r\ncontent-type: application/json\r\n` +
      `connection: keep-alive\r\n${chunked ? "transfer-encoding: chunked" : `content-length: ${size}`}\r\n\r\n`
    const exchange = (path: string, chunked: boolean) =>
      new Promise<{ readonly answer: string; readonly ended: boolean }>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1")
        const received: Array<Buffer> = []
        const timer = setTimeout(() => {
          socket.destroy()
          resolve({ answer: Buffer.concat(received).toString("latin1"), ended: false })
        }, 10_000)
        socket.on("data", (chunk) => received.push(chunk))
        socket.on("error", reject)
        socket.on("end", () => {
          clearTimeout(timer)
          socket.destroy()
          resolve({ answer: Buffer.concat(received).toString("latin1"), ended: true })
        })
        const body = Buffer.alloc(size, "a")
        socket.write(heads(path, chunked))
        // Sent whole, then the client waits: the server must answer and hang up, not wait for a next request.
        socket.write(
          chunked ? Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]) : body
        )
      })
    for (const path of ["/v1/audiences", "/collect", "/v1/events"]) {
      for (const chunked of [false, true]) {
        const label = `${path} (${chunked ? "chunked" : "declared"})`
        const { answer, ended } = await exchange(path, chunked)
        assert.match(answer, /^HTTP\/1\.1 413 /, label)
        assert.match(answer, /\r\nconnection: close\r\n/i, label)
        assert.isTrue(ended, `${label}: the connection stayed open after the 413`)
      }
    }
  })
})
