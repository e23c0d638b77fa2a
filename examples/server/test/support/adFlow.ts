/**
 * The retargeting flow over HTTP, shared by the SQLite and PostgreSQL tests: a browser (played by fetch) views Trail
 * boots in the demo shop, follows the first-party link to the ad server, gets a personalized ad with Trail boots on
 * the demo news site, clicks it (302 to the product page registered in the catalog), buys, and the conversion shows in
 * the campaign's statistics; another browser, and the same one with GPC, never gets a personalized ad.
 */
import { assert } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import { randomBytes } from "node:crypto"
import { adminKey, type TestServer } from "./server.js"

const id = (prefix: string) => `${prefix}-${randomBytes(6).toString("hex")}`

const pixel = async (url: string, event: Record<string, unknown>) => {
  const answer = await fetch(`${url}/px.gif?${WireFormat.encodeQuery(event as never)}`)
  await answer.arrayBuffer()
  assert.strictEqual(answer.status, 200)
}

type AdJson = {
  personalized: boolean
  campaignId: string | null
  products: Array<{ id: string }>
  clickUrl: string | null
  html: string
}

const ad = async (url: string, cookie: string | undefined, headers: Record<string, string> = {}): Promise<AdJson> => {
  const answer = await fetch(`${url}/ad?site=demo-news&slot=${id("s")}&w=300&h=250&ctx=news&format=json`, {
    headers: { ...headers, ...(cookie === undefined ? {} : { cookie }) }
  })
  assert.strictEqual(answer.status, 200)
  return (await answer.json()) as AdJson
}

const eventually = async <A>(what: string, attempt: () => Promise<A | undefined>, timeoutMs = 30_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await attempt()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

export const adFlowScenario = async (server: TestServer) => {
  const url = server.url
  const visitorId = `vis_${randomBytes(8).toString("hex")}`
  await pixel(url, { type: "product_view", id: id("view"), site: "demo", visitorId, productId: "sku-boots" })

  // Not linked yet: never personalized.
  assert.isFalse((await ad(url, undefined)).personalized)

  // The visitor id is posted in a form body (never in a URL); the ad server keeps its pseudonym for the redirect.
  const start = await fetch(`${url}/xsite/link`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ site: "demo", vid: visitorId, return: `${url}/demo/shop/` }),
    redirect: "manual"
  })
  assert.strictEqual(start.status, 303)
  const next = start.headers.get("location")!
  assert.notInclude(next, visitorId)
  const pending = (start.headers.get("set-cookie") ?? "").split(";")[0]!
  assert.match(pending, /^oa_xlink=s1\./)
  const link = await fetch(new URL(next, url), { headers: { cookie: pending }, redirect: "manual" })
  assert.strictEqual(link.status, 303)
  assert.strictEqual(link.headers.get("location"), `${url}/demo/shop/`)
  const cookie = link.headers
    .getSetCookie()
    .find((line) => line.startsWith("oa_xid="))!
    .split(";")[0]!
  assert.match(cookie, /^oa_xid=[A-Za-z0-9_-]{22}$/)

  const personalized = await eventually("a personalized ad", async () => {
    const answer = await ad(url, cookie)
    return answer.personalized ? answer : undefined
  })
  assert.strictEqual(personalized.campaignId, "demo-retargeting")
  assert.deepStrictEqual(
    personalized.products.map((p) => p.id),
    ["sku-boots"]
  )
  assert.include(personalized.html, 'data-oa-product-id="sku-boots"')

  // The same browser with GPC, and another browser: nothing personal.
  const withGpc = await ad(url, cookie, { "sec-gpc": "1" })
  assert.isFalse(withGpc.personalized)
  assert.deepStrictEqual(
    withGpc.products.filter((p) => p.id === "sku-boots" && withGpc.campaignId === "demo-retargeting"),
    []
  )
  assert.isFalse((await ad(url, "oa_xid=AAAAAAAAAAAAAAAAAAAAAA")).personalized)

  // The product's click: 302 to its catalog link, counted.
  const productClick = /href="([^"]*\/click\/[A-Za-z0-9_-]+)"/.exec(personalized.html)?.[1]
  assert.isDefined(productClick)
  const click = await fetch(productClick!, { redirect: "manual" })
  assert.strictEqual(click.status, 302)
  assert.strictEqual(click.headers.get("location"), `${url}/demo/shop/product.html?sku=sku-boots`)

  // The purchase is attributed to the click.
  const orderId = id("order")
  await pixel(url, {
    type: "conversion",
    id: id("buy"),
    site: "demo",
    visitorId,
    orderId,
    conversionType: "purchase",
    currency: "EUR",
    value: 12_900,
    items: [{ productId: "sku-boots", quantity: 1, unitPrice: 12_900 }]
  })
  const total = await eventually("the conversion in the statistics", async () => {
    const stats = await fetch(`${url}/v1/campaigns/demo-retargeting/stats?days=1`, {
      headers: { authorization: `Bearer ${adminKey}` }
    })
    const body = (await stats.json()) as { total: { clicks: number; conversions: number; conversionValue: number } }
    return body.total.conversions >= 1 ? body.total : undefined
  })
  assert.isAtLeast(total.clicks, 1)
  assert.strictEqual(total.conversions, 1)
  assert.strictEqual(total.conversionValue, 12_900)

  // Bought since: Trail boots are not shown to this visitor any more.
  await eventually("no boots after the purchase", async () => {
    const answer = await ad(url, cookie)
    return answer.products.some((p) => p.id === "sku-boots") ? undefined : answer
  })
}
