/**
 * Tenants, sites, API keys, roles and permissions.
 *
 * @since 0.1.0
 */

/**
 * API keys: generation (256 random bits), digest and visible prefix.
 *
 * @since 0.1.0
 */
export * as ApiKey from "./ApiKey.js"

/**
 * Roles and the permission table.
 *
 * @since 0.1.0
 */
export * as Role from "./Role.js"

/**
 * The records and the store port.
 *
 * @since 0.1.0
 */
export * as TenancyStore from "./TenancyStore.js"

/**
 * The directory the hot paths read (sites to collector tenants, bearer keys to roles), kept up to date by polling.
 *
 * @since 0.1.0
 */
export * as Directory from "./Directory.js"

/**
 * The demo tenant, seeded through the store.
 *
 * @since 0.1.0
 */
export * as Seed from "./Seed.js"
