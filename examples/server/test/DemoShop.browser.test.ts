/**
 * End to end in a real browser: headless Chromium (Debian's package, driven by playwright-core) walks the demo
 * shop served by the reference server, with the real tag from `/tag.js`, and the events it sent are read back
 * through the inspector: page views, the product view, the add to cart and the purchase, all under one
 * pseudonymous visitor and never the raw first-party id.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { existsSync } from "node:fs"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { inspect, startServer, type TestServer } from "./support/server.js"

const executablePath = "/usr/bin/chromium"
const available = existsSync(executablePath)
const inCi = process.env.CI === "true"

let server: TestServer | undefined
let browser: Browser | undefined

beforeAll(async () => {
  if (!available) return
  server = await startServer()
  browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
  })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

/** Fails in CI when Chromium is missing; elsewhere skips with the reason. */
const requireBrowser = (ctx: { skip: (note?: string) => never }): { server: TestServer; browser: Browser } => {
  if (!available) {
    if (inCi) assert.fail(`${executablePath} is missing: install Debian's chromium package (CI=true, so this fails)`)
    ctx.skip(`${executablePath} is missing: install Debian's chromium package to run the browser tests`)
  }
  return { server: server!, browser: browser! }
}

/** Records what the page and the tag did, to explain a failure. */
const record = (page: Page, log: Array<string>): void => {
  page.on("console", (message) => log.push(`console.${message.type()}: ${message.text()}`))
  page.on("pageerror", (error) => log.push(`pageerror: ${error.message}`))
  page.on("requestfailed", (request) =>
    log.push(`request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ""}`)
  )
  page.on("response", (response) => {
    if (/\/(collect|px\.gif|tag\.js)/.test(response.url())) {
      log.push(`${response.status()} ${response.request().method()} ${response.url().slice(0, 160)}`)
    }
  })
}

/** Polls the inspector (the tag batches for a second) until `ready` holds for the events not seen before. */
const waitForEvents = async (
  url: string,
  before: ReadonlySet<string>,
  ready: (events: Array<any>) => boolean,
  log: ReadonlyArray<string>,
  timeoutMs = 10_000
): Promise<Array<any>> => {
  const deadline = Date.now() + timeoutMs
  let events: Array<any> = []
  while (Date.now() < deadline) {
    events = (await inspect(url, 1000)).filter((event) => !before.has(event.id)).reverse()
    if (ready(events)) return events
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return assert.fail(
    `the tag's events did not all arrive within ${timeoutMs} ms.\nstored: ${JSON.stringify(
      events.map((e) => [e.type, e.data.url])
    )}\nbrowser log:\n${log.join("\n")}`
  )
}

const seenIds = async (url: string) => new Set((await inspect(url, 1000)).map((event) => event.id as string))

const visitorCookie = async (context: BrowserContext): Promise<string | undefined> =>
  (await context.cookies()).find((cookie) => cookie.name === "_oa_vid")?.value

describe("the demo shop in headless Chromium", () => {
  it("sends page views, the product view, the add to cart and the purchase under one pseudonymous visitor", async (ctx) => {
    const { browser, server } = requireBrowser(ctx)
    const before = await seenIds(server.url)
    const context = await browser.newContext()
    const log: Array<string> = []
    try {
      const page = await context.newPage()
      record(page, log)
      const shop = `${server.url}/demo/shop/`

      await page.goto(shop)
      await page.click('a[href="product.html?sku=sku-boots"]')
      await page.waitForURL(/\/product\.html\?sku=sku-boots$/)
      assert.strictEqual(await page.textContent("#name"), "Trail boots")

      await page.click("#add")
      await page.waitForSelector("#added", { state: "visible" })
      await page.click('#added a[href="checkout.html"]')
      await page.waitForURL(/\/checkout\.html$/)
      assert.include(await page.textContent("#lines"), "1 × Trail boots")

      await page.click("#place-order")
      await page.waitForURL(/\/thanks\.html\?order=order-\d+$/)
      const orderId = new URL(page.url()).searchParams.get("order")!
      assert.include(await page.textContent("#summary"), orderId)

      const events = await waitForEvents(
        server.url,
        before,
        (events) =>
          events.filter((e) => e.type === "page_view").length >= 4 &&
          ["product_view", "add_to_cart", "conversion"].every((type) => events.some((e) => e.type === type)),
        log
      )

      const pageViews = events.filter((e) => e.type === "page_view")
      assert.sameMembers(
        pageViews.map((e) => e.data.url),
        [shop, `${shop}product.html`, `${shop}checkout.html`, `${shop}thanks.html`],
        "one page view per page, stored without the query string"
      )

      const productView = events.find((e) => e.type === "product_view")
      assert.deepInclude(productView.data, {
        productId: "sku-boots",
        category: "shoes",
        unitPrice: 12900,
        currency: "EUR",
        url: `${shop}product.html`
      })

      const addToCart = events.find((e) => e.type === "add_to_cart")
      assert.deepInclude(addToCart.data, { productId: "sku-boots", quantity: 1, unitPrice: 12900, currency: "EUR" })

      const conversion = events.find((e) => e.type === "conversion")
      assert.deepInclude(conversion.data, {
        conversionType: "purchase",
        orderId,
        currency: "EUR",
        value: 12900,
        url: `${shop}thanks.html`
      })
      assert.deepStrictEqual(conversion.data.items, [
        { productId: "sku-boots", quantity: 1, unitPrice: 12900, category: "shoes" }
      ])

      // Each event once, all of one visitor, who is known only by the server's keyed pseudonym.
      assert.strictEqual(new Set(events.map((e) => e.id)).size, events.length)
      const rawVisitorId = await visitorCookie(context)
      assert.match(rawVisitorId ?? "", /^[\da-f]{32}$/, "the tag keeps a first-party visitor id cookie")
      const visitors = new Set(events.map((e) => e.visitor))
      assert.strictEqual(visitors.size, 1, `one visitor across the journey, got ${[...visitors].join(", ")}`)
      const [visitor] = visitors
      assert.isString(visitor)
      assert.notStrictEqual(visitor, rawVisitorId)
      assert.notInclude(JSON.stringify(events), rawVisitorId!)
      for (const event of events) {
        assert.isTrue(event.consent.decision.identifier, event.type)
        assert.strictEqual(event.site, "demo")
        assert.match(event.clientTs ?? "", /^\d{4}-\d\d-\d\dT/, `${event.type} carries the browser's timestamp`)
      }
    } finally {
      await context.close()
    }
  }, 60_000)

  it("sends another page view when a single-page app changes route with history.pushState", async (ctx) => {
    const { browser, server } = requireBrowser(ctx)
    const before = await seenIds(server.url)
    const context = await browser.newContext()
    const log: Array<string> = []
    try {
      const page = await context.newPage()
      record(page, log)
      const shop = `${server.url}/demo/shop/`
      await page.goto(shop)
      const [first] = await waitForEvents(
        server.url,
        before,
        (events) => events.some((e) => e.type === "page_view"),
        log
      )

      await page.evaluate(() => history.pushState({ route: 2 }, "", "/demo/shop/spa/route-2?tab=reviews#top"))
      const events = await waitForEvents(
        server.url,
        before,
        (events) => events.filter((e) => e.type === "page_view").length >= 2,
        log
      )
      const pageViews = events.filter((e) => e.type === "page_view")
      assert.strictEqual(pageViews.length, 2, JSON.stringify(pageViews))
      assert.strictEqual(pageViews[0].data.url, shop)
      const routed = pageViews[1]
      assert.strictEqual(routed.data.url, `${shop}spa/route-2`)
      assert.strictEqual(routed.data.referrer, server.url, "the previous route is the referrer, kept as its origin")
      assert.strictEqual(routed.visitor, first.visitor)
      assert.isString(routed.visitor)
      assert.notInclude(JSON.stringify(events), (await visitorCookie(context))!)
    } finally {
      await context.close()
    }
  }, 60_000)
})
