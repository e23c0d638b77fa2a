/**
 * Pseudonymous visitor keys. With a first-party id (the tag's cookie), the key is a keyed HMAC of that id under a
 * tenant key derived from the master secret, so the raw id is never stored and one tenant's keys say nothing
 * about another's. Without cookies, a visitor is keyed by HMAC(daily random salt, truncated IP, generalized user
 * agent, site): such keys link a visitor's events within a day, and once the salt is destroyed (48 hours after
 * its day began) nobody can recompute them.
 *
 * The key formats match what the reference server computed before this package existed, so stored keys stay
 * valid: 22 characters of base64url (the first 128 bits of HMAC-SHA256), tenant keys by HKDF-SHA256.
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createHmac, hkdfSync } from "node:crypto"
import type * as Ip from "./Ip.js"
import type { Salt } from "./SaltStore.js"
import * as UserAgent from "./UserAgent.js"

/**
 * A pseudonymous visitor key: 22 base64url characters.
 *
 * @since 0.1.0
 * @category models
 */
export const VisitorKey = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{22}$/))

/**
 * HKDF salt of tenant keys; part of the key format, never change it.
 *
 * @since 0.1.0
 * @category constants
 */
export const KeyDerivationSalt = "openaudience/v1"

/**
 * Derives a tenant's 32-byte key for a purpose (`"visitor"` for visitor keys) from the master secret:
 * HKDF-SHA256 with salt `openaudience/v1` and info `<purpose>:<tenantId>`.
 *
 * @since 0.1.0
 * @category keys
 */
export const deriveTenantKey = (
  secret: Uint8Array | Redacted.Redacted<Uint8Array>,
  tenantId: string,
  purpose: string
): Uint8Array =>
  new Uint8Array(
    hkdfSync(
      "sha256",
      Redacted.isRedacted(secret) ? Redacted.value(secret) : secret,
      KeyDerivationSalt,
      `${purpose}:${tenantId}`,
      32
    )
  )

/**
 * The visitor key of a first-party id under a tenant key: HMAC-SHA256, first 128 bits, base64url.
 *
 * @since 0.1.0
 * @category keys
 */
export const visitorKey = (tenantKey: Uint8Array, firstPartyId: string): string =>
  createHmac("sha256", tenantKey).update(firstPartyId).digest("base64url").slice(0, 22)

/** Length-prefixed fields: no two different field lists give the same message. */
const field = (value: string): string => `${value.length}:${value}|`

/**
 * The cookieless key of a visitor for the salt's day: HMAC-SHA256 under the salt of the truncated IP, the
 * generalized user agent and the site, first 128 bits in base64url. The types admit only truncated and
 * generalized inputs. `undefined` once the salt is destroyed: the key cannot be computed any more.
 *
 * @since 0.1.0
 * @category keys
 */
export const cookielessKey = (
  salt: Salt,
  truncatedIp: Ip.Truncated,
  userAgent: UserAgent.Generalized,
  site: string
): string | undefined =>
  salt
    .mac(`cookieless/v1|${field(truncatedIp)}${field(UserAgent.toKey(userAgent))}${field(site)}`)
    ?.toString("base64url")
    .slice(0, 22)
