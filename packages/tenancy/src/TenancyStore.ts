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
import { randomBytes } from "node:crypto"
import { Policy } from "@openaudience/consent"
import { Event } from "@openaudience/event-schema"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as ApiKeys from "./ApiKey.js"
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

/**
 * A partner name a `partner` key is bound to: 1 to 64 letters, digits, `.`, `_` or `-` (as report routes take it).
 *
 * @since 0.1.0
 * @category models
 */
export const PartnerName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    message: () => "expected 1 to 64 letters, digits, '.', '_' or '-'"
  })
).annotations({ identifier: "PartnerName" })

/**
 * A URL query parameter name a site keeps: 1 to 64 characters, no control characters, spaces, `&`, `=` or `#`.
 *
 * @since 0.1.0
 * @category models
 */
export const UrlParam = Schema.String.pipe(
  Schema.pattern(/^[^\s\p{Cc}&=#]{1,64}$/u, { message: () => "expected a query parameter name of 1 to 64 characters" })
).annotations({ identifier: "UrlParam" })

/** At most this many origins and URL parameters per site. */
const maxListLength = 100

/**
 * A new tenant id: `ten_` and 16 random hex digits.
 *
 * @since 0.1.0
 * @category constructors
 */
export const newTenantId = (): string => `ten_${randomBytes(8).toString("hex")}`

/**
 * An `InvalidInput` failure naming `field`.
 *
 * @since 0.1.0
 * @category errors
 */
export const invalid = (field: string, message: string): TenancyError =>
  new TenancyError({ reason: "InvalidInput", field, message: `${field}: ${message}` })

/**
 * A `NotFound` failure.
 *
 * @since 0.1.0
 * @category errors
 */
export const notFound = (message: string): TenancyError => new TenancyError({ reason: "NotFound", message })

/**
 * A `Conflict` failure.
 *
 * @since 0.1.0
 * @category errors
 */
export const conflict = (message: string): TenancyError => new TenancyError({ reason: "Conflict", message })

/** The first issue of a parse error, in one line. */
const issueOf = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message ?? error.message

const check = <A, I>(
  schema: Schema.Schema<A, I>,
  field: string,
  value: unknown,
  label = field
): Effect.Effect<A, TenancyError> =>
  Either.match(Schema.decodeUnknownEither(schema)(value), {
    onLeft: (error) =>
      Effect.fail(new TenancyError({ reason: "InvalidInput", field, message: `${label}: ${issueOf(error)}` })),
    onRight: Effect.succeed
  })

const checkList = <A, I>(
  schema: Schema.Schema<A, I>,
  field: string,
  value: unknown,
  min: number
): Effect.Effect<ReadonlyArray<A>, TenancyError> => {
  if (!Array.isArray(value)) return Effect.fail(invalid(field, "expected a list"))
  if (value.length < min) return Effect.fail(invalid(field, `expected at least ${min}`))
  if (value.length > maxListLength) return Effect.fail(invalid(field, `expected at most ${maxListLength}`))
  return Effect.map(
    Effect.forEach(value, (item, i) => check(schema, field, item, `${field}[${i}]`)),
    (items) => [...new Set(items)]
  )
}

const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/

/**
 * Checks a tenant name: trimmed, 1 to 200 characters, no control characters.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateName = (name: unknown): Effect.Effect<string, TenancyError> => {
  if (typeof name !== "string") return Effect.fail(invalid("name", "expected a string"))
  const trimmed = name.trim()
  if (trimmed.length < 1 || trimmed.length > 200) {
    return Effect.fail(invalid("name", "expected 1 to 200 characters"))
  }
  if (controlCharacters.test(trimmed)) return Effect.fail(invalid("name", "control characters are not allowed"))
  return Effect.succeed(trimmed)
}

/**
 * Checks `createTenant`'s input: the name, and the id when given (else a new `ten_…` id).
 *
 * @since 0.1.0
 * @category validation
 */
export const validateTenant = (input: {
  readonly name: string
  readonly id?: string | undefined
}): Effect.Effect<{ readonly id: string; readonly name: string }, TenancyError> =>
  Effect.all({
    id: input.id === undefined ? Effect.sync(newTenantId) : check(TenantId, "id", input.id),
    name: validateName(input.name)
  })

/**
 * A site's settings, checked (what `validateSite` and `validateSitePatch` return).
 *
 * @since 0.1.0
 * @category models
 */
export interface SiteFields {
  readonly origins: ReadonlyArray<string>
  readonly urlParams: ReadonlyArray<string> | null
  readonly policy: Policy.Policy | null
  readonly cookieless: boolean
  readonly childDirected: boolean
}

const checkBoolean = (field: string, value: unknown): Effect.Effect<boolean, TenancyError> =>
  typeof value === "boolean" ? Effect.succeed(value) : Effect.fail(invalid(field, "expected true or false"))

const checkFields = (fields: {
  readonly origins: unknown
  readonly urlParams: unknown
  readonly policy: unknown
  readonly cookieless: unknown
  readonly childDirected: unknown
}): Effect.Effect<SiteFields, TenancyError> =>
  Effect.all({
    origins: checkList(Origin, "origins", fields.origins, 1),
    urlParams: fields.urlParams === null ? Effect.succeed(null) : checkList(UrlParam, "urlParams", fields.urlParams, 0),
    policy:
      fields.policy === null
        ? Effect.succeed(null)
        : Either.match(Schema.validateEither(Policy.Policy)(fields.policy), {
            onLeft: (error) => Effect.fail(invalid("policy", issueOf(error))),
            onRight: Effect.succeed
          }),
    cookieless: checkBoolean("cookieless", fields.cookieless),
    childDirected: checkBoolean("childDirected", fields.childDirected)
  })

/**
 * Checks `addSite`'s input: the site key (`Event.SiteKey`), at least one origin, the URL parameters (`null` or
 * absent: the default allowlist), the policy (`null` or absent: the default policy) and the flags.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateSite = (
  input: SiteInput
): Effect.Effect<SiteFields & { readonly siteKey: string }, TenancyError> =>
  Effect.all({
    siteKey: check(Event.SiteKey, "siteKey", input.siteKey),
    fields: checkFields({
      origins: input.origins,
      urlParams: input.urlParams ?? null,
      policy: input.policy ?? null,
      cookieless: input.cookieless ?? false,
      childDirected: input.childDirected ?? false
    })
  }).pipe(Effect.map(({ fields, siteKey }) => ({ siteKey, ...fields })))

/**
 * Applies `updateSite`'s patch to a site and checks the result (a field absent from the patch keeps its value;
 * `urlParams: null` and `policy: null` go back to the defaults).
 *
 * @since 0.1.0
 * @category validation
 */
export const validateSitePatch = (
  site: Site,
  patch: Partial<Omit<SiteInput, "siteKey">>
): Effect.Effect<SiteFields, TenancyError> =>
  checkFields({
    origins: patch.origins ?? site.origins,
    urlParams: patch.urlParams === undefined ? site.urlParams : patch.urlParams,
    policy: patch.policy === undefined ? site.policy : patch.policy,
    cookieless: patch.cookieless ?? site.cookieless,
    childDirected: patch.childDirected ?? site.childDirected
  })

/**
 * A key's settings, checked, with the key to store (generated, or imported from `input.key`).
 *
 * @since 0.1.0
 * @category models
 */
export interface KeyFields {
  readonly role: Role
  readonly partner: string | null
  readonly expiresAt: number | null
  readonly generated: ApiKeys.Generated
}

/**
 * Checks `createKey`'s input at time `now`: the role; a partner name for the `partner` role and none for the
 * others; an expiry in the future; an imported key of 8 to 512 printable characters (the demo's is `demo-admin-key`).
 *
 * @since 0.1.0
 * @category validation
 */
export const validateKey = (input: KeyInput, now: number): Effect.Effect<KeyFields, TenancyError> =>
  Effect.gen(function* () {
    const role = yield* check(Role, "role", input.role)
    const partner = input.partner ?? null
    if (role === "partner" && partner === null) {
      return yield* invalid("partner", "a partner key needs the partner name it is bound to")
    }
    if (role !== "partner" && partner !== null) {
      return yield* invalid("partner", `only partner keys are bound to a partner, not ${role} keys`)
    }
    if (partner !== null) yield* check(PartnerName, "partner", partner)
    const expiresAt = input.expiresAt ?? null
    if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= now)) {
      return yield* invalid("expiresAt", "expected a time in the future (epoch milliseconds)")
    }
    if (input.key !== undefined && !/^[\x21-\x7e]{8,512}$/.test(input.key)) {
      return yield* invalid("key", "expected 8 to 512 printable characters without spaces")
    }
    return {
      role,
      partner,
      expiresAt,
      generated: input.key === undefined ? ApiKeys.generate() : ApiKeys.imported(input.key)
    }
  })

/**
 * The record of a new key of `tenant` created at `now`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const storedKey = (tenant: string, fields: KeyFields, now: number): StoredKey => ({
  id: fields.generated.id,
  tenant,
  role: fields.role,
  partner: fields.partner,
  prefix: fields.generated.prefix,
  digest: fields.generated.digest,
  createdAt: now,
  expiresAt: fields.expiresAt,
  revokedAt: null,
  lastUsedAt: null
})

/**
 * A key as listed (without its digest).
 *
 * @since 0.1.0
 * @category constructors
 */
export const listed = (key: StoredKey): ApiKey => ({
  id: key.id,
  tenant: key.tenant,
  role: key.role,
  partner: key.partner,
  prefix: key.prefix,
  createdAt: key.createdAt,
  expiresAt: key.expiresAt,
  revokedAt: key.revokedAt,
  lastUsedAt: key.lastUsedAt
})

/** Lists are ordered by creation time, then by id (as the SQL store orders them). */
const byCreation =
  <A extends { readonly createdAt: number }>(id: (a: A) => string) =>
  (a: A, b: A): number =>
    a.createdAt - b.createdAt || (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0)

/**
 * A store in memory, with the semantics every store has (tests, and a server without a database).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): TenancyStoreShape => {
  const tenants = new Map<string, Tenant>()
  const sites = new Map<string, Site>()
  const keys = new Map<string, StoredKey>()
  let revision = 0
  const bump = () => {
    revision += 1
  }
  const tenantOf = (id: string): Effect.Effect<Tenant, TenancyError> => {
    const tenant = tenants.get(id)
    return tenant === undefined ? Effect.fail(notFound(`no tenant ${id}`)) : Effect.succeed(tenant)
  }
  const siteOf = (tenant: string, siteKey: string): Effect.Effect<Site, TenancyError> => {
    const site = sites.get(siteKey)
    return site === undefined || site.tenant !== tenant
      ? Effect.fail(notFound(`no site ${siteKey} in tenant ${tenant}`))
      : Effect.succeed(site)
  }

  return {
    createTenant: (input) =>
      Effect.gen(function* () {
        const valid = yield* validateTenant(input)
        const now = yield* Clock.currentTimeMillis
        if (tenants.has(valid.id)) return yield* conflict(`tenant id ${valid.id} is taken`)
        const tenant: Tenant = { id: valid.id, name: valid.name, createdAt: now }
        tenants.set(tenant.id, tenant)
        bump()
        return tenant
      }),
    listTenants: () => Effect.sync(() => [...tenants.values()].sort(byCreation((tenant) => tenant.id))),
    getTenant: tenantOf,
    deleteTenant: (id) =>
      Effect.map(tenantOf(id), () => {
        tenants.delete(id)
        for (const [siteKey, site] of sites) if (site.tenant === id) sites.delete(siteKey)
        for (const [keyId, key] of keys) if (key.tenant === id) keys.delete(keyId)
        bump()
      }),

    addSite: (tenant, input) =>
      Effect.gen(function* () {
        yield* tenantOf(tenant)
        const valid = yield* validateSite(input)
        const now = yield* Clock.currentTimeMillis
        if (sites.has(valid.siteKey)) return yield* conflict(`site key ${valid.siteKey} is taken`)
        const site: Site = { tenant, ...valid, createdAt: now, updatedAt: now }
        sites.set(site.siteKey, site)
        bump()
        return site
      }),
    listSites: (tenant) =>
      Effect.map(tenantOf(tenant), () =>
        [...sites.values()].filter((site) => site.tenant === tenant).sort(byCreation((site) => site.siteKey))
      ),
    getSite: siteOf,
    updateSite: (tenant, siteKey, patch) =>
      Effect.gen(function* () {
        const site = yield* siteOf(tenant, siteKey)
        const fields = yield* validateSitePatch(site, patch)
        const now = yield* Clock.currentTimeMillis
        const updated: Site = { ...site, ...fields, updatedAt: now }
        sites.set(siteKey, updated)
        bump()
        return updated
      }),
    removeSite: (tenant, siteKey) =>
      Effect.map(siteOf(tenant, siteKey), () => {
        sites.delete(siteKey)
        bump()
      }),

    createKey: (tenant, input) =>
      Effect.gen(function* () {
        yield* tenantOf(tenant)
        const now = yield* Clock.currentTimeMillis
        const valid = yield* validateKey(input, now)
        for (const key of keys.values()) {
          if (key.digest === valid.generated.digest) return yield* conflict("this key is already stored")
        }
        const stored = storedKey(tenant, valid, now)
        keys.set(stored.id, stored)
        bump()
        return { record: listed(stored), key: valid.generated.key }
      }),
    listKeys: (tenant) =>
      Effect.map(tenantOf(tenant), () =>
        [...keys.values()]
          .filter((key) => key.tenant === tenant)
          .sort(byCreation((key) => key.id))
          .map(listed)
      ),
    revokeKey: (tenant, id, at) =>
      Effect.suspend(() => {
        const key = keys.get(id)
        if (key === undefined || key.tenant !== tenant) {
          return Effect.fail(notFound(`no key ${id} in tenant ${tenant}`))
        }
        if (key.revokedAt !== null) return Effect.succeed(listed(key))
        const revoked: StoredKey = { ...key, revokedAt: at }
        keys.set(id, revoked)
        bump()
        return Effect.succeed(listed(revoked))
      }),
    touchKeys: (used) =>
      Effect.sync(() => {
        for (const { at, id } of used) {
          const key = keys.get(id)
          if (key !== undefined && (key.lastUsedAt === null || key.lastUsedAt < at)) {
            keys.set(id, { ...key, lastUsedAt: at })
          }
        }
      }),

    revision: () => Effect.sync(() => revision),
    snapshot: () =>
      Effect.sync(() => ({
        revision,
        tenants: [...tenants.values()],
        sites: [...sites.values()],
        keys: [...keys.values()]
      }))
  }
}

/**
 * A store in memory (see `makeMemory`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<TenancyStore> = Layer.sync(TenancyStore, makeMemory)
