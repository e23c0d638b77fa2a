/**
 * The one error of the event log. `reason` tells the cases apart: bad input, an unreachable backend
 * (worth retrying), a failed statement or request, a failed migration, or a record that cannot be read.
 * Implementations map their own errors onto it (storage-sql's `SqlEventLog.fromSqlError` for SQL).
 *
 * @since 0.1.0
 */
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
