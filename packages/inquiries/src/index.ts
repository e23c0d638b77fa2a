/**
 * Contact-form inquiries kept for one purpose (answering them): validated, encrypted per inquiry, readable by the
 * `owner` and `privacy` roles, purged after closing; a store port and a per-address rate limit.
 *
 * @since 0.1.0
 */

/**
 * The model, the validation of a form's fields, `InquiryError`, and `readers` (the roles that may read inquiries).
 *
 * @since 0.1.0
 */
export * as Inquiry from "./Inquiry.js"

/**
 * The service: submit, list, get, answer, close, purge, erase.
 *
 * @since 0.1.0
 */
export * as Inquiries from "./Inquiries.js"

/**
 * The storage port of inquiries (ciphertexts only) and its in-memory layer.
 *
 * @since 0.1.0
 */
export * as InquiryStore from "./InquiryStore.js"

/**
 * The per-address token bucket a public form checks before `submit`.
 *
 * @since 0.1.0
 */
export * as RateLimit from "./RateLimit.js"
