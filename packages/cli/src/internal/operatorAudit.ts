/**
 * The audit trail of what the operator does through the command line, on the hash-chained log the server writes
 * (@openaudience/audit): the actor is `{ kind: "operator", id: "cli" }`. An entry is appended after the action,
 * `success` or `failed`; a read of personal data (`user.list`) is recorded before anything is printed, so nothing
 * is shown that the log does not record.
 */
import { AuditEntry, AuditLog } from "@openaudience/audit"
import * as Effect from "effect/Effect"

/** The command line's operator, as an actor. */
export const operator: AuditEntry.Actor = { kind: "operator", id: "cli" }

/** What an entry is about. */
export interface Scope {
  readonly tenant: string | null
  readonly action: string
  readonly target: string
}

/** Appends one entry of the operator (details that look personal redacted: see `AuditEntry.redactDetails`). */
export const append = (scope: Scope, outcome: AuditEntry.Outcome, details: AuditEntry.Details = {}) =>
  Effect.flatMap(AuditLog.AuditLog, (log) =>
    log.append({ ...scope, actor: operator, outcome, details: AuditEntry.redactDetails(details) })
  )

/**
 * Runs `effect` and records it: `success` with `details` of its value, or `failed` with the error's reason when it
 * fails. The failure goes on as it was: when even the `failed` entry cannot be written (the log is unavailable, or
 * the tenant id typed is too long to record), that is logged on stderr instead.
 */
export const audited = <A, E extends { readonly _tag: string }, R>(
  scope: Scope,
  effect: Effect.Effect<A, E, R>,
  details?: (value: A) => AuditEntry.Details
) =>
  effect.pipe(
    Effect.tapError((error) =>
      append(scope, "failed", {
        error: "reason" in error && typeof error.reason === "string" ? error.reason : error._tag
      }).pipe(
        Effect.catchAll((cause) => Effect.logWarning(`The failure was not recorded in the audit log: ${cause.message}`))
      )
    ),
    Effect.tap((value) => append(scope, "success", details?.(value)))
  )
