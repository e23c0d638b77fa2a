/**
 * The README's path for a new advertiser, followed literally: with the server running, `pnpm openaudience` creates a
 * tenant, its site (the origin of a page of its own) and an admin key; that page, with the tag snippet for the new
 * site key, is opened in headless Chromium; the page's events are then read with the new key (and are not among the
 * demo tenant's). No code changed, no restart.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Snippet } from "@openaudience/pixel"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Browser } from "playwright-core"
import { eventually } from "./support/audiences.js"
import { launch, runsInBrowser } from "./support/browser.js"
import { adminKey, startServer, type TestServer } from "./support/server.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))

/** `pnpm -s openaudience <args> --json` from the repository root, as the README says. */
const openaudience = (databaseUrl: string, ...args: ReadonlyArray<string>): Promise<any> =>
  new Promise((resolve, reject) =>
    execFile(
      "pnpm",
      ["-s", "openaudience", ...args, "--json"],
      { cwd: root, env: { ...process.env, OA_DATABASE_URL: databaseUrl }, timeout: 90_000 },
      (error, stdout, stderr) =>
        error === null ? resolve(JSON.parse(stdout)) : reject(new Error(`openaudience ${args.join(" ")}: ${stderr}`))
    )
  )

// Like the other browser tests: skipped without Chromium, except in CI, where it must run.
describe.runIf(runsInBrowser)("a second tenant, from the README", () => {
  let dir: string
  let server: TestServer
  let page: Server
  let pageUrl: string
  let browser: Browser
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "oa-own-tenant-"))
    server = await startServer({ databaseUrl: `sqlite:${join(dir, "openaudience.db")}` })
    page = createServer((_, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" })
      res.end(
        `<!doctype html><html><head>${Snippet.snippet(server.url, "acme-lamps")}</head><body>Acme lamps</body></html>`
      )
    })
    await new Promise<void>((resolve) => page.listen(0, "127.0.0.1", resolve))
    const address = page.address()
    pageUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
    browser = await launch()
  }, 90_000)
  afterAll(async () => {
    await browser?.close()
    page?.close()
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("stores the events of its own page, read with its own key", { timeout: 180_000 }, async () => {
    const databaseUrl = `sqlite:${join(dir, "openaudience.db")}`
    const tenant = await openaudience(databaseUrl, "tenant", "create", "--name", "Acme Lamps")
    assert.match(tenant.id, /^ten_[0-9a-f]{16}$/)
    const site = await openaudience(
      databaseUrl,
      "site",
      "add",
      "--tenant",
      tenant.id,
      "--site-key",
      "acme-lamps",
      "--origin",
      pageUrl
    )
    assert.strictEqual(site.siteKey, "acme-lamps")
    const key = await openaudience(databaseUrl, "key", "create", "--tenant", tenant.id, "--role", "admin")
    assert.match(key.key, /^oa_[A-Za-z0-9_-]{43}$/)

    const read = async (bearer: string) => {
      const response = await fetch(`${server.url}/v1/events?limit=100`, {
        headers: { authorization: `Bearer ${bearer}` }
      })
      return response.status === 200 ? ((await response.json()) as { events: Array<any> }).events : undefined
    }
    // The running server sees the new key within seconds.
    await eventually("the new key works", async () => ((await read(key.key)) === undefined ? undefined : true), 10)

    const context = await browser.newContext()
    try {
      const tab = await context.newPage()
      await tab.goto(pageUrl)
      const events = await eventually(
        "the page's events are stored",
        async () => {
          const found = (await read(key.key))?.filter((e) => e.site === "acme-lamps" && e.type === "page_view")
          return found !== undefined && found.length > 0 ? found : undefined
        },
        20
      )
      assert.strictEqual(events[0].data.url.split("?")[0], `${pageUrl}/`)
    } finally {
      await context.close()
    }
    const demo = (await read(adminKey)) ?? []
    assert.isFalse(
      demo.some((e) => e.site === "acme-lamps"),
      "the demo tenant does not see Acme's events"
    )
  })
})
