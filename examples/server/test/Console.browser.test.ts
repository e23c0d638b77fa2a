/**
 * The console in headless Chromium: an owner invited by mail (received by a real SMTP server in this process)
 * accepts through the mailed link, signs in through the form, sees the sites page with the tag snippet of the
 * tenant's site, creates an API key (shown once: gone on the next visit of the page, and working), and signs out.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Snippet } from "@openaudience/pixel"
import * as Redacted from "effect/Redacted"
import type { Browser } from "playwright-core"
import { launch, runsInBrowser } from "./support/browser.js"
import { freePort } from "./support/ports.js"
import { startServer, type TestServer } from "./support/server.js"
import { advertiser, call, freshEmail, linkIn, operatorKey, password, smtpInbox } from "./support/users.js"

// Like the other browser tests: skipped without Chromium, except in CI, where it must run.
describe.runIf(runsInBrowser)("the console in Chromium", () => {
  let server: TestServer
  let inbox: Awaited<ReturnType<typeof smtpInbox>>
  let browser: Browser
  beforeAll(async () => {
    inbox = await smtpInbox()
    server = await startServer({
      port: await freePort(),
      operatorKey: Redacted.make(operatorKey),
      smtpUrl: Redacted.make(inbox.url)
    })
    browser = await launch()
  }, 90_000)
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await inbox?.close()
  })

  it("accept, sign in, sites with the snippet, a key shown once, sign out", { timeout: 90_000 }, async () => {
    const siteKey = `console-${Date.now()}`
    const tenant = await advertiser(server.url, "Console Lamps", siteKey)
    const email = freshEmail("owner")
    const invited = await call(server.url, tenant.owner, "POST", "/v1/users/invitations", { email, role: "owner" })
    assert.strictEqual(invited.status, 201, JSON.stringify(invited.body))
    const link = linkIn(await inbox.next(), `${server.url}/console/accept?token=`)

    const context = await browser.newContext()
    const page = await context.newPage()
    try {
      await page.goto(link)
      await page.fill("#password", password)
      await page.fill("#firstName", "Olive")
      await Promise.all([page.waitForURL(/\/console\/login\?done=accepted$/), page.click("button[type=submit]")])

      await page.fill("#email", email)
      await page.fill("#password", password)
      await Promise.all([page.waitForURL(/\/console\/account$/), page.click("main button[type=submit]")])
      assert.strictEqual(await page.textContent("#email"), email)
      const session = (await context.cookies()).find((cookie) => cookie.name === "oa_session")
      assert.isDefined(session)
      assert.isTrue(session!.httpOnly)
      assert.strictEqual(session!.sameSite, "Lax")

      await page.click("text=Sites")
      await page.waitForURL(/\/console\/sites$/)
      assert.strictEqual(await page.textContent(".site h2"), siteKey)
      assert.strictEqual(await page.textContent(".snippet"), Snippet.snippet(server.url, siteKey))

      await page.click("text=API keys")
      await page.waitForURL(/\/console\/keys$/)
      await page.selectOption("#role", "analyst")
      await page.click("text=Create a key")
      const key = ((await page.textContent("#new-key")) ?? "").trim()
      assert.match(key, /^oa_[A-Za-z0-9_-]{43}$/)
      // The key works (an analyst reads statistics) and is never shown again.
      assert.strictEqual((await call(server.url, key, "GET", "/v1/stats/daily")).status, 200)
      await page.goto(`${server.url}/console/keys`)
      assert.strictEqual(await page.locator("#new-key").count(), 0)
      assert.notInclude(await page.content(), key)

      await Promise.all([page.waitForURL(/\/console\/login\?done=out$/), page.click("text=Sign out")])
      assert.isUndefined((await context.cookies()).find((cookie) => cookie.name === "oa_session"))
      await page.goto(`${server.url}/console/sites`)
      assert.match(page.url(), /\/console\/login$/)
    } finally {
      await context.close()
    }
  })
})
