/**
 * The records of tenants (advertisers), their sites and their API keys, and the port a store implements for them
 * (`SqlTenancyStore` in @openaudience/storage-sql; `layerMemory` here for tests). Every change bumps a revision in
 * the same transaction, so that every process can notice a change with one cheap read (`revision`) and reload the
 * whole `snapshot` (see `Directory`). Every method that reads or changes a site or key takes its tenant: one
 * tenant's id never reaches another tenant's rows (a site or key of another tenant is `NotFound`, never
 * `Forbidden`).
 *
 * @since 0.1.0
 */
import { Policy } from "@openaudience/consent"
import { Event } from "@openaudience/event-schema"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Role } from "./Role.js"

/**
 * A tenant id: `ten_` and 16 hex digits for created tenants (`demo` for the demo tenant).
 *
 * @since 0.1.0
 * @category models
 */
export const TenantId = Schema.String.pipe(Schema.pattern(/^[a-z0-9][a-z0-9_-]{0,63}$/)).annotations({
  identifier: "TenantId"
})

/**
 * A tenant (an advertiser).
 *
 * @since 0.1.0
 * @category models
 */
export const Tenant = Schema.Struct({
  id: TenantId,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  createdAt: Schema.Int
})

/**
 * A tenant (an advertiser).
 *
 * @since 0.1.0
 * @category models
 */
export interface Tenant extends Schema.Schema.Type<typeof Tenant> {}

/**
 * An origin a site's pages are served from (`https://shop.example`, no path), for CORS of the batch route, the
 * catalog's link checks and the ad selector's publisher checks.
 *
 * @since 0.1.0
 * @category models
 */
export const Origin = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      const url = new URL(s)
      return (url.protocol === "https:" || url.protocol === "http:") && url.origin === s
        ? undefined
        : `an origin such as https://shop.example (scheme and host, no path): ${JSON.stringify(s)}`
    } catch {
      return `an origin such as https://shop.example (scheme and host, no path): ${JSON.stringify(s)}`
    }
  })
).annotations({ identifier: "Origin" })

/**
 * A site of a tenant, keyed by its site key (unique across tenants: the tag names its site by it).
 *
 * - `origins`: the origins its pages are served from.
 * - `urlParams`: query parameters kept in page URLs (`null`: the anonymizer's default allowlist).
 * - `policy`: the consent policy its events are decided under (`null`: `Policy.defaultPolicy`).
 * - `cookieless`: visitors keyed without cookies (daily salt, truncated address, generalized user agent).
 * - `childDirected`: the site is directed to children: no event of it ever builds a profile.
 *
 * @since 0.1.0
 * @category models
 */
export const Site = Schema.Struct({
  tenant: TenantId,
  siteKey: Event.SiteKey,
  origins: Schema.Array(Origin),
  urlParams: Schema.NullOr(Schema.Array(Schema.String)),
  policy: Schema.NullOr(Policy.Policy),
  cookieless: Schema.Boolean,
  childDirected: Schema.Boolean,
  createdAt: Schema.Int,
  updatedAt: Schema.Int
})

/**
 * A site of a tenant.
 *
 * @since 0.1.0
 * @category models
 */
export interface Site extends Schema.Schema.Type<typeof Site> {}

/**
 * What `addSite` takes (and `updateSite` takes any part of).
 *
 * @since 0.1.0
 * @category models
 */
export interface SiteInput {
  readonly siteKey: string
  readonly origins: ReadonlyArray<string>
  readonly urlParams?: ReadonlyArray<string> | null | undefined
  readonly policy?: Policy.Policy | null | undefined
  readonly cookieless?: boolean | undefined
  readonly childDirected?: boolean | undefined
}

/**
 * An API key as listed: never its digest or the key itself.
 *
 * - `partner`: for the `partner` role, the one partner name whose reports (and ε budget) it may use.
 * - `expiresAt`, `revokedAt`, `lastUsedAt`: epoch ms, or `null`.
 *
 * @since 0.1.0
 * @category models
 */
export const ApiKey = Schema.Struct({
  id: Schema.String,
  tenant: TenantId,
  role: Role,
  partner: Schema.NullOr(Schema.String),
  prefix: Schema.String,
  createdAt: Schema.Int,
  expiresAt: Schema.NullOr(Schema.Int),
  revokedAt: Schema.NullOr(Schema.Int),
  lastUsedAt: Schema.NullOr(Schema.Int)
})

/**
 * An API key as listed.
 *
 * @since 0.1.0
 * @category models
 */
export interface ApiKey extends Schema.Schema.Type<typeof ApiKey> {}

/**
 * An API key with its digest, as the directory needs it.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredKey extends ApiKey {
  readonly digest: string
}

/**
 * What `createKey` takes.
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyInput {
  readonly role: Role
  readonly partner?: string | null | undefined
  readonly expiresAt?: number | null | undefined
  /** An existing key to store (the demo's, or one from the environment) instead of a generated one. */
  readonly key?: string | undefined
}

/**
 * Everything, at one revision.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly revision: number
  readonly tenants: ReadonlyArray<Tenant>
  readonly sites: ReadonlyArray<Site>
  readonly keys: ReadonlyArray<StoredKey>
}

/**
 * Why a tenancy operation failed.
 *
 * - `NotFound`: no such tenant, site or key in this tenant.
 * - `Conflict`: the site key (or tenant id) is taken.
 * - `InvalidInput`: a field is malformed (`field` names it).
 * - `Unavailable`: the store cannot be reached; try again.
 *
 * @since 0.1.0
 * @category errors
 */
export class TenancyError extends Schema.TaggedError<TenancyError>()("TenancyError", {
  reason: Schema.Literal("NotFound", "Conflict", "InvalidInput", "Unavailable"),
  message: Schema.String,
  field: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The store of tenants, sites and keys. Every change runs in one transaction with the revision bump.
 *
 * @since 0.1.0
 * @category services
 */
export interface TenancyStoreShape {
  /** Creates a tenant (`id`: given, e.g. `demo`, or `ten_` and 16 random hex digits). */
  readonly createTenant: (input: {
    readonly name: string
    readonly id?: string | undefined
  }) => Effect.Effect<Tenant, TenancyError>
  readonly listTenants: () => Effect.Effect<ReadonlyArray<Tenant>, TenancyError>
  readonly getTenant: (id: string) => Effect.Effect<Tenant, TenancyError>
  /** Deletes a tenant with its sites and keys (its events and audiences are the data-subject tools' business). */
  readonly deleteTenant: (id: string) => Effect.Effect<void, TenancyError>

  readonly addSite: (tenant: string, input: SiteInput) => Effect.Effect<Site, TenancyError>
  readonly listSites: (tenant: string) => Effect.Effect<ReadonlyArray<Site>, TenancyError>
  readonly getSite: (tenant: string, siteKey: string) => Effect.Effect<Site, TenancyError>
  readonly updateSite: (
    tenant: string,
    siteKey: string,
    patch: Partial<Omit<SiteInput, "siteKey">>
  ) => Effect.Effect<Site, TenancyError>
  readonly removeSite: (tenant: string, siteKey: string) => Effect.Effect<void, TenancyError>

  /** Creates a key; the `key` returned is the only time it is ever seen. */
  readonly createKey: (
    tenant: string,
    input: KeyInput
  ) => Effect.Effect<{ readonly record: ApiKey; readonly key: string }, TenancyError>
  readonly listKeys: (tenant: string) => Effect.Effect<ReadonlyArray<ApiKey>, TenancyError>
  readonly revokeKey: (tenant: string, id: string, at: number) => Effect.Effect<ApiKey, TenancyError>
  /** Records that keys were used (the directory batches these; no revision bump). */
  readonly touchKeys: (
    used: ReadonlyArray<{ readonly id: string; readonly at: number }>
  ) => Effect.Effect<void, TenancyError>

  /** The current revision: grows with every change. */
  readonly revision: () => Effect.Effect<number, TenancyError>
  /** Everything at one revision (read in one transaction). */
  readonly snapshot: () => Effect.Effect<Snapshot, TenancyError>
}

/**
 * The store of tenants, sites and keys.
 *
 * @since 0.1.0
 * @category services
 */
export class TenancyStore extends Context.Tag("@openaudience/tenancy/TenancyStore")<
  TenancyStore,
  TenancyStoreShape
>() {}
