/**
 * Envelope encryption of personal data: master secrets, tenant keys, a data key per subject, crypto-shredding,
 * rotation, blind indexes, the start-up secret check and field validation.
 *
 * @since 0.1.0
 */

/**
 * The stored form of an encrypted field (bytes and `v1.` text).
 *
 * @since 0.1.0
 */
export * as Ciphertext from "./Ciphertext.js"

/**
 * IBAN and BIC validation, the refusal of card numbers, email normalization.
 *
 * @since 0.1.0
 */
export * as Fields from "./Fields.js"

/**
 * The storage port of wrapped data keys and secret fingerprints, and its in-memory layer.
 *
 * @since 0.1.0
 */
export * as KeyStore from "./KeyStore.js"

/**
 * Versioned master secrets, `OA_SECRET` / `OA_SECRET_PREVIOUS`, and the keys derived from them.
 *
 * @since 0.1.0
 */
export * as MasterKeys from "./MasterKeys.js"

/**
 * The start-up check that refuses a changed `OA_SECRET` and gives secrets their versions.
 *
 * @since 0.1.0
 */
export * as SecretCheck from "./SecretCheck.js"

/**
 * The vault service: encrypt, decrypt, shred, rotate, blind index.
 *
 * @since 0.1.0
 */
export * as Vault from "./Vault.js"
