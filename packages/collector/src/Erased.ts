/**
 * Visitors who erased their data get a pseudonym that cannot be linked to the old one. The tag's first-party
 * cookie lives on the shop's site, which the collector cannot clear, so the browser keeps sending the same visitor
 * id after an erasure; without this, its next event would be stored under the erased pseudonym again.
 *
 * An erasure records the erased pseudonym's tombstone (`tombstone`: SHA-256, so the store of tombstones cannot be
 * turned back into pseudonyms, while a pseudonym in hand can be checked against it). The collector then rotates
 * (`pseudonymOf`): the visitor id's pseudonym `p0 = tenant.pseudonym(vid)`; when its tombstone is in the set,
 * `tenant.pseudonym(vid + "#1")`, then `"#2"`, … up to `"#8"` (`generations`), the first whose tombstone is not in
 * the set. The new pseudonym is a keyed HMAC like any other: nobody without the tenant's key can link it to the old
 * one, and it is stable for that browser until it is erased in turn. Past the last generation the visitor is
 * stored without an identifier. The check costs nothing for a tenant without erased visitors (`ErasedSet.any`):
 * no hash is computed on the hot path.
 *
 * @since 0.5.0
 */
import { createHash } from "node:crypto"
import type { Tenant } from "./Tenant.js"

/**
 * The prefix hashed with a pseudonym (`tombstone`), so a tombstone is never the hash of anything else we store.
 *
 * @since 0.5.0
 * @category models
 */
export const tombstonePrefix = "openaudience/erased:"

/**
 * How many times one visitor id can be given a new pseudonym (`"#1"` to `"#8"`) before its events are stored
 * without a visitor.
 *
 * @since 0.5.0
 * @category models
 */
export const generations = 8

/**
 * The tombstone of an erased pseudonym: base64url of SHA-256 of `"openaudience/erased:" + pseudonym` (43
 * characters). It cannot be turned back into the pseudonym; given a pseudonym, anyone can check it.
 *
 * @since 0.5.0
 * @category constructors
 */
export const tombstone = (pseudonym: string): string =>
  createHash("sha256").update(tombstonePrefix).update(pseudonym).digest("base64url")

/**
 * The tombstones of erased pseudonyms, by tenant, as the collector reads them on its hot path (synchronously).
 *
 * @since 0.5.0
 * @category models
 */
export interface ErasedSet {
  /** Whether `tombstone` (of a pseudonym of `tenant`) was erased. */
  readonly has: (tenant: string, tombstone: string) => boolean
  /**
   * Whether `tenant` has any erased visitor; when it answers `false` no pseudonym of that tenant is hashed. Without
   * it, every identified event is checked.
   */
  readonly any?: ((tenant: string) => boolean) | undefined
}

/**
 * An in-memory `ErasedSet` that can grow (a server fills it from its store of erasures and refreshes it).
 *
 * @since 0.5.0
 * @category models
 */
export interface MutableErasedSet extends ErasedSet {
  readonly any: (tenant: string) => boolean
  /** Records an erased pseudonym's tombstone; recording one twice changes nothing. */
  readonly add: (tenant: string, tombstone: string) => void
  /** How many tombstones are recorded, all tenants together. */
  readonly size: number
}

/**
 * A new, empty in-memory `ErasedSet`.
 *
 * @since 0.5.0
 * @category constructors
 */
export const makeSet = (): MutableErasedSet => {
  const byTenant = new Map<string, Set<string>>()
  let size = 0
  return {
    has: (tenant, tombstone) => byTenant.get(tenant)?.has(tombstone) === true,
    any: (tenant) => byTenant.has(tenant),
    add: (tenant, tombstone) => {
      let tombstones = byTenant.get(tenant)
      if (tombstones === undefined) {
        tombstones = new Set()
        byTenant.set(tenant, tombstones)
      }
      if (!tombstones.has(tombstone)) {
        tombstones.add(tombstone)
        size++
      }
    },
    get size() {
      return size
    }
  }
}

/**
 * The pseudonym a visitor id of `tenant` is stored under: `tenant.pseudonym(visitorId)`, or, when that one was
 * erased, the first of `tenant.pseudonym(visitorId + "#1")` … `"#8"` that was not; `null` when all were (store the
 * event without a visitor). Without `erased`, or for a tenant without erased visitors, no hash is computed.
 *
 * Everything that turns a visitor id into a pseudonym to find or link that visitor (the collector, the privacy
 * center, cross-site links) must go through this, or it would reach the erased pseudonym.
 *
 * @since 0.5.0
 * @category combinators
 */
export const pseudonymOf = (
  tenant: Pick<Tenant, "id" | "pseudonym">,
  visitorId: string,
  erased: ErasedSet | undefined
): string | null => {
  const first = tenant.pseudonym(visitorId)
  if (erased === undefined || (erased.any !== undefined && !erased.any(tenant.id))) return first
  if (!erased.has(tenant.id, tombstone(first))) return first
  for (let generation = 1; generation <= generations; generation++) {
    const next = tenant.pseudonym(`${visitorId}#${generation}`)
    if (!erased.has(tenant.id, tombstone(next))) return next
  }
  return null
}
