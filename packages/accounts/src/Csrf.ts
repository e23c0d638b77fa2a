/**
 * CSRF tokens for the console's forms: a token is the HMAC-SHA256 of the session id under a key of the server, so
 * it needs no storage, changes with every session (a new one at each login) and cannot be made without the key.
 * `verify` compares in constant time. Put the token in a hidden field of every form and check it on every
 * state-changing request; a `SameSite=Lax` session cookie is the second line.
 *
 * @since 0.1.0
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import * as Redacted from "effect/Redacted"

const label = "openaudience/accounts/csrf/v1"

/**
 * The CSRF token of a session.
 *
 * @since 0.1.0
 * @category constructors
 */
export const issue = (key: Redacted.Redacted<Uint8Array>, sessionId: Redacted.Redacted<string>): string =>
  createHmac("sha256", Redacted.value(key))
    .update(label)
    .update("\u0000")
    .update(Redacted.value(sessionId))
    .digest("base64url")

/**
 * Whether `token` is the CSRF token of this session (constant-time).
 *
 * @since 0.1.0
 * @category combinators
 */
export const verify = (
  key: Redacted.Redacted<Uint8Array>,
  sessionId: Redacted.Redacted<string>,
  token: string
): boolean => {
  const expected = Buffer.from(issue(key, sessionId))
  const given = Buffer.from(typeof token === "string" ? token : "")
  return given.length === expected.length && timingSafeEqual(given, expected)
}
