/** The event log service tag and interface, shared by every implementation module. */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { EventLogError } from "../EventLogError.js"
import type { LoggedRecord, LogRecord } from "../LogRecord.js"

/**
 * The operations of an event log.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventLogService {
  /** Appends records (atomically on SQL, see `NatsEventLog` for JetStream); returns their offsets in input order. */
  readonly append: (records: ReadonlyArray<LogRecord>) => Effect.Effect<ReadonlyArray<number>, EventLogError>
  /** Up to `max` records after the consumer's committed offset, in offset order. Reading does not commit. */
  readonly read: (consumer: string, max: number) => Effect.Effect<ReadonlyArray<LoggedRecord>, EventLogError>
  /** Records that the consumer handled every record up to `offset`. A lower offset than the committed one is ignored. */
  readonly commit: (consumer: string, offset: number) => Effect.Effect<void, EventLogError>
  /** The consumer's committed offset (0 before its first commit). */
  readonly committed: (consumer: string) => Effect.Effect<number, EventLogError>
  /** The offset of the newest record (0 when the log is empty); `lastOffset - committed` is a consumer's lag. */
  readonly lastOffset: Effect.Effect<number, EventLogError>
  /**
   * Removes every record of one partition key of a tenant (a data subject's erasure when the key is
   * the visitor's pseudonym); returns how many were removed.
   */
  readonly eraseKey: (tenant: string, key: string) => Effect.Effect<number, EventLogError>
}

/**
 * The event log service.
 *
 * @since 0.1.0
 * @category services
 */
export class EventLog extends Context.Tag("@openaudience/eventlog/EventLog")<EventLog, EventLogService>() {}
