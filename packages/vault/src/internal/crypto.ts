/**
 * The vault's cryptography, all of it from `node:crypto`: HKDF-SHA256 for derived keys, AES-256-GCM for data keys
 * and fields, HMAC-SHA256 for fingerprints and blind indexes. Plain synchronous functions; failures to open a
 * sealed box are `undefined`, never exceptions, so callers turn them into typed errors.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from "node:crypto"

/** Bytes of an AES-256 key, of a GCM nonce and of a GCM tag. */
export const keyLength = 32
export const ivLength = 12
export const tagLength = 16

/** The HKDF salt of every key the vault derives: a fixed, public domain separator. */
const salt = Buffer.from("openaudience/vault/v1", "utf8")

/**
 * Context strings are JSON arrays (`["vault/kek","tenant-a",2]`): unambiguous whatever the tenant or subject
 * holds (no separator can be forged by a crafted id).
 */
export const context = (...parts: ReadonlyArray<string | number>): Buffer => Buffer.from(JSON.stringify(parts), "utf8")

/** HKDF's `info` is limited to 1024 bytes by node:crypto. */
export const maxInfoBytes = 1024

/** A 256-bit key derived from `ikm` for the context `info` (callers keep `info` under `maxInfoBytes`). */
export const derive = (ikm: Uint8Array, info: Uint8Array): Buffer =>
  Buffer.from(hkdfSync("sha256", ikm, salt, info, keyLength))

/** A sealed box: `iv`, `ciphertext` and `tag` of AES-256-GCM. */
export interface Sealed {
  readonly iv: Uint8Array
  readonly ciphertext: Uint8Array
  readonly tag: Uint8Array
}

/** AES-256-GCM of `plaintext` under `key` with a fresh `iv` (the caller's 12 random bytes) and associated data. */
export const seal = (key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Sealed => {
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: tagLength })
  cipher.setAAD(aad)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { iv, ciphertext, tag: cipher.getAuthTag() }
}

/** The plaintext of a sealed box, or `undefined` when the key, the associated data or a byte is wrong. */
export const open = (key: Uint8Array, sealed: Sealed, aad: Uint8Array): Buffer | undefined => {
  if (sealed.iv.length !== ivLength || sealed.tag.length !== tagLength) return undefined
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.iv, { authTagLength: tagLength })
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.tag)
  try {
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()])
  } catch {
    return undefined
  }
}

/** HMAC-SHA256 of `message` under `key`. */
export const hmac = (key: Uint8Array, message: Uint8Array | string): Buffer =>
  createHmac("sha256", key).update(message).digest()

/** Whether two hex digests are equal, in time independent of where they differ. */
export const sameDigest = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

/** Overwrites key bytes once they are no longer needed, so they do not linger in the heap. */
export const wipe = (bytes: Uint8Array): void => {
  bytes.fill(0)
}
