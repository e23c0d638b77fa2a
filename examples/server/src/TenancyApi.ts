/**
 * The tenancy routes: HTTP adapters over @openaudience/tenancy's `TenancyStore` (which validates every field).
 *
 * - Operator API (bearer `OA_OPERATOR_KEY`): `POST /v1/tenants` `{ name, id? }`, `GET /v1/tenants`,
 *   `GET /v1/tenants/:id` (with its sites and keys), `DELETE /v1/tenants/:id`, `POST /v1/tenants/:id/keys` (a key of
 *   that tenant, such as its first `owner` key).
 * - Tenant admin API (an API key of the tenant): `GET|POST /v1/sites`, `GET|PATCH|DELETE /v1/sites/:siteKey`,
 *   `GET|POST /v1/keys`, `DELETE /v1/keys/:id` (revokes; the key stops working on every process within seconds).
 *   A new key is answered once, with `key`; it is never shown again. Only an `owner` key creates `owner` keys.
 *
 * A site or key of another tenant is a 404, exactly like one that does not exist.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { type Role, TenancyStore } from "@openaudience/tenancy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Access from "./Access.js"
import * as AdminApi from "./AdminApi.js"
import * as Audit from "./Audit.js"
import * as JsonBody from "./JsonBody.js"
import * as Problem from "./Problem.js"
import { ServerConfig } from "./ServerConfig.js"
import { Tenants } from "./Tenants.js"

const maxBodyBytes = 64 * 1024

const json = (value: unknown, status = 200) =>
  HttpServerResponse.unsafeJson(value, { status, headers: { "cache-control": "no-store" } })

/** A store failure as the problem a client reads. */
const problemOf = (error: TenancyStore.TenancyError) => {
  switch (error.reason) {
    case "InvalidInput":
      return Problem.fail("invalid-body", error.message, error.field === undefined ? {} : { field: error.field })
    case "NotFound":
      return Problem.fail("not-found", error.message)
    case "Conflict":
      return Problem.fail("conflict", error.message)
    case "Unavailable":
      return Problem.fail("unavailable", "the database is unavailable; try again shortly")
  }
}

const store = <A>(f: (store: TenancyStore.TenancyStoreShape) => Effect.Effect<A, TenancyStore.TenancyError>) =>
  Effect.flatMap(TenancyStore.TenancyStore, f).pipe(Effect.catchTag("TenancyError", problemOf))

/** A change, then this process's directory reloaded at once (a new key works in the next request). */
const change = <A>(f: (store: TenancyStore.TenancyStoreShape) => Effect.Effect<A, TenancyStore.TenancyError>) =>
  Effect.tap(store(f), () => Effect.flatMap(Tenants, (tenants) => tenants.refresh))

const param = (name: string) => Effect.map(HttpRouter.params, (params) => params[name] ?? "")

// Operator API ----------------------------------------------------------------------------------------------

const operator = Effect.gen(function* () {
  const config = yield* ServerConfig
  const request = yield* HttpServerRequest.HttpServerRequest
  yield* Access.operator(config.operatorKey, request.headers.authorization)
})

const createTenant = Effect.gen(function* () {
  yield* operator
  const input = yield* JsonBody.decode(AdminApi.TenantRequest, maxBodyBytes)
  const tenant = yield* Audit.audited(
    { tenant: null, actor: Audit.operator, action: "tenant.create", target: "tenants" },
    change((s) => s.createTenant(input)),
    (created) => ({ tenant: created.id })
  )
  return json(tenant, 201)
})

const listTenants = Effect.gen(function* () {
  yield* operator
  return json({ tenants: yield* store((s) => s.listTenants()) })
})

const showTenant = Effect.gen(function* () {
  yield* operator
  const id = yield* param("id")
  const tenant = yield* store((s) => s.getTenant(id))
  const sites = yield* store((s) => s.listSites(id))
  const keys = yield* store((s) => s.listKeys(id))
  return json({ ...tenant, sites, keys })
})

/** `POST /v1/tenants/:id/keys` `{ role, partner?, expiresAt? }`: a key of that tenant (its first owner key, say). */
const createTenantKey = Effect.gen(function* () {
  yield* operator
  const id = yield* param("id")
  return yield* newKey(id, "owner", Audit.operator)
})

const deleteTenant = Effect.gen(function* () {
  yield* operator
  const id = yield* param("id")
  yield* Audit.audited(
    { tenant: id, actor: Audit.operator, action: "tenant.delete", target: `tenant:${id}` },
    change((s) => s.deleteTenant(id))
  )
  return HttpServerResponse.empty({ status: 204 })
})

// Tenant admin API ------------------------------------------------------------------------------------------

const listSites = Effect.gen(function* () {
  const { tenant } = yield* Access.principal
  return json({ sites: yield* store((s) => s.listSites(tenant.id)) })
})

const addSite = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const input = yield* JsonBody.decode(AdminApi.SiteRequest, maxBodyBytes)
  const site = yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "site.add", target: "sites" },
    change((s) => s.addSite(tenant.id, input)),
    (added) => ({ site: added.siteKey })
  )
  return json(site, 201)
})

const showSite = Effect.gen(function* () {
  const { tenant } = yield* Access.principal
  const siteKey = yield* param("siteKey")
  return json(yield* store((s) => s.getSite(tenant.id, siteKey)))
})

const updateSite = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const siteKey = yield* param("siteKey")
  const input = yield* JsonBody.decode(AdminApi.SitePatch, maxBodyBytes)
  const site = yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "site.update", target: `site:${siteKey}` },
    change((s) => s.updateSite(tenant.id, siteKey, input)),
    () => ({ fields: Object.keys(input).join(",").slice(0, 256) })
  )
  return json(site)
})

const removeSite = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const siteKey = yield* param("siteKey")
  yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "site.remove", target: `site:${siteKey}` },
    change((s) => s.removeSite(tenant.id, siteKey))
  )
  return HttpServerResponse.empty({ status: 204 })
})

const listKeys = Effect.gen(function* () {
  const { tenant } = yield* Access.principal
  return json({ keys: yield* store((s) => s.listKeys(tenant.id)) })
})

/** An ISO date or date-time as epoch ms, or a problem naming `expiresAt`. */
const expiryOf = (value: unknown) => {
  if (value === undefined || value === null) return Effect.succeed(null)
  const at = typeof value === "string" && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN
  return Number.isFinite(at)
    ? Effect.succeed(at)
    : Problem.fail("invalid-body", "expiresAt: expected an ISO 8601 date or date-time", { field: "expiresAt" })
}

/** Creates a key of `tenant` from the body, for a caller of role `role`; answers it once. */
const newKey = (tenant: string, role: Role.Role, actor: Audit.Actor) =>
  Effect.gen(function* () {
    const input = yield* JsonBody.decode(AdminApi.KeyRequest, maxBodyBytes)
    if (input.role === "owner" && role !== "owner") {
      return yield* Problem.fail("forbidden", "only an owner key can create owner keys", { field: "role" })
    }
    const expiresAt = yield* expiryOf(input.expiresAt)
    const created = yield* Audit.audited(
      { tenant, actor, action: "key.create", target: "keys" },
      change((s) => s.createKey(tenant, { role: input.role, partner: input.partner, expiresAt })),
      ({ record }) => ({ key: record.id, role: record.role })
    )
    return json({ ...created.record, key: created.key }, 201)
  })

const createKey = Effect.gen(function* () {
  const { tenant, role, keyId } = yield* Access.principal
  return yield* newKey(tenant.id, role, { kind: "key", id: keyId })
})

const revokeKey = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const id = yield* param("id")
  const now = yield* Clock.currentTimeMillis
  const revoked = yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "key.revoke", target: `key:${id}` },
    change((s) => s.revokeKey(tenant.id, id, now))
  )
  return json(revoked)
})

/** The operator's tenants API (`AdminApi` group `tenants`). */
export const tenantsGroup = HttpApiBuilder.group(AdminApi.AdminApi, "tenants", (handlers) =>
  handlers
    .handleRaw("createTenant", () => createTenant)
    .handleRaw("listTenants", () => listTenants)
    .handleRaw("showTenant", () => showTenant)
    .handleRaw("deleteTenant", () => deleteTenant)
    .handleRaw("createTenantKey", () => createTenantKey)
)

/** The tenant's sites (`AdminApi` group `sites`). */
export const sitesGroup = HttpApiBuilder.group(AdminApi.AdminApi, "sites", (handlers) =>
  handlers
    .handleRaw("listSites", () => listSites)
    .handleRaw("addSite", () => addSite)
    .handleRaw("showSite", () => showSite)
    .handleRaw("updateSite", () => updateSite)
    .handleRaw("removeSite", () => removeSite)
)

/** The tenant's API keys (`AdminApi` group `keys`). */
export const keysGroup = HttpApiBuilder.group(AdminApi.AdminApi, "keys", (handlers) =>
  handlers
    .handleRaw("listKeys", () => listKeys)
    .handleRaw("createKey", () => createKey)
    .handleRaw("revokeKey", () => revokeKey)
)
