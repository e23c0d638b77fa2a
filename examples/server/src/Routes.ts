/**
 * Everything that is not the collector's hot path, as an Effect HttpRouter: the tag, health, metrics, the events
 * inspector, and in demo mode the demo shop. Errors become problem details; unknown routes a 404 problem.
 */
import * as Etag from "@effect/platform/Etag"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApiError from "@effect/platform/HttpApiError"
import type * as HttpPlatform from "@effect/platform/HttpPlatform"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpPlatform from "@effect/platform-node/NodeHttpPlatform"
import { Collect } from "@openaudience/collector"
import type { SequencedEvent, StorageError } from "@openaudience/storage-sql"
import { DailyCounts, EventStore } from "@openaudience/storage-sql"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as FindMyWay from "find-my-way-ts"
import * as Access from "./Access.js"
import * as AdServing from "./AdServing.js"
import * as AdsApi from "./AdsApi.js"
import * as AdminApi from "./AdminApi.js"
import * as ApiDocs from "./ApiDocs.js"
import * as AudiencesApi from "./AudiencesApi.js"
import * as Audit from "./Audit.js"
import * as BodyLimit from "./BodyLimit.js"
import * as Console from "./Console.js"
import * as ContactApi from "./ContactApi.js"
import * as DemoSites from "./DemoSites.js"
import * as DsarApi from "./DsarApi.js"
import { Metrics } from "./Metrics.js"
import * as OptOut from "./OptOut.js"
import * as PrivacyCenter from "./PrivacyCenter.js"
import * as Problem from "./Problem.js"
import * as Reports from "./Reports.js"
import { ServerConfig } from "./ServerConfig.js"
import * as TagAsset from "./TagAsset.js"
import * as TenancyApi from "./TenancyApi.js"
import * as UsersApi from "./UsersApi.js"

/**
 * The inspector's view of a stored event: only what was stored, never more. `id` is the id its sender chose and
 * `source` where it came from (`browser` or `server`): the two have separate id namespaces (`Collect.sentId`).
 */
export const inspect = (event: SequencedEvent) => ({
  ...Collect.sentId(event.eventId),
  seq: event.seq,
  type: event.type,
  site: event.site,
  receivedAt: new Date(event.receivedAt).toISOString(),
  clientTs: event.clientTs === null ? null : new Date(event.clientTs).toISOString(),
  visitor: event.visitor,
  consent: event.consent,
  data: event.payload
})

const parseLimit = (raw: string | undefined): number | undefined => {
  if (raw === undefined) return 50
  if (!/^\d{1,4}$/.test(raw)) return undefined
  const n = Number(raw)
  return n >= 1 && n <= 1000 ? n : undefined
}

const inspector = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const params = yield* HttpServerRequest.ParsedSearchParams
  const rawLimit = params.limit
  const limit = parseLimit(Array.isArray(rawLimit) ? "" : (rawLimit as string | undefined))
  if (limit === undefined) {
    return yield* Effect.fail(
      new Problem.ProblemError(
        Problem.make("invalid-parameter", "limit: expected an integer from 1 to 1000", { field: "limit" })
      )
    )
  }
  const store = yield* EventStore.EventStore
  const events = yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "events.read", target: "events" },
    store.recent(tenant.id, limit),
    (read) => ({ events: read.length })
  )
  return HttpServerResponse.unsafeJson({ events: events.map(inspect) }, { headers: { "cache-control": "no-store" } })
})

/** `GET /v1/stats/daily?days=N`: the worker's per-day event counts for the tenant (N from 1 to 366, default 7). */
const dailyStats = Effect.gen(function* () {
  const { tenant } = yield* Access.principal
  const params = yield* HttpServerRequest.ParsedSearchParams
  const raw = params.days
  const days = raw === undefined ? 7 : typeof raw === "string" && /^\d{1,3}$/.test(raw) ? Number(raw) : 0
  if (days < 1 || days > 366) {
    return yield* Effect.fail(
      new Problem.ProblemError(
        Problem.make("invalid-parameter", "days: expected an integer from 1 to 366", { field: "days" })
      )
    )
  }
  const now = yield* Clock.currentTimeMillis
  const since = new Date(now - (days - 1) * 86_400_000).toISOString().slice(0, 10)
  const counts = yield* DailyCounts.read(tenant.id, since)
  return HttpServerResponse.unsafeJson({ since, days: counts }, { headers: { "cache-control": "no-store" } })
})

/** `GET /v1/reports/:report`: k-anonymous or differentially private aggregates for partners (see Reports.ts). */
const report = Effect.gen(function* () {
  const { tenant, role, partner } = yield* Access.principal
  const { report } = yield* HttpRouter.params
  const params = yield* HttpServerRequest.ParsedSearchParams
  if (role !== "partner") return yield* Reports.respond(tenant.id, report, params)
  // A partner key: noised reports only, paid from the budget of the one partner its key is bound to.
  if (params.epsilon === undefined) {
    return yield* Problem.fail("forbidden", "a partner key gets differentially private reports only: send epsilon")
  }
  if (params.partner !== undefined && params.partner !== partner) {
    return yield* Problem.fail("forbidden", `this key reports for partner ${partner} only`, { field: "partner" })
  }
  return yield* Reports.respond(tenant.id, report, { ...params, partner: partner ?? "" })
})

/** Stored events, statistics, reports and the audit log (`AdminApi` group `data`). */
const dataGroup = HttpApiBuilder.group(AdminApi.AdminApi, "data", (handlers) =>
  handlers
    .handleRaw("inspectEvents", () => Problem.orStorageProblem(inspector))
    .handleRaw("dailyStats", () => Problem.orStorageProblem(dailyStats))
    .handleRaw("report", () => Problem.orStorageProblem(report))
    .handleRaw("auditLog", () => Problem.orStorageProblem(Audit.list))
)

const health = Effect.gen(function* () {
  const store = yield* EventStore.EventStore
  const ok = yield* store.count("healthz").pipe(
    Effect.as(true),
    Effect.catchAll(() => Effect.succeed(false))
  )
  return HttpServerResponse.unsafeJson(
    { status: ok ? "ok" : "degraded", storage: ok ? "ok" : "unavailable" },
    { status: ok ? 200 : 503, headers: { "cache-control": "no-store" } }
  )
})

/**
 * Whether a request may read `/metrics`: always when no token is configured; otherwise only with
 * `Authorization: Bearer <token>`, compared in constant time (over SHA-256 digests, so lengths leak nothing either).
 */
export const metricsAuthorized = (
  token: Redacted.Redacted<string> | undefined,
  authorization: string | undefined
): boolean => token === undefined || Access.bearerIs(token, authorization)

/** Routes with a body limit of their own: a product feed may be larger than any other body. */
export const bodyLimitOf =
  (config: { readonly catalogMaxBytes: number }) =>
  (method: string, path: string): number | undefined =>
    method === "PUT" && path === "/v1/catalog" ? config.catalogMaxBytes : undefined

/**
 * One route of the server: its method and path pattern (`:name` a parameter, `*` the rest of the path).
 *
 * @since 0.1.0
 * @category models
 */
export interface RouteInfo {
  readonly method: string
  readonly path: string
}

/**
 * The methods `routes` answer at a request's URL, for a 405's `Allow` (empty: no route has the path, a 404). Paths
 * are matched by find-my-way-ts with its defaults, the matcher and settings of the Effect router itself, so `Allow`
 * names exactly the methods the router would route. The router answers `HEAD` wherever it answers `GET`; `hot`
 * routes (answered before the router) only their own method.
 *
 * @since 0.1.0
 * @category routing
 */
export const allowedMethods = (
  routes: ReadonlyArray<RouteInfo>,
  hot: ReadonlyArray<RouteInfo>
): ((url: string) => ReadonlyArray<string>) => {
  const matcher = (list: ReadonlyArray<RouteInfo>) => {
    const router = FindMyWay.make<true>()
    for (const route of list) router.on(route.method, route.path as FindMyWay.PathInput, true)
    return router
  }
  const routed = matcher(routes)
  const before = matcher(hot)
  const methods = [...new Set([...routes, ...hot].map((route) => route.method))]
  return (url) => {
    const allow = new Set<string>()
    for (const method of methods) {
      if (before.find(method, url) !== undefined) allow.add(method)
      if (routed.find(method, url) === undefined) continue
      allow.add(method)
      if (method === "GET") allow.add("HEAD")
    }
    return [...allow].sort()
  }
}

/**
 * The Effect router's app, every route under the server's body limit (`maxBodyBytes`; routes that read a body
 * may set a smaller one) with failures as problems, and the list of its routes (for tests that must cover every
 * route, such as the fuzz test).
 */
export const router = (publicUrl: () => string, hot: ReadonlyArray<RouteInfo> = []) =>
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const tag = yield* TagAsset.load
    const metrics = yield* Metrics
    const routes = HttpRouter.empty.pipe(
      HttpRouter.get(
        "/tag.js",
        Effect.sync(() => TagAsset.respond(tag))
      ),
      HttpRouter.get("/healthz", health),
      HttpRouter.get(
        "/openapi.json",
        Effect.sync(() =>
          HttpServerResponse.unsafeJson(ApiDocs.spec(publicUrl()), { headers: { "cache-control": "no-cache" } })
        )
      ),
      HttpRouter.get(
        "/docs",
        Effect.sync(() => ApiDocs.respond(publicUrl()))
      ),
      HttpRouter.get(
        "/metrics",
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          if (!metricsAuthorized(config.metricsToken, request.headers.authorization)) {
            return yield* Problem.fail("unauthorized", "send the metrics token as 'Authorization: Bearer <token>'")
          }
          return HttpServerResponse.text(yield* metrics.render, { contentType: metrics.contentType })
        })
      ),
      HttpRouter.get("/optout", OptOut.show),
      HttpRouter.post("/optout", OptOut.submit(publicUrl, config.trustedProxies)),
      HttpRouter.get("/optout/status", OptOut.status),
      HttpRouter.get("/.well-known/gpc.json", Effect.succeed(OptOut.gpcJson)),
      HttpRouter.get("/", Effect.succeed(HttpServerResponse.html(DemoSites.home(config.demo))))
    )
    const api = yield* Effect.flatMap(HttpApiBuilder.Router, (router) => router.router).pipe(
      Effect.provide(
        Layer.mergeAll(
          TenancyApi.tenantsGroup,
          TenancyApi.sitesGroup,
          TenancyApi.keysGroup,
          UsersApi.group,
          AudiencesApi.group,
          ContactApi.group,
          AdsApi.campaignsGroup,
          AdsApi.catalogGroup,
          dataGroup,
          DsarApi.group
        ).pipe(Layer.provide(AdminApi.authorizationLayer), Layer.provideMerge(HttpApiBuilder.Router.Live))
      )
    )
    // What the platform's handlers may use to serve files (none of these routes serves one), built once.
    const platform = yield* Effect.context<HttpPlatform.HttpPlatform | Etag.Generator>().pipe(
      Effect.provide(Layer.mergeAll(NodeHttpPlatform.layer, Etag.layerWeak))
    )
    const withAudiences = PrivacyCenter.routes(publicUrl)(
      Console.routes(publicUrl)(AdServing.routes(publicUrl)(ContactApi.routes(HttpRouter.concat(routes, api))))
    )
    const all = config.demo ? withAudiences.pipe(HttpRouter.get("/demo/*", DemoSites.serve(publicUrl))) : withAudiences
    const routeList: ReadonlyArray<RouteInfo> = Array.from(all.routes, (route) => ({
      method: route.method,
      path: route.path
    }))
    const allowed = allowedMethods(routeList, hot)
    const app = BodyLimit.guard(
      config.maxBodyBytes,
      bodyLimitOf(config)
    )(all).pipe(
      Effect.provide(platform),
      Effect.catchTags({
        ProblemError: (error: Problem.ProblemError) => Effect.succeed(Problem.response(error.problem)),
        // A path some route answers, asked with another method: 405 with the methods it takes (RFC 9110 15.5.6).
        RouteNotFound: (error: HttpServerError.RouteNotFound) => {
          const allow = allowed(error.request.url)
          return Effect.succeed(
            allow.length === 0
              ? Problem.response(Problem.make("not-found", "no such route"))
              : Problem.response(Problem.make("method-not-allowed", `use ${allow.join(", ")}`, { allow }), {
                  allow: allow.join(", ")
                })
          )
        },
        // A path or query parameter the admin API's schema refuses.
        HttpApiDecodeError: (error: HttpApiError.HttpApiDecodeError) =>
          Effect.succeed(Problem.response(Problem.fromIssues("invalid-parameter", error.issues))),
        // A value from the request the database cannot take (a NUL in an id, say) is the request's fault; a
        // database that is down is temporary. Anything else is an internal error (below).
        StorageError: (error: StorageError) =>
          error.reason === "InvalidInput"
            ? Effect.succeed(
                Problem.response(Problem.make("invalid-parameter", "a value of the request cannot be looked up"))
              )
            : error.reason === "Unavailable"
              ? Effect.as(
                  Effect.logWarning("database unavailable", error.message),
                  Problem.response(Problem.make("unavailable", "the database is unavailable; try again shortly"), {
                    "retry-after": "5"
                  })
                )
              : Effect.fail(error)
      }),
      Effect.catchAllCause((cause) =>
        // Interrupted only: the client went away mid-request; nothing failed and nobody reads the answer.
        (Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("request failed", cause)).pipe(
          Effect.as(Problem.response(Problem.make("internal", "the request could not be completed")))
        )
      )
    )
    return { app, routes: routeList }
  })
