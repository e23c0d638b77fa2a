/**
 * The retargeting walk of the README in headless Chromium with default settings (which block third-party cookies):
 * a visitor views Trail boots in the demo shop (`127.0.0.1`), follows the shop's "show me what I viewed here on
 * partner sites" link (the ad server sets its cookie first-party, on its own name `localhost`, and sends the visitor
 * back), opens the demo news site (`localhost`: another site than the shop to the browser), and an ad slot of the
 * news site shows a personalized ad with Trail boots; a click leads to the product page through the click redirect.
 * Without that link the browser is not recognized (no third-party cookie); with Global Privacy Control, the same walk
 * gets no cookie, no personalized ad and no product from the visit.
 */
import { assert, describe, it } from "@effect/vitest"
import type { BrowserContext, Frame, Page } from "playwright-core"
import { browserSuite, record, runsInBrowser, seenIds, waitForEvents } from "./support/browser.js"
import { adminKey } from "./support/server.js"

// The demo's synthetic visitors: its audience passes the size floor of 50 with them.
const requireBrowser = browserSuite({ demoSyntheticVisitors: 60 })

/** The news page on the server's `localhost` name. */
const newsUrl = (serverUrl: string) => `${serverUrl.replace("//127.0.0.1", "//localhost")}/demo/news/`

/** The ad document of a slot of the news page, once it loaded. */
const adFrame = async (page: Page, slot: "top" | "side"): Promise<Frame> => {
  const element = await page.waitForSelector(`iframe[src*="slot=${slot}"]`, { timeout: 10_000 })
  const frame = await element.contentFrame()
  if (frame === null) throw new Error(`the ${slot} slot has no document`)
  await frame.waitForSelector("[data-oa-personalized]", { timeout: 10_000 })
  return frame
}

/** Opens the news page until a slot's ad is personalized (the worker builds the audience meanwhile). */
const personalizedAd = async (context: BrowserContext, url: string, log: Array<string>) => {
  const deadline = Date.now() + 30_000
  for (;;) {
    const page = await context.newPage()
    record(page, log)
    await page.goto(url)
    // The two slots load together; the campaign's recency block gives the second one another ad: either may hold it.
    for (const slot of ["side", "top"] as const) {
      const frame = await adFrame(page, slot)
      const personalized = await frame.getAttribute("[data-oa-personalized]", "data-oa-personalized")
      if (personalized === "true") return { page, frame }
    }
    await page.close()
    if (Date.now() > deadline) {
      const xid = (await context.cookies(url)).find((c) => c.name === "oa_xid")?.value
      const probe = await fetch(`${new URL(url).origin}/ad?site=demo-news&slot=side&w=300&h=250&ctx=news&format=json`, {
        headers: { cookie: `oa_xid=${xid}` }
      })
      const stats = await fetch(`${new URL(url).origin}/v1/audiences/viewed-not-bought/stats?days=1`, {
        headers: { authorization: `Bearer ${adminKey}` }
      })
      const events = (await (
        await fetch(`${new URL(url).origin}/v1/events?limit=100`, {
          headers: { authorization: `Bearer ${adminKey}` }
        })
      ).json()) as { events: Array<{ id: string; visitor: string; type: string; consent: unknown }> }
      const mine = events.events.filter((e) => !e.id.startsWith("demo-synthetic"))
      const visitor = mine[0]?.visitor
      const explain = await fetch(`${new URL(url).origin}/v1/audiences/viewed-not-bought/explain?visitor=${visitor}`, {
        headers: { authorization: `Bearer ${adminKey}` }
      })
      throw new Error(
        `no personalized ad within 30 s (cookie ${xid}): ${(await probe.text()).slice(0, 200)}\n${await stats.text()}\n${JSON.stringify(mine.map((e) => [e.type, e.visitor, JSON.stringify(e.consent).slice(0, 300)]))}\n${await explain.text()}`
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000))
  }
}

describe.runIf(runsInBrowser)("retargeting across two sites in headless Chromium", () => {
  it("shows the product viewed in the shop on the news site, and its click leads to the product", {
    timeout: 90_000
  }, async (ctx) => {
    const { browser, server } = requireBrowser(ctx)
    const before = await seenIds(server.url)
    const context = await browser.newContext()
    const log: Array<string> = []
    try {
      const shop = await context.newPage()
      record(shop, log)
      await shop.goto(`${server.url}/demo/shop/product.html?sku=sku-boots`)
      await waitForEvents(server.url, before, (events) => events.some((e) => e.type === "product_view"), log)
      // Third-party cookies are blocked: the collector's cross-site cookie does not reach the news site's name.
      const ads = server.url.replace("//127.0.0.1", "//localhost")
      assert.isFalse((await context.cookies(ads)).some((c) => c.name === "oa_xid"))

      shop.on("request", (r) => {
        if (r.url().includes("xsite")) log.push(`xsite: ${r.url()}`)
      })
      log.push(`cookies before: ${JSON.stringify((await context.cookies(server.url)).map((c) => [c.name, c.value]))}`)
      await shop.click("#partner-ads")
      await shop.waitForURL(/127\.0\.0\.1.*\/demo\/shop\/product\.html\?sku=sku-boots$/)
      const cookies = await context.cookies(ads)
      assert.isTrue(
        cookies.some((c) => c.name === "oa_xid" && c.httpOnly),
        `the ad server set its cookie first-party: ${JSON.stringify(cookies.map((c) => c.name))}`
      )

      const { page, frame } = await personalizedAd(context, newsUrl(server.url), log)
      const products = await frame.$$eval("[data-oa-product-id]", (elements) =>
        elements.map((e) => e.getAttribute("data-oa-product-id"))
      )
      assert.include(products, "sku-boots", "the product viewed is in the ad")
      assert.include(await frame.textContent("body"), "Trail boots")

      // In view for more than a second: measured inside the ad, counted as a viewable impression.
      await page.waitForTimeout(1_800)

      // The click goes through the signed redirect to the product page registered in the catalog.
      const link = await frame.waitForSelector('[data-oa-product-id="sku-boots"] a, a[data-oa-product-id="sku-boots"]')
      const href = await link.getAttribute("href")
      assert.match(href ?? "", /\/click\/[A-Za-z0-9_-]+$/)
      const [landing] = await Promise.all([context.waitForEvent("page"), link.click()])
      await landing.waitForURL(/\/demo\/shop\/product\.html\?sku=sku-boots$/, { timeout: 10_000 })
      assert.strictEqual(new URL(landing.url()).hostname, "127.0.0.1")
      await page.close()

      // Buy: the conversion is attributed to the click and shows in the campaign's statistics.
      record(landing, log)
      await landing.click("#add")
      await landing.waitForSelector("#added", { state: "visible" })
      await landing.click('#added a[href="checkout.html"]')
      await landing.waitForURL(/\/checkout\.html$/)
      await landing.click("#place-order")
      await landing.waitForURL(/\/thanks\.html\?order=/)
      const deadline = Date.now() + 30_000
      let total:
        | { impressions: number; viewable: number; clicks: number; conversions: number; conversionValue: number }
        | undefined
      for (;;) {
        const stats = await fetch(`${server.url}/v1/campaigns/demo-retargeting/stats?days=1`, {
          headers: { authorization: `Bearer ${adminKey}` }
        })
        total = ((await stats.json()) as { total: typeof total }).total
        if ((total?.conversions ?? 0) >= 1 || Date.now() > deadline) break
        await new Promise((resolve) => setTimeout(resolve, 1_000))
      }
      assert.isAtLeast(total?.impressions ?? 0, 1, JSON.stringify(total))
      assert.isAtLeast(total?.viewable ?? 0, 1, JSON.stringify(total))
      assert.isAtLeast(total?.clicks ?? 0, 1, JSON.stringify(total))
      assert.strictEqual(total?.conversions, 1, JSON.stringify(total))
      assert.strictEqual(total?.conversionValue, 12_900, "the order's value, in minor units")
    } finally {
      await context.close()
    }
  })

  it("with Global Privacy Control, shows no personalized ad and nothing from the visit", {
    timeout: 60_000
  }, async (ctx) => {
    const { browser, server } = requireBrowser(ctx)
    const before = await seenIds(server.url)
    const context = await browser.newContext({ extraHTTPHeaders: { "Sec-GPC": "1" } })
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true })
    })
    const log: Array<string> = []
    try {
      const shop = await context.newPage()
      record(shop, log)
      await shop.goto(`${server.url}/demo/shop/product.html?sku=sku-jacket`)
      await waitForEvents(server.url, before, (events) => events.some((e) => e.type === "product_view"), log)
      await shop.click("#partner-ads")
      await shop.waitForURL(/127\.0\.0\.1.*\/demo\/shop\/product\.html\?sku=sku-jacket$/)
      for (const url of [server.url, server.url.replace("//127.0.0.1", "//localhost")]) {
        assert.isFalse(
          (await context.cookies(url)).some((c) => c.name === "oa_xid"),
          `no cross-site id under GPC: ${url}`
        )
      }
      for (let visit = 0; visit < 3; visit++) {
        const page = await context.newPage()
        record(page, log)
        await page.goto(newsUrl(server.url))
        for (const slot of ["top", "side"] as const) {
          const frame = await adFrame(page, slot)
          assert.strictEqual(
            await frame.getAttribute("[data-oa-personalized]", "data-oa-personalized"),
            "false",
            `${slot}: ${log.join("\n")}`
          )
          const products = await frame.$$eval("[data-oa-product-id]", (elements) =>
            elements.map((e) => e.getAttribute("data-oa-product-id"))
          )
          assert.notInclude(products, "sku-jacket")
        }
        await page.close()
        await new Promise((resolve) => setTimeout(resolve, 1_000))
      }
    } finally {
      await context.close()
    }
  })
})
