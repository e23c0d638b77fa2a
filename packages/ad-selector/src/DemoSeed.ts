/**
 * The demo's advertising data, as plain data and as an Effect that puts it in the stores: the demo tenant's
 * catalog (the demo shop's three products), its audience "viewed a product in the last 30 days and did not buy
 * it", and three campaigns — a retargeting campaign with product creatives for that audience, a contextual
 * campaign for news pages and a house ad, each in 300×250 and 728×90. Everything links to the shop's origin (the
 * reference server serves the shop at `/demo/shop/`), which the caller passes in because it depends on the host
 * and port the server listens on.
 *
 * The campaigns are tuned so a demo visit always sees an ad: schedules started in the past with no end, generous
 * budgets, `asap` pacing, a frequency cap of 10 a day and a one-second recency block (browser tests reload pages).
 * The contextual and house campaigns have no caps, so a visitor without an identifier (GPC, opt-out, blocked
 * third-party cookies) still gets them.
 *
 * @since 0.1.0
 */
import { CatalogStore, Product } from "@openaudience/catalog"
import { Money } from "@openaudience/event-schema"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Campaign from "./Campaign.js"
import * as CampaignStore from "./CampaignStore.js"

/**
 * Why the demo data could not be built: the shop origin is not an `http(s)://host[:port]` origin (or the data no
 * longer decodes, which the package's tests rule out).
 *
 * @since 0.1.0
 * @category errors
 */
export class DemoSeedError extends Schema.TaggedError<DemoSeedError>("@openaudience/ad-selector/DemoSeedError")(
  "DemoSeedError",
  { message: Schema.String }
) {}

/**
 * The demo tenant, as `Seed.demo` of @openaudience/tenancy creates it.
 *
 * @since 0.1.0
 * @category constants
 */
export const tenant = "demo"

/**
 * The publisher site key of the demo news site (`/demo/news/` asks `/ad?site=demo-news`).
 *
 * @since 0.1.0
 * @category constants
 */
export const newsSite = "demo-news"

/**
 * The demo shop's products as the shop's pages show them (`examples/demo-sites/shop/catalog.js`): catalog id,
 * title, price as a feed writes it, the image file under `/demo/shop/images/`.
 *
 * @since 0.1.0
 * @category constants
 */
export const products = [
  {
    id: "sku-boots",
    title: "Trail boots",
    price: "129.00",
    currency: "EUR",
    image: "boots.svg",
    description: "Waterproof leather hiking boots with a grippy sole, for muddy trails and wet weekends.",
    productType: "Apparel & Accessories > Shoes"
  },
  {
    id: "sku-jacket",
    title: "Rain jacket",
    price: "89.50",
    currency: "EUR",
    image: "jacket.svg",
    description: "A light, packable rain jacket with a hood and taped seams.",
    productType: "Apparel & Accessories > Clothing > Outerwear"
  },
  {
    id: "sku-socks",
    title: "Wool socks",
    price: "14.50",
    currency: "EUR",
    image: "socks.svg",
    description: "Warm merino wool hiking socks, a pair.",
    productType: "Apparel & Accessories > Clothing > Socks"
  }
] as const

/**
 * The audience the retargeting campaign targets, in the rule language of @openaudience/audience (version 1):
 * visitors who viewed a product in the last 30 days and did not buy that product in the last 30 days. The rule
 * binds on `productId`, so a visitor who viewed the boots and bought the socks stays in it (for the boots), and
 * its qualifying products are the viewed, unbought ones.
 *
 * @since 0.1.0
 * @category constants
 */
export const audience = {
  id: "viewed-not-bought",
  name: "Viewed a product in the last 30 days and did not buy it",
  rule: {
    version: 1,
    bind: "productId",
    expiry: { days: 30 },
    conditions: [
      { kind: "event", event: "product_view", window: { days: 30 } },
      {
        kind: "not",
        condition: {
          kind: "event",
          event: "conversion",
          where: { conversionType: "purchase" },
          window: { days: 30 }
        }
      }
    ]
  }
} as const

/**
 * Campaign ids of the demo tenant.
 *
 * @since 0.1.0
 * @category constants
 */
export const campaignIds = {
  retargeting: "demo-retargeting",
  contextual: "demo-contextual",
  house: "demo-house"
} as const

const productCard = (size: "300x250" | "728x90"): string => {
  const [width, height] = size === "300x250" ? [300, 250] : [728, 90]
  const vertical = size === "300x250"
  return `<div class="oa-product-ad oa-${size}">
<style>
html,body{margin:0}
.oa-product-ad{box-sizing:border-box;width:${width}px;height:${height}px;overflow:hidden;margin:0;padding:6px;font:14px/1.25 system-ui,sans-serif;color:#1a1a1a;background:#eef3ea;border:1px solid #c9d6c2}
.oa-product-ad *{box-sizing:border-box}
.oa-product-ad .oa-head{margin:0 0 4px;font-size:12px;font-weight:700;color:#2e5d3a;${vertical ? "" : "display:none"}}
.oa-product-ad ul{display:flex;gap:6px;height:${vertical ? height - 30 : height - 12}px;margin:0;padding:0;list-style:none}
.oa-product-ad li{flex:1 1 0;min-width:0;background:#fff;border-radius:6px}
.oa-product-ad a{display:flex;flex-direction:${vertical ? "column" : "row"};align-items:center;gap:6px;height:100%;padding:4px;color:inherit;text-decoration:none}
.oa-product-ad img{${vertical ? "width:100%;height:0;flex:1 1 0;min-height:0" : "width:64px;height:64px;flex:none"};object-fit:contain}
.oa-product-ad .oa-title{display:block;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:100%}
.oa-product-ad .oa-price{display:block;color:#2e5d3a;font-weight:700;white-space:nowrap}
</style>
<p class="oa-head">Still thinking about it?</p>
<ul>{{#products}}<li><a href="{{product.clickUrl}}" target="_blank" rel="noopener"><img src="{{product.image}}" alt="{{product.title}}"><span><span class="oa-title">{{product.title}}</span><span class="oa-price">{{product.price}}</span></span></a></li>{{/products}}</ul>
</div>`
}

/**
 * The HTML templates of the product creatives (creative id → template source), in the macro language of
 * @openaudience/catalog's `Template` (compile once, render per request). They lay out one to three products and
 * open a click in a new tab.
 *
 * @since 0.1.0
 * @category constants
 */
export const templates: { readonly "retarget-300x250": string; readonly "retarget-728x90": string } = {
  "retarget-300x250": productCard("300x250"),
  "retarget-728x90": productCard("728x90")
}

/**
 * The shop origin as `URL#origin` writes it, or a `DemoSeedError` when it is not an http(s) origin without path.
 *
 * @since 0.1.0
 * @category constructors
 */
export const origin = (shopOrigin: string): Either.Either<string, DemoSeedError> =>
  Either.match(Product.normalizeOrigins([shopOrigin]), {
    onLeft: (message) => Either.left(new DemoSeedError({ message: `shop origin: ${message}` })),
    onRight: (set) => Either.right([...set][0]!)
  })

const validateProduct = Schema.validateEither(Product.Product)

/**
 * The demo tenant's catalog: the shop's three products, in stock, with their product pages
 * (`<shop>/demo/shop/product.html?sku=…`) and images (`<shop>/demo/shop/images/…`) on the shop's origin.
 *
 * @since 0.1.0
 * @category constructors
 */
export const catalog = (shopOrigin: string): Either.Either<ReadonlyArray<Product.Product>, DemoSeedError> =>
  Either.flatMap(origin(shopOrigin), (shop) => {
    const out: Array<Product.Product> = []
    for (const p of products) {
      const price = Money.fromDecimal(p.price, p.currency)
      if (Either.isLeft(price)) return Either.left(new DemoSeedError({ message: `${p.id}: ${price.left}` }))
      const product = validateProduct({
        id: p.id,
        title: p.title,
        description: p.description,
        link: `${shop}/demo/shop/product.html?sku=${encodeURIComponent(p.id)}`,
        imageLink: `${shop}/demo/shop/images/${p.image}`,
        price: price.right,
        availability: "in_stock",
        brand: "Demo Outdoor",
        productType: p.productType
      })
      if (Either.isLeft(product)) {
        return Either.left(
          new DemoSeedError({ message: `${p.id}: ${ParseResult.TreeFormatter.formatErrorSync(product.left)}` })
        )
      }
      out.push(product.right)
    }
    return Either.right(out)
  })

const eur = (minor: number) => ({ amount: minor, currency: "EUR" })
const start = "2026-01-01T00:00:00.000Z"

/**
 * The demo campaigns in their JSON form (`Campaign.Encoded`), before decoding.
 *
 * @since 0.1.0
 * @category constructors
 */
export const campaignsJson = (shop: string): ReadonlyArray<Campaign.Encoded> => {
  const home = `${shop}/demo/shop/`
  const image = (file: string) => `${shop}/demo/shop/images/${file}`
  return [
    {
      id: campaignIds.retargeting,
      tenant,
      name: "Trail gear you viewed",
      status: "active",
      tier: { kind: "contract", priority: 1 },
      schedule: { start },
      budget: { daily: eur(100_000), total: eur(10_000_000) },
      bid: eur(400),
      targeting: { audiences: { include: [audience.id] } },
      caps: [{ scope: "campaign", window: "day", max: 10 }],
      recencyBlockSeconds: 1,
      pacing: "asap",
      creatives: [
        {
          id: "retarget-300x250",
          width: 300,
          height: 250,
          kind: "product",
          landingUrl: home,
          alt: "Trail gear you viewed",
          template: templates["retarget-300x250"]
        },
        {
          id: "retarget-728x90",
          width: 728,
          height: 90,
          kind: "product",
          landingUrl: home,
          alt: "Trail gear you viewed",
          template: templates["retarget-728x90"]
        }
      ]
    },
    {
      id: campaignIds.contextual,
      tenant,
      name: "Gear for wet weekends (news pages)",
      status: "active",
      tier: { kind: "remnant" },
      schedule: { start },
      budget: { daily: eur(50_000), total: eur(5_000_000) },
      bid: eur(150),
      targeting: { categories: ["news"] },
      pacing: "asap",
      creatives: [
        {
          id: "contextual-300x250",
          width: 300,
          height: 250,
          kind: "static",
          landingUrl: home,
          imageUrl: image("shop-300x250.svg"),
          alt: "Demo shop: gear for wet weekends. Shop now"
        },
        {
          id: "contextual-728x90",
          width: 728,
          height: 90,
          kind: "static",
          landingUrl: home,
          imageUrl: image("shop-728x90.svg"),
          alt: "Demo shop: gear for wet weekends. Shop now"
        }
      ]
    },
    {
      id: campaignIds.house,
      tenant,
      name: "OpenAudience house ad",
      status: "active",
      tier: { kind: "house" },
      schedule: { start },
      bid: eur(0),
      pacing: "asap",
      creatives: [
        {
          id: "house-300x250",
          width: 300,
          height: 250,
          kind: "static",
          landingUrl: `${shop}/`,
          imageUrl: image("house-300x250.svg"),
          alt: "OpenAudience: privacy-first ads, a demo"
        },
        {
          id: "house-728x90",
          width: 728,
          height: 90,
          kind: "static",
          landingUrl: `${shop}/`,
          imageUrl: image("house-728x90.svg"),
          alt: "OpenAudience: privacy-first ads, a demo"
        }
      ]
    }
  ]
}

/**
 * The demo tenant's three campaigns, decoded with `Campaign.decode`: "Trail gear you viewed" (contract priority
 * 1, the audience `viewed-not-bought`, product creatives), a remnant campaign for pages of category `news` with
 * static creatives, and a house ad; all for 300×250 and 728×90 slots, landing on the shop's origin.
 *
 * @since 0.1.0
 * @category constructors
 */
export const campaigns = (shopOrigin: string): Either.Either<ReadonlyArray<Campaign.Campaign>, DemoSeedError> =>
  Either.flatMap(origin(shopOrigin), (shop) =>
    Either.all(
      campaignsJson(shop).map((json) =>
        Either.mapLeft(Campaign.decode(json), (message) => new DemoSeedError({ message: `${json.id}: ${message}` }))
      )
    )
  )

const sameCampaign = (a: Campaign.Campaign, b: Campaign.Campaign): boolean =>
  JSON.stringify(Campaign.encode(a)) === JSON.stringify(Campaign.encode(b))

/**
 * Puts the demo data in the stores: replaces the demo tenant's catalog and creates or updates the three demo
 * campaigns (other campaigns of the tenant are left alone). Idempotent: a campaign already stored as it is is not
 * written again, so a second run changes nothing, not even the campaign store's revision. The audience is not
 * stored here (the audience package owns it): create `audience` with the audience API.
 *
 * @since 0.1.0
 * @category seeding
 */
export const seed = (
  shopOrigin: string
): Effect.Effect<
  { readonly products: number; readonly campaignsWritten: number },
  DemoSeedError | CatalogStore.CatalogError | CampaignStore.CampaignStoreError,
  CampaignStore.CampaignStore | CatalogStore.CatalogStore
> =>
  Effect.gen(function* () {
    const items = yield* catalog(shopOrigin)
    const list = yield* campaigns(shopOrigin)
    const catalogs = yield* CatalogStore.CatalogStore
    const store = yield* CampaignStore.CampaignStore
    const count = yield* catalogs.replace(tenant, items)
    let written = 0
    for (const campaign of list) {
      const existing = yield* store.get(campaign.tenant, campaign.id)
      if (Option.isSome(existing) && sameCampaign(existing.value, campaign)) continue
      yield* store.put(campaign)
      written++
    }
    return { products: count, campaignsWritten: written }
  })
