/**
 * Issue #12 item 8, headers and files: every route answers with `nosniff` and a referrer policy, no page can be
 * framed, HSTS follows an https public URL, `X-Forwarded-Proto` is believed only from a trusted proxy, `/metrics`
 * can require a token, a demo tenant with the public admin key refuses to listen beyond loopback, and the data
 * folder's files are readable by their owner only.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Ip } from "@openaudience/anonymizer"
import { WireFormat } from "@openaudience/pixel"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as App from "../src/App.js"
import { Listening } from "../src/HttpServer.js"
import * as OptOut from "../src/OptOut.js"
import * as ServerConfig from "../src/ServerConfig.js"
import { startServer, type TestServer } from "./support/server.js"

const loopback = Either.getOrThrow(Ip.trustedProxies("loopback"))

let plain: TestServer
let https: TestServer
beforeAll(async () => {
  plain = await startServer()
  https = await startServer({
    publicUrl: "https://collector.example",
    trustedProxies: loopback,
    metricsToken: Redacted.make("s3cret-metrics-token")
  })
})
afterAll(async () => {
  await plain?.stop()
  await https?.stop()
})

const concrete = (path: string) => path.replace(/:[a-z]+/gi, "x").replace(/\*$/, "shop/")

describe("security headers", () => {
  it("every route answers with nosniff, a referrer policy and no framing, whatever the outcome", async () => {
    assert.isAtLeast(plain.routes.length, 10)
    for (const route of plain.routes) {
      const init: RequestInit = { method: route.method, redirect: "manual" }
      if (route.method !== "GET" && route.method !== "HEAD") init.body = "{}"
      const response = await fetch(`${plain.url}${concrete(route.path)}`, init)
      await response.arrayBuffer()
      const what = `${route.method} ${route.path} (${response.status})`
      assert.strictEqual(response.headers.get("x-content-type-options"), "nosniff", what)
      assert.strictEqual(response.headers.get("referrer-policy"), "no-referrer", what)
      if (route.path === "/ad") {
        // The ad document is the one answer made to be framed, by publishers' pages (its own policy: AdServing.test).
        assert.isNull(response.headers.get("x-frame-options"), what)
        continue
      }
      assert.strictEqual(response.headers.get("x-frame-options"), "DENY", what)
      // A route's own policy replaces the default one: it must keep refusing frames.
      assert.include(response.headers.get("content-security-policy") ?? "", "frame-ancestors 'none'", what)
      assert.isNull(response.headers.get("strict-transport-security"), what)
    }
    const missing = await fetch(`${plain.url}/no/such/route`)
    assert.strictEqual(missing.status, 404)
    assert.strictEqual(missing.headers.get("x-content-type-options"), "nosniff")
  })

  it("an unparsable request's 400 carries them too", async () => {
    const { port } = new URL(plain.url)
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () =>
        socket.write("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
      )
      let text = ""
      socket.on("data", (chunk) => (text += chunk.toString("latin1")))
      socket.on("end", () => resolve(text))
      socket.on("error", reject)
    })
    assert.match(answer, /^HTTP\/1\.1 400/)
    assert.match(answer, /\r\nx-content-type-options: nosniff\r\n/i)
  })

  it("the opt-out page refuses to be framed", async () => {
    const response = await fetch(`${plain.url}/optout`)
    assert.strictEqual(response.status, 200)
    assert.include(response.headers.get("content-security-policy") ?? "", "frame-ancestors 'none'")
    assert.strictEqual(response.headers.get("x-frame-options"), "DENY")
  })

  it("sends HSTS only when the public URL is https", async () => {
    const response = await fetch(`${https.url}/optout`)
    assert.match(response.headers.get("strict-transport-security") ?? "", /^max-age=\d{7,}/)
    const pixel = await fetch(`${https.url}/px.gif?x=1`)
    assert.match(pixel.headers.get("strict-transport-security") ?? "", /^max-age=/)
  })
})

describe("forwarded scheme", () => {
  const optOut = (url: string, headers: Record<string, string>) =>
    fetch(`${url}/optout`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: "action=optout"
    })

  it("ignores X-Forwarded-Proto and Forwarded from a client that is not a trusted proxy", async () => {
    const spoofed: ReadonlyArray<Record<string, string>> = [
      { "x-forwarded-proto": "https" },
      { forwarded: "for=192.0.2.1;proto=https" }
    ]
    for (const headers of spoofed) {
      const response = await optOut(plain.url, headers)
      assert.strictEqual(response.status, 303)
      for (const cookie of response.headers.getSetCookie()) {
        assert.notInclude(cookie.toLowerCase(), "secure", JSON.stringify(headers))
        assert.include(cookie, "SameSite=Lax")
      }
    }
  })

  it("believes a trusted proxy, looking at the nearest hop", () => {
    const proxies = loopback
    const at = (headers: Record<string, string>, peer: string | undefined = "127.0.0.1") =>
      OptOut.isSecure(headers, peer, "http://collector.example", proxies)
    assert.isTrue(at({ "x-forwarded-proto": "https" }))
    assert.isTrue(at({ "x-forwarded-proto": "http, https" }))
    assert.isFalse(at({ "x-forwarded-proto": "https, http" }))
    assert.isTrue(at({ forwarded: 'for=192.0.2.1;proto="https"' }))
    assert.isFalse(at({ "x-forwarded-proto": "https" }, "192.0.2.7"))
    assert.isFalse(at({ "x-forwarded-proto": "https" }, "::ffff:203.0.113.9"))
    assert.isFalse(at({ "x-forwarded-proto": "https" }, "not an address"))
    assert.isFalse(OptOut.isSecure({ "x-forwarded-proto": "https" }, "127.0.0.1", "http://c.example", Ip.noProxies))
    assert.isTrue(OptOut.isSecure({}, "192.0.2.7", "https://c.example", Ip.noProxies))
  })
})

describe("/metrics token", () => {
  it("is open without OA_METRICS_TOKEN", async () => {
    assert.strictEqual((await fetch(`${plain.url}/metrics`)).status, 200)
  })

  it("answers 401 without the configured token, 200 with it", async () => {
    const get = (authorization?: string) =>
      fetch(`${https.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } })
    for (const wrong of [
      undefined,
      "",
      "Bearer",
      "Bearer s3cret",
      "Bearer s3cret-metrics-token2",
      "Basic s3cret-metrics-token"
    ]) {
      const response = await get(wrong)
      assert.strictEqual(response.status, 401, String(wrong))
      assert.notInclude(await response.text(), "oa_")
    }
    const ok = await get("Bearer s3cret-metrics-token")
    assert.strictEqual(ok.status, 200)
    assert.include(ok.headers.get("content-type") ?? "", "text/plain")
  })
})

describe("demo tenant exposure", () => {
  const start = async (overrides: Partial<ServerConfig.ServerConfigShape>) => {
    const dataDir = mkdtempSync(join(tmpdir(), "oa-demo-"))
    const config = ServerConfig.layerTest({ dataDir, databaseUrl: `sqlite:${join(dataDir, "t.db")}`, ...overrides })
    const runtime = ManagedRuntime.make(App.layer.pipe(Layer.provide(config), Layer.provide(NodeContext.layer)))
    const exit = await runtime.runPromiseExit(Listening)
    await runtime.dispose()
    rmSync(dataDir, { recursive: true, force: true })
    return exit
  }

  it("refuses a non-loopback HOST with the public admin key, naming OA_DEMO_ADMIN_KEY", async () => {
    const exit = await start({ host: "0.0.0.0" })
    assert.isTrue(Exit.isFailure(exit))
    assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "OA_DEMO_ADMIN_KEY")
  })

  it("starts on loopback with the default key, and anywhere with a key of one's own or without the demo", async () => {
    assert.isTrue(Exit.isSuccess(await start({})))
    assert.isTrue(Exit.isSuccess(await start({ host: "0.0.0.0", demoAdminKey: Redacted.make("x9-own-key") })))
    assert.isTrue(Exit.isSuccess(await start({ host: "0.0.0.0", demo: false })))
  })

  it("classifies hosts", () => {
    const check = (host: string, demoAdminKey = ServerConfig.defaultDemoAdminKey) =>
      Exit.isSuccess(
        Effect.runSyncExit(
          ServerConfig.checkDemoExposure({ demo: true, host, demoAdminKey: Redacted.make(demoAdminKey) })
        )
      )
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) assert.isTrue(check(host), host)
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "127.0.0.1.example.com"]) {
      assert.isFalse(check(host), host)
      assert.isTrue(check(host, "a-secret"), host)
    }
  })
})

describe("data files", () => {
  it("the database, its WAL and the segments are readable by their owner only", async () => {
    const query = WireFormat.encodeQuery({
      type: "page_view",
      id: `evt_modes_${Date.now()}`,
      site: "demo",
      visitorId: "vis_modes_of_files"
    })
    const pixel = await fetch(`${plain.url}/px.gif?${query}`)
    assert.strictEqual(pixel.status, 200, await pixel.text())
    const seen: Array<string> = []
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name)
        const stat = statSync(path)
        seen.push(name)
        assert.strictEqual(stat.mode & 0o077, 0, `${path} is ${(stat.mode & 0o777).toString(8)}`)
        if (stat.isDirectory()) walk(path)
      }
    }
    walk(plain.dataDir)
    assert.includeMembers(seen, ["test.db", "test.db-wal", "test.db-segments"], seen.join(" "))
    assert.isTrue(
      seen.some((name) => name.endsWith(".seg")),
      seen.join(" ")
    )
  })

  it("a fresh data folder (and the dev secret in it) is owner-only", async () => {
    const parent = mkdtempSync(join(tmpdir(), "oa-modes-"))
    const dataDir = join(parent, "fresh", "data")
    try {
      await Effect.runPromise(
        ServerConfig.load.pipe(
          Effect.provide(NodeContext.layer),
          Effect.withConfigProvider(
            (await import("effect/ConfigProvider")).fromMap(new Map([["OA_DATA_DIR", dataDir]]))
          )
        )
      )
      assert.strictEqual(statSync(dataDir).mode & 0o777, 0o700)
      assert.strictEqual(statSync(join(dataDir, "dev-secret.key")).mode & 0o777, 0o600)
    } finally {
      rmSync(parent, { recursive: true, force: true })
    }
  })
})
