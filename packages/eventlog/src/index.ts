/**
 * The OpenAudience event log between collectors and workers: the `EventLog` port, NATS JetStream (scale-out)
 * and an in-memory implementation (the SQL tables of the embedded shape are @openaudience/storage-sql's
 * `SqlEventLog`), the stored-events record format, the apply-then-commit consumer and the outbox relay.
 *
 * @since 0.1.0
 */

/**
 * The event log service, the consumer loop and the in-memory implementation.
 *
 * @since 0.1.0
 */
export * as EventLog from "./EventLog.js"

/**
 * The event log error (`EventLogError`, `EventLogErrorReason`), exported flat.
 *
 * @since 0.1.0
 */
export * from "./EventLogError.js"

/**
 * Log record models (`LogRecord`, `LoggedRecord`), exported flat.
 *
 * @since 0.1.0
 */
export * from "./LogRecord.js"

/**
 * The log record format naming stored events by runs of `seq` (`toLogRecords`, `rangesOf`, `take`, …).
 *
 * @since 0.2.0
 */
export * as StoredEvents from "./StoredEvents.js"

/**
 * Jobs consuming the log of stored events with apply-then-commit, and their runner (`Job`, `run`, `layer`).
 *
 * @since 0.2.0
 */
export * as Consumer from "./Consumer.js"

/**
 * The outbox relay from one event log to another (the SQL log to NATS JetStream).
 *
 * @since 0.2.0
 */
export * as Relay from "./Relay.js"

/**
 * The event log on NATS JetStream.
 *
 * @since 0.1.0
 */
export * as NatsEventLog from "./NatsEventLog.js"
