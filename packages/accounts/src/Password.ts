/**
 * Password hashing with scrypt (node:crypto). Each hash has its own 16-byte random salt and carries its cost, so
 * the cost can be raised later: `verify` reads the parameters from the hash, `needsRehash` tells when a stored
 * hash is cheaper than the current parameters (re-hash it at the next successful login).
 *
 * Default cost: N = 2^15, r = 8, p = 1 (32 MiB of memory and roughly 50–100 ms of one core per hash on a current
 * server), a 32-byte derived key. Encoded form: `scrypt$N=32768,r=8,p=1$<salt base64url>$<key base64url>`.
 * Comparison is constant-time. Policy: 12 to 256 characters (counted in code points), not the account's email.
 *
 * @since 0.1.0
 */
import { scrypt, timingSafeEqual } from "node:crypto"
import { SecureRandom } from "@openaudience/anonymizer"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { type AccountsError, invalid } from "./AccountsError.js"

/**
 * scrypt's cost parameters.
 *
 * @since 0.1.0
 * @category models
 */
export interface Params {
  readonly N: number
  readonly r: number
  readonly p: number
}

/**
 * The cost new hashes get: N = 2^15, r = 8, p = 1.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultParams: Params = { N: 2 ** 15, r: 8, p: 1 }

/**
 * The least and most characters a password may have.
 *
 * @since 0.1.0
 * @category models
 */
export const minLength = 12

/**
 * @since 0.1.0
 * @category models
 */
export const maxLength = 256

const saltBytes = 16
const keyBytes = 32
// Bounds on parameters read from a stored hash, so a tampered row cannot make one login eat the machine.
const maxN = 2 ** 20
const maxR = 32
const maxP = 16

const derive = (password: string, salt: Uint8Array, params: Params): Effect.Effect<Buffer> =>
  Effect.async<Buffer>((resume) => {
    scrypt(
      password.normalize("NFC"),
      salt,
      keyBytes,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => resume(error === null ? Effect.succeed(key) : Effect.die(error))
    )
  })

const encode = (params: Params, salt: Uint8Array, key: Uint8Array): string =>
  `scrypt$N=${params.N},r=${params.r},p=${params.p}$${Buffer.from(salt).toString("base64url")}$${Buffer.from(key).toString("base64url")}`

const pattern = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/

/**
 * A stored hash read back: its parameters, salt and key; `undefined` when it is not one this module wrote or its
 * parameters are out of bounds.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (
  hash: string
): { readonly params: Params; readonly salt: Buffer; readonly key: Buffer } | undefined => {
  const match = pattern.exec(hash)
  if (match === null) return undefined
  const params = { N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) }
  const powerOfTwo = params.N >= 2 && (params.N & (params.N - 1)) === 0
  if (!powerOfTwo || params.N > maxN || params.r < 1 || params.r > maxR || params.p < 1 || params.p > maxP) {
    return undefined
  }
  return { params, salt: Buffer.from(match[4]!, "base64url"), key: Buffer.from(match[5]!, "base64url") }
}

/**
 * Hashes a password with a fresh salt (from `SecureRandom`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const hash = (password: Redacted.Redacted<string>, params: Params = defaultParams): Effect.Effect<string> =>
  Effect.gen(function* () {
    const random = yield* SecureRandom.SecureRandom
    const salt = random.bytes(saltBytes)
    const key = yield* derive(Redacted.value(password), salt, params)
    return encode(params, salt, key)
  })

/**
 * Whether `password` matches `stored`, compared in constant time. A malformed stored hash never matches (it
 * still costs one default-cost derivation, so it answers no faster).
 *
 * @since 0.1.0
 * @category combinators
 */
export const verify = (password: Redacted.Redacted<string>, stored: string): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const decoded = decode(stored)
    const params = decoded?.params ?? defaultParams
    const salt = decoded?.salt ?? Buffer.alloc(saltBytes)
    const key = yield* derive(Redacted.value(password), salt, params)
    const expected = decoded?.key ?? Buffer.alloc(keyBytes)
    return decoded !== undefined && expected.length === key.length && timingSafeEqual(expected, key)
  })

/**
 * Whether a stored hash is cheaper than `params` (or unreadable) and should be replaced at the next login.
 *
 * @since 0.1.0
 * @category combinators
 */
export const needsRehash = (stored: string, params: Params = defaultParams): boolean => {
  const decoded = decode(stored)
  return (
    decoded === undefined || decoded.params.N < params.N || decoded.params.r < params.r || decoded.params.p < params.p
  )
}

/**
 * The password policy: 12 to 256 characters and not the account's email address (compared normalized). The
 * error names the field `password` and never repeats the value.
 *
 * @since 0.1.0
 * @category validation
 */
export const check = (
  password: Redacted.Redacted<string>,
  normalizedEmail: string
): Either.Either<Redacted.Redacted<string>, AccountsError> => {
  const value = Redacted.value(password)
  const length = [...value].length
  if (length < minLength) {
    return Either.left(invalid("password", `The password must have at least ${minLength} characters`))
  }
  if (length > maxLength) {
    return Either.left(invalid("password", `The password must have at most ${maxLength} characters`))
  }
  if (value.trim().normalize("NFC").toLowerCase() === normalizedEmail) {
    return Either.left(invalid("password", "The password must not be the email address"))
  }
  return Either.right(password)
}
