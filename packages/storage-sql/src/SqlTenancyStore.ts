/**
 * @openaudience/tenancy's `TenancyStore` over SQL (SQLite and PostgreSQL through `SqlClient`): tenants, their sites
 * and their API keys, so that every process on one database sees the same advertisers, sites and keys.
 *
 * Four tables: `tenants`; `sites` keyed by the site key (unique across tenants), with the origins, URL parameter
 * allowlist and consent policy as JSON text; `api_keys`, which keep a key's SHA-256 digest (unique) and visible
 * prefix, never the key itself; and `tenancy_revision`, one row whose number every change bumps in the change's own
 * transaction, so a process notices any change with one cheap read. A multi-step change (deleting a tenant with its
 * sites and keys) is one transaction; `snapshot` reads everything in one transaction (repeatable read on
 * PostgreSQL), so it never mixes two revisions.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Policy } from "@openaudience/consent"
import { TenancyStore } from "@openaudience/tenancy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which tenancy migrations were applied.
 *
 * @since 0.2.0
 * @category models
 */
export const table = "tenancy_migrations"

/**
 * The tenancy migrations, in order.
 *
 * @since 0.2.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "tenants_sites_api_keys",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at ${int64} NOT NULL
      )`
      yield* sql`CREATE TABLE sites (
        site_key TEXT PRIMARY KEY,
        tenant TEXT NOT NULL REFERENCES tenants (id),
        origins TEXT NOT NULL,
        url_params TEXT,
        policy TEXT,
        cookieless INTEGER NOT NULL,
        child_directed INTEGER NOT NULL,
        created_at ${int64} NOT NULL,
        updated_at ${int64} NOT NULL
      )`
      yield* sql`CREATE INDEX sites_tenant ON sites (tenant)`
      yield* sql`CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL REFERENCES tenants (id),
        role TEXT NOT NULL,
        partner TEXT,
        prefix TEXT NOT NULL,
        digest TEXT NOT NULL UNIQUE,
        created_at ${int64} NOT NULL,
        expires_at ${int64},
        revoked_at ${int64},
        last_used_at ${int64}
      )`
      yield* sql`CREATE INDEX api_keys_tenant ON api_keys (tenant)`
      yield* sql`CREATE TABLE tenancy_revision (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        revision ${int64} NOT NULL
      )`
      yield* sql`INSERT INTO tenancy_revision ${sql.insert({ id: 1, revision: 0 })}`
    })
  }
]

/**
 * Brings the tenancy tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.2.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

type Int = number | string

interface TenantRow {
  readonly id: string
  readonly name: string
  readonly created_at: Int
}

interface SiteRow {
  readonly site_key: string
  readonly tenant: string
  readonly origins: string
  readonly url_params: string | null
  readonly policy: string | null
  readonly cookieless: Int | boolean
  readonly child_directed: Int | boolean
  readonly created_at: Int
  readonly updated_at: Int
}

interface KeyRow {
  readonly id: string
  readonly tenant: string
  readonly role: string
  readonly partner: string | null
  readonly prefix: string
  readonly digest: string
  readonly created_at: Int
  readonly expires_at: Int | null
  readonly revoked_at: Int | null
  readonly last_used_at: Int | null
}

const nullableInt = (value: Int | null): number | null => (value === null ? null : Number(value))

const StringList = Schema.parseJson(Schema.Array(Schema.String))
const PolicyJson = Schema.parseJson(Policy.Policy)
const decodeList = Schema.decodeSync(StringList)
const encodeList = Schema.encodeSync(StringList)
const decodePolicy = Schema.decodeSync(PolicyJson)
const encodePolicy = Schema.encodeSync(PolicyJson)
const decodeRole = Schema.decodeUnknownSync(TenancyStore.ApiKey.fields.role)

// A row that cannot be read back was not written by this store: a defect, not an answer.
const tenantOf = (row: TenantRow): TenancyStore.Tenant => ({
  id: row.id,
  name: row.name,
  createdAt: Number(row.created_at)
})

const siteOf = (row: SiteRow): TenancyStore.Site => ({
  tenant: row.tenant,
  siteKey: row.site_key,
  origins: decodeList(row.origins),
  urlParams: row.url_params === null ? null : decodeList(row.url_params),
  policy: row.policy === null ? null : decodePolicy(row.policy),
  cookieless: Number(row.cookieless) === 1,
  childDirected: Number(row.child_directed) === 1,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at)
})

const keyOf = (row: KeyRow): TenancyStore.StoredKey => ({
  id: row.id,
  tenant: row.tenant,
  role: decodeRole(row.role),
  partner: row.partner,
  prefix: row.prefix,
  digest: row.digest,
  createdAt: Number(row.created_at),
  expiresAt: nullableInt(row.expires_at),
  revokedAt: nullableInt(row.revoked_at),
  lastUsedAt: nullableInt(row.last_used_at)
})

const siteColumns = (fields: TenancyStore.SiteFields) => ({
  origins: encodeList(fields.origins),
  url_params: fields.urlParams === null ? null : encodeList(fields.urlParams),
  policy: fields.policy === null ? null : encodePolicy(fields.policy),
  cookieless: fields.cookieless ? 1 : 0,
  child_directed: fields.childDirected ? 1 : 0
})

/** SQLite's and PostgreSQL's codes for a unique or primary key violation. */
const uniqueViolations = new Set(["23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"])

/** Their codes for a foreign key violation. */
const foreignKeyViolations = new Set(["23503", "SQLITE_CONSTRAINT_FOREIGNKEY"])

const codeOf = (error: SqlError): string | undefined => {
  const cause = error.cause
  if (typeof cause === "object" && cause !== null && "code" in cause) {
    const code = (cause as { readonly code: unknown }).code
    return typeof code === "string" ? code : undefined
  }
  return undefined
}

/**
 * The `TenancyError` of a failed statement: `Unavailable` when the database cannot be reached or is busy,
 * `Conflict` on a unique violation (a site key or key taken by a concurrent change), `NotFound` on a foreign key
 * violation (the tenant deleted by a concurrent change), `InvalidInput` when a value
 * cannot be a parameter (PostgreSQL refuses a NUL); anything else is a defect.
 */
const failed =
  (operation: string, conflict: string) =>
  (error: SqlError): Effect.Effect<never, TenancyStore.TenancyError> => {
    const code = codeOf(error) ?? ""
    if (uniqueViolations.has(code)) return Effect.fail(TenancyStore.conflict(conflict))
    // The tenant was deleted by a concurrent change after this one looked it up.
    if (foreignKeyViolations.has(code)) return Effect.fail(TenancyStore.notFound(`${operation}: no such tenant`))
    const storage = fromSqlError(operation)(error)
    if (storage.reason === "Unavailable" || storage.reason === "InvalidInput") {
      return Effect.fail(
        new TenancyStore.TenancyError({ reason: storage.reason, message: storage.message, cause: storage })
      )
    }
    return Effect.die(storage)
  }

/**
 * Builds the SQL tenancy store over the `SqlClient` in context (the tables must exist: see `migrate` and `layer`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: Effect.Effect<TenancyStore.TenancyStoreShape, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const bump = sql`UPDATE tenancy_revision SET revision = revision + 1 WHERE id = 1`

  /** Runs `effect` in one transaction, with the store's error mapping. */
  const transaction = <A>(
    operation: string,
    effect: Effect.Effect<A, TenancyStore.TenancyError | SqlError>,
    conflict = `${operation} conflicts with a concurrent change`
  ): Effect.Effect<A, TenancyStore.TenancyError> =>
    sql.withTransaction(effect).pipe(Effect.catchTag("SqlError", failed(operation, conflict)))

  const selectTenant = (id: string) =>
    Effect.flatMap(
      sql<TenantRow>`SELECT id, name, created_at FROM tenants WHERE id = ${id}`,
      (rows): Effect.Effect<TenancyStore.Tenant, TenancyStore.TenancyError> =>
        rows[0] === undefined
          ? Effect.fail(TenancyStore.notFound(`no tenant ${id}`))
          : Effect.succeed(tenantOf(rows[0]))
    )

  const selectSite = (tenant: string, siteKey: string) =>
    Effect.flatMap(
      sql<SiteRow>`SELECT * FROM sites WHERE site_key = ${siteKey} AND tenant = ${tenant}`,
      (rows): Effect.Effect<TenancyStore.Site, TenancyStore.TenancyError> =>
        rows[0] === undefined
          ? Effect.fail(TenancyStore.notFound(`no site ${siteKey} in tenant ${tenant}`))
          : Effect.succeed(siteOf(rows[0]))
    )

  const selectKey = (tenant: string, id: string) =>
    Effect.flatMap(
      sql<KeyRow>`SELECT * FROM api_keys WHERE id = ${id} AND tenant = ${tenant}`,
      (rows): Effect.Effect<TenancyStore.StoredKey, TenancyStore.TenancyError> =>
        rows[0] === undefined
          ? Effect.fail(TenancyStore.notFound(`no key ${id} in tenant ${tenant}`))
          : Effect.succeed(keyOf(rows[0]))
    )

  const read = <A>(operation: string, effect: Effect.Effect<A, TenancyStore.TenancyError | SqlError>) =>
    effect.pipe(Effect.catchTag("SqlError", failed(operation, operation)))

  return TenancyStore.TenancyStore.of({
    createTenant: (input) =>
      Effect.gen(function* () {
        const valid = yield* TenancyStore.validateTenant(input)
        const now = yield* Clock.currentTimeMillis
        const tenant: TenancyStore.Tenant = { id: valid.id, name: valid.name, createdAt: now }
        return yield* transaction(
          "Creating a tenant",
          Effect.gen(function* () {
            yield* sql`INSERT INTO tenants ${sql.insert({ id: tenant.id, name: tenant.name, created_at: now })}`
            yield* bump
            return tenant
          }),
          `tenant id ${valid.id} is taken`
        )
      }),
    listTenants: () =>
      read(
        "Listing tenants",
        Effect.map(sql<TenantRow>`SELECT id, name, created_at FROM tenants ORDER BY created_at, id`, (rows) =>
          rows.map(tenantOf)
        )
      ),
    getTenant: (id) => read("Reading a tenant", selectTenant(id)),
    deleteTenant: (id) =>
      transaction(
        "Deleting a tenant",
        Effect.gen(function* () {
          yield* selectTenant(id)
          yield* sql`DELETE FROM api_keys WHERE tenant = ${id}`
          yield* sql`DELETE FROM sites WHERE tenant = ${id}`
          yield* sql`DELETE FROM tenants WHERE id = ${id}`
          yield* bump
        })
      ),

    addSite: (tenant, input) =>
      Effect.gen(function* () {
        const valid = yield* TenancyStore.validateSite(input)
        const now = yield* Clock.currentTimeMillis
        return yield* transaction(
          "Adding a site",
          Effect.gen(function* () {
            yield* selectTenant(tenant)
            yield* sql`INSERT INTO sites ${sql.insert({
              site_key: valid.siteKey,
              tenant,
              ...siteColumns(valid),
              created_at: now,
              updated_at: now
            })}`
            yield* bump
            const site: TenancyStore.Site = {
              tenant,
              siteKey: valid.siteKey,
              origins: valid.origins,
              urlParams: valid.urlParams,
              policy: valid.policy,
              cookieless: valid.cookieless,
              childDirected: valid.childDirected,
              createdAt: now,
              updatedAt: now
            }
            return site
          }),
          `site key ${valid.siteKey} is taken`
        )
      }),
    listSites: (tenant) =>
      read(
        "Listing sites",
        Effect.gen(function* () {
          yield* selectTenant(tenant)
          const rows = yield* sql<SiteRow>`SELECT * FROM sites WHERE tenant = ${tenant} ORDER BY created_at, site_key`
          return rows.map(siteOf)
        })
      ),
    getSite: (tenant, siteKey) => read("Reading a site", selectSite(tenant, siteKey)),
    updateSite: (tenant, siteKey, patch) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        return yield* transaction(
          "Updating a site",
          Effect.gen(function* () {
            const site = yield* selectSite(tenant, siteKey)
            const fields = yield* TenancyStore.validateSitePatch(site, patch)
            const columns = siteColumns(fields)
            yield* sql`UPDATE sites SET origins = ${columns.origins}, url_params = ${columns.url_params},
                policy = ${columns.policy}, cookieless = ${columns.cookieless},
                child_directed = ${columns.child_directed}, updated_at = ${now}
                WHERE site_key = ${siteKey} AND tenant = ${tenant}`
            yield* bump
            const updated: TenancyStore.Site = { ...site, ...fields, updatedAt: now }
            return updated
          })
        )
      }),
    removeSite: (tenant, siteKey) =>
      transaction(
        "Removing a site",
        Effect.gen(function* () {
          const rows = yield* sql`DELETE FROM sites WHERE site_key = ${siteKey} AND tenant = ${tenant}
              RETURNING site_key`
          if (rows.length === 0) return yield* TenancyStore.notFound(`no site ${siteKey} in tenant ${tenant}`)
          yield* bump
        })
      ),

    createKey: (tenant, input) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const valid = yield* TenancyStore.validateKey(input, now)
        const stored = TenancyStore.storedKey(tenant, valid, now)
        return yield* transaction(
          "Creating a key",
          Effect.gen(function* () {
            yield* selectTenant(tenant)
            yield* sql`INSERT INTO api_keys ${sql.insert({
              id: stored.id,
              tenant,
              role: stored.role,
              partner: stored.partner,
              prefix: stored.prefix,
              digest: stored.digest,
              created_at: now,
              expires_at: stored.expiresAt,
              revoked_at: null,
              last_used_at: null
            })}`
            yield* bump
            return { record: TenancyStore.listed(stored), key: valid.generated.key }
          }),
          "this key is already stored"
        )
      }),
    listKeys: (tenant) =>
      read(
        "Listing keys",
        Effect.gen(function* () {
          yield* selectTenant(tenant)
          const rows = yield* sql<KeyRow>`SELECT * FROM api_keys WHERE tenant = ${tenant} ORDER BY created_at, id`
          return rows.map((row) => TenancyStore.listed(keyOf(row)))
        })
      ),
    revokeKey: (tenant, id, at) =>
      transaction(
        "Revoking a key",
        Effect.gen(function* () {
          const rows = yield* sql<KeyRow>`UPDATE api_keys SET revoked_at = ${at}
              WHERE id = ${id} AND tenant = ${tenant} AND revoked_at IS NULL RETURNING *`
          // Revoking again changes nothing: the first time stays.
          if (rows[0] === undefined) return TenancyStore.listed(yield* selectKey(tenant, id))
          yield* bump
          return TenancyStore.listed(keyOf(rows[0]))
        })
      ),
    touchKeys: (used) =>
      used.length === 0
        ? Effect.void
        : transaction(
            "Recording key use",
            Effect.forEach(
              used,
              ({ at, id }) => sql`UPDATE api_keys SET last_used_at = ${at}
                  WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at < ${at})`,
              { discard: true }
            )
          ),

    revision: () =>
      read(
        "Reading the tenancy revision",
        Effect.map(sql<{ readonly revision: Int }>`SELECT revision FROM tenancy_revision WHERE id = 1`, (rows) =>
          Number(rows[0]?.revision ?? 0)
        )
      ),
    snapshot: () =>
      transaction(
        "Reading the tenancy snapshot",
        Effect.gen(function* () {
          // Every statement of the transaction sees the same committed state (SQLite's read transactions do).
          yield* sql.onDialectOrElse({
            pg: () => sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY`,
            orElse: () => Effect.void
          })
          const revision = yield* sql<{ readonly revision: Int }>`SELECT revision FROM tenancy_revision WHERE id = 1`
          const tenants = yield* sql<TenantRow>`SELECT id, name, created_at FROM tenants ORDER BY created_at, id`
          const sites = yield* sql<SiteRow>`SELECT * FROM sites ORDER BY created_at, site_key`
          const keys = yield* sql<KeyRow>`SELECT * FROM api_keys ORDER BY created_at, id`
          const snapshot: TenancyStore.Snapshot = {
            revision: Number(revision[0]?.revision ?? 0),
            tenants: tenants.map(tenantOf),
            sites: sites.map(siteOf),
            keys: keys.map(keyOf)
          }
          return snapshot
        })
      )
  })
})

/**
 * The SQL tenancy store: runs its migrations when built, then serves `TenancyStore` over the `SqlClient` in
 * context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<TenancyStore.TenancyStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  TenancyStore.TenancyStore,
  Effect.zipRight(migrate, make)
)
