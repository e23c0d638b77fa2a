/**
 * The one error of the event log. `reason` tells the cases apart: bad input, an unreachable backend
 * (worth retrying), a failed statement or request, a failed migration, or a record that cannot be read.
 *
 * @since 0.1.0
 */
import type { SqlError } from "@effect/sql/SqlError"
import * as Schema from "effect/Schema"

/**
 * Why an event log operation failed.
 *
 * @since 0.1.0
 * @category models
 */
export const EventLogErrorReason = Schema.Literal(
  "InvalidInput",
  "Unavailable",
  "QueryFailed",
  "MigrationFailed",
  "CorruptData"
)

/**
 * The reason of an `EventLogError`.
 *
 * @since 0.1.0
 * @category models
 */
export type EventLogErrorReason = typeof EventLogErrorReason.Type

/**
 * A failed event log operation.
 *
 * @since 0.1.0
 * @category errors
 */
export class EventLogError extends Schema.TaggedError<EventLogError>("@openaudience/eventlog/EventLogError")(
  "EventLogError",
  {
    reason: EventLogErrorReason,
    message: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {}

const unavailableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "57P01",
  "57P02",
  "57P03",
  "53300"
])

/**
 * Wraps an `SqlError` into an `EventLogError`, naming the operation that failed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSqlError =
  (operation: string) =>
  (error: SqlError): EventLogError => {
    const cause = error.cause
    const code =
      typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
        ? cause.code
        : undefined
    const detail = cause instanceof Error ? `: ${cause.message}` : ""
    const unavailable =
      (code !== undefined && unavailableCodes.has(code)) || /connect|connection|timed out/i.test(error.message)
    return new EventLogError({
      reason: unavailable ? "Unavailable" : "QueryFailed",
      message: `${operation} failed: ${error.message}${detail}`,
      cause: error
    })
  }
