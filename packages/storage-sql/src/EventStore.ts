/**
 * The event store: where the collector durably keeps every event it accepted. Appends are batched
 * (group commit): one call stores the events of many requests in ONE transaction with a few multi-row
 * statements, and is idempotent on `(tenant, eventId)` so a retried request never stores an event
 * twice. Reads serve the events inspector (`recent`), dashboards (`count`) and data-subject requests
 * (`byVisitor`, `eraseVisitor`), always scoped to one tenant.
 *
 * `layer` is the SQL implementation (SQLite or PostgreSQL through `SqlClient`; it runs the storage
 * migrations when built); `layerMemory` keeps events in memory with the same semantics, for tests.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import {
  decodeValues,
  type EventRow,
  encodeBatch,
  eventKey,
  type ReadRow,
  readColumns,
  receiptFromText
} from "./internal/eventCodec.js"
import * as Migrations from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"
import type { AppendOutcome, AppendResult, SequencedEvent, StoredEvent } from "./StoredEvent.js"

/**
 * Options of `append`.
 *
 * `inTransaction` runs inside the append's transaction, after the inserts, with the events accepted
 * by this call (input order, with their `seq`). If it fails, the whole append is rolled back and
 * fails with its error. The collector uses it to append the accepted events to an SQL event log in
 * the same database, so the event and its log record commit together or not at all.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppendOptions<E = never> {
  readonly inTransaction?: ((accepted: ReadonlyArray<SequencedEvent>) => Effect.Effect<unknown, E>) | undefined
}

/**
 * The operations of the event store.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventStoreService {
  /**
   * Stores a batch in one transaction. Idempotent on `(tenant, eventId)`: an event already stored, or
   * repeated earlier in the same batch, is reported as `"duplicate"` and not stored again. Outcomes
   * are in input order. An invalid event fails the whole batch with reason `InvalidInput` before
   * anything is written.
   */
  readonly append: <E = never>(
    events: ReadonlyArray<StoredEvent>,
    options?: AppendOptions<E>
  ) => Effect.Effect<AppendResult, StorageError | E>
  /** The newest `limit` events of a tenant, newest first (by `seq`, not by timestamp). */
  readonly recent: (tenant: string, limit: number) => Effect.Effect<ReadonlyArray<SequencedEvent>, StorageError>
  /** How many events a tenant has stored. */
  readonly count: (tenant: string) => Effect.Effect<number, StorageError>
  /** Every event of one visitor of a tenant, oldest first (for data-subject access). */
  readonly byVisitor: (tenant: string, visitor: string) => Effect.Effect<ReadonlyArray<SequencedEvent>, StorageError>
  /**
   * The events of several visitors of a tenant in one read, grouped by visitor (in the order given) and oldest
   * first within each: what audience backfills and previews replay, a page of visitors at a time.
   */
  readonly byVisitors: (
    tenant: string,
    visitors: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<SequencedEvent>, StorageError>
  /** The events of a tenant with the given `seq`s (those still stored), in `seq` order (for runs, `bySeqRanges`). */
  readonly bySeqs: (
    tenant: string,
    seqs: ReadonlyArray<number>
  ) => Effect.Effect<ReadonlyArray<SequencedEvent>, StorageError>
  /**
   * The events of a tenant whose `seq` lies in one of the inclusive ranges `[first, last]` (those still stored),
   * in `seq` order, each once even where ranges overlap: what an event log record naming a run of stored events
   * (one per group commit rather than one per event) is read by. `filter` narrows the read in the database, which
   * skips the other rows without handing them over: `types`, only events of those types (a job that needs
   * conversions alone reads next to nothing); `identified`, only events with a visitor key (what audiences and
   * attribution can use).
   *
   * @since 0.2.0
   */
  readonly bySeqRanges: (
    tenant: string,
    ranges: ReadonlyArray<SeqRange>,
    filter?: SeqRangeFilter
  ) => Effect.Effect<ReadonlyArray<SequencedEvent>, StorageError>
  /**
   * How many of a tenant's events with a `seq` in the ranges (as `bySeqRanges` reads them) were received on each UTC
   * day (`YYYY-MM-DD`), per type, and how many of those carry a visitor key: counted by the database, so the
   * events themselves are not read.
   *
   * @since 0.2.0
   */
  readonly countBySeqRanges: (
    tenant: string,
    ranges: ReadonlyArray<SeqRange>
  ) => Effect.Effect<ReadonlyArray<DayCount>, StorageError>
  /**
   * The distinct visitor keys of a tenant's stored events after `after` (in the database's key order), at most
   * `limit`: pages through every visitor for backfills and previews.
   */
  readonly visitors: (
    tenant: string,
    after: string | undefined,
    limit: number
  ) => Effect.Effect<ReadonlyArray<string>, StorageError>
  /** Deletes every event of one visitor of a tenant; returns how many were removed. */
  readonly eraseVisitor: (tenant: string, visitor: string) => Effect.Effect<number, StorageError>
}

/**
 * What `EventStore.bySeqRanges` reads of its ranges: events of `types` only, events with a visitor key only.
 *
 * @since 0.5.0
 * @category models
 */
export interface SeqRangeFilter {
  readonly types?: ReadonlyArray<string> | undefined
  readonly identified?: boolean | undefined
}

/**
 * An inclusive range of `seq`s, `[first, last]`.
 *
 * @since 0.2.0
 * @category models
 */
export type SeqRange = readonly [first: number, last: number]

/**
 * Events of one UTC day and type (see `countBySeqRanges`).
 *
 * @since 0.2.0
 * @category models
 */
export interface DayCount {
  /** `YYYY-MM-DD`, the UTC date of `receivedAt`. */
  readonly day: string
  readonly type: string
  readonly events: number
  /** Of `events`, those with a visitor key. */
  readonly identified: number
}

/**
 * The valid ranges of `ranges` (integers, `first <= last`) sorted and merged where they overlap or touch, so each
 * `seq` is named once.
 *
 * @since 0.2.0
 * @category utils
 */
export const mergeRanges = (ranges: ReadonlyArray<SeqRange>): Array<SeqRange> => {
  const valid = ranges
    .filter(([first, last]) => Number.isSafeInteger(first) && Number.isSafeInteger(last) && first <= last)
    .slice()
    .sort((a, b) => a[0] - b[0])
  const merged: Array<[number, number]> = []
  for (const [first, last] of valid) {
    const previous = merged[merged.length - 1]
    if (previous !== undefined && first <= previous[1] + 1) previous[1] = Math.max(previous[1], last)
    else merged.push([first, last])
  }
  return merged
}

/**
 * The event store service.
 *
 * @since 0.1.0
 * @category services
 */
export class EventStore extends Context.Tag("@openaudience/storage-sql/EventStore")<EventStore, EventStoreService>() {}

/**
 * How many rows one INSERT carries. With 9 columns a chunk binds 9,000 values: below SQLite's
 * variable limit (32,766) and PostgreSQL's (65,535), and large enough that a group-commit batch is
 * one statement.
 *
 * @since 0.1.0
 * @category models
 */
export const rowsPerStatement = 1000

const emptyResult: AppendResult = { outcomes: [], accepted: 0, duplicates: 0 }

interface Plan {
  readonly rows: Array<EventRow>
  /** Index in the input of each unique row. */
  readonly uniqueIndexes: Array<number>
  readonly keys: Array<string>
}

const plan = (rows: Array<EventRow>): Plan => {
  const seen = new Set<string>()
  const unique: Array<EventRow> = []
  const uniqueIndexes: Array<number> = []
  const keys = new Array<string>(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    const key = eventKey(row.tenant, row.event_id)
    keys[i] = key
    if (!seen.has(key)) {
      seen.add(key)
      unique.push(row)
      uniqueIndexes.push(i)
    }
  }
  return { rows: unique, uniqueIndexes, keys }
}

/** Builds the result and the accepted events from the plan and the seq of each key stored now. */
const settle = (
  events: ReadonlyArray<StoredEvent>,
  p: Plan,
  inserted: ReadonlyMap<string, number>
): { readonly result: AppendResult; readonly accepted: Array<SequencedEvent> } => {
  const outcomes = new Array<AppendOutcome>(events.length).fill("duplicate")
  const accepted: Array<SequencedEvent> = []
  for (const index of p.uniqueIndexes) {
    const seq = inserted.get(p.keys[index]!)
    if (seq !== undefined) {
      outcomes[index] = "accepted"
      accepted.push({ ...events[index]!, clientTs: events[index]!.clientTs ?? null, seq })
    }
  }
  return {
    result: { outcomes, accepted: accepted.length, duplicates: events.length - accepted.length },
    accepted
  }
}

const msPerDay = 86_400_000

/** Days since 1970-01-01 as the UTC date `YYYY-MM-DD`. */
const dateOfDay = (day: number): string => new Date(day * msPerDay).toISOString().slice(0, 10)

/**
 * Sums counts of the same day (days since 1970-01-01, as the database gives them) and type, from rows of several
 * reads, sorted by day then type.
 */
const sumDayCounts = (
  rows: ReadonlyArray<{
    readonly day: number | string
    readonly type: string
    readonly events: number | string
    readonly identified: number | string
  }>
): Array<DayCount> => {
  const sums = new Map<string, { day: string; type: string; events: number; identified: number }>()
  for (const row of rows) {
    const day = Number(row.day)
    const key = `${day}\u0000${row.type}`
    const sum = sums.get(key)
    if (sum === undefined)
      sums.set(key, {
        day: dateOfDay(day),
        type: row.type,
        events: Number(row.events),
        identified: Number(row.identified)
      })
    else {
      sum.events += Number(row.events)
      sum.identified += Number(row.identified)
    }
  }
  return [...sums.values()].sort((a, b) =>
    a.day < b.day ? -1 : a.day > b.day ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0
  )
}

const bySeq = (a: SequencedEvent, b: SequencedEvent): number => a.seq - b.seq

/** Values per `IN (…)` list: well under SQLite's and PostgreSQL's parameter limits. */
const valuesPerRead = 500

/** Ranges per read (two values each). */
const rangesPerRead = 200

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Events (in seq order) regrouped by visitor in the order of `visitors`, keeping seq order within each. */
const groupByVisitor = (
  visitors: ReadonlyArray<string>,
  events: ReadonlyArray<SequencedEvent>
): ReadonlyArray<SequencedEvent> => {
  const groups = new Map<string, Array<SequencedEvent>>(visitors.map((v) => [v, []]))
  for (const event of events) if (event.visitor !== null) groups.get(event.visitor)?.push(event)
  return [...groups.values()].flat()
}

const normalizeLimit = (limit: number): number => (Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0)

const isSqlError = (error: unknown): error is SqlError => Predicate.isTagged(error, "SqlError")

/**
 * Builds the SQL event store over the `SqlClient` in context (the tables must exist: see `layer`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<EventStoreService, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = readColumns(sql)

  const insertChunk = (rows: ReadonlyArray<EventRow>) =>
    sql<{
      readonly seq: number | string
      readonly tenant: string
      readonly event_id: string
    }>`INSERT INTO events ${sql.insert(rows)} ON CONFLICT (tenant, event_id) DO NOTHING RETURNING seq, tenant, event_id`

  const append = <E = never>(
    events: ReadonlyArray<StoredEvent>,
    options?: AppendOptions<E>
  ): Effect.Effect<AppendResult, StorageError | E> =>
    Effect.gen(function* () {
      if (events.length === 0) return emptyResult
      const p = plan(yield* encodeBatch(events))
      const write = Effect.gen(function* () {
        const inserted = new Map<string, number>()
        for (let start = 0; start < p.rows.length; start += rowsPerStatement) {
          const returned = yield* insertChunk(p.rows.slice(start, start + rowsPerStatement))
          for (const row of returned) inserted.set(eventKey(row.tenant, row.event_id), Number(row.seq))
        }
        const settled = settle(events, p, inserted)
        if (options?.inTransaction !== undefined) yield* options.inTransaction(settled.accepted)
        return settled.result
      })
      return yield* sql
        .withTransaction(write)
        .pipe(Effect.catchIf(isSqlError, (error) => Effect.fail(fromSqlError("Appending events")(error))))
    })

  // Rows are read as lists of values (`readColumns` order), which the drivers build for about half the cost of objects.
  const query = (operation: string, statement: Statement.Statement<ReadRow>) =>
    statement.values.pipe(
      Effect.mapError(fromSqlError(operation)),
      Effect.flatMap((rows) => decodeValues(rows, true))
    )

  /**
   * A tenant's events in some seq ranges, as the `WITH` clause (or nothing) and the `FROM … WHERE …` of a read.
   * SQLite joins a list of the ranges to the table, each a range of its rowid (seq). Given `tenant = ? AND (seq
   * BETWEEN … OR …)` its planner searched the (tenant, seq) index by the tenant alone once there were two ranges (as
   * when tenants' events interleave): every event of the tenant, on every read; with the tenant kept off the index
   * instead, it scanned the table for a few dozen ranges. The tenant stays a filter (the unary `+` keeps it off the
   * indexes): the log names a tenant's own seqs. PostgreSQL reads the ranges from its primary key (a bitmap OR), and
   * has no unary `+` for text. No order is asked of the database: the callers sort.
   */
  const inRanges = (tenant: string, ranges: ReadonlyArray<SeqRange>) =>
    sql.onDialectOrElse({
      sqlite: () => ({
        head: sql`WITH ranges (low, high) AS (VALUES ${sql.csv(ranges.map(([first, last]) => sql`(${first}, ${last})`))})`,
        source: sql`ranges JOIN events ON events.seq BETWEEN ranges.low AND ranges.high WHERE +events.tenant = ${tenant}`
      }),
      orElse: () => ({
        head: sql.literal(""),
        source: sql`events WHERE tenant = ${tenant} AND (${sql.or(
          ranges.map(([first, last]) => sql`seq BETWEEN ${first} AND ${last}`)
        )})`
      })
    })
  // The UTC day of received_at (epoch ms, never negative) as days since 1970-01-01, by integer division: formatting a
  // date for every row (`strftime`, `to_char`) made the daily counts' query as costly as reading the events whole.
  const utcDay = sql.literal(`CAST(received_at / ${msPerDay} AS INTEGER)`)

  /**
   * A tenant's events whose `column` is one of `values`, read `valuesPerRead` values at a time, in seq order. The
   * order is made here: asked for `ORDER BY seq`, SQLite's planner walked the (tenant, seq) index through every event
   * of the tenant and looked each row up to test its visitor, rather than search (tenant, visitor) per value; a
   * backfill reads all visitors page by page, so every page cost a pass over the whole tenant.
   */
  const readIn = (
    operation: string,
    tenant: string,
    column: "visitor" | "seq",
    values: ReadonlyArray<string | number>
  ) =>
    Effect.forEach(chunks(values, valuesPerRead), (chunk) =>
      query(
        operation,
        sql<ReadRow>`SELECT ${columns} FROM events WHERE tenant = ${tenant} AND ${sql.in(column, chunk)}`
      )
    ).pipe(Effect.map((pages) => pages.flat().sort(bySeq)))

  return EventStore.of({
    append,
    recent: (tenant, limit) => {
      const n = normalizeLimit(limit)
      if (n === 0) return Effect.succeed([])
      return query(
        "Reading recent events",
        sql<ReadRow>`SELECT ${columns} FROM events WHERE tenant = ${tenant} ORDER BY seq DESC LIMIT ${n}`
      )
    },
    count: (tenant) =>
      sql<{ readonly n: number | string }>`SELECT COUNT(*) AS n FROM events WHERE tenant = ${tenant}`.pipe(
        Effect.map((rows) => Number(rows[0]?.n ?? 0)),
        Effect.mapError(fromSqlError("Counting events"))
      ),
    byVisitor: (tenant, visitor) =>
      query(
        "Reading a visitor's events",
        sql<ReadRow>`SELECT ${columns} FROM events WHERE tenant = ${tenant} AND visitor = ${visitor} ORDER BY seq`
      ),
    byVisitors: (tenant, visitors) =>
      visitors.length === 0
        ? Effect.succeed([])
        : readIn("Reading visitors' events", tenant, "visitor", visitors).pipe(
            Effect.map((events) => groupByVisitor(visitors, events))
          ),
    bySeqs: (tenant, seqs) =>
      seqs.length === 0 ? Effect.succeed([]) : readIn("Reading events by seq", tenant, "seq", seqs),
    bySeqRanges: (tenant, ranges, filter) => {
      const types = filter?.types
      if (types !== undefined && types.length === 0) return Effect.succeed([])
      const ofTypes = types === undefined ? sql.literal("") : sql`AND ${sql.in("type", types)}`
      const identified =
        filter?.identified === true ? sql.literal("AND visitor IS NOT NULL AND visitor <> ''") : sql.literal("")
      return Effect.forEach(chunks(mergeRanges(ranges), rangesPerRead), (chunk) => {
        const { head, source } = inRanges(tenant, chunk)
        return query(
          "Reading events by seq range",
          sql<ReadRow>`${head} SELECT ${columns} FROM ${source} ${ofTypes} ${identified}`
        )
      }).pipe(Effect.map((pages) => pages.flat().sort(bySeq)))
    },
    countBySeqRanges: (tenant, ranges) =>
      Effect.forEach(chunks(mergeRanges(ranges), rangesPerRead), (chunk) => {
        const { head, source } = inRanges(tenant, chunk)
        return sql<{
          readonly day: number | string
          readonly type: string
          readonly events: number | string
          readonly identified: number | string
        }>`${head} SELECT ${utcDay} AS day, type, COUNT(*) AS events, COUNT(visitor) AS identified FROM ${source}
          GROUP BY 1, 2`.pipe(Effect.mapError(fromSqlError("Counting events by seq range")))
      }).pipe(Effect.map((pages) => sumDayCounts(pages.flat()))),
    visitors: (tenant, after, limit) => {
      const n = normalizeLimit(limit)
      if (n === 0) return Effect.succeed([])
      const from = after === undefined ? sql.literal("") : sql`AND visitor > ${after}`
      return sql<{ readonly visitor: string }>`SELECT DISTINCT visitor FROM events
        WHERE tenant = ${tenant} AND visitor IS NOT NULL ${from} ORDER BY visitor LIMIT ${n}`.pipe(
        Effect.map((rows) => rows.map((row) => row.visitor)),
        Effect.mapError(fromSqlError("Listing visitors"))
      )
    },
    eraseVisitor: (tenant, visitor) =>
      sql`DELETE FROM events WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING seq`.pipe(
        Effect.map((rows) => rows.length),
        Effect.mapError(fromSqlError("Erasing a visitor's events"))
      )
  })
})

/**
 * The SQL event store: runs the storage migrations, then serves the store over the `SqlClient` in
 * context (build it with `Database.layerFromUrl` or `Database.layerConfig`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<EventStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  EventStore,
  Effect.zipRight(Migrations.migrate, make)
)

/**
 * Builds an in-memory event store with the same semantics as the SQL one (idempotency, outcomes,
 * ordering, validation, JSON round-trip of payloads, rollback when `inTransaction` fails).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<EventStoreService> = Effect.gen(function* () {
  const byKey = new Map<string, SequencedEvent>()
  let ordered: Array<SequencedEvent> = []
  let nextSeq = 1
  // Appends are serialized like a database's single writer, so a rollback never undoes another append.
  const writer = yield* Effect.makeSemaphore(1)

  const forget = (keys: ReadonlySet<string>) => {
    if (keys.size === 0) return
    for (const key of keys) byKey.delete(key)
    ordered = ordered.filter((event) => !keys.has(eventKey(event.tenant, event.eventId)))
  }

  const append = <E = never>(
    events: ReadonlyArray<StoredEvent>,
    options?: AppendOptions<E>
  ): Effect.Effect<AppendResult, StorageError | E> =>
    Effect.gen(function* () {
      if (events.length === 0) return emptyResult
      const p = plan(yield* encodeBatch(events))
      const inserted = new Map<string, number>()
      for (const row of p.rows) {
        const key = eventKey(row.tenant, row.event_id)
        if (byKey.has(key)) continue
        const stored: SequencedEvent = {
          seq: nextSeq++,
          tenant: row.tenant,
          eventId: row.event_id,
          type: row.type,
          site: row.site,
          receivedAt: row.received_at,
          clientTs: row.client_ts,
          visitor: row.visitor,
          payload: JSON.parse(row.payload),
          consent: receiptFromText(row.consent)
        }
        byKey.set(key, stored)
        ordered.push(stored)
        inserted.set(key, stored.seq)
      }
      const settled = settle(events, p, inserted)
      if (options?.inTransaction !== undefined) {
        yield* options
          .inTransaction(settled.accepted)
          .pipe(
            Effect.onExit((exit) =>
              Exit.isFailure(exit) ? Effect.sync(() => forget(new Set(inserted.keys()))) : Effect.void
            )
          )
      }
      return settled.result
    }).pipe(writer.withPermits(1))

  const select = (predicate: (event: SequencedEvent) => boolean, limit: number, newestFirst: boolean) => {
    const out: Array<SequencedEvent> = []
    if (newestFirst) {
      for (let i = ordered.length - 1; i >= 0 && out.length < limit; i--) {
        if (predicate(ordered[i]!)) out.push(ordered[i]!)
      }
    } else {
      for (let i = 0; i < ordered.length && out.length < limit; i++) {
        if (predicate(ordered[i]!)) out.push(ordered[i]!)
      }
    }
    return out
  }

  const inRanges = (tenant: string, ranges: ReadonlyArray<SeqRange>) => {
    const merged = mergeRanges(ranges)
    return select(
      (event) => event.tenant === tenant && merged.some(([first, last]) => event.seq >= first && event.seq <= last),
      Number.POSITIVE_INFINITY,
      false
    )
  }

  return EventStore.of({
    append,
    recent: (tenant, limit) =>
      Effect.sync(() => select((event) => event.tenant === tenant, normalizeLimit(limit), true)),
    count: (tenant) =>
      Effect.sync(() => select((event) => event.tenant === tenant, Number.POSITIVE_INFINITY, false).length),
    byVisitor: (tenant, visitor) =>
      Effect.sync(() =>
        select((event) => event.tenant === tenant && event.visitor === visitor, Number.POSITIVE_INFINITY, false)
      ),
    byVisitors: (tenant, visitors) =>
      Effect.sync(() => {
        const wanted = new Set(visitors)
        const found = select(
          (event) => event.tenant === tenant && event.visitor !== null && wanted.has(event.visitor),
          Number.POSITIVE_INFINITY,
          false
        )
        return groupByVisitor([...wanted], found)
      }),
    bySeqs: (tenant, seqs) =>
      Effect.sync(() => {
        const wanted = new Set(seqs)
        return select((event) => event.tenant === tenant && wanted.has(event.seq), Number.POSITIVE_INFINITY, false)
      }),
    bySeqRanges: (tenant, ranges, filter) =>
      Effect.sync(() =>
        inRanges(tenant, ranges).filter(
          (event) =>
            (filter?.types === undefined || filter.types.includes(event.type)) &&
            (filter?.identified !== true || (event.visitor !== null && event.visitor !== ""))
        )
      ),
    countBySeqRanges: (tenant, ranges) =>
      Effect.sync(() =>
        sumDayCounts(
          inRanges(tenant, ranges).map((event) => ({
            day: Math.floor(event.receivedAt / msPerDay),
            type: event.type,
            events: 1,
            identified: event.visitor === null ? 0 : 1
          }))
        )
      ),
    visitors: (tenant, after, limit) =>
      Effect.sync(() => {
        const keys = new Set<string>()
        for (const event of ordered) {
          if (event.tenant === tenant && event.visitor !== null && (after === undefined || event.visitor > after)) {
            keys.add(event.visitor)
          }
        }
        return [...keys].sort().slice(0, normalizeLimit(limit))
      }),
    eraseVisitor: (tenant, visitor) =>
      writer.withPermits(1)(
        Effect.sync(() => {
          const erased = new Set<string>()
          for (const event of ordered) {
            if (event.tenant === tenant && event.visitor === visitor) erased.add(eventKey(event.tenant, event.eventId))
          }
          forget(erased)
          return erased.size
        })
      )
  })
})

/**
 * An in-memory event store (nothing survives the layer), for tests of other packages.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<EventStore> = Layer.effect(EventStore, makeMemory)
