/**
 * The log record format between the event write path and the workers: per committed group and tenant, ONE event
 * log record naming the stored events by runs of `seq` (`{ stored: [[first, last], …], events: n }`), written in
 * the transaction that stores them, instead of a record per event. The jobs share each read of the log and take
 * from the event store what they need of those events (storage-sql's daily counts have the database count them,
 * the audience job reads the events of tenants that have audiences).
 *
 * Why: a record per event was a second row and a second random index entry for every pixel, in the transaction the
 * pixel waits behind, and the log's largest cost at load. A run names exactly the events stored (the single
 * writer's seqs are consecutive; where they are not, for example several PostgreSQL writers, a record holds
 * several runs), so reading it back is a range scan of the event store's primary key. The log then carries no
 * visitor key at all: an event erased before a job reached it is simply not found.
 *
 * Records of the earlier format (one per event, `{ seq, … }`) are read as a run of one, so a log written by an
 * earlier version is still applied.
 *
 * @since 0.2.0
 */
import type { LoggedRecord, LogRecord } from "./LogRecord.js"

/**
 * The partition key of these records: they are per tenant and commit, not per visitor.
 *
 * @since 0.2.0
 * @category models
 */
export const key = "stored-events"

/**
 * An inclusive run of stored `seq`s, `first <= last` (structurally the same as storage-sql's `EventStore.SeqRange`).
 *
 * @since 0.2.0
 * @category models
 */
export type SeqRange = readonly [first: number, last: number]

/**
 * A record's payload: the runs of stored `seq`s (inclusive, ascending) and how many events they name.
 *
 * @since 0.2.0
 * @category models
 */
export interface StoredPayload {
  readonly stored: ReadonlyArray<SeqRange>
  readonly events: number
}

/**
 * At most this many events in one step of a job (one record more than that is still taken whole).
 *
 * @since 0.2.0
 * @category models
 */
export const eventsPerStep = 10_000

/**
 * The log records for events stored in one transaction: one per tenant (in order of first appearance), naming
 * its events' seqs as ascending runs.
 *
 * @since 0.2.0
 * @category constructors
 */
export const toLogRecords = (
  accepted: ReadonlyArray<{ readonly tenant: string; readonly seq: number }>
): Array<LogRecord> => {
  const seqs = new Map<string, Array<number>>()
  for (const event of accepted) {
    const list = seqs.get(event.tenant)
    if (list === undefined) seqs.set(event.tenant, [event.seq])
    else list.push(event.seq)
  }
  const records: Array<LogRecord> = []
  for (const [tenant, list] of seqs) {
    const payload: StoredPayload = { stored: runsOf(list), events: list.length }
    records.push({ tenant, key, payload })
  }
  return records
}

/**
 * `seqs` (sorted here, in place) as ascending runs of consecutive seqs, each seq once. Self-contained (no imports,
 * no closure), so a writer thread can use it as it is.
 *
 * @since 0.2.0
 * @category constructors
 */
export const runsOf = (seqs: Array<number>): Array<[number, number]> => {
  seqs.sort((a, b) => a - b)
  const runs: Array<[number, number]> = []
  for (const seq of seqs) {
    const run = runs[runs.length - 1]
    if (run !== undefined && seq === run[1] + 1) run[1] = seq
    else if (run === undefined || seq > run[1]) runs.push([seq, seq])
  }
  return runs
}

const isSeq = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value > 0

/**
 * The runs of stored events a record names: those of a `stored` payload, a run of one for a record of the earlier
 * per-event format, none for anything else (membership changes, foreign records).
 *
 * @since 0.2.0
 * @category combinators
 */
export const rangesOf = (record: LoggedRecord): ReadonlyArray<SeqRange> => {
  const payload = record.payload as { readonly stored?: unknown; readonly seq?: unknown } | null
  if (payload === null || typeof payload !== "object") return []
  if (Array.isArray(payload.stored)) {
    const ranges: Array<SeqRange> = []
    for (const run of payload.stored as ReadonlyArray<unknown>) {
      if (Array.isArray(run) && run.length === 2 && isSeq(run[0]) && isSeq(run[1]) && run[0] <= run[1]) {
        ranges.push([run[0], run[1]])
      }
    }
    return ranges
  }
  return isSeq(payload.seq) ? [[payload.seq, payload.seq]] : []
}

/** How many events the runs name (an upper bound of what the store still holds). */
const sizeOf = (ranges: ReadonlyArray<SeqRange>): number => {
  let n = 0
  for (const [first, last] of ranges) n += last - first + 1
  return n
}

/**
 * A log record and the runs of stored events it names.
 *
 * @since 0.2.0
 * @category models
 */
export interface Item {
  readonly record: LoggedRecord
  readonly ranges: ReadonlyArray<SeqRange>
}

/**
 * Records taken for a step, and whether records read were left for the next step.
 *
 * @since 0.2.0
 * @category models
 */
export interface Batch {
  readonly items: ReadonlyArray<Item>
  readonly cut: boolean
}

/**
 * Takes the first of `records` (at least one) naming at most `budget` events in all. The jobs read what they need
 * of those events themselves.
 *
 * @since 0.2.0
 * @category combinators
 */
export const take = (records: ReadonlyArray<LoggedRecord>, budget = eventsPerStep): Batch => {
  const items: Array<Item> = []
  let size = 0
  for (const record of records) {
    const ranges = rangesOf(record)
    const n = sizeOf(ranges)
    if (items.length > 0 && size + n > budget) break
    items.push({ record, ranges })
    size += n
  }
  return { items, cut: items.length < records.length }
}

/**
 * The ranges of `items`, per tenant (tenants in order of first appearance).
 *
 * @since 0.2.0
 * @category combinators
 */
export const byTenant = (items: ReadonlyArray<Item>): Map<string, Array<SeqRange>> => {
  const tenants = new Map<string, Array<SeqRange>>()
  for (const { record, ranges } of items) {
    if (ranges.length === 0) continue
    const list = tenants.get(record.tenant)
    if (list === undefined) tenants.set(record.tenant, [...ranges])
    else list.push(...ranges)
  }
  return tenants
}

/**
 * How much a step did, for a runner's pacing: the events (as named) and records it applied, and at least
 * `eventsPerStep` when more records may be waiting (the batch was cut, or the read returned all `max` it asked for).
 *
 * @since 0.2.0
 * @category combinators
 */
export const workOf = (batch: Batch, read: number, max: number): number => {
  let work = 0
  for (const item of batch.items) work += Math.max(1, sizeOf(item.ranges))
  return batch.cut || read >= max ? Math.max(work, eventsPerStep) : work
}
