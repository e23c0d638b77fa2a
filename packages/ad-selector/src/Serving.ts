/**
 * The ad-serving pipeline as a library: everything the reference server does for `GET /ad`, `GET /click/<token>`,
 * the impression beacons, the shop's conversions and the campaign statistics, behind one service. The server only
 * adapts HTTP to it (parses the query, cookies and headers, calls it, writes the answer).
 *
 * - **Decisions** come from a `Selector.Index` built from `CampaignStore.all` and rebuilt, in the background, when
 *   the store's revision changes (checked at most every `refreshMs`, never per request). Creatives are chosen by a
 *   Thompson sampler whose prior is an FTRL click model (`features` lists what it learns from).
 * - **Delayed rewards**: the conversions credited in the `AdLog` (by `conversion` here, or by the attribution worker
 *   in another thread or process) are read back in order of their position (`AdLog.conversionsSince`) on the same
 *   schedule as the campaigns' revision (`refresh`, and the background check every `refreshMs`), and each rewards its
 *   decision's arm in the sampler (`Thompson.conversion`) once. The click model is not told: it predicts clicks, and a
 *   conversion is not a click (a view-through conversion has none; one after a click would count that click twice).
 * - **Identity**: a browser is recognized only through the raw platform cookie passed as `browser`, and only when
 *   the request allows cross-site personalization, has no child signal and the site is not child-directed. Each
 *   advertiser tenant with personalized or capped campaigns sees it through its own pseudonym (`BrowserLinks`),
 *   linked to its own visitor, whose audiences are filtered to the tenant's targetable ones (the k floor).
 * - **Deadline**: a decision takes at most `deadlineMs` (50 ms) of waiting. On timeout or any failure the answer is a
 *   static house ad of the slot's size (recorded within `fallbackMs` more), else no ad: never an error. A decision
 *   runs synchronously as far as it can, so one whose stores answer from memory costs no timer; only one that waits
 *   on a store is bounded by the deadline (and interrupted when it passes).
 * - **Product creatives** show up to `products` products: for a personalized decision the visitor's most recently
 *   viewed products in stock and not bought since; otherwise (and when the visitor has none) the catalog's
 *   "featured" products: the first in stock in id order.
 * - **Tokens**: every link carries a signed token (`ClickToken`), purpose-bound: an ad's click, rendered and
 *   viewable tokens come from one MAC computation and each is accepted for its own kind only (so a token of one
 *   kind cannot count as another); version 1 tokens (a key per kind) served before are accepted until they
 *   expire. The landing page of a click is the creative's registered landing URL or the product's catalog link,
 *   never the request's.
 *
 * Time comes from `Clock`, randomness from `Random`: under `TestClock` and a seeded `Random` it is deterministic.
 *
 * @since 0.1.0
 */
import { hkdfSync } from "node:crypto"
import { CatalogStore, type Product, Recommend, Template } from "@openaudience/catalog"
import type { Money } from "@openaudience/event-schema"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import * as AdLog from "./AdLog.js"
import * as Attribution from "./Attribution.js"
import * as BrowserLinks from "./BrowserLinks.js"
import * as Budget from "./Budget.js"
import * as Campaign from "./Campaign.js"
import * as CampaignStore from "./CampaignStore.js"
import * as Caps from "./Caps.js"
import * as ClickToken from "./ClickToken.js"
import * as Ftrl from "./Ftrl.js"
import { hourOfDay } from "./internal/calendar.js"
import * as Html from "./internal/serving-html.js"
import type * as Pacing from "./Pacing.js"
import type * as Decision from "./Decision.js"
import * as Rng from "./Rng.js"
import * as Selector from "./Selector.js"
import * as Stats from "./Stats.js"
import * as Targeting from "./Targeting.js"
import * as Thompson from "./Thompson.js"
import * as Viewability from "./Viewability.js"
import * as Visitors from "./Visitors.js"

/**
 * Settings of the pipeline.
 *
 * - `secret`: the server's master secret (`OA_SECRET`); token keys and per-tenant browser keys are derived from it.
 * - `currency`: the currency of bids (campaigns in another are not served).
 * - `keyId` (1): the id of the token keys signing new links; `previousKeyIds`: ids still accepted (rotation).
 * - `deadlineMs` (50): the longest a decision takes; `fallbackMs` (10): the longest recording a fallback takes.
 * - `refreshMs` (1000): how often the campaign store's revision is checked; `targetableTtlMs` (5000): how long a
 *   tenant's targetable audiences are cached.
 * - `products` (3): products in a product creative; `productMaxAgeMs` (30 days): older views do not count.
 * - `templates`: overrides the product template of a creative; by default its own `template`, else a default card
 *   (image, title, price).
 * - `tokenLifetime` (24 h): how long click and impression links stay valid.
 * - `attribution`: attribution windows overriding campaigns' own (`Campaign.attribution`, by campaign id), and the
 *   `fallback` for a campaign the index does not hold (one deleted since it served); 7 days click, 1 day view by
 *   default.
 * - `conversionBatch` (500): conversions read per query when learning from them.
 * - `model`, `sampler`: the click model and the sampler (default `Ftrl.make({ baseRate: 0.002 })` and
 *   `Thompson.make({ propensityDraws: 20 })`); pass restored ones to keep what was learned across restarts.
 * - `pacing`: the pacing controller's settings; `privacyUrl` ("/privacy"): where the AdChoices link points.
 * - `learningCache` (100,000): decisions whose full context is kept in memory for learning from their outcomes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly secret: Redacted.Redacted<Uint8Array>
  readonly currency: string
  readonly keyId?: number | undefined
  readonly previousKeyIds?: ReadonlyArray<number> | undefined
  readonly deadlineMs?: number | undefined
  readonly fallbackMs?: number | undefined
  readonly refreshMs?: number | undefined
  readonly targetableTtlMs?: number | undefined
  readonly products?: number | undefined
  readonly productMaxAgeMs?: number | undefined
  readonly templates?: ((campaign: Campaign.Campaign, creative: Campaign.Creative) => string | undefined) | undefined
  readonly tokenLifetime?: Duration.DurationInput | undefined
  readonly attribution?: Attribution.WindowsByCampaign | undefined
  readonly model?: Ftrl.Ftrl | undefined
  readonly sampler?: Thompson.Thompson | undefined
  readonly pacing?: Pacing.Options | undefined
  readonly privacyUrl?: string | undefined
  readonly learningCache?: number | undefined
  readonly conversionBatch?: number | undefined
}

/**
 * One ad request, parsed and validated by the server.
 *
 * - `publisher`: the publisher's site (its key, its tenant, whether it is directed at children).
 * - `personalization`: the consent decision for this request allows cross-site personalization (no opt-out, GPC,
 *   DNT, TCF refusal, US opt-out, child); `child`: a child signal came with the request.
 * - `browser`: the raw platform cookie (`oa_xid`), passed only when personalization is allowed.
 * - `links`: base URLs: a click link is `click + token`; impression links are `impression + "rendered/" + token`
 *   and `impression + "viewable/" + token` (the route passes the kind and the token to `impression`).
 * - `nonce`: the CSP nonce of the answer's inline script (see `contentSecurityPolicy`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AdRequest {
  readonly publisher: { readonly siteKey: string; readonly tenant: string; readonly childDirected: boolean }
  readonly slot: string
  readonly width: number
  readonly height: number
  readonly category?: string | undefined
  readonly device: Campaign.Device
  readonly personalization: boolean
  readonly child: boolean
  readonly browser: string | undefined
  readonly format: "html" | "json"
  readonly links: { readonly click: string; readonly impression: string }
  readonly nonce?: string | undefined
}

/**
 * A product shown in an ad.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShownProduct {
  readonly id: string
  readonly title: string
  readonly price: Money.Money
}

/**
 * An ad to show. `html` is the iframe's document (format `html`) or the ad's root element alone (format `json`:
 * the caller counts impressions with `impressionUrl` and `viewableUrl`). `fallback`: a house ad served because the
 * decision failed or ran out of time.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ad {
  readonly _tag: "Ad"
  readonly decisionId: string
  readonly tenant: string
  readonly campaignId: string
  readonly creativeId: string
  readonly personalized: boolean
  readonly fallback: boolean
  readonly reason: string
  readonly products: ReadonlyArray<ShownProduct>
  readonly html: string
  readonly clickUrl: string
  readonly impressionUrl: string
  readonly viewableUrl: string
}

/**
 * Nothing to show: the server answers 204 (or an empty document).
 *
 * @since 0.1.0
 * @category models
 */
export interface NoAd {
  readonly _tag: "NoAd"
  readonly reason: string
}

/**
 * The answer to an ad request.
 *
 * @since 0.1.0
 * @category models
 */
export type Answer = Ad | NoAd

/**
 * The JSON answer of `GET /ad?format=json` (prices as exact money: minor units and currency).
 *
 * @since 0.1.0
 * @category models
 */
export interface JsonAnswer {
  readonly decisionId: string | null
  readonly campaignId: string | null
  readonly creativeId: string | null
  readonly personalized: boolean
  readonly reason: string
  readonly products: ReadonlyArray<ShownProduct>
  readonly html: string
  readonly clickUrl: string | null
  readonly impressionUrl: string | null
}

/**
 * The JSON form of an answer.
 *
 * @since 0.1.0
 * @category combinators
 */
export const toJson = (answer: Answer): JsonAnswer =>
  answer._tag === "NoAd"
    ? {
        decisionId: null,
        campaignId: null,
        creativeId: null,
        personalized: false,
        reason: answer.reason,
        products: [],
        html: "",
        clickUrl: null,
        impressionUrl: null
      }
    : {
        decisionId: answer.decisionId,
        campaignId: answer.campaignId,
        creativeId: answer.creativeId,
        personalized: answer.personalized,
        reason: answer.reason,
        products: answer.products,
        html: answer.html,
        clickUrl: answer.clickUrl,
        impressionUrl: answer.impressionUrl
      }

/** A static creative's fragment around its decision id and click token: in HTML, and as a JSON string. */
interface FragmentTemplate {
  readonly raw: readonly [string, string, string]
  readonly json: readonly [string, string, string]
}

/** What stands for the decision id and the click token while a fragment template is made: nothing escapes them. */
const decisionMark = "oaFragmentDecisionMark7c1e"
const tokenMark = "oaFragmentTokenMark7c1e"

/** Characters neither HTML nor JSON escapes (decision ids and base64url tokens are made of them). */
const unescaped = /^[A-Za-z0-9_-]+$/

/** `text` split around one decision mark followed by one token mark, or `undefined` (a mark in the creative's own text). */
const aroundMarks = (text: string): readonly [string, string, string] | undefined => {
  const parts = text.split(decisionMark)
  if (parts.length !== 2) return undefined
  const rest = parts[1]!.split(tokenMark)
  if (rest.length !== 2 || parts[0]!.includes(tokenMark)) return undefined
  return [parts[0]!, rest[0]!, rest[1]!]
}

/** The answer's `html` as a JSON string, where `Serving` made it with the ad (`toJsonText` uses it). */
const jsonHtmlOf = new WeakMap<Ad, string>()

/**
 * `JSON.stringify(toJson(answer))`, the same text, written out field by field: no object made, and the serializer
 * never walks one (the ad server writes one per JSON answer).
 *
 * @since 0.8.0
 * @category combinators
 */
export const toJsonText = (answer: Answer): string => {
  if (answer._tag === "NoAd") return JSON.stringify(toJson(answer))
  const q = JSON.stringify
  return (
    `{"decisionId":${q(answer.decisionId)},"campaignId":${q(answer.campaignId)},"creativeId":${q(answer.creativeId)},` +
    `"personalized":${answer.personalized ? "true" : "false"},"reason":${q(answer.reason)},` +
    `"products":${q(answer.products)},"html":${jsonHtmlOf.get(answer) ?? q(answer.html)},"clickUrl":${q(answer.clickUrl)},` +
    `"impressionUrl":${q(answer.impressionUrl)}}`
  )
}

/**
 * The Content-Security-Policy to send with an ad document: no script but the one carrying `nonce` (the viewability
 * script; advertisers' templates can hold no running code), images from anywhere over http(s), inline styles,
 * beacons to the impression origin only, no plugins, forms or base URL. Without a nonce the viewability script is
 * blocked (rendered impressions are still counted).
 *
 * @since 0.1.0
 * @category combinators
 */
export const contentSecurityPolicy = (options: {
  readonly nonce?: string | undefined
  readonly impressionBase?: string | undefined
}): string => {
  let connect = "'self'"
  if (options.impressionBase !== undefined && URL.canParse(options.impressionBase)) {
    const origin = new URL(options.impressionBase).origin
    if (origin !== "null") connect += ` ${origin}`
  }
  const script =
    options.nonce === undefined || !/^[A-Za-z0-9+/_=-]+$/.test(options.nonce) ? "'none'" : `'nonce-${options.nonce}'`
  return `default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; script-src ${script}; connect-src ${connect}; base-uri 'none'; form-action 'none'`
}

/**
 * What a click resolves to: the landing page (the creative's registered URL, or the product's catalog link) and
 * whether the click was counted (a decision's first click only).
 *
 * @since 0.1.0
 * @category models
 */
export interface Click {
  readonly location: string
  readonly decisionId: string
  readonly tenant: string
  readonly campaignId: string
  readonly creativeId: string
  readonly productId?: string | undefined
  readonly counted: boolean
}

/**
 * A shop's conversion of a visitor (the tenant's pseudonym), `at` epoch ms.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConversionInput {
  readonly tenant: string
  readonly visitor: string
  readonly orderId: string
  readonly value: Money.Money
  readonly at: number
}

/**
 * A conversion's attribution, and whether it was recorded (attributed, and the order not credited before).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConversionResult {
  readonly attribution: Attribution.Attribution
  readonly recorded: boolean
}

/**
 * Why a click, an impression, a conversion or a statistics request failed: `InvalidToken` (malformed, unknown key,
 * bad signature), `Expired`, `UnknownDecision` (no such decision, or one that does not match the token),
 * `UnknownLanding` (the campaign or creative is gone), `InvalidInput`, `InvalidRange` (statistics days), or
 * `Unavailable` (a store failed). The server answers the token errors with its 400 page.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServingError extends Schema.TaggedError<ServingError>("@openaudience/ad-selector/ServingError")(
  "ServingError",
  {
    reason: Schema.Literal(
      "InvalidToken",
      "Expired",
      "UnknownDecision",
      "UnknownLanding",
      "InvalidInput",
      "InvalidRange",
      "Unavailable"
    ),
    message: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {}

/**
 * The ad-serving service.
 *
 * @since 0.1.0
 * @category services
 */
export interface Service {
  /** Answers an ad request within the deadline; never fails. */
  readonly serve: (request: AdRequest) => Effect.Effect<Answer>
  /**
   * `serve` for a server's hot path: the answer itself when the decision is made from memory (the usual case: see
   * the module docs), else the effect that finishes it (run it as `serve`'s). Time comes from the `Clock` and
   * randomness from a generator seeded by the `Random` of the fiber that made the service.
   */
  readonly unsafeServe: (request: AdRequest) => Answer | Effect.Effect<Answer>
  /** Resolves a click token to its landing page and counts the click (rewarding the sampler and the model). */
  readonly click: (token: string) => Effect.Effect<Click, ServingError>
  /** Counts an impression of a token's decision once per kind; `true` when counted now. */
  readonly impression: (token: string, kind: AdLog.ImpressionKind) => Effect.Effect<boolean, ServingError>
  /** Attributes a conversion to the visitor's last click (7 days) or last viewable impression (1 day), records it. */
  readonly conversion: (input: ConversionInput) => Effect.Effect<ConversionResult, ServingError>
  /** A campaign's statistics over the last `days` UTC days (1–366). */
  readonly campaignStats: (
    tenant: string,
    campaignId: string,
    days: number
  ) => Effect.Effect<Stats.CampaignStats, ServingError>
  /** Links the raw browser id to the tenant's visitor (the collector's hook calls it when consent allows). */
  readonly linkBrowser: (input: {
    readonly tenant: string
    readonly browser: string
    readonly visitor: string
  }) => Effect.Effect<void, ServingError>
  /** Removes the links of a browser, of a visitor, or the one between both (an opt-out, a withdrawal). */
  readonly unlinkBrowser: (input: {
    readonly tenant: string
    readonly browser?: string | undefined
    readonly visitor?: string | undefined
  }) => Effect.Effect<number, ServingError>
  /** Erases a visitor's links, ad log rows and frequency-cap counters (data-subject erasure). */
  readonly eraseVisitor: (
    tenant: string,
    visitor: string
  ) => Effect.Effect<{ readonly links: number; readonly log: number }, ServingError>
  /**
   * Rebuilds the index now if the campaign store's revision changed (or nothing is loaded yet), then learns from the
   * conversions credited since the last time (`learnConversions`).
   */
  readonly refresh: Effect.Effect<void, ServingError>
  /**
   * Rewards the sampler with the conversions credited in the ad log since the last call (since the service was made,
   * the first time), each once: the number applied. Also run by `refresh` and the background revision check.
   */
  readonly learnConversions: Effect.Effect<number, ServingError>
  /** The click model (save it with `Ftrl.encode`). */
  readonly model: Ftrl.Ftrl
  /** The sampler (save it with `exportState`). */
  readonly sampler: Thompson.Thompson
}

/**
 * The ad-serving service tag.
 *
 * @since 0.1.0
 * @category services
 */
export class Serving extends Context.Tag("@openaudience/ad-selector/Serving")<Serving, Service>() {}

/**
 * The context of a decision the click model learns from.
 *
 * @since 0.1.0
 * @category models
 */
export interface LearningContext {
  readonly site: string
  readonly width: number
  readonly height: number
  readonly category?: string | undefined
  readonly device: Campaign.Device
  /** UTC hour of the decision, 0–23. */
  readonly hour: number
}

/**
 * The click model's features of a creative in a context: the publisher site, the slot size, the page category,
 * the device class, the UTC hour, the campaign, the creative, and the creative crossed with the site and with the
 * size (what works on one site or format need not work on another).
 *
 * @since 0.1.0
 * @category learning
 */
export const features = (context: LearningContext, campaignId: string, creativeId: string): ReadonlyArray<string> => {
  const site = `site=${context.site}`
  const size = `size=${context.width}x${context.height}`
  const creative = `creative=${campaignId}/${creativeId}`
  return [
    site,
    size,
    `cat=${context.category ?? "-"}`,
    `device=${context.device}`,
    `hour=${context.hour}`,
    `campaign=${campaignId}`,
    creative,
    Ftrl.cross(site, creative),
    Ftrl.cross(size, creative)
  ]
}

/** Where an interned learning context keeps the features of the creatives predicted in it. */
const featuresOf: unique symbol = Symbol("featuresOf")

/** A learning context shared by the requests alike in it, with each creative's features in it, hashed. */
interface InternedContext extends LearningContext {
  readonly [featuresOf]: WeakMap<Campaign.Creative, { readonly campaignId: string; readonly prepared: Ftrl.Prepared }>
}

/** Distinct learning contexts kept at once (sites × sizes × categories × devices × hours seen lately). */
const internedContexts = 10_000

/** The selector's request, with the learning context the predictor reads. */
interface ServingRequest extends Selector.Request {
  readonly learning: LearningContext
}

interface House {
  readonly campaign: Campaign.Campaign
  readonly creative: Campaign.Creative
  readonly targeting: Targeting.Compiled
}

interface Loaded {
  readonly revision: number
  readonly index: Selector.Index
  readonly campaigns: ReadonlyMap<string, Campaign.Campaign>
  /** Tenants with personalized or capped campaigns: the ones that need to know the visitor. */
  readonly identifying: ReadonlyArray<string>
  readonly houses: ReadonlyMap<string, ReadonlyArray<House>>
}

const sizeKey = (width: number, height: number) => `${width}x${height}`
const DAY = 86_400_000
const maxBrowserLength = 512
const productLookup = 50

const unavailable = (message: string) => (cause: unknown) => new ServingError({ reason: "Unavailable", message, cause })

const tokenError = (error: ClickToken.ClickTokenError) =>
  new ServingError({
    reason: error.reason === "Expired" ? "Expired" : "InvalidToken",
    message: error.message
  })

const impressionKey = (secret: Redacted.Redacted<Uint8Array>, kind: AdLog.ImpressionKind, id: number) => ({
  id,
  secret: Redacted.make(
    new Uint8Array(
      hkdfSync(
        "sha256",
        Redacted.value(secret),
        ClickToken.KeyDerivationSalt,
        `ad-selector/impression-token:${kind}:${id}`,
        32
      )
    )
  )
})

/**
 * A decision id: `d_`, the time in base 36 and 84 random bits from `rng` (21 hex digits). The time keeps two
 * processes whose random sources happen to share a seed from making the same ids.
 */
const decisionIdOf = (now: number, rng: Rng.Rng) => {
  let id = `d_${Math.max(0, Math.floor(now)).toString(36)}_`
  for (let i = 0; i < 3; i++)
    id += Math.floor(rng.next() * 0x10000000)
      .toString(16)
      .padStart(7, "0")
  return id
}

/** `decisionIdOf` with a generator seeded from `Random`. */
const newDecisionId = (now: number) => Effect.map(Rng.fromRandom, (rng) => decisionIdOf(now, rng))

/** The recent decisions' learning contexts by decision id. */
interface LearningCache {
  readonly get: (id: string) => LearningContext | undefined
  readonly set: (id: string, context: LearningContext) => unknown
}

/**
 * The learning-context cache of `size` entries: none when not positive, every context when infinite, else the most
 * recent decisions in two generations of `size / 2`: a full young map becomes the old one and the old one is dropped
 * whole. It holds at least the last `size / 2` decisions and at most the last `size`. Nothing is ever deleted from a
 * map (a deleted `Map` entry stays a hole in V8's table until it is rebuilt), and a set is one `Map.set`, where an LRU
 * also keeps its recency list: 2-3 % of the ad server's main thread went to `LRUCache.set`.
 */
const learningCacheOf = (size: number): LearningCache | undefined => {
  if (!(size > 0)) return undefined
  if (!Number.isFinite(size)) return new Map<string, LearningContext>()
  const generation = Math.max(1, Math.floor(size / 2))
  let young = new Map<string, LearningContext>()
  let old = new Map<string, LearningContext>()
  return {
    get: (id) => young.get(id) ?? old.get(id),
    set: (id, context) => {
      if (young.size >= generation) {
        old = young
        young = new Map()
      }
      young.set(id, context)
    }
  }
}

const noVisitors: ReadonlyMap<string, Targeting.Visitor> = new Map()

const build = (revision: number, all: ReadonlyArray<Campaign.Campaign>, options: Selector.Options): Loaded => {
  const index = Selector.make(all, options)
  const campaigns = new Map<string, Campaign.Campaign>()
  const identifying = new Set<string>()
  const houses = new Map<string, Array<House>>()
  for (const campaign of all) {
    campaigns.set(campaign.id, campaign)
    if (campaign.status !== "active" || campaign.bid.currency !== options.currency) continue
    if (Campaign.isPersonalized(campaign) || Campaign.isCapped(campaign)) identifying.add(campaign.tenant)
    if (campaign.tier.kind !== "house" || Campaign.isPersonalized(campaign)) continue
    const targeting = Targeting.compile(campaign.targeting)
    for (const creative of campaign.creatives) {
      if (creative.kind !== "static") continue
      const key = sizeKey(creative.width, creative.height)
      const list = houses.get(key) ?? []
      if (!list.some((h) => h.campaign.id === campaign.id)) list.push({ campaign, creative, targeting })
      houses.set(key, list)
    }
  }
  return { revision, index, campaigns, identifying: [...identifying].sort(), houses }
}

/**
 * Makes the service from its ports.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<
  Service,
  never,
  | CampaignStore.CampaignStore
  | Caps.CapStore
  | Budget.DeliveryStore
  | AdLog.AdLog
  | BrowserLinks.BrowserLinks
  | Visitors.Visitors
  | CatalogStore.CatalogStore
> =>
  Effect.gen(function* () {
    const campaignStore = yield* CampaignStore.CampaignStore
    const capStore = yield* Caps.CapStore
    const deliveryStore = yield* Budget.DeliveryStore
    const log = yield* AdLog.AdLog
    const links = yield* BrowserLinks.BrowserLinks
    const visitors = yield* Visitors.Visitors
    const catalog = yield* CatalogStore.CatalogStore

    const deadline = Duration.millis(options.deadlineMs ?? 50)
    const fallbackTime = Duration.millis(options.fallbackMs ?? 10)
    const refreshMs = options.refreshMs ?? 1000
    const backgroundLoadTime = Duration.millis(Math.max(10 * refreshMs, 10_000))
    const targetableTtl = options.targetableTtlMs ?? 5000
    const productCount = options.products ?? 3
    const maxAge = options.productMaxAgeMs ?? 30 * DAY
    const lifetimeMs = Duration.toMillis(Duration.decode(options.tokenLifetime ?? ClickToken.defaultLifetime))
    const privacyUrl = options.privacyUrl ?? "/privacy"
    const cacheSize = options.learningCache ?? 100_000
    const model = options.model ?? Ftrl.make({ baseRate: 0.002 })
    const sampler = options.sampler ?? Thompson.make({ propensityDraws: 20 })
    const conversionBatch = Math.max(1, Math.floor(options.conversionBatch ?? 500))

    const keyIds = [options.keyId ?? 1, ...(options.previousKeyIds ?? [])]
    // An ad's click and impression tokens are purpose-bound tokens (one MAC computation for the three); the version 1
    // keys below still verify tokens issued before them, until those expire.
    // Version 3 (keyed BLAKE3) signers; they also verify the version 2 tokens of the same keys.
    const adKeys = yield* Effect.orDie(
      Effect.forEach(keyIds, (id) => ClickToken.makePurposeSigner(ClickToken.derivePurposeKey(options.secret, id)))
    )
    const clickKeys = keyIds.map((id) => ClickToken.deriveKey(options.secret, id))
    const impressionKeys = {
      rendered: keyIds.map((id) => impressionKey(options.secret, "rendered", id)),
      viewable: keyIds.map((id) => impressionKey(options.secret, "viewable", id))
    }
    const tenantKeys = new Map<string, Redacted.Redacted<Uint8Array>>()
    const browserKeyOf = (tenant: string, browser: string) => {
      let key = tenantKeys.get(tenant)
      if (key === undefined) {
        key = BrowserLinks.deriveKey(options.secret, tenant)
        tenantKeys.set(tenant, key)
      }
      return BrowserLinks.browserKey(key, browser)
    }

    const predictor: Selector.Predictor = (campaign, creative, request) => {
      const learning = (request as Partial<ServingRequest>).learning
      if (learning === undefined) return 0.002
      const cache = (learning as Partial<InternedContext>)[featuresOf]
      if (cache === undefined) return Ftrl.predict(model, features(learning, campaign.id, creative.id))
      let known = cache.get(creative)
      if (known === undefined || known.campaignId !== campaign.id) {
        known = { campaignId: campaign.id, prepared: Ftrl.prepare(model, features(learning, campaign.id, creative.id)) }
        cache.set(creative, known)
      }
      return Ftrl.predictPrepared(model, known.prepared)
    }
    const selectorOptions: Selector.Options = {
      currency: options.currency,
      chooser: sampler,
      predictor,
      pacing: options.pacing
    }

    // The index and its freshness: checked at most every `refreshMs`, rebuilt in the background on a new revision.
    let loaded: Loaded | undefined
    let checkedAt = Number.NEGATIVE_INFINITY
    let refreshing = false
    const load = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      checkedAt = now
      const revision = yield* campaignStore.revision
      if (loaded !== undefined && loaded.revision === revision) return loaded
      const all = yield* campaignStore.all
      // Two loads may overlap (the first requests, a refresh): the newer revision stays.
      if (loaded === undefined || all.revision >= loaded.revision) {
        loaded = build(all.revision, all.campaigns, selectorOptions)
      }
      return loaded
    }).pipe(Effect.mapError(unavailable("the campaigns cannot be read")))
    // The first load runs in a fiber of its own that requests wait for: a request out of time stops waiting, not
    // the load, so a large index is built once even if building takes longer than a deadline.
    let initial: Fiber.RuntimeFiber<Loaded, ServingError> | undefined
    const firstLoad = Effect.gen(function* () {
      if (initial === undefined) {
        initial = yield* Effect.forkDaemon(
          Effect.tapError(
            Effect.timeoutFail(load, {
              duration: backgroundLoadTime,
              onTimeout: () =>
                new ServingError({ reason: "Unavailable", message: "the campaigns took too long to read" })
            }),
            () =>
              Effect.sync(() => {
                initial = undefined
              })
          )
        )
      }
      return yield* Effect.option(Fiber.join(initial))
    })
    // Delayed rewards: the position of the last conversion learned. A new process starts at the log's end: the
    // sampler it starts with (empty, or restored) has not seen the impressions of older decisions, or has counted
    // their conversions already.
    let conversionCursor: number | undefined = Option.getOrUndefined(yield* Effect.option(log.conversionCursor))
    const learning = yield* Effect.makeSemaphore(1)
    const learnConversions: Effect.Effect<number, ServingError> = learning.withPermits(1)(
      Effect.gen(function* () {
        if (conversionCursor === undefined) {
          conversionCursor = yield* log.conversionCursor
          return 0
        }
        let applied = 0
        for (;;) {
          const since: number = conversionCursor
          const batch: ReadonlyArray<AdLog.ConversionEntry> = yield* log.conversionsSince(since, conversionBatch)
          for (const entry of batch) {
            const record = yield* log.decision(entry.conversion.decisionId)
            // The position moves past each entry as it is applied, so an interrupted call never applies one twice.
            conversionCursor = entry.seq
            if (Option.isNone(record)) continue
            const d = record.value
            // Counted in the bucket of the decision, as its click is; refused once that bucket has left the window.
            if (sampler.conversion(d.campaignId, d.creativeId, d.at)) applied++
          }
          if (batch.length < conversionBatch) return applied
        }
      }).pipe(Effect.mapError(unavailable("the ad log cannot be read")))
    )

    const current = Effect.gen(function* () {
      if (loaded === undefined) return yield* firstLoad
      const now = yield* Clock.currentTimeMillis
      if (!refreshing && now - checkedAt >= refreshMs) {
        refreshing = true
        checkedAt = now
        // Bounded, so a store that never answers cannot stop later checks.
        yield* Effect.forkDaemon(
          Effect.ignore(Effect.timeout(Effect.zipRight(load, learnConversions), backgroundLoadTime)).pipe(
            Effect.ensuring(
              Effect.sync(() => {
                refreshing = false
              })
            )
          )
        )
      }
      return Option.some(loaded)
    })

    // Targetable audiences per tenant, cached for `targetableTtl`; unreadable: none (fail closed).
    const targetableCache = new Map<string, { readonly at: number; readonly audiences: ReadonlySet<string> }>()
    const targetableOf = (tenant: string, now: number) =>
      Effect.suspend(() => {
        const cached = targetableCache.get(tenant)
        if (cached !== undefined && now - cached.at < targetableTtl && now >= cached.at) {
          return Effect.succeed(cached.audiences)
        }
        return visitors.targetable(tenant).pipe(
          Effect.tap((audiences) => Effect.sync(() => targetableCache.set(tenant, { at: now, audiences }))),
          Effect.orElseSucceed((): ReadonlySet<string> => new Set())
        )
      })

    /** Whether the request's browser may be looked up: personalization allowed in every respect, a valid id. */
    const mayRecognize = (request: AdRequest): request is AdRequest & { readonly browser: string } =>
      request.personalization === true &&
      request.child === false &&
      request.publisher.childDirected === false &&
      typeof request.browser === "string" &&
      request.browser.length > 0 &&
      request.browser.length <= maxBrowserLength

    /** Each identifying tenant's view of the visitor; empty unless personalization is allowed in every respect. */
    const visitorsFor = (state: Loaded, request: AdRequest, now: number) =>
      Effect.gen(function* () {
        const found = new Map<string, Targeting.Visitor>()
        if (!mayRecognize(request)) return found
        const browser = request.browser
        yield* Effect.forEach(
          state.identifying,
          (tenant) =>
            Effect.gen(function* () {
              const linked = yield* links.visitorOf(tenant, browserKeyOf(tenant, browser))
              if (Option.isNone(linked)) return
              const visitor = linked.value
              const profile = yield* visitors.profile(tenant, visitor)
              const targetable = yield* targetableOf(tenant, now)
              const audiences = new Set<string>()
              if (Option.isSome(profile)) {
                for (const audience of profile.value.audiences) if (targetable.has(audience)) audiences.add(audience)
              }
              found.set(tenant, {
                key: visitor,
                child: false,
                personalization: true,
                audiences,
                lastSeen: Option.isSome(profile) ? profile.value.lastSeen : undefined
              })
            }).pipe(Effect.ignore),
          // Tenants in parallel when there are several (each fiber costs more than an in-memory lookup).
          { concurrency: state.identifying.length > 1 ? "unbounded" : 1, discard: true }
        )
        return found
      })

    const compiled = new Map<string, Either.Either<Template.Template, Template.TemplateError>>()
    const templateOf = (campaign: Campaign.Campaign, creative: Campaign.Creative) => {
      const source = options.templates?.(campaign, creative) ?? creative.template ?? Html.defaultProductTemplate
      let template = compiled.get(source)
      if (template === undefined) {
        template = Template.compile(source)
        // Templates of campaigns long gone are not kept forever.
        if (compiled.size >= 1000) compiled.clear()
        compiled.set(source, template)
      }
      return Either.getOrUndefined(template)
    }

    /** The products of a product creative: the visitor's (personalized) or the featured ones. */
    const productsFor = (tenant: string, visitor: string | undefined, personalized: boolean, now: number) =>
      Effect.gen(function* () {
        if (productCount <= 0) return []
        if (personalized && visitor !== undefined) {
          const history = yield* visitors.history(tenant, visitor, now - maxAge)
          const ids = Recommend.candidates(history, { now, maxAge }).slice(0, productLookup)
          if (ids.length > 0) {
            const found = yield* catalog.getByIds(tenant, ids)
            const chosen = Recommend.forVisitor(history, found, { max: productCount, now, maxAge })
            if (chosen.length > 0) return chosen
          }
        }
        const first = yield* catalog.list(tenant, { limit: productLookup })
        const products = first.filter((p) => p.availability === "in_stock").slice(0, productCount)
        featured.set(tenant, { at: now, products })
        return products
      }).pipe(Effect.orElseSucceed((): ReadonlyArray<Product.Product> => []))

    // The featured products last read per tenant: the decisions `serve` finishes from memory use them for
    // `refreshMs` (as they use the campaigns read at most that long ago); the others read the catalog.
    const featured = new Map<string, { readonly at: number; readonly products: ReadonlyArray<Product.Product> }>()
    const featuredNow = (tenant: string, now: number): ReadonlyArray<Product.Product> | undefined => {
      const known = featured.get(tenant)
      return known !== undefined && now >= known.at && now - known.at < refreshMs ? known.products : undefined
    }

    // An LRU rather than a Map trimmed of its oldest key: V8 keeps a deleted Map entry as a hole until the table is
    // rebuilt, and `keys().next()` walks over every hole from the start, so trimming a full Map cost tens of µs per
    // ad and more as the holes piled up (the ads benchmark's main thread went from 135 to 290 µs per ad over a run).
    const learningContexts = learningCacheOf(cacheSize)
    const remember = (decisionId: string, context: LearningContext) => {
      learningContexts?.set(decisionId, context)
    }

    /** What `deliver` is given: the decision to show and how. */
    interface Delivery {
      readonly request: AdRequest
      readonly campaign: Campaign.Campaign
      readonly creative: Campaign.Creative
      readonly visitor: string | undefined
      readonly personalized: boolean
      readonly propensity: number
      readonly costMillis: number
      readonly reason: string
      readonly fallback: boolean
      readonly learning: LearningContext
      readonly now: number
    }

    /** A static creative linked to its click URL (`clickBase` and a base64url token, which nothing escapes). */
    const staticCreativeOf = (creative: Campaign.Creative, clickBase: string, token: string): string =>
      Html.staticCreativeAround(Viewability.escapeHtml(clickBase) + token, Html.staticContent(creative))

    // A static creative's whole fragment is the same in every ad but for the decision id and the click token, both of
    // characters nothing escapes (HTML or JSON): it is made once per creative, slot size, personalization and click
    // base, as the texts around those two, in HTML and as a JSON string (the answer's `html` in a JSON answer).
    const fragmentTemplates = new WeakMap<Campaign.Creative, Map<string, FragmentTemplate | null>>()
    const fragmentTemplateOf = (
      creative: Campaign.Creative,
      personalized: boolean,
      width: number,
      height: number,
      clickBase: string
    ): FragmentTemplate | null => {
      let forCreative = fragmentTemplates.get(creative)
      if (forCreative === undefined) {
        forCreative = new Map()
        fragmentTemplates.set(creative, forCreative)
      }
      const key = `${personalized ? 1 : 0}${width}x${height}\u0000${clickBase}`
      let made = forCreative.get(key)
      if (made === undefined) {
        // Bounded: sizes and click bases are few; a creative seen in more is made afresh each time past the cap.
        if (forCreative.size >= 64) forCreative.clear()
        const html = Html.fragment({
          decisionId: decisionMark,
          personalized,
          width,
          height,
          creative: staticCreativeOf(creative, clickBase, tokenMark),
          privacyUrl
        })
        const raw = aroundMarks(html)
        const json = aroundMarks(JSON.stringify(html))
        made = raw === undefined || json === undefined ? null : { raw, json }
        forCreative.set(key, made)
      }
      return made
    }

    /** The ad of a decision with its id and products, and the record to log (nothing is written here). */
    const render = (
      input: Delivery,
      decisionId: string,
      products: ReadonlyArray<Product.Product>
    ): Either.Either<{ readonly ad: Ad; readonly record: AdLog.DecisionRecord }, ClickToken.ClickTokenError> => {
      const { campaign, creative, request, now } = input
      const template = products.length > 0 ? templateOf(campaign, creative) : undefined
      const shown = template === undefined ? [] : products
      const expiresAt = now + lifetimeMs
      const claims = {
        decisionId,
        campaignId: campaign.id,
        creativeId: creative.id,
        productId: undefined as string | undefined,
        tenant: campaign.tenant,
        expiresAt
      }
      const signed = ClickToken.signPurposes(claims, adKeys[0]!)
      if (Either.isLeft(signed)) return Either.left(signed.left)
      const tokens = signed.right
      const clickUrl = request.links.click + tokens.click
      const impressionUrl = `${request.links.impression}rendered/${tokens.rendered}`
      const viewableUrl = `${request.links.impression}viewable/${tokens.viewable}`
      const items: Array<Template.Item> = []
      for (const product of shown) {
        claims.productId = product.id
        const token = ClickToken.signPurpose(claims, "click", adKeys[0]!)
        if (Either.isLeft(token)) return Either.left(token.left)
        items.push({ product, clickUrl: request.links.click + token.right })
      }
      const record: AdLog.DecisionRecord = {
        id: decisionId,
        tenant: campaign.tenant,
        campaignId: campaign.id,
        creativeId: creative.id,
        productIds: shown.map((p) => p.id),
        publisher: request.publisher.siteKey,
        slot: request.slot,
        visitor: input.visitor ?? null,
        personalized: input.personalized,
        propensity: input.propensity,
        costMillis: input.costMillis,
        currency: options.currency,
        at: now
      }
      const made =
        template === undefined && unescaped.test(decisionId)
          ? fragmentTemplateOf(creative, input.personalized, request.width, request.height, request.links.click)
          : null
      const fragment =
        made !== null
          ? made.raw[0] + decisionId + made.raw[1] + tokens.click + made.raw[2]
          : Html.fragment({
              decisionId,
              personalized: input.personalized,
              width: request.width,
              height: request.height,
              creative:
                template !== undefined
                  ? Html.productCreative(template, items)
                  : staticCreativeOf(creative, request.links.click, tokens.click),
              privacyUrl
            })
      const html =
        request.format === "json"
          ? fragment
          : Html.document({
              fragment,
              personalized: input.personalized,
              width: request.width,
              height: request.height,
              renderedUrl: impressionUrl,
              viewableUrl,
              nonce: request.nonce
            })
      const ad: Ad = {
        _tag: "Ad",
        decisionId,
        tenant: campaign.tenant,
        campaignId: campaign.id,
        creativeId: creative.id,
        personalized: input.personalized,
        fallback: input.fallback,
        reason: input.reason,
        products: shown.map((p) => ({ id: p.id, title: p.title, price: p.price })),
        html,
        clickUrl,
        impressionUrl,
        viewableUrl
      }
      if (made !== null && request.format === "json") {
        jsonHtmlOf.set(ad, made.json[0] + decisionId + made.json[1] + tokens.click + made.json[2])
      }
      return Either.right({ ad, record })
    }

    /** Logs a rendered ad's decision, then answers the ad. */
    const logged = (rendered: { readonly ad: Ad; readonly record: AdLog.DecisionRecord }, learning: LearningContext) =>
      Effect.map(log.recordDecision(rendered.record), () => {
        remember(rendered.ad.decisionId, learning)
        return rendered.ad
      })

    /** Records the decision and renders the ad. */
    const deliver = (input: Delivery) =>
      Effect.gen(function* () {
        const { campaign, creative, now } = input
        const decisionId = yield* newDecisionId(now)
        const products =
          creative.kind === "product" && !input.fallback
            ? yield* productsFor(campaign.tenant, input.visitor, input.personalized, now)
            : []
        return yield* logged(yield* render(input, decisionId, products), input.learning)
      })

    // One learning context per distinct (site, size, category, device, hour), with the features of each creative
    // predicted in it: the same strings every time, so the click model's hash lookups find them without hashing
    // them again, and no feature string is built per request. Emptied when it holds `internedContexts`.
    const interned = new Map<string, InternedContext>()
    // The context of the last request: a slot's requests come in runs, and this comparison costs less than the key.
    let lastLearning: LearningContext | undefined
    const learningOf = (request: AdRequest, now: number): LearningContext => {
      const hour = hourOfDay(now)
      const last = lastLearning
      if (
        last !== undefined &&
        last.hour === hour &&
        last.site === request.publisher.siteKey &&
        last.width === request.width &&
        last.height === request.height &&
        last.category === request.category &&
        last.device === request.device
      ) {
        return last
      }
      lastLearning = internedLearningOf(request, hour)
      return lastLearning
    }
    const internedLearningOf = (request: AdRequest, hour: number): LearningContext => {
      const category = request.category === undefined ? "\u0001" : `=${request.category}`
      const key =
        `${request.publisher.siteKey}\u0000${request.width}x${request.height}\u0000${category}` +
        `\u0000${request.device}\u0000${hour}`
      let context = interned.get(key)
      if (context === undefined) {
        if (interned.size >= internedContexts) interned.clear()
        context = {
          site: request.publisher.siteKey,
          width: request.width,
          height: request.height,
          category: request.category,
          device: request.device,
          hour,
          [featuresOf]: new WeakMap()
        }
        interned.set(key, context)
      }
      return context
    }

    const selectorRequestOf = (
      request: AdRequest,
      visitors: ReadonlyMap<string, Targeting.Visitor>,
      learning: LearningContext
    ): ServingRequest => ({
      // Written out, not spread from a targeting context: a spread builds the object on V8's slow path, and every
      // targeting check of the decision reads it.
      site: request.publisher.siteKey,
      childDirected: request.publisher.childDirected,
      child: request.child,
      width: request.width,
      height: request.height,
      category: request.category,
      device: request.device,
      visitors,
      learning
    })

    /** What to deliver for a decision: NoAd for an empty one. */
    const toDeliver = (
      state: Loaded,
      request: AdRequest,
      selectorRequest: ServingRequest,
      decision: Decision.Decision
    ): Delivery | NoAd => {
      if (decision._tag === "Empty") return { _tag: "NoAd", reason: decision.reason }
      const campaign = state.campaigns.get(decision.campaignId)!
      const creative = campaign.creatives.find((c) => c.id === decision.creativeId)!
      const visitor = selectorRequest.visitors.get(decision.tenant)
      return {
        request,
        campaign,
        creative,
        visitor: visitor?.key,
        // Only a decision the selector made on the visitor's data, which it does only when personalization is
        // allowed for this tenant's visitor: checked again here, so a bug upstream cannot show a personal ad.
        personalized: decision.personalized && Targeting.mayPersonalize(selectorRequest, visitor),
        propensity: decision.propensity,
        costMillis: decision.costMillis,
        reason: decision.reason,
        fallback: false,
        learning: selectorRequest.learning,
        now: decision.at
      }
    }

    const deliverDecision = (
      state: Loaded,
      request: AdRequest,
      selectorRequest: ServingRequest,
      decision: Decision.Decision
    ): Effect.Effect<Answer, unknown> => {
      const input = toDeliver(state, request, selectorRequest, decision)
      return "_tag" in input ? Effect.succeed(input) : deliver(input)
    }

    /** A decision's effect over this service's cap and delivery stores. */
    const withStores = <A>(decision: Effect.Effect<A, never, Caps.CapStore | Budget.DeliveryStore>) =>
      decision.pipe(
        Effect.provideService(Caps.CapStore, capStore),
        Effect.provideService(Budget.DeliveryStore, deliveryStore)
      )

    const decideAndDeliver = (request: AdRequest) =>
      Effect.gen(function* () {
        const state = yield* current
        if (Option.isNone(state)) return { _tag: "NoAd", reason: "the campaigns cannot be read" } as const
        const now = yield* Clock.currentTimeMillis
        const visitorsByTenant = yield* visitorsFor(state.value, request, now)
        const selectorRequest = selectorRequestOf(request, visitorsByTenant, learningOf(request, now))
        const decision = yield* withStores(Selector.decide(state.value.index, selectorRequest))
        return yield* deliverDecision(state.value, request, selectorRequest, decision)
      })

    /**
     * The decision made from memory, the usual case on a server: the campaigns loaded and fresh, no browser to look
     * up (none may be recognized, or no tenant needs it), budgets from the delivery store's memory
     * (`Selector.unsafeDecide`), featured products read within `refreshMs`. Its decision id comes from `rng`. What
     * memory cannot answer continues through the effects from where it stopped; `undefined` when the request needs
     * `decideAndDeliver` from the start (nothing was done).
     */
    const fromMemory = (
      request: AdRequest,
      now: number,
      rng: Rng.Rng
    ): Answer | Effect.Effect<Answer, unknown> | undefined => {
      const state = loaded
      if (state === undefined || (!refreshing && now - checkedAt >= refreshMs)) return undefined
      if (state.identifying.length > 0 && mayRecognize(request)) return undefined
      const selectorRequest = selectorRequestOf(request, noVisitors, learningOf(request, now))
      const decided = Selector.unsafeDecide(state.index, selectorRequest, { now, rng, deliveryStore })
      if (decided._tag === "Suspended") {
        return Effect.flatMap(withStores(decided.resume), (decision) =>
          deliverDecision(state, request, selectorRequest, decision)
        )
      }
      const input = toDeliver(state, request, selectorRequest, decided)
      if ("_tag" in input) return input
      const products = input.creative.kind === "product" ? featuredNow(input.campaign.tenant, input.now) : []
      if (products === undefined) return deliver(input)
      const rendered = render(input, decisionIdOf(input.now, rng), products)
      if (Either.isLeft(rendered)) return Effect.fail(rendered.left)
      if (log.unsafeRecordDecision?.(rendered.right.record) !== true) return logged(rendered.right, input.learning)
      remember(rendered.right.ad.decisionId, input.learning)
      return rendered.right.ad
    }

    /** A static house ad of the slot's size, recorded within `fallbackTime`; else no ad. */
    const fallback = (request: AdRequest, why: string) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const context = selectorRequestOf(request, noVisitors, learningOf(request, now))
        const house = loaded?.houses
          .get(sizeKey(request.width, request.height))
          ?.find(
            (h) =>
              h.campaign.schedule.start.epochMillis <= now &&
              (h.campaign.schedule.end === undefined || now < h.campaign.schedule.end.epochMillis) &&
              Targeting.check(h.targeting, context, undefined, now) === undefined
          )
        if (house === undefined) return { _tag: "NoAd", reason: `${why}; no house ad of this size` } as const
        const answer: Answer = yield* deliver({
          request,
          campaign: house.campaign,
          creative: house.creative,
          visitor: undefined,
          personalized: false,
          propensity: 1,
          costMillis: 0,
          reason: `house: fallback (${why})`,
          fallback: true,
          learning: context.learning,
          now
        }).pipe(
          Effect.timeout(fallbackTime),
          Effect.orElseSucceed((): Answer => ({ _tag: "NoAd", reason: `${why}; the house ad could not be recorded` }))
        )
        return answer
      }).pipe(Effect.catchAllCause(() => Effect.succeed<Answer>({ _tag: "NoAd", reason: `${why}; no fallback` })))

    // The decision runs synchronously as far as it can: with its state in memory (the usual case) it ends without
    // waiting, and no timer is set (a timer and the race around it cost more than the decision itself). Only a
    // decision that waits (a store's read over the network) is joined under the deadline, and interrupted after it.
    const answerOf = (request: AdRequest, exit: Exit.Exit<Answer, unknown>): Effect.Effect<Answer> =>
      Exit.isSuccess(exit) ? Effect.succeed(exit.value) : fallback(request, "the decision failed")
    const bounded = (request: AdRequest, decision: Effect.Effect<Answer, unknown>): Effect.Effect<Answer> =>
      Effect.flatMap(Effect.runtime<never>(), (runtime) => {
        const exit = Runtime.runSyncExit(runtime, decision)
        if (Exit.isSuccess(exit) || exit.cause._tag !== "Die" || !Runtime.isAsyncFiberException(exit.cause.defect)) {
          return answerOf(request, exit)
        }
        const fiber = exit.cause.defect.fiber as Fiber.RuntimeFiber<Answer>
        return Fiber.join(fiber).pipe(
          Effect.timeout(deadline),
          Effect.exit,
          Effect.flatMap((joined) =>
            Exit.isFailure(joined) && Cause.isFailType(joined.cause) && Cause.isTimeoutException(joined.cause.error)
              ? Effect.zipRight(Fiber.interruptFork(fiber), fallback(request, "the decision ran out of time"))
              : answerOf(request, joined)
          )
        )
      })
    /** The answer now when memory holds all the decision needs, else the effect that decides (within the deadline). */
    const serveWith = (request: AdRequest, now: number, rng: Rng.Rng): Answer | Effect.Effect<Answer> => {
      let quick: ReturnType<typeof fromMemory>
      try {
        quick = fromMemory(request, now, rng)
      } catch (defect) {
        return answerOf(request, Exit.die(defect))
      }
      if (quick === undefined) return bounded(request, decideAndDeliver(request))
      return Effect.isEffect(quick) ? bounded(request, quick) : quick
    }
    const serve = (request: AdRequest): Effect.Effect<Answer> =>
      Effect.clockWith((clock) =>
        Effect.flatMap(Random.nextIntBetween(0, 2 ** 31), (seed) =>
          Effect.suspend(() => {
            const answer = serveWith(request, clock.unsafeCurrentTimeMillis(), Rng.seeded(seed))
            return Effect.isEffect(answer) ? answer : Effect.succeed(answer)
          })
        )
      )
    // `unsafeServe` has no fiber to read them from: the clock and a generator seeded once, from the maker's.
    const clock = yield* Effect.clock
    const rng = Rng.seeded(yield* Random.nextIntBetween(0, 2 ** 31))
    const unsafeServe = (request: AdRequest): Answer | Effect.Effect<Answer> =>
      serveWith(request, clock.unsafeCurrentTimeMillis(), rng)

    /** The decision a token names, checked against the token's claims. */
    const decisionOf = (claims: ClickToken.Claims) =>
      Effect.gen(function* () {
        const found = yield* log
          .decision(claims.decisionId)
          .pipe(Effect.mapError(unavailable("the ad log cannot be read")))
        if (
          Option.isNone(found) ||
          found.value.tenant !== claims.tenant ||
          found.value.campaignId !== claims.campaignId ||
          found.value.creativeId !== claims.creativeId ||
          (claims.productId !== undefined && !found.value.productIds.includes(claims.productId))
        ) {
          return yield* new ServingError({ reason: "UnknownDecision", message: "no such decision" })
        }
        return found.value
      })

    const campaignOf = (tenant: string, campaignId: string) =>
      Effect.gen(function* () {
        const known = loaded?.campaigns.get(campaignId)
        if (known !== undefined && known.tenant === tenant) return Option.some(known)
        return yield* campaignStore
          .get(tenant, campaignId)
          .pipe(Effect.mapError(unavailable("the campaigns cannot be read")))
      })

    /** The learning context of a decision: as served when this process served it, else rebuilt from the log. */
    const contextOf = (record: AdLog.DecisionRecord, campaign: Option.Option<Campaign.Campaign>): LearningContext => {
      const known = learningContexts?.get(record.id)
      if (known !== undefined) return known
      const creative = Option.getOrUndefined(campaign)?.creatives.find((c) => c.id === record.creativeId)
      return {
        site: record.publisher,
        width: creative?.width ?? 0,
        height: creative?.height ?? 0,
        device: "unknown",
        hour: hourOfDay(record.at)
      }
    }

    const click = (token: string) =>
      Effect.gen(function* () {
        const claims = yield* ClickToken.verifyPurposeNow(token, "click", adKeys, clickKeys).pipe(
          Effect.mapError(tokenError)
        )
        const record = yield* decisionOf(claims)
        const campaign = yield* campaignOf(record.tenant, record.campaignId)
        const creative = Option.getOrUndefined(campaign)?.creatives.find((c) => c.id === record.creativeId)
        let location = creative?.landingUrl
        if (claims.productId !== undefined) {
          const products = yield* catalog
            .getByIds(record.tenant, [claims.productId])
            .pipe(Effect.mapError(unavailable("the catalog cannot be read")))
          location = products[0]?.link ?? location
        }
        if (location === undefined) {
          return yield* new ServingError({ reason: "UnknownLanding", message: "the ad's campaign or creative is gone" })
        }
        const now = yield* Clock.currentTimeMillis
        const counted = yield* log
          .recordClick(record.id, now)
          .pipe(Effect.mapError(unavailable("the ad log cannot be written")))
        if (counted) {
          sampler.click(record.campaignId, record.creativeId, record.at)
          Ftrl.update(model, features(contextOf(record, campaign), record.campaignId, record.creativeId), true)
        }
        const result: Click = {
          location,
          decisionId: record.id,
          tenant: record.tenant,
          campaignId: record.campaignId,
          creativeId: record.creativeId,
          productId: claims.productId,
          counted
        }
        return result
      })

    const impression = (token: string, kind: AdLog.ImpressionKind) =>
      Effect.gen(function* () {
        const keys =
          kind === "rendered" ? impressionKeys.rendered : kind === "viewable" ? impressionKeys.viewable : undefined
        if (keys === undefined)
          return yield* new ServingError({ reason: "InvalidInput", message: "unknown impression kind" })
        const claims = yield* ClickToken.verifyPurposeNow(token, kind, adKeys, keys).pipe(Effect.mapError(tokenError))
        const now = yield* Clock.currentTimeMillis
        const counted = yield* log
          .recordImpression(claims.decisionId, kind, now)
          .pipe(Effect.mapError(unavailable("the ad log cannot be written")))
        if (counted && kind === "rendered") {
          const record = yield* decisionOf(claims).pipe(Effect.option)
          if (Option.isSome(record)) {
            const r = record.value
            sampler.impression(r.campaignId, r.creativeId, r.at)
            // The impression is a negative example now; a click adds the positive one later (for click rates of a
            // few percent the bias of counting a clicked impression twice is negligible).
            const campaign = Option.fromNullable(loaded?.campaigns.get(r.campaignId))
            Ftrl.update(model, features(contextOf(r, campaign), r.campaignId, r.creativeId), false)
          }
        }
        return counted
      })

    // Per tenant, the windows of its campaigns in the index (overridden by `options.attribution`), kept per index.
    let windowsIndex: {
      readonly of: Loaded | undefined
      readonly byTenant: Map<string, Attribution.WindowsByCampaign>
    } = { of: undefined, byTenant: new Map() }
    const windowsOf = (campaigns: Iterable<Campaign.Campaign>): Attribution.WindowsByCampaign => {
      const own = Attribution.fromCampaigns(campaigns, options.attribution?.fallback)
      const overrides = options.attribution?.campaigns
      if (overrides === undefined || overrides.size === 0) return own
      const merged = new Map(own.campaigns)
      for (const [id, w] of overrides) merged.set(id, w)
      return { campaigns: merged, fallback: own.fallback }
    }
    const tenantWindows = (tenant: string) =>
      Effect.gen(function* () {
        const state = loaded
        if (state === undefined) {
          const listed = yield* campaignStore
            .list(tenant)
            .pipe(Effect.mapError(unavailable("the campaigns cannot be read")))
          return windowsOf(listed)
        }
        if (windowsIndex.of !== state) windowsIndex = { of: state, byTenant: new Map() }
        let found = windowsIndex.byTenant.get(tenant)
        if (found === undefined) {
          const own: Array<Campaign.Campaign> = []
          for (const c of state.campaigns.values()) if (c.tenant === tenant) own.push(c)
          found = windowsOf(own)
          windowsIndex.byTenant.set(tenant, found)
        }
        return found
      })

    const conversion = (input: ConversionInput) =>
      Effect.gen(function* () {
        const windows = yield* tenantWindows(input.tenant)
        // Touches are read with the longest window of any of the tenant's campaigns, then judged by their own.
        const touches = yield* log
          .touches(input.tenant, input.visitor, input.at - Attribution.lookback(windows))
          .pipe(Effect.mapError(unavailable("the ad log cannot be read")))
        const attribution = Attribution.attribute(
          touches,
          { orderId: input.orderId, at: input.at, value: input.value },
          windows
        )
        if (attribution.touch === undefined) return { attribution, recorded: false }
        const recorded = yield* log
          .recordConversion({
            tenant: input.tenant,
            orderId: input.orderId,
            decisionId: attribution.touch.decisionId,
            campaignId: attribution.touch.campaignId,
            visitor: input.visitor,
            value: input.value.amount,
            currency: input.value.currency,
            at: input.at
          })
          .pipe(Effect.mapError(unavailable("the ad log cannot be written")))
        return { attribution, recorded }
      })

    const campaignStats = (tenant: string, campaignId: string, days: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const range = yield* Stats.lastDays(days, now).pipe(
          Effect.mapError((e) => new ServingError({ reason: "InvalidRange", message: e.message }))
        )
        const rows = yield* log
          .dailyStats(tenant, campaignId, range)
          .pipe(Effect.mapError(unavailable("the ad log cannot be read")))
        return yield* Stats.summarize(rows, range).pipe(
          Effect.mapError(
            (e) =>
              new ServingError({
                reason: e.reason === "InvalidRange" ? "InvalidRange" : "Unavailable",
                message: e.message
              })
          )
        )
      })

    const browserInput = (browser: string) =>
      typeof browser !== "string" || browser.length === 0 || browser.length > maxBrowserLength
        ? Effect.fail(new ServingError({ reason: "InvalidInput", message: "not a browser id" }))
        : Effect.succeed(browser)

    const service: Service = {
      serve,
      unsafeServe,
      click,
      impression,
      conversion,
      campaignStats,
      linkBrowser: ({ browser, tenant, visitor }) =>
        Effect.gen(function* () {
          const raw = yield* browserInput(browser)
          const now = yield* Clock.currentTimeMillis
          yield* links
            .link(tenant, browserKeyOf(tenant, raw), visitor, now)
            .pipe(Effect.mapError(unavailable("the browser links cannot be written")))
        }),
      unlinkBrowser: ({ browser, tenant, visitor }) =>
        Effect.gen(function* () {
          const key = browser === undefined ? undefined : browserKeyOf(tenant, yield* browserInput(browser))
          if (key === undefined && visitor === undefined) return 0
          return yield* links
            .unlink(tenant, { browserKey: key, visitor })
            .pipe(Effect.mapError(unavailable("the browser links cannot be written")))
        }),
      eraseVisitor: (tenant, visitor) =>
        Effect.gen(function* () {
          const removedLinks = yield* links.eraseVisitor(tenant, visitor)
          const removedLog = yield* log.eraseVisitor(tenant, visitor)
          yield* capStore.forget(tenant, visitor)
          return { links: removedLinks, log: removedLog }
        }).pipe(Effect.mapError(unavailable("the visitor cannot be erased"))),
      refresh: Effect.zipRight(load, learnConversions).pipe(Effect.asVoid),
      learnConversions,
      model,
      sampler
    }
    return service
  })

/**
 * The service as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  Serving,
  never,
  | CampaignStore.CampaignStore
  | Caps.CapStore
  | Budget.DeliveryStore
  | AdLog.AdLog
  | BrowserLinks.BrowserLinks
  | Visitors.Visitors
  | CatalogStore.CatalogStore
> => Layer.effect(Serving, make(options))
