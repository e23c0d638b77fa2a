/**
 * The admin API as an `@effect/platform` `HttpApi`: every `/v1` route of the reference server (except the
 * collector's `POST /v1/events`, which runs on the hot path) with its path, query and body schemas, its answers and
 * its problems. The same definition serves three purposes:
 *
 * - the routes: each group is implemented next to its adapters (TenancyApi, UsersApi, AudiencesApi, ContactApi,
 *   Routes) with `HttpApiBuilder.group`, and mounted into the server's router;
 * - decoding: path and query parameters are decoded by the endpoint's schemas, JSON bodies by `JsonBody.decode`
 *   with the endpoint's payload schema (unknown fields refused), every failure a problem naming the field path;
 * - the contract: `GET /openapi.json` (OpenAPI 3.1, with each operation's security and permission taken from
 *   `Access.routes`, the declaration the server enforces) and its reference page `/docs` (ApiDocs.ts).
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as OpenApi from "@effect/platform/OpenApi"
import { Campaign, Stats } from "@openaudience/ad-selector"
import type { AuditLog } from "@openaudience/audit"
import { Product } from "@openaudience/catalog"
import { Policy } from "@openaudience/consent"
import { Event } from "@openaudience/event-schema"
import { TenancyStore } from "@openaudience/tenancy"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Access from "./Access.js"
import * as Problem from "./Problem.js"
import { ServerConfig } from "./ServerConfig.js"
import type { Tenants } from "./Tenants.js"

/**
 * Every operation's access check, from `Access.routes`, before anything of the request is decoded: a request
 * without a valid key is a 401 (and a key without the permission a 403) whatever its parameters and body.
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("Authorization", {
  failure: Problem.ProblemSchema
}) {}

/** The `Authorization` middleware over the server's directory of keys, its audit log and configuration. */
export const authorizationLayer = Layer.effect(
  Authorization,
  Effect.gen(function* () {
    const context = yield* Effect.context<Tenants | AuditLog.AuditLog | ServerConfig>()
    return Effect.gen(function* () {
      const { route } = yield* HttpRouter.RouteContext
      const request = yield* HttpServerRequest.HttpServerRequest
      const access = Access.of(route.method, route.path)
      if (access === "public") return
      if (access === "operator") {
        const config = yield* ServerConfig
        return yield* Access.operator(config.operatorKey, request.headers.authorization)
      }
      if (access === undefined || typeof access !== "string" || access === "metrics") {
        return yield* Effect.dieMessage(`${route.method} ${route.path} declares no API access (Access.routes)`)
      }
      yield* Access.authorize(request.headers.authorization, access)
    }).pipe(Effect.provide(context))
  })
)

// Shared pieces ---------------------------------------------------------------------------------------------

const problem = (status: number, description: string) =>
  Problem.ProblemSchema.annotations({ ...HttpApiSchema.annotations({ status }), description })

/** An integer query parameter from `min` to `max`. */
const intParam = (min: number, max: number, description: string) =>
  Schema.NumberFromString.pipe(Schema.int(), Schema.between(min, max)).annotations({
    description,
    message: () => `expected an integer from ${min} to ${max}`
  })

const IsoTime = Schema.String.annotations({ format: "date-time", description: "an ISO 8601 time (UTC)" })
const EpochMs = Schema.Int.annotations({ description: "epoch milliseconds" })
const created = { status: 201 } as const

const IdPath = Schema.Struct({ id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)) })

// Tenants, sites, keys --------------------------------------------------------------------------------------

/** `POST /v1/tenants`. */
export const TenantRequest = Schema.Struct({
  name: Schema.String.annotations({ description: "the advertiser's name (1–200 characters)" }),
  id: Schema.optional(TenancyStore.TenantId)
}).annotations({ identifier: "TenantRequest" })

const Tenant = TenancyStore.Tenant.annotations({ identifier: "Tenant" })
const Site = TenancyStore.Site.annotations({ identifier: "Site" })
const ApiKey = TenancyStore.ApiKey.annotations({ identifier: "ApiKey" })

const siteFields = {
  origins: Schema.Array(TenancyStore.Origin).annotations({
    description: "the origins the site's pages are served from (scheme and host)"
  }),
  urlParams: Schema.optional(
    Schema.NullOr(Schema.Array(Schema.String)).annotations({
      description: "query parameters kept in page URLs (null: the anonymizer's default allowlist)"
    })
  ),
  policy: Schema.optional(
    Schema.NullOr(Policy.Policy).annotations({ description: "the consent policy (null: the default policy)" })
  ),
  cookieless: Schema.optional(Schema.Boolean),
  childDirected: Schema.optional(Schema.Boolean)
}

/** `POST /v1/sites`. */
export const SiteRequest = Schema.Struct({ siteKey: Event.SiteKey, ...siteFields }).annotations({
  identifier: "SiteRequest"
})

/** `PATCH /v1/sites/:siteKey`: any part of a site but its key. */
export const SitePatch = Schema.Struct({ ...siteFields, origins: Schema.optional(siteFields.origins) }).annotations({
  identifier: "SitePatch"
})

/** `POST /v1/keys`, `POST /v1/tenants/:id/keys`. */
export const KeyRequest = Schema.Struct({
  role: Schema.Literal("owner", "admin", "analyst", "privacy", "ingest", "partner"),
  partner: Schema.optional(
    Schema.NullOr(Schema.String).annotations({ description: "the partner a `partner` key reports for" })
  ),
  expiresAt: Schema.optional(
    Schema.NullOr(Schema.String).annotations({ description: "an ISO 8601 date or date-time; null: never" })
  )
}).annotations({ identifier: "KeyRequest" })

const NewKey = Schema.extend(
  ApiKey,
  Schema.Struct({ key: Schema.String.annotations({ description: "the key itself: shown once, never again" }) })
).annotations({ identifier: "NewKey" })

const SiteKeyPath = Schema.Struct({ siteKey: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)) })

const tenants = HttpApiGroup.make("tenants")
  .add(
    HttpApiEndpoint.post("createTenant", "/v1/tenants")
      .setPayload(TenantRequest)
      .addSuccess(Tenant, created)
      .addError(problem(409, "a tenant with this id exists"))
  )
  .add(HttpApiEndpoint.get("listTenants", "/v1/tenants").addSuccess(Schema.Struct({ tenants: Schema.Array(Tenant) })))
  .add(
    HttpApiEndpoint.get("showTenant", "/v1/tenants/:id")
      .setPath(IdPath)
      .addSuccess(
        Schema.extend(Tenant, Schema.Struct({ sites: Schema.Array(Site), keys: Schema.Array(ApiKey) })).annotations({
          identifier: "TenantDetails"
        })
      )
      .addError(problem(404, "no such tenant"))
  )
  .add(
    HttpApiEndpoint.del("deleteTenant", "/v1/tenants/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(problem(404, "no such tenant"))
  )
  .add(
    HttpApiEndpoint.post("createTenantKey", "/v1/tenants/:id/keys")
      .setPath(IdPath)
      .setPayload(KeyRequest)
      .addSuccess(NewKey, created)
      .addError(problem(404, "no such tenant"))
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Tenants (operator)")
  .annotate(OpenApi.Description, "Advertisers, for the operator of the installation (`OA_OPERATOR_KEY`).")

const sites = HttpApiGroup.make("sites")
  .add(HttpApiEndpoint.get("listSites", "/v1/sites").addSuccess(Schema.Struct({ sites: Schema.Array(Site) })))
  .add(
    HttpApiEndpoint.post("addSite", "/v1/sites")
      .setPayload(SiteRequest)
      .addSuccess(Site, created)
      .addError(problem(409, "the site key is taken"))
  )
  .add(
    HttpApiEndpoint.get("showSite", "/v1/sites/:siteKey")
      .setPath(SiteKeyPath)
      .addSuccess(Site)
      .addError(problem(404, "no such site"))
  )
  .add(
    HttpApiEndpoint.patch("updateSite", "/v1/sites/:siteKey")
      .setPath(SiteKeyPath)
      .setPayload(SitePatch)
      .addSuccess(Site)
      .addError(problem(404, "no such site"))
  )
  .add(
    HttpApiEndpoint.del("removeSite", "/v1/sites/:siteKey")
      .setPath(SiteKeyPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(problem(404, "no such site"))
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Sites")
  .annotate(OpenApi.Description, "The tenant's sites: site keys, origins, consent policy, cookieless and child flags.")

const keys = HttpApiGroup.make("keys")
  .add(HttpApiEndpoint.get("listKeys", "/v1/keys").addSuccess(Schema.Struct({ keys: Schema.Array(ApiKey) })))
  .add(HttpApiEndpoint.post("createKey", "/v1/keys").setPayload(KeyRequest).addSuccess(NewKey, created))
  .add(
    HttpApiEndpoint.del("revokeKey", "/v1/keys/:id")
      .setPath(IdPath)
      .addSuccess(ApiKey)
      .addError(problem(404, "no such key"))
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "API keys")
  .annotate(
    OpenApi.Description,
    "The tenant's API keys: a new key is answered once; a revoked key stops working on every process within seconds."
  )

// Users -----------------------------------------------------------------------------------------------------

/** `POST /v1/users/invitations`. */
export const InvitationRequest = Schema.Struct({
  email: Schema.String.annotations({ description: "the address the invitation is mailed to" }),
  role: Schema.Literal("owner", "admin", "analyst", "privacy")
}).annotations({ identifier: "InvitationRequest" })

const UserView = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  firstName: Schema.NullOr(Schema.String),
  lastName: Schema.NullOr(Schema.String),
  role: Schema.String,
  status: Schema.Literal("invited", "active", "disabled"),
  totp: Schema.Boolean,
  createdAt: IsoTime
}).annotations({ identifier: "User" })

const users = HttpApiGroup.make("users")
  .add(
    HttpApiEndpoint.post("inviteUser", "/v1/users/invitations")
      .setPayload(InvitationRequest)
      .addSuccess(UserView, created)
      .addError(problem(409, "a user with this address exists"))
  )
  .add(HttpApiEndpoint.get("listUsers", "/v1/users").addSuccess(Schema.Struct({ users: Schema.Array(UserView) })))
  .add(
    HttpApiEndpoint.del("removeUser", "/v1/users/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(problem(404, "no such user"))
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Users")
  .annotate(
    OpenApi.Description,
    "The tenant's console users; their personal data is encrypted with a key per user, destroyed on removal."
  )

// Audiences -------------------------------------------------------------------------------------------------

const Rule = Schema.Unknown.annotations({
  identifier: "AudienceRuleDocument",
  description:
    "an audience rule (the @openaudience/audience rule language); validated with the path of the error (422 invalid-rule)"
})
const AudienceStatus = Schema.Literal("active", "draft")

/** `POST /v1/audiences`. */
export const AudienceRequest = Schema.Struct({
  id: Schema.optional(Schema.String.annotations({ description: "lowercase letters, digits, - and _ (1–64)" })),
  name: Schema.String,
  status: Schema.optional(AudienceStatus),
  rule: Rule
}).annotations({ identifier: "AudienceRequest" })

/** `PUT /v1/audiences/:id`. */
export const AudienceReplace = Schema.Struct({
  name: Schema.String,
  status: Schema.optional(AudienceStatus),
  rule: Rule
}).annotations({ identifier: "AudienceReplace" })

/** `POST /v1/audiences/preview`. */
export const PreviewRequest = Schema.Struct({ rule: Rule }).annotations({ identifier: "PreviewRequest" })

const Audience = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  status: AudienceStatus,
  version: Schema.Int,
  rule: Rule,
  createdAt: IsoTime,
  updatedAt: IsoTime
}).annotations({ identifier: "Audience" })

const Preview = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  identifier: "AudiencePreview",
  description: "the rule's estimated size over stored events (members, visitors scanned, targetability under k)"
})

const daysParam = (max: number, fallback: number) =>
  Schema.Struct({
    days: Schema.optional(intParam(1, max, `days to report, 1 to ${max} (default ${fallback})`))
  })

const audiences = HttpApiGroup.make("audiences")
  .add(
    HttpApiEndpoint.post("createAudience", "/v1/audiences")
      .setPayload(AudienceRequest)
      .addSuccess(Audience, created)
      .addError(problem(409, "an audience with this id exists, or the tenant has the most audiences it may"))
      .addError(problem(422, "the rule is invalid (the problem names its path)"))
  )
  .add(
    HttpApiEndpoint.get("listAudiences", "/v1/audiences").addSuccess(
      Schema.Struct({ audiences: Schema.Array(Audience) })
    )
  )
  .add(
    HttpApiEndpoint.post("previewRule", "/v1/audiences/preview")
      .setPayload(PreviewRequest)
      .addSuccess(Preview)
      .addError(problem(422, "the rule is invalid (the problem names its path)"))
  )
  .add(
    HttpApiEndpoint.get("readAudience", "/v1/audiences/:id")
      .setPath(IdPath)
      .addSuccess(Audience)
      .addError(problem(404, "no such audience"))
  )
  .add(
    HttpApiEndpoint.put("replaceAudience", "/v1/audiences/:id")
      .setPath(IdPath)
      .setPayload(AudienceReplace)
      .addSuccess(Audience)
      .addError(problem(404, "no such audience"))
      .addError(problem(422, "the rule is invalid (the problem names its path)"))
  )
  .add(
    HttpApiEndpoint.del("deleteAudience", "/v1/audiences/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(problem(404, "no such audience"))
  )
  .add(
    HttpApiEndpoint.post("previewAudience", "/v1/audiences/:id/preview")
      .setPath(IdPath)
      .addSuccess(Preview)
      .addError(problem(404, "no such audience"))
  )
  .add(
    HttpApiEndpoint.get("audienceStats", "/v1/audiences/:id/stats")
      .setPath(IdPath)
      .setUrlParams(daysParam(540, 30))
      .addSuccess(
        Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
          identifier: "AudienceStats",
          description: "members now, targetability (k), the worker's progress, entries and exits per day"
        })
      )
      .addError(problem(404, "no such audience"))
  )
  .add(
    HttpApiEndpoint.get("explainMembership", "/v1/audiences/:id/explain")
      .setPath(IdPath)
      .setUrlParams(
        Schema.Struct({
          visitor: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)).annotations({
            description: "the visitor key (pseudonym)"
          })
        })
      )
      .addSuccess(
        Schema.Struct({
          id: Schema.String,
          visitor: Schema.String,
          explanation: Schema.Unknown,
          summary: Schema.String
        })
      )
      .addError(problem(404, "no such audience"))
      .addError(problem(409, "the audience is not evaluated yet"))
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Audiences")
  .annotate(OpenApi.Description, "Audience rules, previews over stored events, statistics and explanations.")

// Inquiries -------------------------------------------------------------------------------------------------

/** `POST /v1/inquiries` (public). */
export const InquiryRequest = Schema.Struct({
  site: Schema.optional(
    Schema.String.annotations({
      description: "the site key of the advertiser the message is for (the demo site's when absent in demo mode)"
    })
  ),
  name: Schema.String,
  email: Schema.String,
  message: Schema.String,
  website: Schema.optional(Schema.String.annotations({ description: "a honeypot: leave it empty" }))
}).annotations({ identifier: "InquiryRequest" })

const InquiryView = Schema.Struct({
  id: Schema.String,
  status: Schema.Literal("open", "answered", "closed"),
  createdAt: IsoTime,
  closedAt: Schema.NullOr(IsoTime),
  name: Schema.String,
  email: Schema.String,
  message: Schema.String
}).annotations({ identifier: "Inquiry" })

const inquiries = HttpApiGroup.make("inquiries")
  .add(
    HttpApiEndpoint.post("submitInquiry", "/v1/inquiries")
      .setPayload(InquiryRequest)
      .addSuccess(Schema.Struct({ id: Schema.NullOr(Schema.String), status: Schema.Literal("open") }), created)
      .addError(problem(404, "no such site"))
      .addError(problem(429, "too many messages from this network"))
  )
  .add(
    HttpApiEndpoint.get("listInquiries", "/v1/inquiries")
      .setUrlParams(Schema.Struct({ status: Schema.optional(Schema.Literal("open", "answered", "closed")) }))
      .addSuccess(Schema.Struct({ inquiries: Schema.Array(InquiryView) }))
  )
  .add(
    HttpApiEndpoint.post("closeInquiry", "/v1/inquiries/:id/close")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(problem(404, "no such inquiry"))
  )
  .add(
    HttpApiEndpoint.del("eraseInquiry", "/v1/inquiries/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(problem(404, "no such inquiry"))
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Inquiries")
  .annotate(
    OpenApi.Description,
    "Contact-form messages, kept encrypted for answering them only and purged after closing."
  )

// Campaigns and the catalog --------------------------------------------------------------------------------

/** `POST /v1/campaigns`, `PUT /v1/campaigns/:id`: a campaign (its tenant is the key's). */
export const CampaignRequest = Campaign.Campaign.from.omit("tenant").annotations({ identifier: "CampaignRequest" })

const CampaignView = Campaign.Campaign.annotations({ identifier: "Campaign" })

const campaigns = HttpApiGroup.make("campaigns")
  .add(
    HttpApiEndpoint.get("listCampaigns", "/v1/campaigns").addSuccess(
      Schema.Struct({ campaigns: Schema.Array(CampaignView) })
    )
  )
  .add(
    HttpApiEndpoint.post("createCampaign", "/v1/campaigns")
      .setPayload(CampaignRequest)
      .addSuccess(CampaignView, created)
      .addError(problem(409, "a campaign with this id exists (ids are unique across tenants)"))
  )
  .add(
    HttpApiEndpoint.get("readCampaign", "/v1/campaigns/:id")
      .setPath(IdPath)
      .addSuccess(CampaignView)
      .addError(problem(404, "no such campaign"))
  )
  .add(
    HttpApiEndpoint.put("replaceCampaign", "/v1/campaigns/:id")
      .setPath(IdPath)
      .setPayload(CampaignRequest)
      .addSuccess(CampaignView)
      .addError(problem(404, "no such campaign"))
  )
  .add(
    HttpApiEndpoint.del("deleteCampaign", "/v1/campaigns/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(problem(404, "no such campaign"))
  )
  .add(
    HttpApiEndpoint.get("campaignStats", "/v1/campaigns/:id/stats")
      .setPath(IdPath)
      .setUrlParams(daysParam(366, 7))
      .addSuccess(Stats.CampaignStats)
      .addError(problem(404, "no such campaign"))
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Campaigns")
  .annotate(
    OpenApi.Description,
    "Campaigns with tiers, schedules, budgets and CPM bids in exact money, targeting, caps and creatives; their " +
      "statistics per day (impressions, viewable, clicks, CTR with a 95 % Wilson interval, conversions, spend, CPA, " +
      "ROAS; money in minor units)."
  )

const CatalogReport = Schema.Struct({
  accepted: Schema.Int,
  rejected: Schema.Int,
  rows: Schema.Int,
  ignoredColumns: Schema.Array(Schema.String),
  rejections: Schema.Array(
    Schema.Struct({
      row: Schema.Int,
      line: Schema.optional(Schema.Int),
      id: Schema.optional(Schema.String),
      reasons: Schema.Array(Schema.Struct({ column: Schema.String, message: Schema.String }))
    })
  )
}).annotations({ identifier: "CatalogReport" })

const catalog = HttpApiGroup.make("catalog")
  .add(
    HttpApiEndpoint.put("replaceCatalog", "/v1/catalog")
      .setPayload(
        Schema.Unknown.annotations({
          description:
            "a product feed: JSON (an array or { products: [...] }), CSV or TSV with the Google Merchant Center / " +
            "Meta columns id, title, description, link, image_link, price (`129.00 EUR`), availability, brand, " +
            "product_type; send it as application/json, text/csv or text/tab-separated-values"
        })
      )
      .addSuccess(CatalogReport)
      .addError(problem(409, "the tenant has no site, so no link could be checked"))
  )
  .add(
    HttpApiEndpoint.get("listCatalog", "/v1/catalog")
      .setUrlParams(
        Schema.Struct({
          after: Schema.optional(Schema.String.annotations({ description: "the last id of the previous page" })),
          limit: Schema.optional(intParam(1, 1000, "products to read (default 100)"))
        })
      )
      .addSuccess(Schema.Struct({ total: Schema.Int, products: Schema.Array(Product.Product) }))
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Catalog")
  .annotate(
    OpenApi.Description,
    "The tenant's product catalog: replaced whole by a feed validated row by row (links on the tenant's origins)."
  )

// Events, statistics, reports, audit ------------------------------------------------------------------------

const StoredEventView = Schema.Struct({
  id: Schema.String,
  source: Schema.Literal("browser", "server"),
  seq: Schema.Int,
  type: Schema.String,
  site: Schema.String,
  receivedAt: IsoTime,
  clientTs: Schema.NullOr(IsoTime),
  visitor: Schema.NullOr(Schema.String),
  consent: Schema.Unknown,
  data: Schema.Unknown
}).annotations({ identifier: "StoredEvent", description: "an event as stored: anonymized, never raw" })

const AuditEntryView = Schema.Struct({
  seq: Schema.Int,
  at: EpochMs,
  tenant: Schema.NullOr(Schema.String),
  actor: Schema.Struct({ kind: Schema.String, id: Schema.String }),
  action: Schema.String,
  target: Schema.String,
  outcome: Schema.Literal("success", "denied", "failed"),
  details: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  prevHash: Schema.String,
  hash: Schema.String
}).annotations({ identifier: "AuditEntry" })

const data = HttpApiGroup.make("data")
  .add(
    HttpApiEndpoint.get("inspectEvents", "/v1/events")
      .setUrlParams(Schema.Struct({ limit: Schema.optional(intParam(1, 1000, "events to read (default 50)")) }))
      .addSuccess(Schema.Struct({ events: Schema.Array(StoredEventView) }))
      .annotate(OpenApi.Summary, "The tenant's newest stored events (audited)")
  )
  .add(
    HttpApiEndpoint.get("dailyStats", "/v1/stats/daily")
      .setUrlParams(daysParam(366, 7))
      .addSuccess(
        Schema.Struct({
          since: Schema.String.annotations({ description: "the first day (YYYY-MM-DD, UTC)" }),
          days: Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
        })
      )
      .annotate(OpenApi.Summary, "Events per day and type")
  )
  .add(
    HttpApiEndpoint.get("report", "/v1/reports/:report")
      .setPath(
        Schema.Struct({
          report: Schema.String.annotations({ description: "`product-views` or `conversions`" })
        })
      )
      .setUrlParams(
        Schema.Struct({
          from: Schema.optional(
            Schema.String.annotations({ description: "the first UTC day, inclusive (YYYY-MM-DD); required" })
          ),
          to: Schema.optional(
            Schema.String.annotations({ description: "the last UTC day, inclusive (YYYY-MM-DD); required" })
          ),
          by: Schema.optional(
            Schema.String.annotations({ description: "a comma list of day, category, browser, os, device, country" })
          ),
          k: Schema.optional(Schema.String.annotations({ description: "the k of a k-anonymous report (≥ the floor)" })),
          epsilon: Schema.optional(
            Schema.String.annotations({
              description: "ε of a differentially private report (partner keys must send it)"
            })
          ),
          mechanism: Schema.optional(Schema.String.annotations({ description: "the noise mechanism" })),
          delta: Schema.optional(Schema.String.annotations({ description: "δ, for mechanism=gaussian" })),
          partner: Schema.optional(Schema.String.annotations({ description: "the partner whose ε budget pays" })),
          contribution: Schema.optional(Schema.String),
          maxCells: Schema.optional(Schema.String),
          categories: Schema.optional(Schema.String)
        })
      )
      .addSuccess(
        Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
          identifier: "Report",
          description: "k-anonymous cells (cells below k withheld) or noised counts with the budget spent"
        })
      )
      .addError(problem(429, "the partner's privacy budget is spent"))
      .annotate(OpenApi.Summary, "Aggregates for partners: k-anonymous, or differentially private")
  )
  .add(
    HttpApiEndpoint.get("auditLog", "/v1/audit")
      .setUrlParams(
        Schema.Struct({
          after: Schema.optional(intParam(0, 999_999_999_999, "entries after this sequence number")),
          limit: Schema.optional(intParam(1, 1000, "entries to read (default 100)"))
        })
      )
      .addSuccess(Schema.Struct({ entries: Schema.Array(AuditEntryView) }))
      .annotate(OpenApi.Summary, "The tenant's audit entries, oldest first")
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Data")
  .annotate(OpenApi.Description, "Stored events, statistics, partner reports and the audit log.")

// Data-subject requests, legal holds, webhook recipients ----------------------------------------------------

const SubjectKind = Schema.Literal("visitor", "browser", "user")

/** A data subject of the key's tenant: a visitor (its pseudonym, as the events inspector shows it), a browser or a user. */
export const SubjectRef = Schema.Struct({
  kind: SubjectKind,
  id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)).annotations({
    description: "a visitor's pseudonym (as `GET /v1/events` shows it), a browser key or a user id"
  })
}).annotations({ identifier: "DataSubject" })

const Subjects = Schema.Array(SubjectRef).pipe(Schema.minItems(1), Schema.maxItems(100))

const Text = (max: number, description: string) =>
  Schema.String.pipe(Schema.minLength(1), Schema.maxLength(max)).annotations({ description })

/** `POST /v1/dsar`. */
export const DsarRequest = Schema.Struct({
  type: Schema.Literal("access", "erasure", "rectification", "objection", "restriction", "child-removal"),
  subjects: Subjects,
  note: Schema.optional(Text(2000, "a note kept in the request's history")),
  process: Schema.optional(
    Schema.Boolean.annotations({ description: "process the request at once (identity already verified)" })
  )
}).annotations({ identifier: "DsarRequest" })

/** `POST /v1/dsar/:id/extend`, `POST /v1/dsar/:id/refuse`. */
export const DsarReason = Schema.Struct({
  reason: Text(2000, "the reason given to the requester")
}).annotations({ identifier: "DsarReason" })

/** `POST /v1/holds`. */
export const HoldRequest = Schema.Struct({
  subject: Schema.optional(SubjectRef.annotations({ description: "the subject held (absent: the whole tenant)" })),
  reason: Text(2000, "why the data is held, e.g. `litigation: Doe v. Shop`"),
  reference: Text(500, "the order or case the hold rests on")
}).annotations({ identifier: "HoldRequest" })

/** `POST /v1/dsar/releases`. */
export const ReleaseRequest = Schema.Struct({
  subjects: Subjects,
  what: Text(2000, "what data was handed over"),
  recipient: Text(500, "to whom (an authority, a court)"),
  reference: Text(500, "the legal order it was handed over under"),
  hold: Schema.optional(Text(256, "the hold this release belongs to"))
}).annotations({ identifier: "ReleaseRequest" })

/** `POST /v1/recipients`. */
export const RecipientRequest = Schema.Struct({
  name: Text(200, "the recipient's name"),
  kind: Schema.Literal("sub-processor", "partner"),
  url: Text(2048, "where webhooks are sent: https (http only for a loopback address)"),
  secret: Schema.String.pipe(Schema.minLength(32), Schema.maxLength(1024)).annotations({
    description: "the HMAC secret webhooks are signed with (at least 32 characters; never shown again)"
  })
}).annotations({ identifier: "RecipientRequest" })

/** A whole number of days from `min` to `max`. */
const Days = (min: number, max: number, description: string) =>
  Schema.Int.pipe(Schema.between(min, max)).annotations({
    description,
    message: () => `expected an integer from ${min} to ${max}`
  })

const DsarRegime = Schema.Literal("gdpr", "ccpa", "custom").annotations({
  description: "gdpr: one calendar month, extendable by two; ccpa: 45 days, extendable by 45; custom: `custom`"
})

const DsarCustomDeadline = Schema.Struct({
  days: Days(1, 365, "days to answer a request"),
  extensionDays: Days(0, 365, "days more when a request is extended (0: never extendable)")
}).annotations({ identifier: "DsarCustomDeadline" })

/** `PUT /v1/dsar/policy` (`custom` only with the regime `custom`, which needs it). */
export const DsarPolicyRequest = Schema.Struct({
  regime: DsarRegime,
  custom: Schema.optional(DsarCustomDeadline),
  reminderDaysBefore: Schema.optional(
    Schema.Array(Days(0, 365, "days before a deadline a reminder is recorded"))
      .pipe(Schema.maxItems(10))
      .annotations({
        description: "days before a deadline reminders are recorded (default 7 and 1)"
      })
  )
}).annotations({ identifier: "DsarPolicyRequest" })

const DsarPolicyView = Schema.Struct({
  regime: DsarRegime,
  custom: Schema.optional(DsarCustomDeadline),
  reminderDaysBefore: Schema.Array(Schema.Int)
}).annotations({ identifier: "DsarPolicy" })

const DsarStatus = Schema.Literal("received", "verifying", "in-progress", "completed", "refused")

const DsarView = Schema.Struct({
  id: Schema.String,
  type: DsarRequest.fields.type,
  status: DsarStatus,
  subjects: Schema.Array(SubjectRef),
  regime: Schema.String,
  receivedAt: EpochMs,
  dueAt: EpochMs,
  initialDueAt: EpochMs,
  acknowledgedAt: Schema.optional(EpochMs),
  extendedAt: Schema.optional(EpochMs),
  extensionReason: Schema.optional(Schema.String),
  completedAt: Schema.optional(EpochMs),
  refusedAt: Schema.optional(EpochMs),
  refusedReason: Schema.optional(Schema.String),
  history: Schema.Array(
    Schema.Struct({
      at: EpochMs,
      from: Schema.NullOr(DsarStatus),
      to: DsarStatus,
      action: Schema.String,
      actor: Schema.String,
      note: Schema.optional(Schema.String)
    })
  )
}).annotations({ identifier: "DataSubjectRequest" })

const HoldView = Schema.Struct({
  id: Schema.String,
  subject: Schema.optional(SubjectRef),
  reason: Schema.String,
  reference: Schema.String,
  createdAt: EpochMs,
  createdBy: Schema.String,
  releasedAt: Schema.optional(EpochMs),
  releasedBy: Schema.optional(Schema.String)
}).annotations({ identifier: "LegalHold" })

const RecipientView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  kind: Schema.Literal("sub-processor", "partner"),
  url: Schema.String,
  createdAt: EpochMs
}).annotations({ identifier: "Recipient" })

const DeliveryView = Schema.Struct({
  id: Schema.String,
  recipientId: Schema.String,
  event: Schema.String,
  status: Schema.Literal("pending", "delivered", "dead"),
  attempts: Schema.Int,
  firstAttemptAt: EpochMs,
  nextAttemptAt: EpochMs,
  lastError: Schema.optional(Schema.String)
}).annotations({ identifier: "WebhookDelivery" })

const dsar = HttpApiGroup.make("dsar")
  .add(
    HttpApiEndpoint.post("submitDsar", "/v1/dsar")
      .setPayload(DsarRequest)
      .addSuccess(DsarView, created)
      .addError(problem(409, "processing at once was refused (a legal hold, an invalid transition)"))
      .annotate(OpenApi.Summary, "Records (and acknowledges) a data-subject request")
  )
  .add(
    HttpApiEndpoint.get("listDsar", "/v1/dsar")
      .setUrlParams(Schema.Struct({ status: Schema.optional(DsarStatus) }))
      .addSuccess(Schema.Struct({ requests: Schema.Array(DsarView) }))
  )
  .add(
    HttpApiEndpoint.post("recordRelease", "/v1/dsar/releases")
      .setPayload(ReleaseRequest)
      .addSuccess(
        Schema.Struct({
          id: Schema.String,
          subjects: Schema.Array(SubjectRef),
          what: Schema.String,
          recipient: Schema.String,
          reference: Schema.String,
          releasedAt: EpochMs,
          releasedBy: Schema.String,
          hold: Schema.optional(Schema.String)
        }).annotations({ identifier: "LegalRelease" }),
        created
      )
      .addError(problem(404, "no such hold"))
      .annotate(OpenApi.Summary, "Records in the audit log a release of data under a legal order")
  )
  .add(
    HttpApiEndpoint.get("dsarPolicy", "/v1/dsar/policy")
      .addSuccess(DsarPolicyView)
      .annotate(OpenApi.Summary, "The tenant's deadline policy (its own when set, else the server's default: GDPR)")
  )
  .add(
    HttpApiEndpoint.put("setDsarPolicy", "/v1/dsar/policy")
      .setPayload(DsarPolicyRequest)
      .addSuccess(DsarPolicyView)
      .annotate(
        OpenApi.Summary,
        "Sets the tenant's deadline policy: requests received or extended from now on, and reminders, follow it"
      )
  )
  .add(
    HttpApiEndpoint.get("readDsar", "/v1/dsar/:id")
      .setPath(IdPath)
      .addSuccess(DsarView)
      .addError(problem(404, "no such request"))
  )
  .add(
    HttpApiEndpoint.post("processDsar", "/v1/dsar/:id/process")
      .setPath(IdPath)
      .addSuccess(DsarView)
      .addError(problem(404, "no such request"))
      .addError(problem(409, "a legal hold defers the erasure (the problem names the holds), or the request is closed"))
      .annotate(OpenApi.Summary, "Answers a request (an erasure erases, verifies and signs its report)")
  )
  .add(
    HttpApiEndpoint.post("verifyDsar", "/v1/dsar/:id/verify")
      .setPath(IdPath)
      .addSuccess(DsarView)
      .addError(problem(404, "no such request"))
      .addError(problem(409, "the request cannot be verified now"))
  )
  .add(
    HttpApiEndpoint.post("extendDsar", "/v1/dsar/:id/extend")
      .setPath(IdPath)
      .setPayload(DsarReason)
      .addSuccess(DsarView)
      .addError(problem(404, "no such request"))
      .addError(problem(409, "the request cannot be extended (too late, already extended, closed)"))
  )
  .add(
    HttpApiEndpoint.post("refuseDsar", "/v1/dsar/:id/refuse")
      .setPath(IdPath)
      .setPayload(DsarReason)
      .addSuccess(DsarView)
      .addError(problem(404, "no such request"))
      .addError(problem(409, "the request is closed"))
  )
  .add(
    HttpApiEndpoint.get("dsarReport", "/v1/dsar/:id/report")
      .setPath(IdPath)
      .addSuccess(
        Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
          identifier: "SignedErasureReport",
          description:
            "the erasure report signed with Ed25519 over its canonical JSON (`report`, `signature`); verify it with " +
            "the server's public key"
        })
      )
      .addError(problem(404, "no such request, or no report yet (not completed)"))
  )
  .add(
    HttpApiEndpoint.get("dsarExport", "/v1/dsar/:id/export")
      .setPath(IdPath)
      .setUrlParams(
        Schema.Struct({
          format: Schema.optional(
            Schema.Literal("json", "zip").annotations({ description: "json (default), or a ZIP of CSV files" })
          )
        })
      )
      .addSuccess(
        Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
          identifier: "SubjectExport",
          description: "what every store holds about the subjects (`?format=zip`: application/zip attachment)"
        })
      )
      .addError(problem(404, "no such request"))
      .addError(problem(409, "not an access request, or not completed"))
      .annotate(OpenApi.Summary, "The export of an access request's subjects (audited)")
  )
  .add(
    HttpApiEndpoint.post("addHold", "/v1/holds")
      .setPayload(HoldRequest)
      .addSuccess(HoldView, created)
      .annotate(OpenApi.Summary, "Places a legal hold: erasures of what it covers are deferred until it is released")
  )
  .add(
    HttpApiEndpoint.get("listHolds", "/v1/holds")
      .setUrlParams(Schema.Struct({ active: Schema.optional(Schema.Literal("true", "false")) }))
      .addSuccess(Schema.Struct({ holds: Schema.Array(HoldView) }))
  )
  .add(
    HttpApiEndpoint.del("releaseHold", "/v1/holds/:id")
      .setPath(IdPath)
      .addSuccess(HoldView)
      .addError(problem(404, "no such hold"))
      .addError(problem(409, "the hold is released already"))
  )
  .add(
    HttpApiEndpoint.post("addRecipient", "/v1/recipients")
      .setPayload(RecipientRequest)
      .addSuccess(RecipientView, created)
      .annotate(OpenApi.Summary, "Adds a webhook recipient told of erasures and objections (HMAC-signed)")
  )
  .add(
    HttpApiEndpoint.get("listRecipients", "/v1/recipients").addSuccess(
      Schema.Struct({ recipients: Schema.Array(RecipientView) })
    )
  )
  .add(
    HttpApiEndpoint.get("listDeliveries", "/v1/recipients/deliveries")
      .setUrlParams(Schema.Struct({ status: Schema.optional(Schema.Literal("pending", "delivered", "dead")) }))
      .addSuccess(Schema.Struct({ deliveries: Schema.Array(DeliveryView) }))
      .annotate(OpenApi.Summary, "Webhook deliveries: pending, delivered, and dead letters")
  )
  .add(
    HttpApiEndpoint.del("removeRecipient", "/v1/recipients/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(problem(404, "no such recipient"))
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Data-subject requests")
  .annotate(
    OpenApi.Description,
    "Data-subject requests (access, erasure, objection, …) with their deadlines (a policy per tenant), verified and signed erasures, " +
      "legal holds, releases under legal orders, and the recipients told of erasures by signed webhooks. Every step " +
      "is audited (never with a subject's identifier)."
  )

/**
 * The admin API. Every operation may answer the problems declared at this level; each endpoint adds its own.
 *
 * @since 0.1.0
 */
export class AdminApi extends HttpApi.make("openaudience-admin")
  .add(tenants)
  .add(sites)
  .add(keys)
  .add(users)
  .add(audiences)
  .add(inquiries)
  .add(campaigns)
  .add(catalog)
  .add(data)
  .add(dsar)
  .addError(problem(400, "a malformed body or parameter (the problem names the field)"))
  .addError(problem(401, "no valid API key"))
  .addError(problem(403, "the key's role does not hold the permission"))
  .addError(problem(413, "the body is too large"))
  .addError(problem(415, "the body is not application/json"))
  .addError(problem(503, "a store is unavailable; try again shortly"))
  .middleware(Authorization)
  .annotate(OpenApi.Title, "OpenAudience admin API")
  .annotate(
    OpenApi.Description,
    "The admin API of the OpenAudience reference server. Authenticate with `Authorization: Bearer <API key>` (a " +
      "tenant's key; each operation names the permission its role must hold) or, for tenants, the operator key. " +
      "Errors are RFC 9457 problem details (`application/problem+json`) with a stable `type` and, for bad input, " +
      "the field at fault."
  )
  .annotate(OpenApi.Version, "0.1.0") {}

type Operation = {
  summary?: string
  description?: string
  security?: Array<Record<string, Array<string>>>
  responses?: Record<string, { content?: Record<string, unknown> }>
  [key: string]: unknown
}

const methods = ["get", "put", "post", "delete", "patch"] as const

/**
 * Removes the `$id`s Effect's JSON Schema generator gives some schemas (`/schemas/unknown`, `/schemas/{}`): inlined
 * at every use, they would declare one id many times, which JSON Schema forbids.
 */
const stripIds = (node: unknown): void => {
  if (Array.isArray(node)) {
    for (const item of node) stripIds(item)
  } else if (typeof node === "object" && node !== null) {
    const record = node as Record<string, unknown>
    if (typeof record.$id === "string" && record.$id.startsWith("/schemas/")) delete record.$id
    for (const value of Object.values(record)) stripIds(value)
  }
}

/**
 * The OpenAPI 3.1 document: the schemas from `AdminApi`, each operation's security and permission from
 * `Access.routes`, problems as `application/problem+json`.
 */
export const openApi = (serverUrl?: string) => {
  const spec = OpenApi.fromApi(AdminApi) as unknown as {
    openapi: string
    servers?: Array<{ url: string }>
    paths: Record<string, Record<string, Operation>>
    components: { securitySchemes: Record<string, unknown> }
    [key: string]: unknown
  }
  spec.components.securitySchemes = {
    apiKey: {
      type: "http",
      scheme: "bearer",
      description: "A tenant's API key (`oa_…`), created with `openaudience key create` or `POST /v1/keys`."
    },
    operatorKey: {
      type: "http",
      scheme: "bearer",
      description: "The operator key of the installation (`OA_OPERATOR_KEY`)."
    }
  }
  if (serverUrl !== undefined) spec.servers = [{ url: serverUrl }]
  stripIds(spec.paths)
  stripIds(spec.components)
  for (const [path, item] of Object.entries(spec.paths)) {
    const routePath = path.replace(/\{([^}]+)\}/g, ":$1")
    for (const method of methods) {
      const operation = item[method]
      if (operation === undefined) continue
      const access = Access.of(method.toUpperCase(), routePath)
      if (access === "public") {
        operation.security = []
        operation.description = `${operation.description ?? ""}\n\nPublic: no key needed.`.trim()
      } else if (access === "operator") {
        operation.security = [{ operatorKey: [] }]
        operation.description = `${operation.description ?? ""}\n\nNeeds the operator key.`.trim()
      } else if (typeof access === "string" && access !== "metrics") {
        operation.security = [{ apiKey: [] }]
        operation["x-openaudience-permission"] = access
        operation.description =
          `${operation.description ?? ""}\n\nNeeds an API key whose role holds \`${access}\`.`.trim()
      }
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (Number(status) >= 400 && response.content?.["application/json"] !== undefined) {
          response.content = { [Problem.contentType]: response.content["application/json"] }
        }
      }
    }
  }
  return spec
}
