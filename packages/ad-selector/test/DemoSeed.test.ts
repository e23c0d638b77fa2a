import { assert, describe, it } from "@effect/vitest"
import { CatalogStore, Product, Template } from "@openaudience/catalog"
import { Effect, Either, FastCheck as fc, Layer, Option, Schema } from "effect"
import { readFileSync, statSync } from "node:fs"
import { runInNewContext } from "node:vm"
import * as Campaign from "../src/Campaign.js"
import * as CampaignStore from "../src/CampaignStore.js"
import * as DemoSeed from "../src/DemoSeed.js"

const shop = "http://127.0.0.1:8080"
const demoSites = new URL("../../../examples/demo-sites/", import.meta.url)

// The shop's own catalog, as its pages load it, so the seed cannot drift from what the shop shows and tracks.
const shopCatalog = (() => {
  const window: {
    shop?: { catalog: Record<string, { name: string; unitPrice: number; currency: string; image: string }> }
  } = {}
  runInNewContext(readFileSync(new URL("shop/catalog.js", demoSites), "utf8"), { window })
  return window.shop!.catalog
})()

const right = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) assert.fail(String(either.left))
  return (either as Either.Right<E, A>).right
}

const everyUrl = (campaigns: ReadonlyArray<Campaign.Campaign>, products: ReadonlyArray<Product.Product>) => [
  ...products.flatMap((p) => [p.link, p.imageLink]),
  ...campaigns.flatMap((c) =>
    c.creatives.flatMap((k) => [k.landingUrl, ...(k.imageUrl === undefined ? [] : [k.imageUrl])])
  )
]

const validateProduct = Schema.validateEither(Product.Product)
const stores = Layer.merge(CampaignStore.layerMemory, CatalogStore.layerMemory)

describe("DemoSeed.catalog", () => {
  it("is the shop's catalog: same ids, titles, prices, images; in stock; on the shop's product pages", () => {
    const products = right(DemoSeed.catalog(shop))
    assert.deepStrictEqual(
      products.map((p) => p.id),
      ["sku-boots", "sku-jacket", "sku-socks"]
    )
    assert.sameMembers(
      products.map((p) => p.id),
      Object.keys(shopCatalog)
    )
    for (const p of products) {
      const inShop = shopCatalog[p.id]!
      assert.strictEqual(p.title, inShop.name)
      assert.deepStrictEqual(p.price, { amount: inShop.unitPrice, currency: inShop.currency })
      assert.strictEqual(p.availability, "in_stock")
      assert.strictEqual(p.link, `${shop}/demo/shop/product.html?sku=${p.id}`)
      assert.strictEqual(p.imageLink, `${shop}/demo/shop/${inShop.image}`)
      assert.isTrue(Either.isRight(validateProduct(p)), p.id)
    }
    assert.deepStrictEqual(
      products.map((p) => Template.formatPrice(p.price)),
      ["129.00 EUR", "89.50 EUR", "14.50 EUR"]
    )
  })

  it("names image files that exist, are SVG and stay under 4 KB", () => {
    const files = [
      ...right(DemoSeed.catalog(shop)).map((p) => p.imageLink),
      ...right(DemoSeed.campaigns(shop)).flatMap((c) => c.creatives.flatMap((k) => k.imageUrl ?? []))
    ].map((url) => new URL(url).pathname.replace(/^\/demo\//, ""))
    assert.isAtLeast(files.length, 7)
    for (const file of files) {
      const path = new URL(file, demoSites)
      assert.isBelow(statSync(path).size, 4096, file)
      const text = readFileSync(path, "utf8")
      assert.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, file)
      assert.notMatch(text, /(href|src)=|@import|url\(/, `${file} loads nothing from elsewhere`)
    }
  })

  it("puts every link, image and landing URL on the shop's origin, whatever origin is given", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("http", "https"),
        fc.oneof(fc.constantFrom("127.0.0.1", "localhost", "[::1]"), fc.domain()),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.boolean(),
        (scheme, host, port, slash) => {
          const given = `${scheme}://${host}${port === undefined ? "" : `:${port}`}${slash ? "/" : ""}`
          const origin = new URL(given).origin
          const products = right(DemoSeed.catalog(given))
          const campaigns = right(DemoSeed.campaigns(given))
          for (const url of everyUrl(campaigns, products)) {
            assert.strictEqual(new URL(url).origin, origin, url)
            assert.isTrue(url.startsWith(`${origin}/`), url)
          }
          const origins = { pages: new Set([origin]), images: new Set([origin]) }
          for (const p of products) assert.deepStrictEqual(Product.checkLinks(p, origins), [])
        }
      ),
      { seed: 14, numRuns: 200 }
    )
  })

  it("refuses what is not an http(s) origin, never throwing", () => {
    for (const bad of [
      "",
      "127.0.0.1:8080",
      "javascript:alert(1)",
      "ftp://127.0.0.1",
      "http://127.0.0.1:8080/demo/shop/",
      "http://user:pw@127.0.0.1",
      "http://127.0.0.1/?x=1"
    ]) {
      const result = DemoSeed.catalog(bad)
      assert.isTrue(Either.isLeft(result), bad)
      assert.isTrue(Either.isLeft(DemoSeed.campaigns(bad)), bad)
      if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "DemoSeedError")
    }
    fc.assert(
      fc.property(fc.string(), (s) => {
        const products = DemoSeed.catalog(s)
        const campaigns = DemoSeed.campaigns(s)
        assert.strictEqual(Either.isRight(products), Either.isRight(campaigns))
        if (Either.isRight(products) && Either.isRight(campaigns)) {
          const origin = new URL(s).origin
          for (const url of everyUrl(campaigns.right, products.right)) assert.strictEqual(new URL(url).origin, origin)
        }
      }),
      { seed: 15, numRuns: 500 }
    )
  })
})

describe("DemoSeed.campaigns", () => {
  const campaigns = right(DemoSeed.campaigns(shop))
  const byId = new Map(campaigns.map((c) => [c.id, c]))
  const retargeting = byId.get(DemoSeed.campaignIds.retargeting)!
  const contextual = byId.get(DemoSeed.campaignIds.contextual)!
  const house = byId.get(DemoSeed.campaignIds.house)!

  it("decodes three campaigns of the demo tenant that encode back to their JSON", () => {
    assert.strictEqual(campaigns.length, 3)
    assert.isDefined(retargeting)
    assert.isDefined(contextual)
    assert.isDefined(house)
    for (const c of campaigns) assert.strictEqual(c.tenant, "demo")
    const json = DemoSeed.campaignsJson(shop)
    assert.deepStrictEqual(campaigns.map(Campaign.encode), JSON.parse(JSON.stringify(json)))
  })

  it("serves retargeting before contextual before house, each in 300×250 and 728×90", () => {
    assert.isBelow(Campaign.tierRank(retargeting.tier), Campaign.tierRank(contextual.tier))
    assert.isBelow(Campaign.tierRank(contextual.tier), Campaign.tierRank(house.tier))
    assert.strictEqual(house.tier.kind, "house")
    for (const c of campaigns) {
      assert.sameMembers(
        c.creatives.map((k) => `${k.width}x${k.height}`),
        ["300x250", "728x90"],
        c.id
      )
    }
  })

  it("targets the audience with product creatives, capped, with a recency block short enough for reloads", () => {
    assert.strictEqual(retargeting.name, "Trail gear you viewed")
    assert.deepStrictEqual(retargeting.targeting?.audiences?.include, [DemoSeed.audience.id])
    assert.isTrue(Campaign.isPersonalized(retargeting))
    assert.isTrue(Campaign.isCapped(retargeting))
    assert.isTrue(retargeting.creatives.every((k) => k.kind === "product"))
    assert.isTrue((retargeting.caps ?? []).some((cap) => cap.window === "day" && cap.max >= 5))
    assert.isAtMost(retargeting.recencyBlockSeconds ?? 0, 5)
  })

  it("leaves contextual and house ads to visitors without an identifier (no audience, recency or caps)", () => {
    for (const c of [contextual, house]) {
      assert.isFalse(Campaign.isPersonalized(c), c.id)
      assert.isFalse(Campaign.isCapped(c), c.id)
      assert.isTrue(
        c.creatives.every((k) => k.kind === "static" && k.imageUrl !== undefined && (k.alt ?? "") !== ""),
        c.id
      )
    }
    assert.deepStrictEqual(contextual.targeting?.categories, ["news"])
    assert.strictEqual(contextual.creatives[0].landingUrl, `${shop}/demo/shop/`)
  })

  it("always serves: active, started in the past with no end, every hour, asap, budgets for 10,000 impressions a day", () => {
    for (const c of campaigns) {
      assert.strictEqual(c.status, "active")
      assert.isAtMost(c.schedule.start.epochMillis, Date.UTC(2026, 0, 1))
      assert.isUndefined(c.schedule.end)
      assert.isUndefined(c.schedule.hours)
      assert.isUndefined(c.schedule.days)
      assert.strictEqual(c.pacing, "asap")
      if (c.tier.kind === "house") continue
      assert.isAbove(c.bid.amount, 0)
      const daily = c.budget?.daily
      if (daily !== undefined) assert.isAtLeast((daily.amount * 1000) / c.bid.amount, 10_000, c.id)
      const total = c.budget?.total
      if (total !== undefined) assert.isAtLeast((total.amount * 1000) / c.bid.amount, 1_000_000, c.id)
    }
  })
})

describe("DemoSeed.templates", () => {
  const products = right(DemoSeed.catalog(shop))
  const productCreatives = right(DemoSeed.campaigns(shop))
    .flatMap((c) => c.creatives)
    .filter((k) => k.kind === "product")

  it("has a template for every product creative and none for anything else", () => {
    assert.sameMembers(
      Object.keys(DemoSeed.templates),
      productCreatives.map((k) => k.id)
    )
  })

  it("compiles, and renders each product once, tagged, with its click URL, title, price and image", () => {
    for (const [id, source] of Object.entries(DemoSeed.templates)) {
      const template = right(Template.compile(source))
      for (let n = 0; n <= products.length; n++) {
        const items = products.slice(0, n).map((product) => ({ product, clickUrl: `${shop}/click/t-${product.id}` }))
        const html = Template.render(template, items)
        assert.strictEqual(html.match(/data-oa-product-id=/g)?.length ?? 0, n, `${id} with ${n}`)
        for (const { product } of items) {
          assert.include(html, `data-oa-product-id="${product.id}"`)
          assert.include(html, `href="${shop}/click/t-${product.id}"`)
          assert.include(html, `src="${product.imageLink}"`)
          assert.include(html, `>${product.title}<`)
          assert.include(html, Template.formatPrice(product.price))
        }
      }
    }
  })

  it("escapes hostile product text and refuses script URLs", () => {
    const [boots] = products
    const hostile = {
      ...boots!,
      title: `"><script>alert(1)</script><img src=x onerror=alert(2)>`
    }
    for (const source of Object.values(DemoSeed.templates)) {
      const html = Template.render(right(Template.compile(source)), [
        { product: hostile, clickUrl: "javascript:alert(3)" }
      ])
      assert.notInclude(html, "<script>alert")
      assert.notInclude(html, "<img src=x")
      assert.notInclude(html, "javascript:")
    }
  })
})

describe("DemoSeed.audience", () => {
  it("is a version 1 rule bound on the product: viewed in 30 days, not bought in 30 days", () => {
    const { rule } = DemoSeed.audience
    assert.strictEqual(DemoSeed.audience.id, "viewed-not-bought")
    assert.strictEqual(rule.version, 1)
    assert.strictEqual(rule.bind, "productId")
    const [viewed, notBought] = rule.conditions
    assert.deepInclude(viewed, { kind: "event", event: "product_view", window: { days: 30 } })
    assert.strictEqual(notBought.kind, "not")
    assert.deepInclude(notBought.condition, {
      event: "conversion",
      where: { conversionType: "purchase" },
      window: { days: 30 }
    })
    assert.deepStrictEqual(JSON.parse(JSON.stringify(rule)), rule)
  })
})

describe("DemoSeed.seed", () => {
  const snapshot = Effect.gen(function* () {
    const catalogs = yield* CatalogStore.CatalogStore
    const campaigns = yield* CampaignStore.CampaignStore
    return {
      products: yield* catalogs.list("demo"),
      campaigns: (yield* campaigns.list("demo")).map(Campaign.encode),
      revision: yield* campaigns.revision
    }
  })

  it.effect("puts the catalog and campaigns; a second run changes nothing, not even the revision", () =>
    Effect.gen(function* () {
      const first = yield* DemoSeed.seed(shop)
      assert.deepStrictEqual(first, { products: 3, campaignsWritten: 3 })
      const once = yield* snapshot
      assert.deepStrictEqual(
        once.products,
        right(DemoSeed.catalog(shop)).map((p) => ({ ...p }))
      )
      assert.deepStrictEqual(
        once.campaigns,
        right(DemoSeed.campaigns(shop))
          .map(Campaign.encode)
          .sort((a, b) => a.id.localeCompare(b.id))
      )
      const second = yield* DemoSeed.seed(shop)
      assert.deepStrictEqual(second, { products: 3, campaignsWritten: 0 })
      assert.deepStrictEqual(yield* snapshot, once)
    }).pipe(Effect.provide(stores))
  )

  it.effect("restores an edited demo campaign, keeps the tenant's other campaigns, follows a new shop origin", () =>
    Effect.gen(function* () {
      const store = yield* CampaignStore.CampaignStore
      yield* DemoSeed.seed(shop)
      const house = Option.getOrThrow(yield* store.get("demo", DemoSeed.campaignIds.house))
      yield* store.put({ ...house, status: "paused" })
      const own = { ...house, id: "my-own-campaign", name: "Mine" }
      yield* store.put(own)
      assert.deepStrictEqual(yield* DemoSeed.seed(shop), { products: 3, campaignsWritten: 1 })
      assert.strictEqual(Option.getOrThrow(yield* store.get("demo", DemoSeed.campaignIds.house)).status, "active")
      assert.isTrue(Option.isSome(yield* store.get("demo", "my-own-campaign")))

      const moved = "http://127.0.0.1:9090"
      assert.deepStrictEqual(yield* DemoSeed.seed(moved), { products: 3, campaignsWritten: 3 })
      const catalogs = yield* CatalogStore.CatalogStore
      for (const p of yield* catalogs.list("demo")) assert.isTrue(p.link.startsWith(`${moved}/`))
    }).pipe(Effect.provide(stores))
  )

  it.effect("writes nothing for a bad origin, and fails on a campaign id another tenant holds", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.flip(DemoSeed.seed("not an origin"))
      assert.strictEqual(bad._tag, "DemoSeedError")
      const empty = yield* snapshot
      assert.deepStrictEqual(empty, { products: [], campaigns: [], revision: 0 })

      const store = yield* CampaignStore.CampaignStore
      const house = right(DemoSeed.campaigns(shop)).find((c) => c.id === DemoSeed.campaignIds.house)!
      yield* store.put({ ...house, tenant: "someone-else" })
      const conflict = yield* Effect.flip(DemoSeed.seed(shop))
      assert.strictEqual(conflict._tag, "CampaignStoreError")
    }).pipe(Effect.provide(stores))
  )
})
