/**
 * The OpenAudience audit log: who did what to which tenant's data, when, and with what outcome, append-only and
 * hash-chained, with a verifier that finds an altered, removed, reordered or truncated entry.
 *
 * @since 0.1.0
 */

/**
 * An entry of the log: the models, the rules for `details`, the canonical encoding and the hash.
 *
 * @since 0.1.0
 */
export * as AuditEntry from "./AuditEntry.js"

/**
 * The audit log error (`AuditError`, `AuditErrorReason`), exported flat.
 *
 * @since 0.1.0
 */
export * from "./AuditError.js"

/**
 * The audit log port (`append`, `list`, `verify`) and its in-memory layer.
 *
 * @since 0.1.0
 */
export * as AuditLog from "./AuditLog.js"

/**
 * Checking the chain: the JSON result of `verify`, and a verifier fed entries in order.
 *
 * @since 0.1.0
 */
export * as Verification from "./Verification.js"
