/**
 * The event log between collectors and workers. Collectors append records; each worker is a named
 * consumer that reads the records after its committed offset, handles them, then commits the last
 * offset it handled. A crash between handling and committing re-delivers the records: delivery is
 * at least once, so handlers must be idempotent.
 *
 * This module holds the service, the consumer loop (`processNext`, `consume`) that works with every
 * implementation, and an in-memory implementation. `SqlEventLog` stores the log in the application
 * database (SQLite or PostgreSQL); `NatsEventLog` uses NATS JetStream for scale-out.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { EventLogError } from "./EventLogError.js"
import { checkConsumer, checkOffset, encodeRecords, normalizeMax } from "./internal/validate.js"
import type { LoggedRecord, LogRecord } from "./LogRecord.js"

/**
 * The operations of an event log.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventLogService {
  /** Appends records atomically; returns their offsets in input order. */
  readonly append: (records: ReadonlyArray<LogRecord>) => Effect.Effect<ReadonlyArray<number>, EventLogError>
  /** Up to `max` records after the consumer's committed offset, in offset order. Reading does not commit. */
  readonly read: (consumer: string, max: number) => Effect.Effect<ReadonlyArray<LoggedRecord>, EventLogError>
  /** Records that the consumer handled every record up to `offset`. A lower offset than the committed one is ignored. */
  readonly commit: (consumer: string, offset: number) => Effect.Effect<void, EventLogError>
  /** The consumer's committed offset (0 before its first commit). */
  readonly committed: (consumer: string) => Effect.Effect<number, EventLogError>
  /** The offset of the newest record (0 when the log is empty); `lastOffset - committed` is a consumer's lag. */
  readonly lastOffset: Effect.Effect<number, EventLogError>
}

/**
 * The event log service.
 *
 * @since 0.1.0
 * @category services
 */
export class EventLog extends Context.Tag("@openaudience/eventlog/EventLog")<EventLog, EventLogService>() {}

/**
 * Options of the consumer loop.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConsumeOptions {
  /** Most records handed to the handler at once (default 500). */
  readonly max?: number | undefined
  /** How long to wait before polling again when the log had nothing new (default 200 ms). */
  readonly idle?: Duration.DurationInput | undefined
}

/**
 * Reads the next batch for `consumer`, hands it to `handler`, and commits its last offset once the
 * handler succeeded. Returns how many records were handled (0 when there was nothing new). If the
 * handler fails nothing is committed, so the same records are read again next time.
 *
 * @since 0.1.0
 * @category combinators
 */
export const processNext = <E, R>(
  consumer: string,
  handler: (records: ReadonlyArray<LoggedRecord>) => Effect.Effect<unknown, E, R>,
  options?: ConsumeOptions
): Effect.Effect<number, E | EventLogError, EventLog | R> =>
  Effect.gen(function* () {
    const log = yield* EventLog
    const records = yield* log.read(consumer, options?.max ?? 500)
    if (records.length === 0) return 0
    yield* handler(records)
    yield* log.commit(consumer, records[records.length - 1]!.offset)
    return records.length
  })

/**
 * Runs `processNext` forever, sleeping `idle` (on the `Clock`) whenever the log had nothing new.
 * Fails with the first handler or log error; wrap it in a retry policy to keep a worker alive.
 *
 * @since 0.1.0
 * @category combinators
 */
export const consume = <E, R>(
  consumer: string,
  handler: (records: ReadonlyArray<LoggedRecord>) => Effect.Effect<unknown, E, R>,
  options?: ConsumeOptions
): Effect.Effect<never, E | EventLogError, EventLog | R> => {
  const idle = Duration.decode(options?.idle ?? Duration.millis(200))
  return processNext(consumer, handler, options).pipe(
    Effect.flatMap((handled) => (handled === 0 ? Effect.sleep(idle) : Effect.void)),
    Effect.forever
  )
}

/**
 * Builds an in-memory event log with the same semantics as the SQL one (offsets from 1, monotonic
 * commits, JSON round-trip of payloads). Nothing survives it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<EventLogService> = Effect.sync(() => {
  const records: Array<LoggedRecord> = []
  const committed = new Map<string, number>()
  const committedOf = (consumer: string) => committed.get(consumer) ?? 0

  return EventLog.of({
    append: (input) =>
      Effect.gen(function* () {
        const encoded = yield* encodeRecords(input)
        const appendedAt = yield* Clock.currentTimeMillis
        return encoded.map((record) => {
          const offset = records.length + 1
          records.push({
            offset,
            tenant: record.tenant,
            key: record.key,
            payload: JSON.parse(record.payload),
            appendedAt
          })
          return offset
        })
      }),
    read: (consumer, max) =>
      Effect.zipRight(
        checkConsumer(consumer),
        Effect.sync(() => {
          // Offsets are positions + 1, so the records after offset n start at index n.
          const from = committedOf(consumer)
          return records.slice(from, from + normalizeMax(max))
        })
      ),
    commit: (consumer, offset) =>
      Effect.zipRight(
        Effect.zipRight(checkConsumer(consumer), checkOffset(offset)),
        Effect.sync(() => {
          if (offset > committedOf(consumer)) committed.set(consumer, offset)
        })
      ),
    committed: (consumer) =>
      Effect.zipRight(
        checkConsumer(consumer),
        Effect.sync(() => committedOf(consumer))
      ),
    lastOffset: Effect.sync(() => records.length)
  })
})

/**
 * An in-memory event log, for tests and single-process experiments.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<EventLog> = Layer.effect(EventLog, makeMemory)
