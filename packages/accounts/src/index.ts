/**
 * The application's own users (an advertiser's staff): invitations, scrypt passwords, server-side sessions, login
 * lockout, password reset, TOTP, CSRF tokens and mail, with every personal field encrypted by @openaudience/vault.
 *
 * @since 0.1.0
 */

/**
 * The accounts service: invite, accept, login, sessions, reset, TOTP, CSRF, users and payment methods.
 *
 * @since 0.1.0
 */
export * as Accounts from "./Accounts.js"

/**
 * The errors: `AccountsError` (with a `reason`), `InvalidCredentials`, `Locked`.
 *
 * @since 0.1.0
 */
export * from "./AccountsError.js"

/**
 * CSRF tokens: HMAC of the session id, checked in constant time.
 *
 * @since 0.1.0
 */
export * as Csrf from "./Csrf.js"

/**
 * The outgoing mail port: SMTP (nodemailer), `.eml` files, memory.
 *
 * @since 0.1.0
 */
export * as Mailer from "./Mailer.js"

/**
 * scrypt password hashes with their parameters, and the password policy.
 *
 * @since 0.1.0
 */
export * as Password from "./Password.js"

/**
 * Payment methods as processor tokens, brand and last four: never a card number.
 *
 * @since 0.1.0
 */
export * as PaymentMethod from "./PaymentMethod.js"

/**
 * TOTP (RFC 6238) codes and `otpauth://` URIs.
 *
 * @since 0.1.0
 */
export * as Totp from "./Totp.js"

/**
 * Users, roles, statuses and profile validation.
 *
 * @since 0.1.0
 */
export * as User from "./User.js"

/**
 * The storage port (`UserStore`) and its in-memory layer.
 *
 * @since 0.1.0
 */
export * as UserStore from "./UserStore.js"
