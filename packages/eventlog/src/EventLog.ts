/**
 * The event log between collectors and workers. Collectors append records; each worker is a named
 * consumer that reads the records after its committed offset, handles them, then commits the last
 * offset it handled. A crash between handling and committing re-delivers the records: delivery is
 * at least once, so handlers must be idempotent.
 *
 * This module holds the service, the input checks every implementation shares, the consumer loop
 * (`processNext`, `consume`) that works with every implementation, and the layers: `layerNats` uses NATS
 * JetStream for scale-out (see `NatsEventLog`), `layerConfig` picks it or an SQL log (@openaudience/storage-sql's
 * `SqlEventLog`, in the application database) from `OA_EVENTLOG`, and `layerMemory` is for tests.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type { EventLogError } from "./EventLogError.js"
import * as Service from "./internal/service.js"
import * as Validate from "./internal/validate.js"
import type { LoggedRecord, LogRecord } from "./LogRecord.js"
import * as NatsEventLog from "./NatsEventLog.js"

/**
 * The operations of an event log.
 *
 * @since 0.1.0
 * @category models
 */
export type EventLogService = Service.EventLogService

/**
 * The event log service (tag `@openaudience/eventlog/EventLog`).
 *
 * @since 0.1.0
 * @category services
 */
export const EventLog = Service.EventLog

/**
 * The event log service.
 *
 * @since 0.1.0
 * @category services
 */
export type EventLog = Service.EventLog

/**
 * A record ready to bind: its payload as JSON text.
 *
 * @since 0.1.0
 * @category models
 */
export type EncodedRecord = Validate.EncodedRecord

/**
 * Checks records to append and encodes their payloads as JSON text; fails with an `InvalidInput` error naming the
 * first bad record. Every implementation appends through it, so they all accept and reject the same input.
 *
 * @since 0.1.0
 * @category validation
 */
export const encodeRecords: (records: ReadonlyArray<LogRecord>) => Effect.Effect<Array<EncodedRecord>, EventLogError> =
  Validate.encodeRecords

/**
 * Checks a consumer name (non-empty, at most 200 characters).
 *
 * @since 0.1.0
 * @category validation
 */
export const checkConsumer: (consumer: string) => Effect.Effect<void, EventLogError> = Validate.checkConsumer

/**
 * Checks an offset to commit (a non-negative safe integer).
 *
 * @since 0.1.0
 * @category validation
 */
export const checkOffset: (offset: number) => Effect.Effect<void, EventLogError> = Validate.checkOffset

/**
 * A read's `max` as a whole number of records, at least 0.
 *
 * @since 0.1.0
 * @category validation
 */
export const normalizeMax: (max: number) => number = Validate.normalizeMax

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
  let records: Array<LoggedRecord> = []
  let nextOffset = 1
  /** Index of the first record with an offset above `offset` (records are sorted by offset). */
  const firstAfter = (offset: number) => {
    let low = 0
    let high = records.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (records[mid]!.offset <= offset) low = mid + 1
      else high = mid
    }
    return low
  }
  const committed = new Map<string, number>()
  const committedOf = (consumer: string) => committed.get(consumer) ?? 0

  return EventLog.of({
    append: (input) =>
      Effect.gen(function* () {
        const encoded = yield* encodeRecords(input)
        const appendedAt = yield* Clock.currentTimeMillis
        return encoded.map((record) => {
          const offset = nextOffset++
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
          const from = firstAfter(committedOf(consumer))
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
    lastOffset: Effect.sync(() => records[records.length - 1]?.offset ?? 0),
    eraseKey: (tenant, key) =>
      Effect.sync(() => {
        const before = records.length
        records = records.filter((record) => record.tenant !== tenant || record.key !== key)
        return before - records.length
      })
  })
})

/**
 * An in-memory event log, for tests and single-process experiments.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<EventLog> = Layer.effect(EventLog, makeMemory)

/**
 * The NATS JetStream event log (see `NatsEventLog`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNats: (options: NatsEventLog.NatsEventLogOptions) => Layer.Layer<EventLog, EventLogError> =
  NatsEventLog.layer

/**
 * The event log chosen by configuration.
 *
 * @since 0.1.0
 * @category models
 */
export type EventLogSelection =
  | { readonly _tag: "Sql" }
  | { readonly _tag: "Nats"; readonly servers: ReadonlyArray<string> }

/**
 * Which event log to use, from `OA_EVENTLOG`: `sql` (default) or `nats://host:4222` (several servers
 * separated by commas).
 *
 * @since 0.1.0
 * @category configs
 */
export const selectionConfig: Config.Config<EventLogSelection> = Config.string("OA_EVENTLOG").pipe(
  Config.withDefault("sql"),
  Config.mapOrFail((value): Either.Either<EventLogSelection, ConfigError.ConfigError> => {
    const text = value.trim()
    if (text === "" || text.toLowerCase() === "sql") return Either.right({ _tag: "Sql" as const })
    const servers = text.split(",").map((server) => server.trim())
    if (servers.every((server) => /^(nats|tls):\/\/[^\s]+$/i.test(server))) {
      return Either.right({ _tag: "Nats" as const, servers })
    }
    return Either.left(
      ConfigError.InvalidData(
        ["OA_EVENTLOG"],
        `OA_EVENTLOG must be "sql" or nats://host:4222 (comma-separated for several), got "${text}"`
      )
    )
  })
)

/**
 * The event log chosen by `OA_EVENTLOG` (see `selectionConfig`): `sql` for the given SQL log (storage-sql's
 * `SqlEventLog.layer`, or use its `SqlEventLog.layerConfig`), NATS with the stream `OA_EVENTS` and subjects
 * `oa.events.<tenant>.<key>` otherwise.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = <E, R>(
  sql: Layer.Layer<EventLog, E, R>
): Layer.Layer<EventLog, E | EventLogError | ConfigError.ConfigError, R> =>
  Layer.unwrapEffect(
    Effect.map(
      selectionConfig,
      (selection): Layer.Layer<EventLog, E | EventLogError, R> =>
        selection._tag === "Sql" ? sql : layerNats({ servers: selection.servers })
    )
  )
