/**
 * The errors of the accounts package. Login answers only two ways when it fails, whatever the cause:
 * `InvalidCredentials` (unknown email, wrong password, wrong second factor, disabled or not yet active user) and
 * `Locked` (too many failures for this email or client address, reported the same for unknown emails), so an
 * answer never tells whether an email address has an account. Everything else is an `AccountsError` whose
 * `reason` callers match on, with the offending `field` for bad input.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Why an accounts operation failed.
 *
 * - `InvalidInput`: a field is refused (`field` names it; the message never repeats the value).
 * - `NotFound`: no such user, session or payment method in this tenant.
 * - `Conflict`: the email address already has an account.
 * - `InvalidToken`: an invitation or reset token that is unknown, used or expired.
 * - `SecondFactorRequired`: the password was right and the user has TOTP on: ask for the code.
 * - `InvalidCode`: a TOTP code that is wrong, outside its window or already used.
 * - `StoreFailed`, `VaultFailed`, `MailFailed`: a port failed.
 *
 * @since 0.1.0
 * @category errors
 */
export const AccountsErrorReason = Schema.Literal(
  "InvalidInput",
  "NotFound",
  "Conflict",
  "InvalidToken",
  "SecondFactorRequired",
  "InvalidCode",
  "StoreFailed",
  "VaultFailed",
  "MailFailed"
)

/**
 * @since 0.1.0
 * @category errors
 */
export type AccountsErrorReason = typeof AccountsErrorReason.Type

/**
 * A failed accounts operation.
 *
 * @since 0.1.0
 * @category errors
 */
export class AccountsError extends Schema.TaggedError<AccountsError>()("AccountsError", {
  reason: AccountsErrorReason,
  message: Schema.String,
  field: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The one answer of a failed login: the same for an unknown email, a wrong password or code, and a user who cannot
 * log in.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()("InvalidCredentials", {
  message: Schema.String
}) {}

/**
 * Too many failed logins for this email address or client address: no credentials are checked until
 * `retryAfterSeconds` have passed. Reported the same way whether the email has an account or not.
 *
 * @since 0.1.0
 * @category errors
 */
export class Locked extends Schema.TaggedError<Locked>()("Locked", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {}

/**
 * The message of every `InvalidCredentials`.
 *
 * @since 0.1.0
 * @category errors
 */
export const invalidCredentialsMessage = "The email address or password is wrong"

/**
 * An `InvalidInput` error naming `field`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const invalid = (field: string, message: string): AccountsError =>
  new AccountsError({ reason: "InvalidInput", field, message })

/**
 * A `NotFound` error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const notFound = (message: string): AccountsError => new AccountsError({ reason: "NotFound", message })

/**
 * A `StoreFailed` error (the user store failed).
 *
 * @since 0.1.0
 * @category constructors
 */
export const storeFailed = (message: string, cause?: unknown): AccountsError =>
  new AccountsError({ reason: "StoreFailed", message, cause })
