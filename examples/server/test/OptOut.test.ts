import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import * as OptOut from "../src/OptOut.js"
import { inspect, startServer, type TestServer } from "./support/server.js"

let server: TestServer
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server.stop())

const form = (action: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/optout`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: `action=${action}`
  })

describe("opt-out", () => {
  it("explains itself on an accessible page with one button", async () => {
    const response = await fetch(`${server.url}/optout`)
    assert.strictEqual(response.status, 200)
    const html = await response.text()
    assert.include(html, '<html lang="en">')
    assert.include(html, "What opting out does")
    assert.match(html, /<form method="post" action="\/optout">[\s\S]*<button type="submit"[^>]*>Opt out<\/button>/)
    assert.include(html, "If you delete your cookies")
  })

  it("sets a long-lived HttpOnly cookie without JavaScript, and the collector honours it whatever the tag sends", async () => {
    const response = await form("optout")
    assert.strictEqual(response.status, 303)
    assert.strictEqual(response.headers.get("location"), "/optout?done=optout")
    const [collector, tag] = response.headers.getSetCookie()
    assert.match(collector!, /^oa_optout=1;/)
    assert.match(collector!, /HttpOnly/i)
    assert.match(collector!, /Max-Age=15768\d{4}/)
    assert.match(tag!, /^_oa_optout=1;/)
    assert.notMatch(tag!, /HttpOnly/i, "the tag on the same site reads it and creates no visitor id")
    const cookie = collector!.split(";")[0]!
    const status = (await (await fetch(`${server.url}/optout/status`, { headers: { cookie } })).json()) as any
    assert.deepStrictEqual(status, { optedOut: true, gpc: false, dnt: false })
    const event = {
      type: "page_view",
      id: `evt_optout_${Date.now()}`,
      site: "demo",
      visitorId: "vis_tag_ignores_optout"
    } as const
    const pixel = await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(event)}`, { headers: { cookie } })
    assert.strictEqual(pixel.status, 200)
    const stored = (await inspect(server.url)).find((e) => e.id === event.id)
    assert.isNull(stored.visitor)
    assert.isTrue(stored.consent.signals.optout)
  })

  it("opts back in only from its own page, never from a forged cross-site post", async () => {
    const forged = await form("optin", { "sec-fetch-site": "cross-site", cookie: "oa_optout=1" })
    assert.strictEqual(forged.status, 403)
    assert.strictEqual(forged.headers.get("content-type"), "application/problem+json")
    assert.isNull(forged.headers.get("set-cookie"))
    const own = await form("optin", { "sec-fetch-site": "same-origin", cookie: "oa_optout=1" })
    assert.strictEqual(own.status, 303)
    const cleared = own.headers.getSetCookie()
    assert.strictEqual(cleared.length, 2)
    for (const c of cleared) assert.match(c, /^_?oa_optout=;.*Max-Age=0/)
    const json = await fetch(`${server.url}/optout`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
      body: "action=optout"
    })
    assert.deepStrictEqual(await json.json(), { optedOut: true })
    const bad = await form("maybe")
    assert.strictEqual(bad.status, 400)
    assert.strictEqual(((await bad.json()) as any).field, "action")
  })

  it("serves the GPC support statement and reports GPC and DNT", async () => {
    const gpc = await fetch(`${server.url}/.well-known/gpc.json`)
    assert.strictEqual(gpc.status, 200)
    assert.match(gpc.headers.get("content-type") ?? "", /application\/json/)
    assert.strictEqual(((await gpc.json()) as any).gpc, true)
    const status = await fetch(`${server.url}/optout/status`, { headers: { "sec-gpc": "1", dnt: "1" } })
    assert.deepStrictEqual(await status.json(), { optedOut: false, gpc: true, dnt: true })
  })

  it("marks the cookie SameSite=None; Secure behind HTTPS, so it is sent in third-party requests", () => {
    for (const [, , options] of OptOut.cookies(true)) {
      assert.strictEqual(options?.sameSite, "none")
      assert.isTrue(options?.secure)
    }
    for (const [, , options] of OptOut.cookies(false)) assert.strictEqual(options?.sameSite, "lax")
    assert.isFalse(OptOut.isOptedOut("oa_optout=0; other=1"))
    assert.isTrue(OptOut.isOptedOut("a=b; oa_optout=1"))
  })
})
