/**
 * Tenants as the collector's hot path needs them: who owns which site keys, the consent policy every event is
 * decided under, the URL-parameter allowlist with its scrubbers compiled once, cookieless mode, and the keyed
 * pseudonym of a first-party visitor id (HMAC-SHA256 under a per-tenant key derived from the master secret, the
 * most recent ones remembered), and a second derived key for the order hashes of identifier-free events. Looking a
 * tenant up is a plain synchronous map read, because it runs per event.
 *
 * API keys and roles belong to the server that embeds the collector; the collector only asks, through
 * `IngestKeys`, which tenant a server-to-server key may ingest events for.
 *
 * @since 0.1.0
 */
import { Pseudonym, Url } from "@openaudience/anonymizer"
import { Policy } from "@openaudience/consent"
import * as Schema from "effect/Schema"
import { LRUCache } from "lru-cache"

/**
 * A tenant, ready for the hot path.
 *
 * @since 0.1.0
 * @category models
 */
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
  /**
   * HMAC key for the order hashes of identifier-free events (`Collect.orderHash`); derived from the master secret
   * for the purpose `"order"`, never leaves the process.
   */
  readonly orderKey: Uint8Array
}

/**
 * How a tenant is configured.
 *
 * @since 0.1.0
 * @category models
 */
export interface TenantSpec {
  readonly id: string
  readonly name: string
  readonly siteKeys: ReadonlyArray<string>
  readonly policy: Policy.Policy
  /** Query parameters kept in URLs; default `Url.defaultAllowParams` (utm_*, product and category parameters). */
  readonly urlParams?: ReadonlyArray<string> | undefined
  /** Key visitors without cookies (see `Tenant.cookieless`). */
  readonly cookieless?: boolean | undefined
}

/**
 * Finds the tenant of a site key (synchronously: the collector asks once per event).
 *
 * @since 0.1.0
 * @category models
 */
export interface Sites {
  readonly bySite: (siteKey: string) => Tenant | undefined
}

/**
 * Every configured tenant, by site key and by id.
 *
 * @since 0.1.0
 * @category models
 */
export interface Directory extends Sites {
  readonly byId: (tenantId: string) => Tenant | undefined
  readonly all: () => ReadonlyArray<Tenant>
}

/**
 * A configuration that cannot make a directory: two tenants claim the same site key.
 *
 * @since 0.1.0
 * @category errors
 */
export class TenantConfigError extends Schema.TaggedError<TenantConfigError>()("TenantConfigError", {
  reason: Schema.Literal("DuplicateSiteKey", "DuplicateTenantId"),
  message: Schema.String
}) {}

/** Visitors whose pseudonym a tenant remembers (about 150 bytes each). */
const pseudonymCacheSize = 50_000

/**
 * A tenant from its configuration and the master secret (its visitor key is derived from both).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (secret: Uint8Array, spec: TenantSpec): Tenant => {
  const urlParams = spec.urlParams ?? Url.defaultAllowParams
  const scrubReferrer = Url.referrerScrubber({ allowParams: urlParams })
  const visitorKey = Pseudonym.deriveTenantKey(secret, spec.id, "visitor")
  const pseudonyms = new LRUCache<string, string>({ max: pseudonymCacheSize })
  return {
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
    orderKey: Pseudonym.deriveTenantKey(secret, spec.id, "order"),
    pseudonym: (visitorId) => {
      const hit = pseudonyms.get(visitorId)
      if (hit !== undefined) return hit
      const key = Pseudonym.visitorKey(visitorKey, visitorId)
      pseudonyms.set(visitorId, key)
      return key
    }
  }
}

/**
 * A directory of tenants from their configurations and the master secret. Throws `TenantConfigError` when two
 * tenants claim one site key or one id: a configuration mistake to stop at start-up, never request input.
 *
 * @since 0.1.0
 * @category constructors
 */
export const directory = (secret: Uint8Array, specs: ReadonlyArray<TenantSpec>): Directory =>
  directoryOf(specs.map((spec) => make(secret, spec)))

/**
 * A directory of tenants already made (see `make`). Throws `TenantConfigError` like `directory`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const directoryOf = (tenants: ReadonlyArray<Tenant>): Directory => {
  const sites = new Map<string, Tenant>()
  const ids = new Map<string, Tenant>()
  for (const tenant of tenants) {
    if (ids.has(tenant.id)) {
      throw new TenantConfigError({ reason: "DuplicateTenantId", message: `tenant id ${tenant.id} is used twice` })
    }
    ids.set(tenant.id, tenant)
    for (const site of tenant.siteKeys) {
      if (sites.has(site)) {
        throw new TenantConfigError({
          reason: "DuplicateSiteKey",
          message: `site key ${site} is claimed by two tenants`
        })
      }
      sites.set(site, tenant)
    }
  }
  return {
    bySite: (siteKey) => sites.get(siteKey),
    byId: (tenantId) => ids.get(tenantId),
    all: () => [...ids.values()]
  }
}

/**
 * The demo tenant: site key `demo`, the demo consent policy (`Policy.demo`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const demo = (cookieless = false): TenantSpec => ({
  id: "demo",
  name: "Demo shop",
  siteKeys: ["demo"],
  policy: Policy.demo,
  cookieless
})
