/**
 * A path the server answers, asked with a method it does not take there, is answered 405 with an `Allow` header
 * naming the methods it does take (RFC 9110 15.5.6), as a problem; a path nothing answers stays 404. Checked over
 * every route of the server and every common method, from the outside: each method `Allow` names is then really
 * taken there (never 405 itself), and the route's own method is always among them.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { startServer, type TestServer } from "./support/server.js"

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server?.stop()
})

const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const

/** A path the route answers: parameters and a trailing wildcard filled in. */
const concrete = (path: string) => path.replace(/:[a-z]+/gi, "p1").replace(/\*$/, "x1")

const send = async (method: string, path: string) => {
  const init: RequestInit = { method, redirect: "manual" }
  if (method !== "GET" && method !== "HEAD") {
    init.body = "{}"
    init.headers = { "content-type": "application/json" }
  }
  const response = await fetch(`${server.url}${path}`, init)
  const body = await response.text()
  return {
    status: response.status,
    allow: response.headers.get("allow"),
    type: response.headers.get("content-type"),
    body
  }
}

describe("405 Method Not Allowed", () => {
  it("answers a known path's other methods with 405 and an Allow header that holds", async () => {
    const paths = [...new Set(server.routes.map((route) => concrete(route.path)))]
    assert.isAtLeast(paths.length, 40)
    let refused = 0
    for (const path of paths) {
      const own = server.routes.filter((route) => concrete(route.path) === path).map((route) => route.method)
      for (const method of methods) {
        const answer = await send(method, path)
        if (answer.status !== 405) continue
        refused++
        const what = `${method} ${path}`
        assert.isNotNull(answer.allow, what)
        const allow = answer.allow!.split(", ")
        assert.notInclude(allow, method, what)
        for (const ownMethod of own) assert.include(allow, ownMethod, what)
        assert.strictEqual(answer.type, "application/problem+json", what)
        assert.include(answer.body, "method-not-allowed", what)
        // Every method it names is taken there: asked with it, the server never answers 405.
        for (const named of allow) {
          const retried = await send(named, path)
          assert.notStrictEqual(retried.status, 405, `${what}: Allow names ${named}`)
        }
      }
      // The route's own methods are never refused as such.
      for (const method of own) assert.notStrictEqual((await send(method, path)).status, 405, `${method} ${path}`)
    }
    assert.isAtLeast(refused, 100)
  })

  it("keeps 404 for paths no route answers, and HEAD for what GET answers", async () => {
    for (const path of ["/nope", "/v1/campaigns/p1/nope", "/click", "/v1", "/demo"]) {
      for (const method of methods) {
        const answer = await send(method, path)
        assert.strictEqual(answer.status, 404, `${method} ${path}`)
        assert.isNull(answer.allow, `${method} ${path}`)
      }
    }
    const head = await fetch(`${server.url}/healthz`, { method: "HEAD" })
    assert.strictEqual(head.status, 200)
  })

  it("refuses another method on the ad server's route without deciding an ad", async () => {
    for (const method of ["POST", "PUT", "DELETE", "HEAD"]) {
      const response = await fetch(`${server.url}/ad?site=demo-news&slot=side&w=300&h=250&format=json`, { method })
      assert.strictEqual(response.status, 405, method)
      assert.strictEqual(response.headers.get("allow"), "GET", method)
      assert.notInclude(await response.text(), "decisionId", method)
    }
  })
})
