/**
 * The tenants, sites and keys of a store as the hot paths read them: plain synchronous map reads. From a
 * `Snapshot` and the master secret, `make` builds the collector's tenants (one per site, carrying that site's
 * policy, URL parameter allowlist and cookieless mode; every site of a tenant shares the tenant's pseudonym key,
 * which depends only on the tenant id and the secret) and a map from key digest to key, so that authenticating a
 * bearer key is one digest and one map read.
 *
 * `live` keeps such a directory up to date in every process: it polls the store's `revision` (one cheap read) and,
 * when it changed, reloads the whole snapshot and swaps the directory by reference, so readers see the old one or
 * the new one, never half of each. A new site, key or revocation is seen within one poll interval. It also
 * records when keys are used and writes those times in batches (`touchKeys`), off the request path.
 *
 * @since 0.1.0
 */
import { Url } from "@openaudience/anonymizer"
import { Tenant as CollectorTenant } from "@openaudience/collector"
import { Policy } from "@openaudience/consent"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as ApiKey from "./ApiKey.js"
import type { Role } from "./Role.js"
import * as TenancyStore from "./TenancyStore.js"

/**
 * What an accepted bearer key stands for.
 *
 * - `tenant`: the collector's tenant of the key's tenant (its `id` and `name`; see `Directory.byId`).
 * - `partner`: for a `partner` key, the one partner name it may use.
 *
 * @since 0.1.0
 * @category models
 */
export interface Authenticated {
  readonly tenant: CollectorTenant.Tenant
  readonly role: Role
  readonly partner: string | null
  readonly keyId: string
}

/**
 * A directory at one revision.
 *
 * - `bySite(siteKey)`: the collector tenant of that site (its tenant's id, name and pseudonym key, the site's policy,
 *   URL parameters and cookieless mode).
 * - `byId(tenantId)`, `all()`: one collector tenant per tenant, for its server-to-server events: all its site keys;
 *   the policy, URL parameters and cookieless mode its sites share (the defaults when they differ); child-directed
 *   when any of its sites is.
 * - `authenticate(bearerKey, now)`: the key's tenant, role and partner, or `undefined` for an unknown, revoked or
 *   expired (`expiresAt <= now`) key.
 *
 * @since 0.1.0
 * @category models
 */
export interface Directory extends CollectorTenant.Directory {
  readonly revision: number
  readonly authenticate: (bearerKey: string, now: number) => Authenticated | undefined
}

/** The policy a site's events are decided under: child-directed sites force `childDirected`. */
const policyOf = (site: TenancyStore.Site): Policy.Policy => {
  const policy = site.policy ?? Policy.defaultPolicy
  return site.childDirected && !policy.childDirected ? { ...policy, childDirected: true } : policy
}

/** The value every item shares, or `fallback` when they differ (or there is none). */
const shared = <A>(items: ReadonlyArray<A>, fallback: A): A => {
  if (items.length === 0) return fallback
  const first = JSON.stringify(items[0])
  return items.every((item) => JSON.stringify(item) === first) ? items[0]! : fallback
}

/**
 * The collector tenant of one site of a tenant with several: `tenant`'s pseudonym keys and cache (the collector's
 * tenant holds a cache of about 1 MB: one per tenant, not per site), the site's settings.
 */
const forSite = (tenant: CollectorTenant.Tenant, site: TenancyStore.Site): CollectorTenant.Tenant => {
  const urlParams = site.urlParams ?? Url.defaultAllowParams
  const scrubReferrer = Url.referrerScrubber({ allowParams: urlParams })
  return {
    ...tenant,
    siteKeys: new Set([site.siteKey]),
    policy: policyOf(site),
    urlParams,
    scrubUrl: Url.scrubber({ allowParams: urlParams }),
    scrubReferrer: (referrer, scrubbedPageUrl) =>
      scrubReferrer(referrer, scrubbedPageUrl === undefined ? undefined : Url.hostnameOfScrubbed(scrubbedPageUrl)),
    cookieless: site.cookieless
  }
}

/** The collector tenants of each directory, by their configuration, for the next one to reuse. */
const made = new WeakMap<Directory, ReadonlyMap<string, CollectorTenant.Tenant>>()

/**
 * Options of `make`: `onUse` is told of every accepted key (`live` batches them); `previous`, a directory made
 * with the same secret, whose collector tenants are reused when their configuration is unchanged (so their
 * pseudonym caches stay warm across reloads).
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  readonly onUse?: ((keyId: string, at: number) => void) | undefined
  readonly previous?: Directory | undefined
}

/**
 * Builds the directory of a snapshot.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (secret: Uint8Array, snapshot: TenancyStore.Snapshot, options: MakeOptions = {}): Directory => {
  const onUse = options.onUse ?? (() => {})
  const reusable = options.previous === undefined ? undefined : made.get(options.previous)
  const specs = new Map<string, CollectorTenant.Tenant>()
  const sitesOf = new Map<string, Array<TenancyStore.Site>>()
  for (const site of snapshot.sites) {
    const list = sitesOf.get(site.tenant)
    if (list === undefined) sitesOf.set(site.tenant, [site])
    else list.push(site)
  }
  const ids = new Map<string, CollectorTenant.Tenant>()
  const bySite = new Map<string, CollectorTenant.Tenant>()
  for (const tenant of snapshot.tenants) {
    const sites = sitesOf.get(tenant.id) ?? []
    const policy = shared(sites.map(policyOf), Policy.defaultPolicy)
    const spec: CollectorTenant.TenantSpec = {
      id: tenant.id,
      name: tenant.name,
      siteKeys: sites.map((site) => site.siteKey),
      policy: sites.some((site) => site.childDirected) ? { ...policy, childDirected: true } : policy,
      urlParams:
        shared<ReadonlyArray<string> | null>(
          sites.map((site) => site.urlParams),
          null
        ) ?? undefined,
      cookieless: sites.some((site) => site.cookieless)
    }
    const key = JSON.stringify(spec)
    const collectorTenant = reusable?.get(key) ?? CollectorTenant.make(secret, spec)
    specs.set(key, collectorTenant)
    ids.set(tenant.id, collectorTenant)
    // A tenant's only site is decided by its tenant's settings, which are that site's.
    for (const site of sites) {
      bySite.set(site.siteKey, sites.length === 1 ? collectorTenant : forSite(collectorTenant, site))
    }
  }
  const keys = new Map<string, { readonly key: TenancyStore.StoredKey; readonly tenant: CollectorTenant.Tenant }>()
  for (const key of snapshot.keys) {
    const tenant = ids.get(key.tenant)
    if (tenant !== undefined) keys.set(key.digest, { key, tenant })
  }
  const directory: Directory = {
    revision: snapshot.revision,
    bySite: (siteKey) => bySite.get(siteKey),
    byId: (tenantId) => ids.get(tenantId),
    all: () => [...ids.values()],
    authenticate: (bearerKey, now) => {
      // A map read by digest: the digest of a random key reveals nothing, so its timing does not either.
      const found = keys.get(ApiKey.digestOf(bearerKey))
      if (found === undefined) return undefined
      const { key, tenant } = found
      if (key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now)) return undefined
      onUse(key.id, now)
      return { tenant, role: key.role, partner: key.partner, keyId: key.id }
    }
  }
  made.set(directory, specs)
  return directory
}

/**
 * The live directory service: a `Directory` that follows the store (see `live`), and `refresh` to reload it now
 * (after a change made by this process, for example).
 *
 * @since 0.1.0
 * @category services
 */
export interface TenancyDirectoryShape extends CollectorTenant.Directory {
  /** The directory in use now. */
  readonly current: () => Directory
  readonly authenticate: (bearerKey: string, now: number) => Authenticated | undefined
  /** Reloads the snapshot when the store's revision changed. */
  readonly refresh: Effect.Effect<void, TenancyStore.TenancyError>
  /** Writes the recorded key uses now (they are written every `flushMs` anyway). */
  readonly flush: Effect.Effect<void>
}

/**
 * The live directory service.
 *
 * @since 0.1.0
 * @category services
 */
export class TenancyDirectory extends Context.Tag("@openaudience/tenancy/TenancyDirectory")<
  TenancyDirectory,
  TenancyDirectoryShape
>() {}

/**
 * How `live` follows the store: `pollMs` between revision reads (default 1000), `flushMs` between writes of key
 * use times (default 10 000).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly pollMs?: number | undefined
  readonly flushMs?: number | undefined
}

/**
 * Loads the directory from the store, then keeps it up to date in background fibers of the scope: the revision is
 * read every `pollMs` and the snapshot reloaded when it changed; key use times are written every `flushMs` and when
 * the scope closes. A failed poll or write is logged and tried again at the next interval; only the first load
 * must succeed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const live = (
  secret: Uint8Array,
  options: Options = {}
): Effect.Effect<TenancyDirectoryShape, TenancyStore.TenancyError, TenancyStore.TenancyStore | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* TenancyStore.TenancyStore
    let used = new Map<string, number>()
    const onUse = (keyId: string, at: number) => {
      const seen = used.get(keyId)
      if (seen === undefined || seen < at) used.set(keyId, at)
    }
    let current = make(secret, yield* store.snapshot(), { onUse })

    const refresh = Effect.gen(function* () {
      const revision = yield* store.revision()
      if (revision === current.revision) return
      const snapshot = yield* store.snapshot()
      // Built aside, swapped by reference: readers never see half a directory.
      current = make(secret, snapshot, { onUse, previous: current })
    })

    const flush = Effect.suspend(() => {
      if (used.size === 0) return Effect.void
      const batch = used
      used = new Map()
      return store.touchKeys([...batch].map(([id, at]) => ({ id, at }))).pipe(
        Effect.catchAll((error) =>
          Effect.sync(() => {
            // Kept for the next try, unless a newer use was recorded meanwhile.
            for (const [id, at] of batch) onUse(id, at)
          }).pipe(Effect.zipRight(Effect.logWarning("Could not record when API keys were used", error)))
        )
      )
    })

    const every = (ms: number, effect: Effect.Effect<void, TenancyStore.TenancyError>, what: string) =>
      Effect.sleep(Duration.millis(ms)).pipe(
        Effect.zipRight(effect),
        Effect.catchAllCause((cause) => Effect.logWarning(what, cause)),
        Effect.forever,
        Effect.forkScoped
      )

    yield* every(options.pollMs ?? 1_000, refresh, "Could not reload tenants, sites and keys")
    yield* every(options.flushMs ?? 10_000, flush, "Could not record when API keys were used")
    yield* Effect.addFinalizer(() => flush)

    return TenancyDirectory.of({
      current: () => current,
      bySite: (siteKey) => current.bySite(siteKey),
      byId: (tenantId) => current.byId(tenantId),
      all: () => current.all(),
      authenticate: (bearerKey, now) => current.authenticate(bearerKey, now),
      refresh,
      flush
    })
  })

/**
 * The live directory as a layer (see `live`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  secret: Uint8Array,
  options: Options = {}
): Layer.Layer<TenancyDirectory, TenancyStore.TenancyError, TenancyStore.TenancyStore> =>
  Layer.scoped(TenancyDirectory, live(secret, options))
