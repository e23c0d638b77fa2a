/**
 * End to end in a real browser: headless Chromium (Debian's package, driven by playwright-core) walks the demo
 * shop served by the reference server, with the real tag from `/tag.js`, and the events it sent are read back
 * through the inspector: page views, the product view, the add to cart and the purchase, all under one
 * pseudonymous visitor and never the raw first-party id.
 */
import { assert, describe, it } from "@effect/vitest"
import { browserSuite, record, seenIds, visitorCookie, waitForEvents } from "./support/browser.js"

const requireBrowser = browserSuite()

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
      await page.waitForURL(/\/thanks\.html\?order=order-[0-9a-z]+$/)
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
        [shop, `${shop}product.html?sku=sku-boots`, `${shop}checkout.html`, `${shop}thanks.html`],
        "one page view per page, keeping only allowlisted parameters (sku), never the order id"
      )

      const productView = events.find((e) => e.type === "product_view")
      assert.deepInclude(productView.data, {
        productId: "sku-boots",
        category: "shoes",
        unitPrice: 12900,
        currency: "EUR",
        url: `${shop}product.html?sku=sku-boots`
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
      assert.strictEqual(routed.data.url, `${shop}spa/route-2#top`, "a parameter not allowlisted is dropped")
      assert.strictEqual(
        routed.data.referrer,
        `${shop}`,
        "the previous route is the referrer: same site, so scrubbed like a URL rather than cut to its origin"
      )
      assert.strictEqual(routed.visitor, first.visitor)
      assert.isString(routed.visitor)
      assert.notInclude(JSON.stringify(events), (await visitorCookie(context))!)
    } finally {
      await context.close()
    }
  }, 60_000)
})
