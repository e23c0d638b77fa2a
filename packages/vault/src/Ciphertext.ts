/**
 * The stored form of an encrypted field. Bytes: a format byte (`1`), the 12-byte AES-GCM nonce, the ciphertext
 * (as long as the UTF-8 plaintext) and the 16-byte tag, so an empty value takes 29 bytes. Text: `v1.` and the
 * same bytes after the format byte in unpadded base64url, for TEXT columns and JSON. The format version is part
 * of the associated data, so a ciphertext cannot be re-labelled as another format.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { ivLength, type Sealed, tagLength } from "./internal/crypto.js"

/**
 * The format this version of the vault writes.
 *
 * @since 0.1.0
 * @category models
 */
export const formatVersion = 1

/**
 * The prefix of the text form.
 *
 * @since 0.1.0
 * @category models
 */
export const textPrefix = `v${formatVersion}.`

/**
 * The bytes of the smallest ciphertext (an empty plaintext).
 *
 * @since 0.1.0
 * @category models
 */
export const minBytes = 1 + ivLength + tagLength

/**
 * The bytes form of a sealed field.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toBytes = (sealed: Sealed): Uint8Array => {
  const out = new Uint8Array(minBytes + sealed.ciphertext.length)
  out[0] = formatVersion
  out.set(sealed.iv, 1)
  out.set(sealed.ciphertext, 1 + ivLength)
  out.set(sealed.tag, 1 + ivLength + sealed.ciphertext.length)
  return out
}

/**
 * Reads the bytes form; a message saying what is wrong when it is not a ciphertext of a known format.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromBytes = (bytes: Uint8Array): Either.Either<Sealed, string> => {
  if (bytes.length === 0) return Either.left("the ciphertext is empty")
  if (bytes[0] !== formatVersion) return Either.left(`unknown ciphertext format ${bytes[0]}`)
  if (bytes.length < minBytes) return Either.left(`the ciphertext is shorter than ${minBytes} bytes`)
  const end = bytes.length - tagLength
  return Either.right({
    iv: bytes.slice(1, 1 + ivLength),
    ciphertext: bytes.slice(1 + ivLength, end),
    tag: bytes.slice(end)
  })
}

/**
 * The text form of a sealed field: `v1.` and base64url.
 *
 * @since 0.1.0
 * @category encoding
 */
export const toText = (sealed: Sealed): string =>
  textPrefix + Buffer.from(toBytes(sealed).subarray(1)).toString("base64url")

const base64url = /^[A-Za-z0-9_-]*$/

/**
 * Reads the text form; a message saying what is wrong when it is not one.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromText = (text: string): Either.Either<Sealed, string> => {
  if (!text.startsWith(textPrefix)) return Either.left(`the ciphertext does not start with "${textPrefix}"`)
  const body = text.slice(textPrefix.length)
  if (!base64url.test(body) || body.length % 4 === 1) return Either.left("the ciphertext is not base64url")
  const decoded = Buffer.from(body, "base64url")
  const bytes = new Uint8Array(decoded.length + 1)
  bytes[0] = formatVersion
  bytes.set(decoded, 1)
  return fromBytes(bytes)
}
