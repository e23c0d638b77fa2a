/**
 * Tenants: who owns which site keys and API keys, and each tenant's keys derived from the master secret.
 * Lookups are plain synchronous map reads because the collector's hot path calls them per event.
 * API keys are kept only as SHA-256 digests and compared in constant time.
 */
import { Pseudonym, Url } from "@openaudience/anonymizer"
import { Policy } from "@openaudience/consent"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { LRUCache } from "lru-cache"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"
import * as Problem from "./Problem.js"
import { ServerConfig } from "./ServerConfig.js"

export type Role = "admin" | "ingest"

export interface Tenant {
  readonly id: string
  readonly name: string
  readonly siteKeys: ReadonlySet<string>
  /** The consent policy every event of this tenant is decided under. */
  readonly policy: Policy.Policy
  /** Query parameters kept in page URLs and same-site referrers (everything else is dropped). */
  readonly urlParams: ReadonlyArray<string>
  /** Scrubs a page URL with this tenant's allowlist (compiled once). */
  readonly scrubUrl: (url: string) => string | undefined
  /**
   * Scrubs a referrer seen on a page with this tenant's allowlist (compiled once): `scrubbedPageUrl` is the page URL
   * as `scrubUrl` returned it, whose hostname decides what is the same site.
   */
  readonly scrubReferrer: (referrer: string, scrubbedPageUrl: string | undefined) => string | undefined
  /** Cookieless mode: visitors keyed by a daily salt, truncated IP, generalized user agent and site. */
  readonly cookieless: boolean
  /** HMAC key for pseudonymous visitor keys; never leaves the process. */
  readonly visitorKey: Uint8Array
  /**
   * The pseudonymous key of a first-party visitor id (HMAC-SHA256 under `visitorKey`), remembered for the most
   * recent visitors: a visitor sends several events, and each would compute the same HMAC again.
   */
  readonly pseudonym: (visitorId: string) => string
}

/** Visitors whose pseudonym a tenant remembers (about 150 bytes each). */
const pseudonymCacheSize = 50_000

interface ApiKeyEntry {
  readonly digest: Buffer
  readonly tenant: Tenant
  readonly role: Role
}

export interface TenantsShape {
  readonly bySite: (siteKey: string) => Tenant | undefined
  readonly byId: (tenantId: string) => Tenant | undefined
  /** Resolves a bearer API key to its tenant and role. */
  readonly authenticate: (apiKey: string) => { readonly tenant: Tenant; readonly role: Role } | undefined
  readonly all: () => ReadonlyArray<Tenant>
}

export class Tenants extends Context.Tag("@openaudience/example-server/Tenants")<Tenants, TenantsShape>() {}

const digest = (key: string): Buffer => createHash("sha256").update(key, "utf8").digest()

export interface TenantSpec {
  readonly id: string
  readonly name: string
  readonly siteKeys: ReadonlyArray<string>
  readonly policy: Policy.Policy
  /** Query parameters kept in URLs; default `Url.defaultAllowParams` (utm_*, product and category parameters). */
  readonly urlParams?: ReadonlyArray<string>
  /** Key visitors without cookies (see `Tenant.cookieless`). */
  readonly cookieless?: boolean
  readonly apiKeys: ReadonlyArray<{ readonly key: Redacted.Redacted<string>; readonly role: Role }>
}

/** The API key of an `Authorization: Bearer <key>` header, if that is what the header holds. */
export const bearerKey = (authorization: string | undefined): string | undefined =>
  authorization === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1]

export const make = (secret: Uint8Array, specs: ReadonlyArray<TenantSpec>): TenantsShape => {
  const sites = new Map<string, Tenant>()
  const ids = new Map<string, Tenant>()
  const keys: Array<ApiKeyEntry> = []
  for (const spec of specs) {
    const urlParams = spec.urlParams ?? Url.defaultAllowParams
    const scrubReferrer = Url.referrerScrubber({ allowParams: urlParams })
    const visitorKey = Pseudonym.deriveTenantKey(secret, spec.id, "visitor")
    const pseudonyms = new LRUCache<string, string>({ max: pseudonymCacheSize })
    const tenant: Tenant = {
      id: spec.id,
      name: spec.name,
      siteKeys: new Set(spec.siteKeys),
      policy: spec.policy,
      urlParams,
      scrubUrl: Url.scrubber({ allowParams: urlParams }),
      scrubReferrer: (referrer, scrubbedPageUrl) =>
        scrubReferrer(referrer, scrubbedPageUrl === undefined ? undefined : Url.hostnameOfScrubbed(scrubbedPageUrl)),
      cookieless: spec.cookieless === true,
      visitorKey,
      pseudonym: (visitorId) => {
        const hit = pseudonyms.get(visitorId)
        if (hit !== undefined) return hit
        const key = Pseudonym.visitorKey(visitorKey, visitorId)
        pseudonyms.set(visitorId, key)
        return key
      }
    }
    ids.set(spec.id, tenant)
    for (const site of spec.siteKeys) {
      if (sites.has(site)) throw new Error(`site key ${site} is claimed by two tenants`)
      sites.set(site, tenant)
    }
    for (const apiKey of spec.apiKeys)
      keys.push({ digest: digest(Redacted.value(apiKey.key)), tenant, role: apiKey.role })
  }
  return {
    bySite: (siteKey) => sites.get(siteKey),
    byId: (tenantId) => ids.get(tenantId),
    authenticate: (apiKey) => {
      const candidate = digest(apiKey)
      let found: ApiKeyEntry | undefined
      // Compare against every key so timing does not reveal which prefix matched.
      for (const entry of keys) if (timingSafeEqual(entry.digest, candidate)) found = entry
      return found === undefined ? undefined : { tenant: found.tenant, role: found.role }
    },
    all: () => [...ids.values()]
  }
}

/** The demo tenant: site key `demo`, admin key from OA_DEMO_ADMIN_KEY. */
export const demoTenant = (adminKey: Redacted.Redacted<string>, cookieless = false): TenantSpec => ({
  id: "demo",
  name: "Demo shop",
  siteKeys: ["demo"],
  policy: Policy.demo,
  cookieless,
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
