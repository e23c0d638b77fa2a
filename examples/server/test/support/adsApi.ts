/**
 * Campaigns and the catalog through the admin API, shared by the SQLite and PostgreSQL tests: an advertiser made
 * through the operator API creates, reads, replaces and deletes campaigns (the schema's field paths on bad input,
 * ids unique across tenants, another tenant's campaign a 404, an analyst key refused changes), replaces its catalog
 * from a CSV and a JSON feed (row-by-row report, links on its own origins only, a refused feed changes nothing) and
 * reads a campaign's statistics in the documented shape.
 */
import { assert } from "@effect/vitest"
import { randomUUID } from "node:crypto"
import { call } from "./tenancy.js"

/** An advertiser with an owner key and a site on `https://<siteKey>.example`. */
const advertiser = async (url: string, operatorKey: string, name: string) => {
  const created = await call(url, operatorKey, "POST", "/v1/tenants", { name })
  assert.strictEqual(created.status, 201, JSON.stringify(created.body))
  const owner = await call(url, operatorKey, "POST", `/v1/tenants/${created.body.id}/keys`, { role: "owner" })
  assert.strictEqual(owner.status, 201, JSON.stringify(owner.body))
  const siteKey = `shop-${randomUUID().slice(0, 8)}`
  const site = await call(url, owner.body.key, "POST", "/v1/sites", {
    siteKey,
    origins: [`https://${siteKey}.example`]
  })
  assert.strictEqual(site.status, 201, JSON.stringify(site.body))
  return { id: created.body.id as string, key: owner.body.key as string, origin: `https://${siteKey}.example` }
}

/** A raw request with a body of some content type. */
const put = async (url: string, key: string, path: string, contentType: string, body: string) => {
  const response = await fetch(`${url}${path}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${key}`, "content-type": contentType },
    body
  })
  const text = await response.text()
  return { status: response.status, body: text === "" ? null : JSON.parse(text) }
}

export const campaignBody = (id: string, origin: string, overrides: Record<string, unknown> = {}) => ({
  id,
  name: "Trail boots you viewed",
  status: "active",
  tier: { kind: "remnant" },
  schedule: { start: "2026-01-01T00:00:00.000Z" },
  budget: { daily: { amount: 5000, currency: "EUR" } },
  bid: { amount: 250, currency: "EUR" },
  targeting: { audiences: { include: ["viewed-not-bought"] } },
  caps: [{ scope: "campaign", window: "day", max: 5 }],
  pacing: "even",
  creatives: [{ id: "cr-300", width: 300, height: 250, kind: "product", landingUrl: `${origin}/` }],
  ...overrides
})

export const adsApiScenario = async (url: string, operatorKey: string) => {
  const a = await advertiser(url, operatorKey, "Alpha Ads")
  const b = await advertiser(url, operatorKey, "Beta Ads")
  const id = `cmp-${randomUUID().slice(0, 8)}`

  // Create, read, list.
  const created = await call(url, a.key, "POST", "/v1/campaigns", campaignBody(id, a.origin))
  assert.strictEqual(created.status, 201, JSON.stringify(created.body))
  assert.strictEqual(created.body.tenant, a.id)
  assert.deepStrictEqual(created.body.bid, { amount: 250, currency: "EUR" })
  assert.strictEqual((await call(url, a.key, "GET", `/v1/campaigns/${id}`)).body.name, "Trail boots you viewed")
  assert.deepStrictEqual(
    (await call(url, a.key, "GET", "/v1/campaigns")).body.campaigns.map((c: { id: string }) => c.id),
    [id]
  )

  // Bad input names the field; rules across fields are refused too; nothing is written.
  for (const [body, field] of [
    [campaignBody(`x-${id}`, a.origin, { bid: { amount: 2.5, currency: "EUR" } }), "bid.amount"],
    [campaignBody(`x-${id}`, a.origin, { tier: { kind: "gold" } }), "tier"],
    [campaignBody(`x-${id}`, a.origin, { creatives: [] }), "creatives"],
    [campaignBody(`x-${id}`, a.origin, { tenant: b.id }), "tenant"],
    [
      campaignBody(`x-${id}`, a.origin, { caps: [{ scope: "campaign", window: "fortnight", max: 1 }] }),
      "caps[0].window"
    ]
  ] as const) {
    const refused = await call(url, a.key, "POST", "/v1/campaigns", body)
    assert.strictEqual(refused.status, 400, JSON.stringify(refused.body))
    assert.isTrue(
      refused.body.field === field ||
        refused.body.field.startsWith(`${field}.`) ||
        refused.body.field.startsWith(`${field}[`),
      `${refused.body.field} for ${field}: ${refused.body.detail}`
    )
  }
  const crossField = await call(
    url,
    a.key,
    "POST",
    "/v1/campaigns",
    campaignBody(`x-${id}`, a.origin, { budget: { daily: { amount: 5000, currency: "USD" } } })
  )
  assert.strictEqual(crossField.status, 400)
  assert.include(crossField.body.detail, "USD")
  assert.strictEqual((await call(url, a.key, "GET", `/v1/campaigns/x-${id}`)).status, 404)

  // Ids are unique across tenants; another tenant's campaign is a 404 for every route.
  assert.strictEqual((await call(url, b.key, "POST", "/v1/campaigns", campaignBody(id, b.origin))).status, 409)
  for (const [method, path, body] of [
    ["GET", `/v1/campaigns/${id}`, undefined],
    ["PUT", `/v1/campaigns/${id}`, campaignBody(id, b.origin)],
    ["DELETE", `/v1/campaigns/${id}`, undefined],
    ["GET", `/v1/campaigns/${id}/stats`, undefined]
  ] as const) {
    assert.strictEqual((await call(url, b.key, method, path, body)).status, 404, `${method} ${path}`)
  }
  assert.deepStrictEqual((await call(url, b.key, "GET", "/v1/campaigns")).body.campaigns, [])

  // Replace: the path's id only.
  const renamed = await call(url, a.key, "PUT", `/v1/campaigns/${id}`, campaignBody(id, a.origin, { name: "Boots" }))
  assert.strictEqual(renamed.status, 200, JSON.stringify(renamed.body))
  assert.strictEqual((await call(url, a.key, "GET", `/v1/campaigns/${id}`)).body.name, "Boots")
  const otherId = await call(url, a.key, "PUT", `/v1/campaigns/${id}`, campaignBody(`${id}-2`, a.origin))
  assert.strictEqual(otherId.status, 400)
  assert.strictEqual(otherId.body.field, "id")

  // An analyst reads campaigns and their statistics but changes nothing.
  const analyst = await call(url, operatorKey, "POST", `/v1/tenants/${a.id}/keys`, { role: "analyst" })
  assert.strictEqual((await call(url, analyst.body.key, "GET", "/v1/campaigns")).status, 200)
  assert.strictEqual((await call(url, analyst.body.key, "DELETE", `/v1/campaigns/${id}`)).status, 403)
  assert.strictEqual((await put(url, analyst.body.key, "/v1/catalog", "text/csv", "id\n")).status, 403)

  // Statistics: every documented field, zero without traffic; days bounded.
  const stats = await call(url, analyst.body.key, "GET", `/v1/campaigns/${id}/stats?days=3`)
  assert.strictEqual(stats.status, 200, JSON.stringify(stats.body))
  for (const field of ["impressions", "viewable", "clicks", "ctr", "ctrLow", "ctrHigh", "conversions"]) {
    assert.property(stats.body.total, field)
  }
  for (const field of ["conversionValue", "spend", "cpa", "roas"]) assert.property(stats.body.total, field)
  assert.strictEqual(stats.body.total.impressions, 0)
  assert.isNull(stats.body.total.ctr)
  assert.strictEqual(stats.body.days.length, 3)
  assert.strictEqual((await call(url, a.key, "GET", `/v1/campaigns/${id}/stats?days=0`)).status, 400)

  // The catalog from CSV: valid rows stored, the others reported with their reasons.
  const csv = [
    "id,title,link,image_link,price,availability,brand",
    `sku-1,Trail boots,${a.origin}/p/1,${a.origin}/i/1.svg,129.00 EUR,in stock,Acme`,
    `sku-2,"Rain jacket, blue",${a.origin}/p/2,${a.origin}/i/2.svg,89.50 EUR,out_of_stock,`,
    `sku-3,Stolen link,https://elsewhere.example/p/3,${a.origin}/i/3.svg,10.00 EUR,in_stock,`,
    `sku-4,Bad price,${a.origin}/p/4,${a.origin}/i/4.svg,"12,00 EUR",in_stock,`
  ].join("\r\n")
  const report = await put(url, a.key, "/v1/catalog", "text/csv", csv)
  assert.strictEqual(report.status, 200, JSON.stringify(report.body))
  assert.strictEqual(report.body.accepted, 2)
  assert.strictEqual(report.body.rejected, 2)
  const reasons = report.body.rejections.map((r: { id: string; reasons: Array<{ column: string }> }) => [
    r.id,
    r.reasons.map((reason) => reason.column)
  ])
  assert.deepStrictEqual(reasons, [
    ["sku-3", ["link"]],
    ["sku-4", ["price"]]
  ])
  const listed = await call(url, a.key, "GET", "/v1/catalog")
  assert.strictEqual(listed.body.total, 2)
  assert.deepStrictEqual(listed.body.products[0].price, { amount: 12_900, currency: "EUR" })
  assert.strictEqual(listed.body.products[1].title, "Rain jacket, blue")
  assert.strictEqual((await call(url, b.key, "GET", "/v1/catalog")).body.total, 0, "tenants' catalogs are apart")

  // A JSON feed replaces it whole; a malformed feed or an unknown type changes nothing.
  const replaced = await put(
    url,
    a.key,
    "/v1/catalog",
    "application/json",
    JSON.stringify({
      products: [
        {
          id: "sku-9",
          title: "Socks",
          link: `${a.origin}/p/9`,
          image_link: `${a.origin}/i/9.svg`,
          price: "14.50 EUR",
          availability: "in_stock"
        }
      ]
    })
  )
  assert.strictEqual(replaced.status, 200, JSON.stringify(replaced.body))
  assert.strictEqual(replaced.body.accepted, 1)
  assert.strictEqual((await put(url, a.key, "/v1/catalog", "application/json", "[{")).status, 400)
  assert.strictEqual((await put(url, a.key, "/v1/catalog", "application/xml", "<feed/>")).status, 415)
  const after = await call(url, a.key, "GET", "/v1/catalog")
  assert.deepStrictEqual(
    after.body.products.map((p: { id: string }) => p.id),
    ["sku-9"]
  )

  // Delete.
  assert.strictEqual((await call(url, a.key, "DELETE", `/v1/campaigns/${id}`)).status, 204)
  assert.strictEqual((await call(url, a.key, "GET", `/v1/campaigns/${id}`)).status, 404)
  assert.strictEqual((await call(url, a.key, "DELETE", `/v1/campaigns/${id}`)).status, 404)
}
