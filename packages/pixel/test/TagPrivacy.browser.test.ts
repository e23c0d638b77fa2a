/**
 * `oa('privacy')` in headless Chromium (Debian's package, driven by playwright-core), with the tag built from the
 * sources: a shop on `127.0.0.1` and its collector on `localhost` (two sites, as in production). The form really
 * posts `site` and the cookie's `vid` to `<endpoint>/privacy` with no identifier in the URL, follows the collector's
 * 303 in the same tab, opens a new tab without an opener with `newTab`, and sends no `vid` without the cookie.
 * Fails in CI (CI=true) when Chromium is missing; skips with the reason elsewhere.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { existsSync } from "node:fs"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Browser, chromium } from "playwright-core"
import { buildTag } from "../scripts/tag-build.mjs"
import * as Snippet from "../src/Snippet.js"

const executablePath = "/usr/bin/chromium"
const available = existsSync(executablePath)
const inCi = process.env.CI === "true"

interface Posted {
  readonly url: string
  readonly method: string
  readonly contentType: string
  readonly body: string
  readonly host: string
}

const read = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let body = ""
    request.setEncoding("utf8")
    request.on("data", (chunk: string) => {
      body += chunk
    })
    request.on("end", () => resolve(body))
    request.on("error", reject)
  })

let server: Server | undefined
let browser: Browser | undefined
let port = 0
let tag = ""
const posted: Array<Posted> = []
const shop = () => `http://127.0.0.1:${port}`
const collector = () => `http://localhost:${port}`

beforeAll(async () => {
  if (!available) return
  const dir = await mkdtemp(join(tmpdir(), "oa-tag-privacy-"))
  tag = await readFile(await buildTag(dir), "utf8")
  await rm(dir, { recursive: true, force: true })
  server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://x")
    const host = request.headers.host ?? ""
    if (url.pathname === "/tag.js") {
      response.writeHead(200, { "content-type": "text/javascript" }).end(tag)
    } else if (url.pathname === "/collect") {
      void read(request).then(() => response.writeHead(204).end())
    } else if (url.pathname === "/privacy" && request.method === "POST") {
      void read(request).then((body) => {
        posted.push({
          url: request.url ?? "",
          method: request.method ?? "",
          contentType: request.headers["content-type"] ?? "",
          body,
          host
        })
        response.writeHead(303, { location: "/privacy" }).end()
      })
    } else if (url.pathname === "/privacy") {
      response.writeHead(200, { "content-type": "text/html" }).end("<title>Privacy center</title><p>center")
    } else if (url.pathname === "/shop") {
      const open = url.searchParams.get("newTab") === "1" ? `oa("privacy", { newTab: true })` : `oa("privacy")`
      response
        .writeHead(200, { "content-type": "text/html" })
        .end(
          `<!doctype html><html><head><title>Shop</title>${Snippet.snippet(collector(), "demo-shop")}</head>` +
            `<body><footer><a id="privacy" href="${collector()}/privacy" ` +
            `onclick='event.preventDefault(); ${open}'>Your ad data</a></footer></body></html>`
        )
    } else {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve))
  port = (server.address() as AddressInfo).port
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--headless", "--disable-gpu"] })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)))
})

const ready = (ctx: { skip: (note?: string) => never }): Browser => {
  if (!available) {
    if (inCi) assert.fail(`${executablePath} is missing: install Debian's chromium package (CI=true, so this fails)`)
    ctx.skip(`${executablePath} is missing: install Debian's chromium package to run the browser tests`)
  }
  return browser!
}

/** Opens the shop page, waits for the tag's page view, and returns the page and its visitor id cookie. */
const visit = async (chrome: Browser, query = "") => {
  const context = await chrome.newContext()
  const page = await context.newPage()
  // The tag keeps its visitor id cookie when it sends the page view (after its 1 s batching delay).
  const sent = page.waitForRequest(`${collector()}/collect`)
  await page.goto(`${shop()}/shop${query}`)
  await sent
  const cookie = (await context.cookies(shop())).find((c) => c.name === "_oa_vid")
  return { context, page, vid: cookie?.value }
}

describe("oa('privacy') in Chromium", () => {
  it("posts site and vid in the body to the collector's /privacy and follows its 303 in the same tab", async (ctx) => {
    const chrome = ready(ctx)
    const { context, page, vid } = await visit(chrome)
    assert.match(vid!, /^[0-9a-f]{32}$/)
    const before = posted.length
    await Promise.all([page.waitForURL(`${collector()}/privacy`), page.click("#privacy")])
    assert.strictEqual(await page.title(), "Privacy center")
    const [form] = posted.slice(before)
    assert.deepStrictEqual(form, {
      url: "/privacy",
      method: "POST",
      contentType: "application/x-www-form-urlencoded",
      body: `site=demo-shop&vid=${vid}`,
      host: `localhost:${port}`
    })
    await context.close()
  }, 30_000)

  it("sends no vid when the browser has no visitor id cookie", async (ctx) => {
    const chrome = ready(ctx)
    const { context, page } = await visit(chrome)
    await context.clearCookies()
    const before = posted.length
    await Promise.all([page.waitForURL(`${collector()}/privacy`), page.click("#privacy")])
    assert.strictEqual(posted.slice(before)[0]!.body, "site=demo-shop")
    await context.close()
  }, 30_000)

  it("with { newTab: true }: the center opens in a new tab without an opener; the shop stays", async (ctx) => {
    const chrome = ready(ctx)
    const { context, page, vid } = await visit(chrome, "?newTab=1")
    const before = posted.length
    const [center] = await Promise.all([context.waitForEvent("page"), page.click("#privacy")])
    await center.waitForURL(`${collector()}/privacy`)
    assert.isTrue(await center.evaluate(() => window.opener === null))
    assert.strictEqual(page.url(), `${shop()}/shop?newTab=1`)
    assert.strictEqual(posted.slice(before)[0]!.body, `site=demo-shop&vid=${vid}`)
    await context.close()
  }, 30_000)
})
