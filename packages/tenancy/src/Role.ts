/**
 * Roles of API keys (and, later, of application users) and what each may do. A route declares one `Permission`;
 * `can(role, permission)` decides. The table below is the single source of truth: the server's README renders it
 * against every route, and a test fails when a route declares no permission.
 *
 * - `owner`: everything of its tenant (sites, keys, users, audiences, reports, raw events, privacy).
 * - `admin`: like `owner` except that it cannot manage users (sites, keys, audiences, reports, raw events).
 * - `analyst`: reports, statistics and audiences; no raw events, no personal data.
 * - `privacy`: data-subject requests, legal holds and the audit log; raw events of a subject.
 * - `ingest`: server-to-server events only.
 * - `partner`: partner reports only (noised, charged to the ε budget of the one partner the key is bound to).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A role.
 *
 * @since 0.1.0
 * @category models
 */
export const Role = Schema.Literal("owner", "admin", "analyst", "privacy", "ingest", "partner")

/**
 * A role.
 *
 * @since 0.1.0
 * @category models
 */
export type Role = typeof Role.Type

/**
 * Every role, in the order of the permission table.
 *
 * @since 0.1.0
 * @category models
 */
export const all: ReadonlyArray<Role> = Role.literals

/**
 * What a route needs.
 *
 * - `events:ingest`: send server-to-server events.
 * - `events:read`: read raw stored events (the inspector).
 * - `stats:read`: daily statistics.
 * - `reports:read`: k-anonymous and noised reports for any partner name.
 * - `reports:partner`: noised partner reports, for the key's own partner only.
 * - `audiences:read`, `audiences:write`: read, or create, edit and delete audiences.
 * - `sites:manage`, `keys:manage`, `users:manage`: the tenant's sites, API keys, application users.
 * - `privacy:manage`: data-subject requests and legal holds.
 * - `audit:read`: the audit log.
 *
 * @since 0.1.0
 * @category models
 */
export const Permission = Schema.Literal(
  "events:ingest",
  "events:read",
  "stats:read",
  "reports:read",
  "reports:partner",
  "audiences:read",
  "audiences:write",
  "campaigns:read",
  "campaigns:write",
  "catalog:write",
  "sites:manage",
  "keys:manage",
  "users:manage",
  "privacy:manage",
  "audit:read"
)

/**
 * What a route needs.
 *
 * @since 0.1.0
 * @category models
 */
export type Permission = typeof Permission.Type

/**
 * The roles holding each permission.
 *
 * @since 0.1.0
 * @category models
 */
export const table: { readonly [P in Permission]: ReadonlyArray<Role> } = {
  "events:ingest": ["owner", "admin", "ingest"],
  "events:read": ["owner", "admin", "privacy"],
  "stats:read": ["owner", "admin", "analyst"],
  "reports:read": ["owner", "admin", "analyst"],
  "reports:partner": ["owner", "admin", "analyst", "partner"],
  "audiences:read": ["owner", "admin", "analyst"],
  "audiences:write": ["owner", "admin", "analyst"],
  "campaigns:read": ["owner", "admin", "analyst"],
  "campaigns:write": ["owner", "admin"],
  "catalog:write": ["owner", "admin"],
  "sites:manage": ["owner", "admin"],
  "keys:manage": ["owner", "admin"],
  "users:manage": ["owner"],
  "privacy:manage": ["owner", "privacy"],
  "audit:read": ["owner", "privacy"]
}

/**
 * Whether `role` holds `permission`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const can = (role: Role, permission: Permission): boolean => table[permission].includes(role)
