/**
 * API keys: 256 random bits, shown once (`oa_` and 43 base64url characters), stored as a SHA-256 digest beside a
 * visible prefix (the first 10 characters, to recognize a key in a list) and an id (`key_` and 16 hex digits, to
 * revoke it). A fast digest is enough: the key is random, so there is nothing to guess from the digest; looking a
 * presented key up is one digest and one map read.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"

/**
 * A newly generated key: the `key` to show once, and what is stored.
 *
 * @since 0.1.0
 * @category models
 */
export interface Generated {
  readonly id: string
  readonly key: string
  readonly prefix: string
  readonly digest: string
}

/**
 * The SHA-256 digest of a presented key, in hex: what the store keeps and what a lookup compares.
 *
 * @since 0.1.0
 * @category digests
 */
export const digestOf = (key: string): string => createHash("sha256").update(key, "utf8").digest("hex")

/**
 * The visible prefix of a key (its first 10 characters).
 *
 * @since 0.1.0
 * @category digests
 */
export const prefixOf = (key: string): string => key.slice(0, 10)

/**
 * A new key id (`key_` and 16 hex digits).
 *
 * @since 0.1.0
 * @category constructors
 */
export const newId = (): string => `key_${randomBytes(8).toString("hex")}`

/**
 * Generates a key.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generate = (): Generated => {
  const key = `oa_${randomBytes(32).toString("base64url")}`
  return { id: newId(), key, prefix: prefixOf(key), digest: digestOf(key) }
}

/**
 * What an existing key (such as the demo's `demo-admin-key`, or a key an operator sets in the environment) is
 * stored as: its digest and prefix under a new id.
 *
 * @since 0.1.0
 * @category constructors
 */
export const imported = (key: string): Generated => ({ id: newId(), key, prefix: prefixOf(key), digest: digestOf(key) })
