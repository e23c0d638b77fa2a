/**
 * Time-based one-time passwords (RFC 6238) as the optional second factor, with the `otpauth` library (MIT):
 * HMAC-SHA-1, 6 digits, 30-second steps, a code accepted one step early or late. `check` returns the time step a
 * code belongs to, so the caller can refuse a step already used (replay). Secrets are 160 random bits, kept in
 * base32 and stored encrypted by the vault.
 *
 * @since 0.1.0
 */
import * as OTPAuth from "otpauth"

/**
 * The TOTP parameters (the ones every authenticator app understands).
 *
 * @since 0.1.0
 * @category models
 */
export const params = { algorithm: "SHA1", digits: 6, period: 30, window: 1 } as const

const totp = (secret: string, label = "user", issuer = "OpenAudience") =>
  new OTPAuth.TOTP({
    issuer,
    label,
    algorithm: params.algorithm,
    digits: params.digits,
    period: params.period,
    secret: OTPAuth.Secret.fromBase32(secret)
  })

/**
 * A new random secret (160 bits), in base32.
 *
 * @since 0.1.0
 * @category constructors
 */
export const newSecret = (): string => new OTPAuth.Secret({ size: 20 }).base32

/**
 * The `otpauth://totp/…` URI an authenticator app scans (as a QR code) or imports.
 *
 * @since 0.1.0
 * @category combinators
 */
export const uri = (secret: string, label: string, issuer = "OpenAudience"): string =>
  totp(secret, label, issuer).toString()

/**
 * The time step of `at` (milliseconds).
 *
 * @since 0.1.0
 * @category combinators
 */
export const step = (at: number): number => Math.floor(at / 1000 / params.period)

/**
 * The code of a secret at a time (tests, and the confirmation screen of a console).
 *
 * @since 0.1.0
 * @category combinators
 */
export const generate = (secret: string, at: number): string => totp(secret).generate({ timestamp: at })

/**
 * The time step a code belongs to when it is valid at `at` (within one step either way), else `undefined`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const check = (secret: string, code: string, at: number): number | undefined => {
  if (!/^\d{6}$/.test(code)) return undefined
  const delta = totp(secret).validate({ token: code, timestamp: at, window: params.window })
  return delta === null ? undefined : step(at) + delta
}
