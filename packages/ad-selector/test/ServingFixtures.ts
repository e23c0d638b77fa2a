/**
 * A small ad network for the Serving tests: an advertiser `shop` with a retargeting campaign (audience `viewers`,
 * a product creative), a contextual campaign and a house ad of publisher `pub`, in-memory ports everywhere (any of
 * them replaceable), and the service under test. Time from TestClock, set to `T0` by `world`.
 */
import { CatalogStore, type Product } from "@openaudience/catalog"
import { Effect, Either, Redacted, TestClock } from "effect"
import * as AdLog from "../src/AdLog.js"
import * as BrowserLinks from "../src/BrowserLinks.js"
import * as Budget from "../src/Budget.js"
import * as Campaign from "../src/Campaign.js"
import * as CampaignStore from "../src/CampaignStore.js"
import * as Caps from "../src/Caps.js"
import * as Serving from "../src/Serving.js"
import * as Visitors from "../src/Visitors.js"

/** Monday 2026-06-01 12:00 UTC. */
export const T0 = Date.UTC(2026, 5, 1, 12)
export const HOUR = 3_600_000
export const DAY = 24 * HOUR

export const secret = Redacted.make(new Uint8Array(32).fill(7))

export const decode = (input: unknown): Campaign.Campaign =>
  Either.getOrElse(Campaign.decode(input), (message) => {
    throw new Error(message)
  })

export const campaign = (id: string, over: Record<string, unknown> = {}): Campaign.Campaign =>
  decode({
    id,
    tenant: "shop",
    name: id,
    status: "active",
    tier: { kind: "remnant" },
    schedule: { start: "2025-01-01T00:00:00Z" },
    bid: { amount: 100, currency: "EUR" },
    pacing: "asap",
    creatives: [
      {
        id: "banner",
        width: 300,
        height: 250,
        kind: "static",
        landingUrl: `https://shop.example/landing/${id}`,
        imageUrl: "https://cdn.shop.example/banner.png",
        alt: "Shop"
      }
    ],
    ...over
  })

/** Retargeting: audience `viewers` of `tenant`, a product creative, the highest bid. */
export const retargeting = (tenant = "shop", id = "retarget") =>
  campaign(id, {
    tenant,
    bid: { amount: 900, currency: "EUR" },
    targeting: { audiences: { include: ["viewers"] } },
    creatives: [
      {
        id: "products",
        width: 300,
        height: 250,
        kind: "product",
        landingUrl: `https://${tenant}.example/`
      }
    ]
  })

export const contextual = campaign("context", { bid: { amount: 200, currency: "EUR" } })

export const house = campaign("house", {
  tenant: "pub",
  tier: { kind: "house" },
  bid: { amount: 0, currency: "EUR" },
  creatives: [
    {
      id: "promo",
      width: 300,
      height: 250,
      kind: "static",
      landingUrl: "https://pub.example/subscribe",
      imageUrl: "https://pub.example/promo.png",
      alt: "Subscribe"
    }
  ]
})

export const product = (id: string, over: Partial<Product.Product> = {}): Product.Product => ({
  id,
  title: `Product ${id}`,
  link: `https://shop.example/p/${id}`,
  imageLink: `https://shop.example/i/${id}.jpg`,
  price: { amount: 4999, currency: "EUR" },
  availability: "in_stock",
  ...over
})

export interface Ports {
  readonly campaigns: CampaignStore.Service
  readonly caps: Caps.Service
  readonly delivery: Budget.Service
  readonly log: AdLog.Service
  readonly links: BrowserLinks.Service
  readonly visitors: Visitors.Service
  readonly catalog: CatalogStore.CatalogStoreShape
}

export interface World extends Ports {
  readonly serving: Serving.Service
  readonly visitorsMemory: Visitors.Memory
}

/** The network with `campaigns` (the three above by default), ports replaced by `ports`, at `T0`. */
export const world = (
  options: {
    readonly campaigns?: ReadonlyArray<Campaign.Campaign>
    readonly ports?: Partial<Ports>
    readonly serving?: Partial<Serving.Options>
  } = {}
) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(T0)
    const visitorsMemory = Visitors.makeMemory()
    const ports: Ports = {
      campaigns: CampaignStore.makeMemory(),
      caps: Caps.makeMemory(),
      delivery: Budget.makeMemory(),
      log: AdLog.makeMemory(),
      links: BrowserLinks.makeMemory(),
      visitors: visitorsMemory,
      catalog: CatalogStore.makeMemory(),
      ...options.ports
    }
    for (const c of options.campaigns ?? [retargeting(), contextual, house]) yield* ports.campaigns.put(c)
    const serving = yield* Serving.make({ secret, currency: "EUR", ...options.serving }).pipe(
      Effect.provideService(CampaignStore.CampaignStore, ports.campaigns),
      Effect.provideService(Caps.CapStore, ports.caps),
      Effect.provideService(Budget.DeliveryStore, ports.delivery),
      Effect.provideService(AdLog.AdLog, ports.log),
      Effect.provideService(BrowserLinks.BrowserLinks, ports.links),
      Effect.provideService(Visitors.Visitors, ports.visitors),
      Effect.provideService(CatalogStore.CatalogStore, ports.catalog)
    )
    const w: World = { ...ports, serving, visitorsMemory }
    return w
  })

/** An ad request from publisher `pub`'s site `news`, personalization allowed, browser `xid-1`. */
export const adRequest = (over: Partial<Serving.AdRequest> = {}): Serving.AdRequest => ({
  publisher: { siteKey: "news", tenant: "pub", childDirected: false },
  slot: "top",
  width: 300,
  height: 250,
  device: "desktop",
  personalization: true,
  child: false,
  browser: "xid-1",
  format: "html",
  links: { click: "https://ads.example/click/", impression: "https://ads.example/imp/" },
  nonce: "n0nce",
  ...over
})

/** The visitor `v-<tenant>` of `tenant` in audience `viewers` (targetable), linked to browser `xid-1`. */
export const knownVisitor = (w: World, tenant = "shop", browser = "xid-1", visitor = `v-${tenant}`) =>
  Effect.gen(function* () {
    yield* w.serving.linkBrowser({ tenant, browser, visitor })
    w.visitorsMemory.setTargetable(tenant, ["viewers"])
    w.visitorsMemory.setProfile(tenant, visitor, { audiences: ["viewers"], lastSeen: T0 - DAY })
    return visitor
  })

/** The token at the end of a link. */
export const tokenOf = (url: string): string => url.slice(url.lastIndexOf("/") + 1)

export const expectAd = (answer: Serving.Answer): Serving.Ad => {
  if (answer._tag !== "Ad") throw new Error(`expected an ad, got no ad: ${answer.reason}`)
  return answer
}
