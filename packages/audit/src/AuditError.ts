/**
 * The one error of the audit log. `reason` tells callers which case they are in: a request that must be refused
 * (`InvalidInput`: 400), a store to retry later (`Unavailable`: 503), a stored entry that cannot be read back
 * (`Corrupt`) or any other failure (`Failed`). A broken chain is not an error: `verify` answers it as its result.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Why an audit log operation failed.
 *
 * - `InvalidInput`: the entry or query is not valid (an unknown action form, personal data in `details`, a bad
 *   limit); nothing was written.
 * - `Unavailable`: the store cannot be reached or is busy; retrying later may succeed.
 * - `Corrupt`: a stored entry cannot be read back.
 * - `Failed`: the store failed otherwise.
 *
 * @since 0.1.0
 * @category models
 */
export const AuditErrorReason = Schema.Literal("InvalidInput", "Unavailable", "Corrupt", "Failed")

/**
 * @since 0.1.0
 * @category models
 */
export type AuditErrorReason = typeof AuditErrorReason.Type

/**
 * A failed audit log operation, with a reason callers can match on and a message for humans.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuditError extends Schema.TaggedError<AuditError>("@openaudience/audit/AuditError")("AuditError", {
  reason: AuditErrorReason,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}
