/**
 * The demo tenant, seeded through the store like any other tenant: tenant `demo` ("Demo shop"), its site `demo`
 * (the demo consent policy, `Policy.demo`) and an `admin` key imported from the configured demo admin key; and the
 * demo publisher `demo-news` ("Demo news") with its news site on the `localhost` name of the same server. Seeding
 * is idempotent: what exists is kept, so it can run at every start of every process.
 *
 * @since 0.1.0
 */
import { Policy } from "@openaudience/consent"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as ApiKey from "./ApiKey.js"
import * as TenancyStore from "./TenancyStore.js"

/**
 * The demo's tenant id, name and site key.
 *
 * @since 0.1.0
 * @category constants
 */
export const demoTenant = { id: "demo", name: "Demo shop", siteKey: "demo" } as const

/**
 * The demo's publisher: a news site whose ad slots are filled from the advertisers' campaigns. Its pages are served
 * from `localhost` while the shop is on `127.0.0.1`: two sites, as a browser sees them.
 *
 * @since 0.4.0
 * @category constants
 */
export const demoPublisher = { id: "demo-news", name: "Demo news", siteKey: "demo-news" } as const

/** The same origin on `localhost` (the demo's second site). */
const onLocalhost = (origin: string): string => {
  try {
    const url = new URL(origin)
    url.hostname = "localhost"
    return url.origin
  } catch {
    return origin
  }
}

/**
 * Options of `demo`: `publicUrl`, the server's public URL, whose origin the demo site's pages are served from
 * (default `http://127.0.0.1:8080`); `cookieless`, the demo site's cookieless mode (default `false`).
 *
 * @since 0.1.0
 * @category models
 */
export interface DemoOptions {
  readonly publicUrl?: string | undefined
  readonly cookieless?: boolean | undefined
  /**
   * Earlier demo admin keys to revoke when they are not `adminKey` (e.g. the public default key, once an operator
   * set a key of their own): a key once seeded would otherwise stay valid after the configuration changed.
   */
  readonly retire?: ReadonlyArray<string> | undefined
}

/**
 * What `demo` created now (`false`: it existed already).
 *
 * @since 0.1.0
 * @category models
 */
export interface Seeded {
  readonly tenant: boolean
  readonly site: boolean
  readonly key: boolean
  /** The publisher tenant and its news site. */
  readonly publisher: boolean
}

const originOf = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

/** `effect`, or `fallback` when it fails with `reason` (something another process did first). */
const unless = <A, B>(
  effect: Effect.Effect<A, TenancyStore.TenancyError>,
  reason: TenancyStore.TenancyError["reason"],
  fallback: Effect.Effect<B, TenancyStore.TenancyError>
): Effect.Effect<A | B, TenancyStore.TenancyError> =>
  Effect.catchIf(
    effect,
    (error) => error.reason === reason,
    () => fallback
  )

/**
 * Seeds the demo tenant: creates tenant `demo`, its site `demo` and an `admin` key imported from `adminKey` when
 * they are missing. An existing demo site gets the configured cookieless mode and origin; a key with `adminKey`'s
 * digest is never stored twice (nor brought back once revoked).
 *
 * @since 0.1.0
 * @category constructors
 */
export const demo = (
  adminKey: string,
  options: DemoOptions = {}
): Effect.Effect<Seeded, TenancyStore.TenancyError, TenancyStore.TenancyStore> =>
  Effect.gen(function* () {
    const store = yield* TenancyStore.TenancyStore
    const origin = originOf(options.publicUrl ?? "http://127.0.0.1:8080")
    const cookieless = options.cookieless ?? false
    const { id, name, siteKey } = demoTenant

    const tenant = yield* unless(
      Effect.as(store.getTenant(id), false),
      "NotFound",
      unless(Effect.as(store.createTenant({ id, name }), true), "Conflict", Effect.succeed(false))
    )

    const addSite = Effect.as(store.addSite(id, { siteKey, origins: [origin], policy: Policy.demo, cookieless }), true)
    const existing = yield* unless(store.getSite(id, siteKey), "NotFound", Effect.succeed(undefined))
    const site = existing === undefined ? yield* unless(addSite, "Conflict", Effect.succeed(false)) : false
    if (existing !== undefined && (existing.cookieless !== cookieless || !existing.origins.includes(origin))) {
      yield* store.updateSite(id, siteKey, { cookieless, origins: [...existing.origins, origin] })
    }

    const digest = ApiKey.digestOf(adminKey)
    const snapshot = yield* store.snapshot()
    const retired = new Set((options.retire ?? []).map(ApiKey.digestOf))
    retired.delete(digest)
    const now = yield* Clock.currentTimeMillis
    for (const key of snapshot.keys) {
      if (key.tenant === id && key.revokedAt === null && retired.has(key.digest)) {
        yield* store.revokeKey(id, key.id, now)
      }
    }
    const stored = snapshot.keys.some((key) => key.digest === digest)
    const key = stored
      ? false
      : yield* unless(
          Effect.as(store.createKey(id, { role: "admin", key: adminKey }), true),
          "Conflict",
          Effect.succeed(false)
        )
    const publisher = yield* seedPublisher(store, onLocalhost(origin))
    return { tenant, site, key, publisher }
  })

/** The demo publisher's tenant and news site (`demoPublisher`), when missing; the origin added when new. */
const seedPublisher = (store: TenancyStore.TenancyStoreShape, origin: string) =>
  Effect.gen(function* () {
    const { id, name, siteKey } = demoPublisher
    const tenant = yield* unless(
      Effect.as(store.getTenant(id), false),
      "NotFound",
      unless(Effect.as(store.createTenant({ id, name }), true), "Conflict", Effect.succeed(false))
    )
    const existing = yield* unless(store.getSite(id, siteKey), "NotFound", Effect.succeed(undefined))
    if (existing === undefined) {
      yield* unless(
        Effect.as(store.addSite(id, { siteKey, origins: [origin], policy: Policy.demo }), true),
        "Conflict",
        Effect.succeed(false)
      )
    } else if (!existing.origins.includes(origin)) {
      yield* store.updateSite(id, siteKey, { origins: [...existing.origins, origin] })
    }
    return tenant
  })
