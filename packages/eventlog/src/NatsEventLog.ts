/**
 * The event log on NATS JetStream, for scale-out deployments. Records are published to subjects
 * `<prefix>.<tenant>.<key>` (default prefix `oa.events`) of one stream (default `OA_EVENTS`); the
 * stream sequence is the record's offset. Each consumer name is a durable pull consumer with explicit
 * acknowledgements: `read` fetches (and keeps in this process until committed), `commit` acknowledges
 * every record up to the offset, and `committed` is the consumer's acknowledgement floor.
 *
 * Differences from the SQL log: an `append` of several records is not atomic (a failure part-way
 * leaves the first records published; retrying publishes them again, so handlers must be idempotent
 * anyway), it cannot join an SQL transaction, and records delivered to a process that died are
 * delivered again after `ackWait`. Run one process per consumer name, as with the SQL log.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import {
  AckPolicy,
  type Consumer,
  connect,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type NatsConnection,
  nanos,
  RetentionPolicy,
  StorageType
} from "nats"
import { EventLog, type EventLogService } from "./internal/service.js"
import { EventLogError, type EventLogErrorReason } from "./EventLogError.js"
import { checkConsumer, checkOffset, encodeRecords, normalizeMax } from "./internal/validate.js"
import type { LoggedRecord } from "./LogRecord.js"

/**
 * Options of the JetStream event log.
 *
 * @since 0.1.0
 * @category models
 */
export interface NatsEventLogOptions {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string | ReadonlyArray<string>
  /** Stream name (default `OA_EVENTS`). */
  readonly stream?: string | undefined
  /** Subject prefix; the stream captures `<prefix>.>` (default `oa.events`). */
  readonly subjectPrefix?: string | undefined
  /** How long a fetched, uncommitted record stays with one process before JetStream redelivers it (default 30 s). */
  readonly ackWait?: Duration.DurationInput | undefined
  /** How long to wait for the connection (default 5 s). */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Delete the stream when the layer is released (for tests). */
  readonly deleteStreamOnClose?: boolean | undefined
}

const safeToken = /^[A-Za-z0-9_-]+$/

/**
 * Encodes a tenant or key as one subject token: `[A-Za-z0-9_-]` stay, every other byte becomes `%XX`
 * (so `.`, `*`, `>` and spaces can never change the subject's shape), and the empty string is `%`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const subjectToken = (value: string): string => {
  if (value === "") return "%"
  if (safeToken.test(value)) return value
  let out = ""
  for (const byte of Buffer.from(value, "utf8")) {
    const char = String.fromCharCode(byte)
    out += byte < 0x80 && safeToken.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

const durableName = (consumer: string): string =>
  safeToken.test(consumer) ? consumer : `hex_${Buffer.from(consumer, "utf8").toString("hex")}`

const errorCode = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : ""

const failure =
  (operation: string, reason: EventLogErrorReason = "QueryFailed") =>
  (cause: unknown): EventLogError => {
    const code = errorCode(cause)
    const unavailable = /CONNECTION|TIMEOUT|DISCONNECT|CLOSED|503|NO_RESPONDERS/i.test(code)
    return new EventLogError({
      reason: unavailable ? "Unavailable" : reason,
      message: `${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    })
  }

const isNotFound = (cause: unknown): boolean =>
  errorCode(cause) === "404" || /not found/i.test(cause instanceof Error ? cause.message : "")

interface Held {
  readonly msg: JsMsg
  readonly record: LoggedRecord
}

interface ConsumerState {
  readonly consumer: Consumer
  /** Fetched and not yet committed, by offset. */
  readonly held: Map<number, Held>
  /** Highest offset fetched or committed by this process. */
  seen: number
}

/**
 * Connects to NATS, creates the stream if needed, and builds the JetStream event log. The connection
 * closes (and with `deleteStreamOnClose` the stream is deleted) when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: NatsEventLogOptions): Effect.Effect<EventLogService, EventLogError, Scope.Scope> =>
  Effect.gen(function* () {
    const stream = options.stream ?? "OA_EVENTS"
    const prefix = options.subjectPrefix ?? "oa.events"
    const ackWait = Duration.toMillis(Duration.decode(options.ackWait ?? Duration.seconds(30)))
    const servers = typeof options.servers === "string" ? [options.servers] : [...options.servers]

    const nc: NatsConnection = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          connect({
            servers,
            name: "openaudience-eventlog",
            timeout: Duration.toMillis(Duration.decode(options.connectTimeout ?? Duration.seconds(5)))
          }),
        catch: (cause) =>
          new EventLogError({
            reason: "Unavailable",
            message: `Cannot connect to NATS at ${servers.join(", ")}: ${cause instanceof Error ? cause.message : String(cause)}`,
            cause
          })
      }),
      (connection) => Effect.promise(() => connection.close())
    )
    const jsm: JetStreamManager = yield* Effect.tryPromise({
      try: () => nc.jetstreamManager(),
      catch: failure("Opening JetStream (is JetStream enabled on the server?)", "Unavailable")
    })
    const js: JetStreamClient = nc.jetstream()

    yield* Effect.tryPromise({
      try: async () => {
        try {
          await jsm.streams.info(stream)
        } catch (cause) {
          if (!isNotFound(cause)) throw cause
          await jsm.streams.add({
            name: stream,
            subjects: [`${prefix}.>`],
            storage: StorageType.File,
            retention: RetentionPolicy.Limits
          })
        }
      },
      catch: failure(`Creating the JetStream stream ${stream}`)
    })
    if (options.deleteStreamOnClose === true) {
      yield* Effect.addFinalizer(() =>
        Effect.promise(() => jsm.streams.delete(stream).catch(() => false)).pipe(Effect.asVoid)
      )
    }

    const states = new Map<string, ConsumerState>()
    // One operation at a time: reads and commits of a consumer share its in-process state.
    const lock = yield* Effect.makeSemaphore(1)

    const openConsumer = async (name: string, startAfter: number): Promise<ConsumerState> => {
      const cached = states.get(name)
      if (cached !== undefined) return cached
      const durable = durableName(name)
      let created = false
      try {
        await jsm.consumers.info(stream, durable)
      } catch (cause) {
        if (!isNotFound(cause)) throw cause
        await jsm.consumers.add(stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          ack_wait: nanos(ackWait),
          max_ack_pending: -1,
          ...(startAfter > 0
            ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startAfter + 1 }
            : { deliver_policy: DeliverPolicy.All })
        })
        created = true
      }
      const state: ConsumerState = {
        consumer: await js.consumers.get(stream, durable),
        held: new Map(),
        seen: created ? startAfter : 0
      }
      states.set(name, state)
      return state
    }

    const decode = (msg: JsMsg): LoggedRecord => {
      const body = msg.json<{ tenant: string; key: string; appendedAt: number; payload: unknown }>()
      return { offset: msg.seq, tenant: body.tenant, key: body.key, payload: body.payload, appendedAt: body.appendedAt }
    }

    /** Fetches up to `count` more records into `held`; committed ones that come again are acknowledged. */
    const fetchInto = async (state: ConsumerState, count: number, committedFloor: number): Promise<number> => {
      const info = await state.consumer.info()
      const redeliverable = info.num_ack_pending - state.held.size
      if (info.num_pending <= 0 && redeliverable <= 0) return 0
      const want = info.num_pending > 0 ? Math.min(count, info.num_pending) : count
      const messages = await state.consumer.fetch({ max_messages: want, expires: 1000 })
      let fetched = 0
      for await (const msg of messages) {
        fetched++
        if (msg.seq <= committedFloor) {
          msg.ack()
          continue
        }
        if (msg.seq > state.seen) state.seen = msg.seq
        if (!state.held.has(msg.seq)) state.held.set(msg.seq, { msg, record: decode(msg) })
      }
      return fetched
    }

    /** The ack floor; a consumer started after offset n counts as committed up to n before its first ack. */
    const floorOf = async (state: ConsumerState): Promise<number> => {
      const info = await state.consumer.info()
      return Math.max(info.ack_floor.stream_seq, (info.config.opt_start_seq ?? 1) - 1)
    }

    return EventLog.of({
      append: (records) =>
        Effect.gen(function* () {
          if (records.length === 0) return []
          const encoded = yield* encodeRecords(records)
          const appendedAt = yield* Clock.currentTimeMillis
          return yield* Effect.tryPromise({
            try: async () => {
              // Published in input order on one connection, so stream sequences follow input order.
              const acks = await Promise.all(
                encoded.map((record) =>
                  js.publish(
                    `${prefix}.${subjectToken(record.tenant)}.${subjectToken(record.key)}`,
                    `{"tenant":${JSON.stringify(record.tenant)},"key":${JSON.stringify(record.key)},"appendedAt":${appendedAt},"payload":${record.payload}}`
                  )
                )
              )
              return acks.map((ack) => ack.seq)
            },
            catch: failure("Publishing to JetStream")
          })
        }),
      read: (consumer, max) =>
        Effect.gen(function* () {
          yield* checkConsumer(consumer)
          const n = normalizeMax(max)
          if (n === 0) return []
          return yield* Effect.tryPromise({
            try: async () => {
              const state = await openConsumer(consumer, 0)
              if (state.held.size < n) await fetchInto(state, n - state.held.size, await floorOf(state))
              return [...state.held.keys()]
                .sort((a, b) => a - b)
                .slice(0, n)
                .map((offset) => state.held.get(offset)!.record)
            },
            catch: failure("Reading from JetStream")
          })
        }).pipe(lock.withPermits(1)),
      commit: (consumer, offset) =>
        Effect.gen(function* () {
          yield* checkConsumer(consumer)
          yield* checkOffset(offset)
          yield* Effect.tryPromise({
            try: async () => {
              const state = await openConsumer(consumer, offset)
              // Committing past what this process fetched acknowledges the records in between unread.
              while (state.seen < offset) {
                if ((await fetchInto(state, 256, 0)) === 0) break
              }
              const done = [...state.held.keys()].filter((seq) => seq <= offset).sort((a, b) => a - b)
              for (let i = 0; i < done.length; i++) {
                const held = state.held.get(done[i]!)!
                state.held.delete(done[i]!)
                // Acks of one consumer are processed in order: confirming the last confirms them all.
                if (i === done.length - 1) await held.msg.ackAck()
                else held.msg.ack()
              }
            },
            catch: failure("Committing to JetStream")
          })
        }).pipe(lock.withPermits(1)),
      committed: (consumer) =>
        Effect.zipRight(
          checkConsumer(consumer),
          Effect.tryPromise({
            try: async () => floorOf(await openConsumer(consumer, 0)),
            catch: failure("Reading a JetStream consumer")
          })
        ).pipe(lock.withPermits(1)),
      lastOffset: Effect.tryPromise({
        try: async () => (await jsm.streams.info(stream)).state.last_seq,
        catch: failure("Reading the JetStream stream")
      }),
      eraseKey: (tenant, key) =>
        Effect.tryPromise({
          try: async () => {
            // Deleted one by one (and overwritten): a filtered purge would also move every consumer
            // past the unrelated records published in between.
            const subject = `${prefix}.${subjectToken(tenant)}.${subjectToken(key)}`
            const info = await jsm.streams.info(stream, { subjects_filter: subject })
            const count = info.state.subjects?.[subject] ?? 0
            if (count === 0) return 0
            // One subject as a string: servers before 2.10 ignore a list of filters.
            const reader = await js.consumers.get(stream, { filterSubjects: subject })
            const sequences: Array<number> = []
            for await (const msg of await reader.fetch({ max_messages: count, expires: 2000 })) {
              sequences.push(msg.seq)
            }
            for (const seq of sequences) await jsm.streams.deleteMessage(stream, seq, true)
            return sequences.length
          },
          catch: failure("Erasing JetStream records")
        }).pipe(
          // Records this process fetched but did not commit must not be handed out again.
          Effect.tap(() =>
            Effect.sync(() => {
              for (const state of states.values()) {
                for (const [offset, held] of state.held) {
                  if (held.record.tenant === tenant && held.record.key === key) state.held.delete(offset)
                }
              }
            })
          ),
          lock.withPermits(1)
        )
    })
  })

/**
 * The JetStream event log as a layer (see `make`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: NatsEventLogOptions): Layer.Layer<EventLog, EventLogError> =>
  Layer.scoped(EventLog, make(options))
