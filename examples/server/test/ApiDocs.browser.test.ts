/**
 * The admin API's reference page in Chromium: `/docs` loads from the server alone (every request the page makes
 * goes to its own origin, none is blocked by its content security policy), shows every operation, and links to the
 * OpenAPI document it is rendered from.
 */
import { assert, describe, it } from "@effect/vitest"
import { browserSuite, runsInBrowser } from "./support/browser.js"

describe.runIf(runsInBrowser)("the API reference page", () => {
  const suite = browserSuite()

  it("loads from its own origin only and lists every operation", { timeout: 60_000 }, async (ctx) => {
    const { server, browser } = suite(ctx)
    const page = await browser.newPage()
    const requests: Array<string> = []
    const problems: Array<string> = []
    page.on("request", (request) => requests.push(request.url()))
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text())
    })
    page.on("pageerror", (error) => problems.push(error.message))
    const response = await page.goto(`${server.url}/docs`)
    assert.strictEqual(response?.status(), 200)
    const origin = new URL(server.url).origin
    assert.deepStrictEqual(
      requests.filter((url) => new URL(url).origin !== origin),
      [],
      "requests to other origins"
    )
    assert.deepStrictEqual(problems, [], "console errors (a blocked resource shows here)")
    assert.strictEqual(await page.locator("h1").first().textContent(), "OpenAudience admin API 0.1.0")
    const spec = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>
    }
    const operations = Object.values(spec.paths).reduce((n, item) => n + Object.keys(item).length, 0)
    assert.strictEqual(await page.locator("section.op").count(), operations)
    const method = await page
      .locator("section.op .method.post")
      .first()
      .evaluate((e) => getComputedStyle(e).color)
    assert.strictEqual(method, "rgb(255, 255, 255)", "the inline style applies under the page's policy")
    await page.getByRole("link", { name: "/openapi.json" }).click()
    assert.match(page.url(), /\/openapi\.json$/)
    await page.close()
  })
})
