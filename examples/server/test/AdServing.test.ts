/**
 * The ad server's routes under hostile input: random and tampered click tokens never redirect anywhere but a landing
 * page registered for the decision (and never to a foreign site), bad tokens get a 400 page (HTML for a browser, a
 * problem for a program), random `/ad` parameters never get a 5xx, the ad document carries its policy and the data
 * attributes, and JSON answers have the documented shape.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Agent, request } from "node:http"
import { startServer, type TestServer } from "./support/server.js"

const adUrl = (server: TestServer, query: string) => `${server.url}/ad?${query}`

describe("ad serving under hostile input", () => {
  let server: TestServer
  let clickUrls: Array<string>
  beforeAll(async () => {
    server = await startServer({ demo: true })
    // The demo's campaigns are seeded once the server listens: wait for a first ad.
    const deadline = Date.now() + 20_000
    for (;;) {
      const answer = (await (
        await fetch(adUrl(server, "site=demo-news&slot=side&w=300&h=250&ctx=news&format=json"))
      ).json()) as { clickUrl: string | null }
      if (answer.clickUrl !== null) break
      if (Date.now() > deadline) throw new Error("no ad within 20 s")
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    clickUrls = []
    for (const [w, h] of [
      [300, 250],
      [728, 90]
    ]) {
      const answer = (await (
        await fetch(adUrl(server, `site=demo-news&slot=s${w}&w=${w}&h=${h}&ctx=news&format=json`))
      ).json()) as { clickUrl: string }
      clickUrls.push(answer.clickUrl)
    }
  }, 60_000)
  afterAll(() => server?.stop())

  it("refuses each bad slot parameter with a 400 naming it: a problem for programs, a page for browsers", async () => {
    const good = { site: "demo-news", slot: "side", w: "300", h: "250", ctx: "news" }
    const cases: ReadonlyArray<readonly [string, Record<string, string | ReadonlyArray<string>>]> = [
      ["site", { site: "no-such-site" }],
      ["site", { site: ["demo-news", "demo-news"] }],
      ["slot", { slot: "a slot with spaces" }],
      ["slot", { slot: "x".repeat(65) }],
      ["w", { w: "0" }],
      ["w", { w: "4001" }],
      ["h", { h: "25.5" }],
      ["h", { h: ["250", "90"] }],
      ["ctx", { ctx: "<script>" }]
    ]
    for (const [field, override] of cases) {
      const query = new URLSearchParams()
      for (const [name, value] of Object.entries({ ...good, ...override })) {
        for (const one of typeof value === "string" ? [value] : value) query.append(name, one)
      }
      const json = await fetch(adUrl(server, `${query}&format=json`))
      assert.strictEqual(json.status, 400, `${query}`)
      assert.match(json.headers.get("content-type") ?? "", /^application\/problem\+json/)
      const problem = (await json.json()) as { field?: string; detail?: string }
      assert.strictEqual(problem.field, field, `${query}`)
      const page = await fetch(adUrl(server, `${query}`), { headers: { accept: "text/html" } })
      assert.strictEqual(page.status, 400)
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/)
      assert.include(await page.text(), field)
    }
  })

  it("answers the documented JSON and an HTML document with its policy", async () => {
    const json = await fetch(adUrl(server, "site=demo-news&slot=side&w=300&h=250&ctx=news&format=json"))
    assert.strictEqual(json.status, 200)
    const body = (await json.json()) as Record<string, unknown>
    for (const field of ["decisionId", "campaignId", "creativeId", "personalized", "reason", "products", "html"]) {
      assert.property(body, field)
    }
    assert.isFalse(body.personalized, "no cookie, no personalization")
    assert.match(String(body.clickUrl), /\/click\/[A-Za-z0-9_-]+$/)
    assert.match(String(body.impressionUrl), /\/ad\/impression\/rendered\/[A-Za-z0-9_-]+$/)
    const html = await fetch(adUrl(server, "site=demo-news&slot=side&w=300&h=250&ctx=news"))
    assert.strictEqual(html.status, 200)
    assert.match(html.headers.get("content-type") ?? "", /^text\/html/)
    const policy = html.headers.get("content-security-policy") ?? ""
    assert.include(policy, "default-src 'none'")
    assert.match(policy, /script-src 'nonce-[A-Za-z0-9+/_=-]+'/)
    assert.isNull(html.headers.get("x-frame-options"), "publishers frame it")
    const document = await html.text()
    assert.match(document, /data-oa-personalized="false"/)
  })

  it("redirects a valid click to the registered landing page on the advertiser's site", async () => {
    for (const url of clickUrls) {
      const answer = await fetch(url, { redirect: "manual" })
      assert.strictEqual(answer.status, 302, url)
      const location = new URL(answer.headers.get("location") ?? "")
      assert.strictEqual(location.origin, new URL(server.url).origin, "the demo shop's origin")
      assert.match(location.pathname, /^\/demo\/shop\//)
    }
  })

  it("never redirects a random or tampered token, whatever the request says", async () => {
    const valid = clickUrls.map((url) => url.slice(url.lastIndexOf("/") + 1))
    const tampered = fc
      .tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 1, max: 255 }))
      .map(([token, at, flip]) => {
        const bytes = Buffer.from(token, "base64url")
        const i = at % bytes.length
        bytes[i] = bytes[i]! ^ flip
        return bytes.toString("base64url")
      })
    const token = fc.oneof(
      tampered,
      fc.string({ maxLength: 300 }),
      fc.base64String({ maxLength: 400 }),
      fc.constantFrom(...valid).map((t) => `${t}A`),
      fc.constantFrom(...valid).map((t) => t.slice(0, -2)),
      fc.constantFrom("", "..", "%2e%2e", "https:%2F%2Fevil.example", "a".repeat(5000))
    )
    await fc.assert(
      fc.asyncProperty(token, fc.boolean(), async (t, browser) => {
        const answer = await fetch(
          `${server.url}/click/${encodeURIComponent(t).replace(/%2F/gi, "/")}?url=https://evil.example/`,
          {
            redirect: "manual",
            headers: browser ? { accept: "text/html", referer: "https://evil.example/" } : {}
          }
        )
        const text = await answer.text()
        assert.isBelow(answer.status, 500, text)
        assert.notStrictEqual(answer.status, 302, `redirected for ${t}: ${answer.headers.get("location")}`)
        assert.isNull(answer.headers.get("location"))
        if (answer.status === 400 && browser) assert.match(answer.headers.get("content-type") ?? "", /^text\/html/)
        if (answer.status === 400 && !browser) {
          assert.strictEqual(answer.headers.get("content-type"), "application/problem+json")
        }
      }),
      { numRuns: 150, seed: 1205 }
    )
  })

  it("never answers /ad with a 5xx, whatever the parameters", async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        "demo-news",
        "demo",
        "300",
        "250",
        "-1",
        "0",
        "99999",
        "1e3",
        "NaN",
        "json",
        "html",
        "%00",
        "<script>"
      )
    )
    const params = fc.dictionary(
      fc.constantFrom(
        "site",
        "slot",
        "w",
        "h",
        "ctx",
        "format",
        "gdpr",
        "gdpr_consent",
        "gpp",
        "gpp_sid",
        "us_privacy",
        "coppa"
      ),
      value,
      { maxKeys: 8 }
    )
    await fc.assert(
      fc.asyncProperty(params, fc.boolean(), async (p, gpc) => {
        const answer = await fetch(adUrl(server, new URLSearchParams(p).toString()), {
          headers: { ...(gpc ? { "sec-gpc": "1" } : {}), cookie: "oa_xid=AAAAAAAAAAAAAAAAAAAAAA" }
        })
        const text = await answer.text()
        assert.isBelow(answer.status, 500, text)
        if (answer.status === 200 && p.format === "json") {
          assert.isFalse(
            (JSON.parse(text) as { personalized: boolean }).personalized,
            "an unknown browser is never personalized"
          )
        }
        if (answer.status === 200) assert.notInclude(text, "<script>alert")
      }),
      { numRuns: 150, seed: 51205 }
    )
  })
  it("answers every ad of a burst over shared keep-alive connections with its own answer, clients that hang up too", async () => {
    // Answers decided in one turn of the event loop are written together: each must still reach its own request
    // whole, JSON and HTML mixed, while other clients hang up before theirs is written.
    const agent = new Agent({ keepAlive: true, maxSockets: 6 })
    const get = (path: string) =>
      new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const req = request(`${server.url}${path}`, { agent }, (res) => {
          let body = ""
          res.setEncoding("utf8")
          res.on("data", (chunk: string) => {
            body += chunk
          })
          res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"] ?? "", body }))
        })
        req.on("error", reject)
        req.end()
      })
    const hangUps = Array.from({ length: 20 }, async () => {
      const controller = new AbortController()
      const sent = fetch(adUrl(server, "site=demo-news&slot=side&w=300&h=250&format=json"), {
        signal: controller.signal
      }).catch(() => undefined)
      controller.abort()
      await sent
    })
    try {
      const answers = await Promise.all(
        Array.from({ length: 240 }, (_, n) =>
          get(
            `/ad?site=demo-news&slot=s${n % 7}&w=${n % 2 === 0 ? "300&h=250" : "728&h=90"}&ctx=news${n % 3 === 0 ? "" : "&format=json"}`
          )
        )
      )
      await Promise.all(hangUps)
      const ids = new Set<string>()
      answers.forEach((answer, n) => {
        assert.strictEqual(answer.status, 200, answer.body)
        if (n % 3 === 0) {
          assert.match(answer.type, /^text\/html/)
          const id = /data-oa-decision="([^"]+)"/.exec(answer.body)?.[1]
          assert.isDefined(id, answer.body.slice(0, 200))
          ids.add(id!)
        } else {
          const json = JSON.parse(answer.body) as { decisionId: string; campaignId: string }
          assert.isString(json.campaignId)
          ids.add(json.decisionId)
        }
      })
      assert.strictEqual(ids.size, answers.length, "every request got an answer of its own")
    } finally {
      agent.destroy()
    }
  })
  it("carries the server's headers on every /ad answer: ads, refusals, empty documents, a cleared cookie", async () => {
    // The ad handler writes these itself (nothing is set before its writeHead): each kind of answer must have them.
    const cases: ReadonlyArray<readonly [string, string, RequestInit?]> = [
      ["decided JSON", "site=demo-news&slot=side&w=300&h=250&ctx=news&format=json"],
      ["decided document", "site=demo-news&slot=side&w=300&h=250&ctx=news"],
      ["refused JSON", "site=no-such-site&slot=side&w=300&h=250&format=json"],
      ["refused page", "site=demo-news&slot=a%20b&w=300&h=250", { headers: { accept: "text/html" } }],
      ["refused problem", "site=demo-news&slot=side&w=0&h=250"],
      ["empty document", "site=demo-news&slot=side&w=3&h=7"],
      [
        "JSON clearing the cookie",
        "site=demo-news&slot=side&w=300&h=250&format=json",
        { headers: { "sec-gpc": "1", cookie: "oa_xid=AAAAAAAAAAAAAAAAAAAAAA" } }
      ],
      [
        "document clearing the cookie",
        "site=demo-news&slot=side&w=300&h=250",
        { headers: { "sec-gpc": "1", cookie: "oa_xid=AAAAAAAAAAAAAAAAAAAAAA" } }
      ]
    ]
    for (const [what, query, init] of cases) {
      const answer = await fetch(adUrl(server, query), init)
      await answer.arrayBuffer()
      assert.strictEqual(answer.headers.get("x-content-type-options"), "nosniff", what)
      assert.match(answer.headers.get("referrer-policy") ?? "", /^no-referrer/, what)
      assert.isNull(answer.headers.get("x-frame-options"), what)
      assert.isNull(answer.headers.get("strict-transport-security"), `${what}: plain http`)
      if (what.startsWith("decided") || what.includes("clearing")) {
        assert.strictEqual(answer.status, 200, what)
        assert.strictEqual(answer.headers.get("cache-control"), "no-store", what)
        assert.isNotNull(answer.headers.get("content-length"), what)
      }
      if (what.includes("clearing")) assert.match(answer.headers.get("set-cookie") ?? "", /^oa_xid=; Max-Age=0/, what)
      else assert.isNull(answer.headers.get("set-cookie"), what)
    }
    const https = await startServer({ demo: true, publicUrl: "https://ads.example" })
    try {
      for (const query of [
        "site=demo-news&slot=side&w=300&h=250&format=json",
        "site=demo-news&slot=side&w=300&h=250"
      ]) {
        const answer = await fetch(`${https.url}/ad?${query}`)
        await answer.arrayBuffer()
        assert.match(answer.headers.get("strict-transport-security") ?? "", /^max-age=\d{7,}/, query)
      }
    } finally {
      await https.stop()
    }
  })
})
