/**
 * Tenants of the server: the collector's tenants (`@openaudience/collector`'s `Tenant`: site keys, consent policy,
 * URL allowlist, pseudonym key) plus the API keys of the admin and ingest routes, with their roles. Lookups are
 * plain synchronous map reads because the collector's hot path calls them per event. API keys are kept only as
 * SHA-256 digests and compared in constant time.
 */
import { IngestKeys, Tenant as CollectorTenant } from "@openaudience/collector"
import type { Role as TenancyRole } from "@openaudience/tenancy"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"
import * as Problem from "./Problem.js"
import { ServerConfig } from "./ServerConfig.js"

export type Role = TenancyRole.Role

export type Tenant = CollectorTenant.Tenant

interface ApiKeyEntry {
  readonly digest: Buffer
  readonly tenant: Tenant
  readonly role: Role
}

export interface TenantsShape extends CollectorTenant.Directory {
  /** Resolves a bearer API key to its tenant and role. */
  readonly authenticate: (
    apiKey: string
  ) => { readonly tenant: Tenant; readonly role: Role; readonly partner: string | null } | undefined
}

export class Tenants extends Context.Tag("@openaudience/example-server/Tenants")<Tenants, TenantsShape>() {}

const digest = (key: string): Buffer => createHash("sha256").update(key, "utf8").digest()

export interface TenantSpec extends CollectorTenant.TenantSpec {
  readonly apiKeys: ReadonlyArray<{ readonly key: Redacted.Redacted<string>; readonly role: Role }>
}

/** The API key of an `Authorization: Bearer <key>` header, if that is what the header holds. */
export const bearerKey = (authorization: string | undefined): string | undefined => IngestKeys.bearer(authorization)

export const make = (secret: Uint8Array, specs: ReadonlyArray<TenantSpec>): TenantsShape => {
  const keys: Array<ApiKeyEntry> = []
  const tenants = specs.map((spec) => {
    const tenant = CollectorTenant.make(secret, spec)
    for (const apiKey of spec.apiKeys)
      keys.push({ digest: digest(Redacted.value(apiKey.key)), tenant, role: apiKey.role })
    return tenant
  })
  const directory = CollectorTenant.directoryOf(tenants)
  return {
    ...directory,
    authenticate: (apiKey) => {
      const candidate = digest(apiKey)
      let found: ApiKeyEntry | undefined
      // Compare against every key so timing does not reveal which prefix matched.
      for (const entry of keys) if (timingSafeEqual(entry.digest, candidate)) found = entry
      return found === undefined ? undefined : { tenant: found.tenant, role: found.role, partner: null }
    }
  }
}

/** Which tenant a server-to-server key may ingest for: admin and ingest keys may. */
export const ingestKeys = (tenants: TenantsShape): IngestKeys.IngestKeys => ({
  tenantOf: (apiKey) => {
    const found = tenants.authenticate(apiKey)
    return found === undefined || (found.role !== "admin" && found.role !== "ingest") ? undefined : found.tenant
  }
})

/** The demo tenant: site key `demo`, admin key from OA_DEMO_ADMIN_KEY. */
export const demoTenant = (adminKey: Redacted.Redacted<string>, cookieless = false): TenantSpec => ({
  ...CollectorTenant.demo(cookieless),
  apiKeys: [{ key: adminKey, role: "admin" }]
})

export const layer = Layer.effect(
  Tenants,
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const specs = config.demo ? [demoTenant(config.demoAdminKey, config.demoCookieless)] : []
    if (specs.length === 0) {
      yield* Effect.logWarning("No tenant is configured: set OA_DEMO=1 to run the demo tenant")
    }
    return make(Redacted.value(config.secret), specs)
  })
)

/** Resolves the Bearer API key of a request to a tenant with one of `roles`, or fails with a 401/403 problem. */
export const authenticate = (authorization: string | undefined, roles: ReadonlyArray<Role>) =>
  Effect.gen(function* () {
    const tenants = yield* Tenants
    const key = bearerKey(authorization)
    if (key === undefined) {
      return yield* Problem.fail("unauthorized", "send the API key as 'Authorization: Bearer <key>'")
    }
    const found = tenants.authenticate(key)
    if (found === undefined) return yield* Problem.fail("unauthorized", "the API key is not valid")
    if (!roles.includes(found.role)) {
      return yield* Problem.fail("forbidden", `this needs one of the roles: ${roles.join(", ")}`)
    }
    return found
  })
