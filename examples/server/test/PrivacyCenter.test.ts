/**
 * The privacy center at the HTTP level, under attack: a forged or foreign session, a visitor id nobody has (of the
 * right or a wrong format) and an unknown site all see byte for byte the page of a browser with no data; an erasure
 * posted from another site is refused and erases nothing; identification is rate-limited; the downloads are
 * attachments (JSON, and a ZIP of CSV files holding the visitor's events); the public key is an Ed25519 JWK set; and
 * no log line of the whole run holds the raw visitor id.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Center, Subject } from "@openaudience/dsar"
import { WireFormat } from "@openaudience/pixel"
import { Seed } from "@openaudience/tenancy"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import { sessionCookie } from "../src/PrivacyCenter.js"
import { heldBySubject, type LoggedServer, startLoggedServer, unzipText } from "./support/privacyCenter.js"
import { inspect } from "./support/server.js"

let server: LoggedServer
/** The visitor id the tag keeps in the shop's cookie: 32 hex digits, as in `oa("privacy")`. */
const vid = randomBytes(16).toString("hex")
/** The visitor's stored pseudonym and tenant (through the inspector). */
let stored: { visitor: string; tenant: string }
/** The session cookie of the visitor, after identification. */
let session: string
/** The page of a browser that presents nothing. */
let empty: string

const identify = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/privacy`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body
  })

/** The session cookie (`name=value`) a 303 of `POST /privacy` sets. */
const sessionOf = (response: Response): string => {
  assert.strictEqual(response.status, 303)
  assert.strictEqual(response.headers.get("location"), "/privacy")
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`${sessionCookie}=`))
  assert.isDefined(cookie, "a session cookie")
  assert.match(cookie!, /HttpOnly/)
  assert.match(cookie!, /Path=\/privacy/)
  return cookie!.split(";")[0]!
}

const page = async (cookie?: string) => {
  const response = await fetch(`${server.url}/privacy`, { headers: cookie === undefined ? {} : { cookie } })
  assert.strictEqual(response.status, 200)
  assert.strictEqual(response.headers.get("cache-control"), "no-store")
  return response.text()
}

beforeAll(async () => {
  server = await startLoggedServer()
  const event = {
    type: "product_view",
    id: `evt_privacy_${Date.now().toString(36)}`,
    site: "demo",
    clientTs: Date.now(),
    url: "https://shop.example/products/boots",
    visitorId: vid,
    productId: "sku-boots",
    category: "shoes",
    unitPrice: 12900,
    currency: "EUR"
  } as any
  const pixel = await fetch(`${server.url}/px.gif?${WireFormat.encodeQuery(event)}`)
  assert.strictEqual(pixel.status, 200)
  const found = (await inspect(server.url)).find((e) => e.id === event.id)
  assert.isString(found?.visitor, "the event is stored under a pseudonym")
  stored = { visitor: found.visitor, tenant: Seed.demoTenant.id }
  empty = await page()
  session = sessionOf(await identify(`site=demo&vid=${vid}`))
}, 60_000)
afterAll(() => server?.stop())

describe("the privacy center", () => {
  it("shows the visitor's own data after identification, and nothing to a browser that presents nothing", async () => {
    assert.include(empty, "Nothing is held about this browser.")
    const own = await page(session)
    assert.match(own, /<p class="status" id="summary">[1-9]\d* records are held about this browser\./)
    assert.include(own, "sku-boots")
    assert.notInclude(own, vid, "the raw visitor id is never on the page")
    assert.notStrictEqual(own, empty)
  })

  it("shows a forged session, a foreign session, an unknown visitor id, a malformed one and an unknown site the page of a browser with no data", async () => {
    const [name] = session.split("=")
    const forged = `${name}=s1.${randomBytes(64).toString("base64url")}`
    const tampered = `${session.slice(0, -4)}${session.endsWith("AAAA") ? "BBBB" : "AAAA"}`
    // A session for the very visitor, sealed under another server's secret: it must not open.
    const sealedWith = (fill: number) =>
      `${name}=${Center.seal(
        Center.sessionKey(Redacted.make(new Uint8Array(32).fill(fill))),
        new Center.Session({
          subjects: [new Subject.Visitor({ tenant: stored.tenant, visitor: stored.visitor })],
          expiresAt: Date.now() + 600_000
        })
      )}`
    // The same session under the test server's own secret (ServerConfig.layerTest's) opens: the foreign one differs
    // only by its key.
    assert.notStrictEqual(await page(sealedWith(7)), empty)
    const foreign = sealedWith(9)
    const pages: Record<string, string> = {
      forged: await page(forged),
      tampered: await page(tampered),
      foreign: await page(foreign),
      "unknown vid": await page(sessionOf(await identify(`site=demo&vid=${randomBytes(16).toString("hex")}`))),
      "malformed vid": await page(sessionOf(await identify(`site=demo&vid=${vid.toUpperCase()}x`))),
      "vid of another format": await page(sessionOf(await identify(`site=demo&vid=vis_${vid.slice(0, 16)}`))),
      "unknown site": await page(sessionOf(await identify(`site=no-such-site&vid=${vid}`))),
      "no fields": await page(sessionOf(await identify(""))),
      "garbage cookie": await page(`${name}=%%%; other=1`)
    }
    for (const [what, html] of Object.entries(pages)) assert.strictEqual(html, empty, what)
  })

  it("refuses an erasure posted from another site or origin, and erases nothing", async () => {
    for (const headers of [
      { "sec-fetch-site": "cross-site" } as Record<string, string>,
      { "sec-fetch-site": "same-site" },
      { origin: "https://evil.example" },
      {}
    ]) {
      const response = await fetch(`${server.url}/privacy/delete`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: session, ...headers },
        body: "confirm=yes"
      })
      assert.strictEqual(response.status, 403, JSON.stringify(headers))
    }
    assert.match(await page(session), /[1-9]\d* records are held about this browser\./)
    const held = await heldBySubject(server.database, new Subject.Visitor(stored))
    assert.isAbove(
      Object.values(held).reduce((a, b) => a + b, 0),
      0,
      `the visitor's rows are still there: ${JSON.stringify(held)}`
    )
  })

  it("offers the data as a JSON attachment holding the visitor's event and product", async () => {
    const response = await fetch(`${server.url}/privacy/download.json`, { headers: { cookie: session } })
    assert.strictEqual(response.status, 200)
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/)
    assert.match(response.headers.get("content-disposition") ?? "", /^attachment; filename="[^"]+\.json"$/)
    const text = await response.text()
    const json = JSON.parse(text)
    assert.isObject(json)
    assert.include(text, "sku-boots")
    assert.include(text, "product_view")
    assert.notInclude(text, vid)
  })

  it("offers the data as a ZIP attachment of CSV files holding the visitor's event", async () => {
    const response = await fetch(`${server.url}/privacy/download.zip`, { headers: { cookie: session } })
    assert.strictEqual(response.status, 200)
    assert.strictEqual(response.headers.get("content-type"), "application/zip")
    assert.match(response.headers.get("content-disposition") ?? "", /^attachment; filename="[^"]+\.zip"$/)
    const files = unzipText(new Uint8Array(await response.arrayBuffer()))
    const csv = Object.keys(files).filter((name) => name.endsWith(".csv"))
    assert.isAbove(csv.length, 0, `CSV files in ${JSON.stringify(Object.keys(files))}`)
    assert.isTrue(
      csv.some((name) => files[name]!.includes("sku-boots")),
      "the product view is in a CSV file"
    )
  })

  it("publishes the report key as a JWK set with one public Ed25519 key", async () => {
    const response = await fetch(`${server.url}/.well-known/openaudience-dsar-key`)
    assert.strictEqual(response.status, 200)
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/)
    const set = (await response.json()) as { keys: Array<Record<string, unknown>> }
    assert.isArray(set.keys)
    assert.strictEqual(set.keys.length, 1)
    const [key] = set.keys
    assert.strictEqual(key!.kty, "OKP")
    assert.strictEqual(key!.crv, "Ed25519")
    assert.match(String(key!.x), /^[A-Za-z0-9_-]{43}$/, "a 32-byte public key, base64url")
    assert.notProperty(key, "d", "never the private key")
  })

  it("erases from its own page: the answer lists the signed report at once, and nothing is held afterwards", async () => {
    const response = await fetch(`${server.url}/privacy/delete`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: session,
        "sec-fetch-site": "same-origin"
      },
      body: "confirm=yes"
    })
    assert.strictEqual(response.status, 200)
    const html = await response.text()
    assert.include(html, "Your data is deleted.")
    const link = /href="(\/privacy\/report\/[^"]+)"/.exec(html)?.[1]
    assert.isDefined(link, "the page lists the report of the erasure it made")
    const next = response.headers
      .getSetCookie()
      .find((c) => c.startsWith(`${sessionCookie}=`))!
      .split(";")[0]!
    const report = await fetch(`${server.url}${link}`, { headers: { cookie: next } })
    assert.strictEqual(report.status, 200)
    assert.match(report.headers.get("content-disposition") ?? "", /^attachment;/)
    assert.strictEqual(((await report.json()) as any).report.tenant, stored.tenant)
    const foreign = await fetch(`${server.url}${link}`)
    assert.strictEqual(foreign.status, 404, "another browser cannot read the report")
    assert.include(await page(session), "Nothing is held about this browser.")
    const held = await heldBySubject(server.database, new Subject.Visitor(stored))
    assert.deepStrictEqual(
      Object.entries(held).filter(([, rows]) => rows > 0),
      []
    )
  })

  it("limits identification per network: after many forms, 429 with Retry-After", async () => {
    const statuses: Array<number> = []
    let retryAfter: string | null = null
    for (let i = 0; i < 40; i++) {
      const response = await identify(`site=demo&vid=${randomBytes(16).toString("hex")}`)
      statuses.push(response.status)
      if (response.status === 429) {
        retryAfter = response.headers.get("retry-after")
        assert.include(await response.text(), "Too many requests")
        break
      }
    }
    assert.include(statuses, 303)
    assert.strictEqual(statuses.at(-1), 429, JSON.stringify(statuses))
    assert.match(retryAfter ?? "", /^[1-9]\d*$/, "Retry-After in whole seconds")
  })

  it("never writes the raw visitor id to the log", () => {
    const lines = server.logs()
    assert.isAbove(lines.length, 0, "the server's log was captured")
    const leaks = lines.filter((line) => line.toLowerCase().includes(vid))
    assert.deepStrictEqual(leaks, [])
  })
})
