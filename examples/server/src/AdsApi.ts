/**
 * The advertiser's side of ads in the admin API: campaigns (`/v1/campaigns`, over @openaudience/ad-selector's
 * `CampaignStore`), their statistics (`AdLog` summarized by `Stats`), and the product catalog (`PUT /v1/catalog`,
 * a Google Merchant Center / Meta feed in JSON, CSV or TSV, validated row by row by @openaudience/catalog's `Feed`
 * against the tenant's site origins and stored by `CatalogStore.replace`). HTTP adapters only; every rule is in
 * the packages. Changes are audited.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { AdLog, Campaign, CampaignStore, Stats } from "@openaudience/ad-selector"
import { CatalogStore, Feed } from "@openaudience/catalog"
import { TenancyStore } from "@openaudience/tenancy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Access from "./Access.js"
import * as AdminApi from "./AdminApi.js"
import * as Audit from "./Audit.js"
import * as BodyLimit from "./BodyLimit.js"
import * as JsonBody from "./JsonBody.js"
import * as Problem from "./Problem.js"
import { ServerConfig } from "./ServerConfig.js"

const maxCampaignBytes = 256 * 1024

const json = (value: unknown, status = 200) =>
  HttpServerResponse.unsafeJson(value, { status, headers: { "cache-control": "no-store" } })

const campaignFailure = (error: CampaignStore.CampaignStoreError) =>
  error.reason === "Conflict"
    ? Problem.fail("conflict", error.message, { field: "id" })
    : Effect.zipRight(
        Effect.logError("campaign store failed", error),
        Problem.fail("unavailable", "campaigns cannot be reached right now; try again shortly")
      )

const campaigns = <A>(f: (store: CampaignStore.Service) => Effect.Effect<A, CampaignStore.CampaignStoreError>) =>
  Effect.flatMap(CampaignStore.CampaignStore, f).pipe(Effect.catchTag("CampaignStoreError", campaignFailure))

const view = (campaign: Campaign.Campaign) => Campaign.encode(campaign)

/** The request body as a campaign of `tenant`: the schema first (field paths), then the rules across fields. */
const campaignOf = (tenant: string, pathId?: string) =>
  Effect.gen(function* () {
    const input = yield* JsonBody.decode(AdminApi.CampaignRequest, maxCampaignBytes)
    if (pathId !== undefined && input.id !== pathId) {
      return yield* Problem.fail("invalid-body", `id: must be the campaign's id, ${pathId}`, { field: "id" })
    }
    const decoded = Schema.decodeUnknownEither(Campaign.Campaign, { errors: "all" })({
      ...Schema.encodeSync(AdminApi.CampaignRequest)(input),
      tenant
    })
    if (Either.isLeft(decoded)) {
      return yield* Effect.fail(new Problem.ProblemError(Problem.fromParseError("invalid-body", decoded.left)))
    }
    return decoded.right
  })

/** Campaign ids as `Campaign` allows them; anything else names no campaign (and never reaches a store). */
const campaignIdPattern = /^[A-Za-z0-9._:-]{1,128}$/

/** The campaign id of the path, or a 404 problem. */
const campaignId = Effect.flatMap(HttpRouter.params, (params) => {
  const id = params.id ?? ""
  return campaignIdPattern.test(id) ? Effect.succeed(id) : Problem.fail("not-found", "no such campaign")
})

const found = <A>(option: Option.Option<A>, id: string) =>
  Option.isSome(option) ? Effect.succeed(option.value) : Problem.fail("not-found", `no campaign ${id}`)

const actorOf = (keyId: string): Audit.Actor => ({ kind: "key", id: keyId })

const list = Effect.gen(function* () {
  const { tenant } = yield* Access.principal
  return json({ campaigns: (yield* campaigns((s) => s.list(tenant.id))).map(view) })
})

const create = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const campaign = yield* campaignOf(tenant.id)
  const created = yield* Audit.audited(
    { tenant: tenant.id, actor: actorOf(keyId), action: "campaign.create", target: `campaign:${campaign.id}` },
    campaigns((s) =>
      Effect.flatMap(s.get(tenant.id, campaign.id), (existing) =>
        Option.isSome(existing) ? Effect.succeed(false) : s.put(campaign)
      )
    )
  )
  if (!created) return yield* Problem.fail("conflict", `a campaign ${campaign.id} exists`, { field: "id" })
  return json(view(campaign), 201)
})

const read = Effect.gen(function* () {
  const { tenant } = yield* Access.principal
  const id = yield* campaignId
  return json(view(yield* found(yield* campaigns((s) => s.get(tenant.id, id)), id)))
})

const replace = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const id = yield* campaignId
  // Another tenant's campaign is a 404 whatever the body says.
  yield* found(yield* campaigns((s) => s.get(tenant.id, id)), id)
  const campaign = yield* campaignOf(tenant.id, id)
  yield* Audit.audited(
    { tenant: tenant.id, actor: actorOf(keyId), action: "campaign.update", target: `campaign:${id}` },
    campaigns((s) => s.put(campaign))
  )
  return json(view(campaign))
})

const remove = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const id = yield* campaignId
  const removed = yield* Audit.audited(
    { tenant: tenant.id, actor: actorOf(keyId), action: "campaign.delete", target: `campaign:${id}` },
    campaigns((s) => s.remove(tenant.id, id))
  )
  if (!removed) return yield* Problem.fail("not-found", `no campaign ${id}`)
  return HttpServerResponse.empty({ status: 204 })
})

/** `GET /v1/campaigns/:id/stats?days=N`: counters per day and in total, CTR with its Wilson interval. */
const stats = Effect.gen(function* () {
  const { tenant } = yield* Access.principal
  const id = yield* campaignId
  yield* found(yield* campaigns((s) => s.get(tenant.id, id)), id)
  const params = yield* HttpServerRequest.ParsedSearchParams
  const days = params.days === undefined ? 7 : Number(params.days)
  const now = yield* Clock.currentTimeMillis
  const range = yield* Either.match(Stats.lastDays(days, now), {
    onLeft: (error) => Problem.fail("invalid-parameter", `days: ${error.message}`, { field: "days" }),
    onRight: Effect.succeed
  })
  const log = yield* AdLog.AdLog
  const rows = yield* log
    .dailyStats(tenant.id, id, range)
    .pipe(
      Effect.catchTag("AdLogError", (error) =>
        Effect.zipRight(
          Effect.logError("ad log failed", error),
          Problem.fail("unavailable", "statistics cannot be read right now; try again shortly")
        )
      )
    )
  return yield* Either.match(Stats.summarize(rows, range), {
    onLeft: (error) => Effect.zipRight(Effect.logError("statistics failed", error), Effect.die(error)),
    onRight: (summary) => Effect.succeed(json(Stats.CampaignStats.make(summary)))
  })
})

/** The feed format of a request's content type, or a 415 problem. */
const formatOf = (contentType: string | undefined) => {
  const type = (contentType ?? "").toLowerCase()
  if (/^application\/(?:[\w.+-]+\+)?json\b/.test(type)) return Effect.succeed("json" as const)
  if (/^text\/csv\b/.test(type)) return Effect.succeed("csv" as const)
  if (/^text\/tab-separated-values\b/.test(type)) return Effect.succeed("tsv" as const)
  return Problem.fail(
    "unsupported-media-type",
    "send the feed as application/json, text/csv or text/tab-separated-values"
  )
}

/** How many rejected rows an answer lists (the counts are always complete). */
const maxRejectedListed = 1000

/**
 * `PUT /v1/catalog`: replaces the tenant's catalog with the feed's valid rows (all at once: a failed store leaves
 * the previous catalog), answers the report (accepted and rejected rows with reasons).
 */
const replaceCatalog = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const config = yield* ServerConfig
  const request = yield* HttpServerRequest.HttpServerRequest
  const format = yield* formatOf(request.headers["content-type"])
  const body = yield* BodyLimit.bytes(config.catalogMaxBytes)
  const sites = yield* Effect.flatMap(TenancyStore.TenancyStore, (store) => store.listSites(tenant.id)).pipe(
    Effect.catchTag("TenancyError", () =>
      Problem.fail("unavailable", "the tenant's sites cannot be read right now; try again shortly")
    )
  )
  const origins = [...new Set(sites.flatMap((site) => site.origins))]
  if (origins.length === 0) {
    return yield* Problem.fail("conflict", "add a site with its origins first: product links must be on them")
  }
  const report = yield* Either.match(Feed.parse(body, { format, origins }), {
    onLeft: (error) =>
      error.reason === "TooLarge"
        ? Problem.fail("body-too-large", error.message)
        : Problem.fail("invalid-body", error.message, { reason: error.reason }),
    onRight: Effect.succeed
  })
  const stored = yield* Audit.audited(
    { tenant: tenant.id, actor: actorOf(keyId), action: "catalog.replace", target: "catalog" },
    Effect.flatMap(CatalogStore.CatalogStore, (store) => store.replace(tenant.id, report.products)).pipe(
      Effect.catchTag("CatalogError", (error) =>
        error.reason === "InvalidInput"
          ? Problem.fail("invalid-body", error.message)
          : Effect.zipRight(
              Effect.logError("catalog store failed", error),
              Problem.fail("unavailable", "the catalog cannot be stored right now; try again shortly")
            )
      )
    ),
    (count) => ({ products: count, rejected: report.rejected.length })
  )
  return json({
    accepted: stored,
    rejected: report.rejected.length,
    rows: report.rows,
    ignoredColumns: report.ignoredColumns,
    rejections: report.rejected.slice(0, maxRejectedListed)
  })
})

/** `GET /v1/catalog?after=ID&limit=N`: the tenant's products in id order. */
const listCatalog = Effect.gen(function* () {
  const { tenant } = yield* Access.principal
  const params = yield* HttpServerRequest.ParsedSearchParams
  const limit = params.limit === undefined ? 100 : Number(params.limit)
  const after = typeof params.after === "string" ? params.after : undefined
  const store = yield* CatalogStore.CatalogStore
  const read = Effect.all({
    products: store.list(tenant.id, { ...(after === undefined ? {} : { after }), limit }),
    total: store.count(tenant.id)
  }).pipe(
    Effect.catchTag("CatalogError", (error) =>
      error.reason === "InvalidInput"
        ? Problem.fail("invalid-parameter", error.message)
        : Problem.fail("unavailable", "the catalog cannot be read right now; try again shortly")
    )
  )
  const { products, total } = yield* read
  return json({ total, products })
})

/** Campaigns (`AdminApi` group `campaigns`). */
export const campaignsGroup = HttpApiBuilder.group(AdminApi.AdminApi, "campaigns", (handlers) =>
  handlers
    .handleRaw("listCampaigns", () => Problem.orStorageProblem(list))
    .handleRaw("createCampaign", () => Problem.orStorageProblem(create))
    .handleRaw("readCampaign", () => Problem.orStorageProblem(read))
    .handleRaw("replaceCampaign", () => Problem.orStorageProblem(replace))
    .handleRaw("deleteCampaign", () => Problem.orStorageProblem(remove))
    .handleRaw("campaignStats", () => Problem.orStorageProblem(stats))
)

/** The catalog (`AdminApi` group `catalog`). */
export const catalogGroup = HttpApiBuilder.group(AdminApi.AdminApi, "catalog", (handlers) =>
  handlers
    .handleRaw("replaceCatalog", () => Problem.orStorageProblem(replaceCatalog))
    .handleRaw("listCatalog", () => Problem.orStorageProblem(listCatalog))
)
