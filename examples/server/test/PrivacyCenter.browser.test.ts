/**
 * The visitors' privacy center walked end to end in headless Chromium: a visitor views Trail boots in the demo shop,
 * follows the shop's partner-ads link (the ad server links its cookie to the shop's visitor), sees a personalized ad
 * on the news site, and opens the privacy center twice: from the shop footer's "Your ad data" (the tag posts the
 * visitor id in a form body) and from the ad's AdChoices link (the ad server's own cookie). The center lists the
 * product view and the ad shown; "Download my data" hands over a JSON file with them; "Delete my data", confirmed,
 * erases everything and shows the reports, whose signed JSON verifies with the published key. Afterwards the events
 * inspector has none of the visitor's events, no registered store holds anything of the erased pseudonym, and the
 * next visit to the shop is stored under a new pseudonym. No request of the whole walk has the visitor id in its URL.
 */
import { assert, describe, it } from "@effect/vitest"
import { BrowserLinks } from "@openaudience/ad-selector"
import { Report, Subject } from "@openaudience/dsar"
import { Seed } from "@openaudience/tenancy"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createPublicKey, verify } from "node:crypto"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import type { BrowserContext, Download, Frame, Page } from "playwright-core"
import { browserSuite, record, runsInBrowser, seenIds, visitorCookie, waitForEvents } from "./support/browser.js"
import { heldBySubject } from "./support/privacyCenter.js"
import { inspect } from "./support/server.js"

// The demo's synthetic visitors: its audience passes the size floor of 50 with them.
const requireBrowser = browserSuite({ demoSyntheticVisitors: 60 })

/** The news page on the server's `localhost` name (another site than the shop on `127.0.0.1`). */
const newsUrl = (serverUrl: string) => `${serverUrl.replace("//127.0.0.1", "//localhost")}/demo/news/`

/** Opens the news page until one of its slots shows a personalized ad (the worker builds the audience meanwhile). */
const personalizedAd = async (
  context: BrowserContext,
  url: string,
  log: Array<string>
): Promise<{ page: Page; frame: Frame }> => {
  const deadline = Date.now() + 40_000
  for (;;) {
    const page = await context.newPage()
    record(page, log)
    await page.goto(url)
    for (const slot of ["side", "top"] as const) {
      const element = await page.waitForSelector(`iframe[src*="slot=${slot}"]`, { timeout: 10_000 })
      const frame = await element.contentFrame()
      if (frame === null) throw new Error(`the ${slot} slot has no document`)
      await frame.waitForSelector("[data-oa-personalized]", { timeout: 10_000 })
      if ((await frame.getAttribute("[data-oa-personalized]", "data-oa-personalized")) === "true") {
        return { page, frame }
      }
    }
    await page.close()
    if (Date.now() > deadline) assert.fail(`no personalized ad within 40 s\n${log.join("\n")}`)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
  }
}

/** The number in a section heading of the center, e.g. "Ads shown and clicked (2)". */
const sectionCount = async (page: Page, id: string): Promise<number> => {
  const heading = (await page.textContent(`h2#${id}`)) ?? ""
  return Number(/\((\d+)\)\s*$/.exec(heading)?.[1] ?? "0")
}

/** Reloads the center until it lists the product view and an ad shown (an impression is stored asynchronously). */
const centerListsVisitAndAd = async (page: Page) => {
  const deadline = Date.now() + 15_000
  for (;;) {
    const visits = await sectionCount(page, "events")
    const ads = await sectionCount(page, "ad-decisions")
    if ((visits > 0 && ads > 0) || Date.now() > deadline)
      return { visits, ads, text: (await page.textContent("main")) ?? "" }
    await new Promise((resolve) => setTimeout(resolve, 500))
    await page.reload()
  }
}

const downloadText = async (download: Download): Promise<string> => readFile(await download.path(), "utf8")

describe.runIf(runsInBrowser)("the privacy center in headless Chromium", () => {
  it("lists the visit and the ad, downloads them, erases them with a signed report, and the next visit is a stranger", {
    timeout: 150_000
  }, async (ctx) => {
    const { browser, server } = requireBrowser(ctx)
    const before = await seenIds(server.url)
    const context = await browser.newContext({ acceptDownloads: true })
    const requested: Array<string> = []
    context.on("request", (request) => requested.push(request.url()))
    const log: Array<string> = []
    try {
      // 1. The shop: a product view, stored under the visitor's pseudonym.
      const shop = await context.newPage()
      record(shop, log)
      await shop.goto(`${server.url}/demo/shop/product.html?sku=sku-boots`)
      const views = await waitForEvents(
        server.url,
        before,
        (events) => events.some((e) => e.type === "product_view" && e.visitor !== null),
        log
      )
      const pseudonym: string = views.find((e) => e.type === "product_view").visitor
      const vid = await visitorCookie(context)
      assert.match(vid ?? "", /^[\da-f]{32}$/, "the tag keeps a visitor id in the shop's cookie")
      assert.notStrictEqual(pseudonym, vid, "the server stores a pseudonym, not the id")

      // 2. The cross-site link, then a personalized ad on the news site.
      await shop.click("#partner-ads")
      await shop.waitForURL(/127\.0\.0\.1.*\/demo\/shop\/product\.html\?sku=sku-boots$/)
      const { page: news, frame } = await personalizedAd(context, newsUrl(server.url), log)
      const products = await frame.$$eval("[data-oa-product-id]", (elements) =>
        elements.map((e) => e.getAttribute("data-oa-product-id"))
      )
      assert.include(products, "sku-boots", "the ad shows the product viewed")

      // 3a. The shop footer's "Your ad data": the tag posts the visitor id in a form body; the center lists the view.
      await shop.getByRole("link", { name: "Your ad data" }).click()
      await shop.waitForURL(/127\.0\.0\.1:\d+\/privacy$/)
      assert.strictEqual(await shop.textContent("h1"), "Your ad data")
      assert.isAbove(await sectionCount(shop, "events"), 0, (await shop.textContent("main")) ?? "")
      assert.include(await shop.textContent("section[aria-labelledby=events]"), "sku-boots")

      // 3b. The ad's AdChoices link opens the center on the ad server's name: the view and the ad shown.
      const choices = await frame.waitForSelector("a.oa-choices")
      const [center] = await Promise.all([context.waitForEvent("page"), choices.click()])
      record(center, log)
      await center.waitForURL(/localhost:\d+\/privacy$/)
      const listed = await centerListsVisitAndAd(center)
      assert.isAbove(listed.visits, 0, listed.text)
      assert.isAbove(listed.ads, 0, listed.text)
      assert.include(await center.textContent("section[aria-labelledby=events]"), "sku-boots")
      assert.notInclude(await center.content(), vid!, "the page never shows the visitor id")
      await news.close()

      // 4. Download my data: a JSON file with the product view, its product and the ad.
      const [json] = await Promise.all([
        center.waitForEvent("download"),
        center.getByRole("link", { name: "Download my data" }).click()
      ])
      assert.match(json.suggestedFilename(), /\.json$/)
      const exported = await downloadText(json)
      const data = JSON.parse(exported)
      assert.isObject(data)
      assert.include(exported, "product_view")
      assert.include(exported, "sku-boots")
      assert.include(exported, "ad-decisions")

      // The ad server's cross-site cookie, and the browser key the demo tenant stores for it (under the test server's
      // secret, ServerConfig.layerTest's).
      const adsOrigin = server.url.replace("//127.0.0.1", "//localhost")
      const xid = (await context.cookies(adsOrigin)).find((c) => c.name === "oa_xid")?.value
      assert.isString(xid)
      const browserSubject = new Subject.Browser({
        tenant: Seed.demoTenant.id,
        browser: BrowserLinks.browserKey(
          BrowserLinks.deriveKey(Redacted.make(new Uint8Array(32).fill(7)), Seed.demoTenant.id),
          xid!
        )
      })
      const database = join(server.dataDir, "test.db")
      const linkedBefore = await heldBySubject(database, browserSubject)
      assert.isAbove(
        Object.values(linkedBefore).reduce((a, b) => a + b, 0),
        0,
        `the browser's link is stored before: ${JSON.stringify(linkedBefore)}`
      )

      // 5. Delete my data, confirmed: the page says so and lists the reports.
      await center.getByRole("button", { name: "Delete my data" }).click()
      await center.waitForURL(/\/privacy\/delete\??$/)
      await center.getByRole("button", { name: "Yes, delete my data" }).click()
      await center.waitForLoadState()
      await center
        .waitForSelector("#reports", { timeout: 15_000 })
        .catch(async () => assert.fail(`no reports after the erasure: ${center.url()}\n${await center.content()}`))
      assert.include(await center.textContent("[role=status]"), "Your data is deleted.")
      assert.strictEqual(await sectionCount(center, "events"), 0)
      assert.strictEqual(await sectionCount(center, "ad-decisions"), 0)
      const reportLinks = await center.$$eval('a[href^="/privacy/report/"]', (links) =>
        links.map((link) => link.getAttribute("href")!)
      )
      assert.isAbove(reportLinks.length, 0)
      // The session cookie now holds the reports: they are still listed when the center is opened again.
      await center.goto(center.url().replace(/\/privacy\/delete$/, "/privacy"))
      assert.deepStrictEqual(
        await center.$$eval('a[href^="/privacy/report/"]', (links) => links.map((link) => link.getAttribute("href")!)),
        reportLinks
      )

      // 6. The signed report verifies with the published key and lists every store empty afterwards.
      const keys = (await (await fetch(`${server.url}/.well-known/openaudience-dsar-key`)).json()) as {
        keys: Array<Report.PublicJwk>
      }
      const [download] = await Promise.all([
        center.waitForEvent("download"),
        center.click(`a[href="${reportLinks[0]}"]`)
      ])
      const signed = Schema.decodeUnknownSync(Report.SignedFromJson)(await downloadText(download))
      assert.isTrue(
        keys.keys.some((key) => Report.verify(signed, key)),
        "the report verifies with the published key"
      )
      // And independently of the library, with node:crypto over the canonical JSON of the report.
      const jwk = keys.keys.find((key) => key.kid === signed.signature.kid)
      assert.isDefined(jwk, "the report names a published key")
      assert.isTrue(
        verify(
          null,
          Buffer.from(Report.canonicalJson(signed.report as never)),
          createPublicKey({ key: jwk as never, format: "jwk" }),
          Buffer.from(signed.signature.value, "base64url")
        ),
        "node:crypto verifies the Ed25519 signature"
      )
      assert.isFalse(
        keys.keys.some((key) =>
          Report.verify({ ...signed, report: { ...signed.report, completedAt: signed.report.completedAt + 1 } }, key)
        ),
        "a changed report does not verify"
      )
      assert.strictEqual(signed.report.tenant, Seed.demoTenant.id)
      assert.isAbove(signed.report.stores.length, 0)
      for (const store of signed.report.stores) assert.strictEqual(store.remaining, 0, store.name)
      assert.isAbove(
        signed.report.stores.reduce((sum, store) => sum + store.erased, 0),
        0,
        "the report counts what was erased"
      )

      // 7. Nothing of the visitor is left: not in the inspector, not in any registered store.
      const after = await inspect(server.url, 1000)
      assert.deepStrictEqual(
        after.filter((e) => e.visitor === pseudonym).map((e) => e.id),
        [],
        "the inspector lists none of the erased visitor's events"
      )
      const held = await heldBySubject(
        database,
        new Subject.Visitor({ tenant: Seed.demoTenant.id, visitor: pseudonym })
      )
      assert.isAbove(Object.keys(held).length, 0)
      assert.deepStrictEqual(
        Object.entries(held).filter(([, rows]) => rows > 0),
        [],
        "no registered store holds anything of the erased pseudonym"
      )
      assert.deepStrictEqual(
        Object.entries(await heldBySubject(database, browserSubject)).filter(([, rows]) => rows > 0),
        [],
        "no registered store holds anything of the browser's key"
      )
      assert.isFalse(
        (await context.cookies(adsOrigin)).some((c) => c.name === "oa_xid"),
        "the ad server's cookie is cleared"
      )

      // 8. The next visit to the shop is a stranger: a new pseudonym.
      const seen = new Set(after.map((e) => e.id as string))
      const again = await context.newPage()
      record(again, log)
      await again.goto(`${server.url}/demo/shop/product.html?sku=sku-jacket`)
      const next = await waitForEvents(
        server.url,
        seen,
        (events) => events.some((e) => e.type === "product_view" && e.data.productId === "sku-jacket"),
        log
      )
      const newPseudonym = next.find((e) => e.type === "product_view" && e.data.productId === "sku-jacket").visitor
      assert.isString(newPseudonym)
      assert.notStrictEqual(newPseudonym, pseudonym, "the next visit is stored under a new pseudonym")

      // 9. The visitor id was never in a URL the browser requested (plain or URL-encoded).
      assert.isAbove(requested.length, 10)
      const leaks = requested.filter(
        (url) => url.toLowerCase().includes(vid!) || decodeURIComponent(url).includes(vid!)
      )
      assert.deepStrictEqual(leaks, [], "no request URL carries the visitor id")
    } finally {
      await context.close()
    }
  })
})
