/**
 * The worker's audience job: keeps every visitor's audience memberships current.
 *
 * - Edits: when a tenant's audience revision (AudienceStore) differs from the one applied here, the active
 *   audiences are compiled into a new `Program` and every visitor is carried over to it: `Program.migrate` when
 *   the old state holds all the history the new program needs, otherwise a rebuild from the visitor's stored
 *   events (`Batch.rebuild`), then `Evaluator.refresh` for the membership changes. Deleted audiences lose their
 *   memberships. Progress is kept in `audience_programs` (what the admin API shows) and the backfill resumes after
 *   a crash: visitors already on the new program are skipped.
 * - Events: the event log's records name stored events by runs of `seq` (see `StoredEvents`); the job reads them
 *   from the event store (for tenants with audiences only) and applies them through `Pipeline.ingestAll` (one
 *   read and one commit per visitor and step; only events whose stored decision allows personalization count), in
 *   one transaction with its log position, so redelivery never applies an event twice.
 * - Time: `Pipeline.sweep` advances visitors whose windows slide or memberships expire, at the `Clock`'s time.
 *
 * Every change (entered, updated, exited) is emitted to the SQL event log as a membership record (see
 * `toLogRecord`), in the transaction that makes it, and entries and exits are counted per audience and UTC day
 * (`audience_daily`) for the statistics.
 * Edits are applied before the log is read further, so a backfill sees exactly the events up to the highest
 * `seq` applied so far and the log supplies the rest: nothing is counted twice or missed.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import {
  type AudienceRule,
  Batch,
  Evaluator,
  type Membership,
  MembershipStore,
  Pipeline,
  Program,
  VisitorEvent,
  VisitorState
} from "@openaudience/audience"
import { SqlEventLog, StoredEvents } from "@openaudience/eventlog"
import { AudienceStore, EventStore, Migrations } from "@openaudience/storage-sql"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { applyThenCommit, readAndApply, unseen } from "./DailyCounts.js"

/** The consumer name this job commits its offsets under. */
export const consumer = "worker/audiences"

export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "audience_worker",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE audience_programs (
        tenant TEXT PRIMARY KEY,
        revision ${int64} NOT NULL,
        definitions TEXT NOT NULL,
        sync TEXT NOT NULL,
        target_revision ${int64} NOT NULL,
        processed ${int64} NOT NULL,
        total ${int64} NOT NULL,
        error TEXT,
        updated_at ${int64} NOT NULL
      )`
      yield* sql`CREATE TABLE audience_daily (
        tenant TEXT NOT NULL,
        audience_id TEXT NOT NULL,
        day TEXT NOT NULL,
        entered ${int64} NOT NULL,
        exited ${int64} NOT NULL,
        PRIMARY KEY (tenant, audience_id, day)
      )`
      yield* sql`CREATE TABLE audience_worker (
        consumer TEXT PRIMARY KEY,
        position ${int64} NOT NULL,
        high_seq ${int64} NOT NULL
      )`
    })
  }
]

export const migrate = Migrations.run({ table: "worker_audience_migrations", migrations })

const Definitions = Schema.parseJson(Schema.Array(Schema.Struct({ id: Schema.String, rule: Schema.Unknown })))

interface Applied {
  readonly revision: number
  readonly program: Program.Program
}

/** Compiled programs per tenant, as applied (the table is the truth; this saves recompiling). */
const cache = new WeakMap<SqlClient.SqlClient, Map<string, Applied>>()

/** The program of a tenant without active audiences (no audience, so nothing can fail to compile). */
const emptyProgram = Either.getOrThrow(Program.makeEither([]))

/** The program the worker has applied for a tenant (empty before the first audience), with its revision. */
export const applied = (tenant: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    let programs = cache.get(sql)
    if (programs === undefined) {
      programs = new Map()
      cache.set(sql, programs)
    }
    const hit = programs.get(tenant)
    const rows = yield* sql<{ readonly revision: number | string; readonly definitions: string }>`
      SELECT revision, definitions FROM audience_programs WHERE tenant = ${tenant}`
    const row = rows[0]
    if (row === undefined) return { revision: 0, program: emptyProgram }
    if (hit !== undefined && hit.revision === Number(row.revision)) return hit
    const definitions = yield* Schema.decode(Definitions)(row.definitions).pipe(Effect.orDie)
    const program = yield* Program.make(
      definitions.map((d) => ({ id: d.id, rule: d.rule as AudienceRule.AudienceRule }))
    ).pipe(Effect.orDie)
    const fresh = { revision: Number(row.revision), program }
    programs.set(tenant, fresh)
    return fresh
  })

const day = (at: number) => new Date(at).toISOString().slice(0, 10)

/**
 * The log record of a membership change, emitted for other consumers (an ad server's cache, exports): keyed by
 * visitor like the visitor's events. It carries no `seq`, so event consumers pass over it.
 */
export const toLogRecord = (tenant: string, visitor: string, change: Membership.Change) => {
  const { _tag, ...fields } = change
  return { tenant, key: visitor, payload: { membership: _tag, visitor, ...fields } }
}

/**
 * Records a visitor's membership changes: emitted to the SQL event log (in the caller's transaction) and added to
 * the per-day entries and exits of each audience.
 */
const recordChanges = (tenant: string, visitor: string, changes: ReadonlyArray<Membership.Change>) =>
  Effect.gen(function* () {
    if (changes.length === 0) return
    const sql = yield* SqlClient.SqlClient
    yield* SqlEventLog.appendInTransaction(changes.map((change) => toLogRecord(tenant, visitor, change)))
    const counts = new Map<string, { audience_id: string; day: string; entered: number; exited: number }>()
    for (const change of changes) {
      if (change._tag === "Updated") continue
      const key = `${change.audienceId}\u0000${day(change.at)}`
      const c = counts.get(key) ?? { audience_id: change.audienceId, day: day(change.at), entered: 0, exited: 0 }
      if (change._tag === "Entered") c.entered++
      else c.exited++
      counts.set(key, c)
    }
    for (const c of counts.values()) {
      yield* sql`INSERT INTO audience_daily ${sql.insert({ tenant, ...c })}
        ON CONFLICT (tenant, audience_id, day) DO UPDATE SET
          entered = audience_daily.entered + excluded.entered, exited = audience_daily.exited + excluded.exited`
    }
  })

const saveProgress = (tenant: string, fields: { sync: string; processed: number; total: number; target: number }) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const now = yield* Clock.currentTimeMillis
    yield* sql`UPDATE audience_programs SET sync = ${fields.sync}, processed = ${fields.processed},
      total = ${fields.total}, target_revision = ${fields.target}, error = NULL, updated_at = ${now}
      WHERE tenant = ${tenant}`
  })

/** Visitors per page of a backfill. */
const page = 200

/** Carries one visitor from `from` to `to`, rebuilding from `events` when the migration is incomplete. */
const carryOver = (
  tenant: string,
  visitor: string,
  from: Program.Program,
  to: Program.Program,
  events: ReadonlyArray<VisitorEvent.VisitorEvent>,
  now: number
) =>
  Effect.gen(function* () {
    const store = yield* MembershipStore.MembershipStore
    const stored = yield* store.loadState(tenant, visitor)
    let previous: VisitorState.VisitorState | undefined
    let complete = false
    if (Option.isSome(stored)) {
      const state = yield* VisitorState.fromBytes(stored.value)
      const fingerprint = VisitorState.fingerprint(state)
      // Already carried over (a backfill interrupted by a crash resumes): only telling when the layouts differ.
      if (to.fingerprint !== from.fingerprint && fingerprint === to.fingerprint) return []
      if (fingerprint === from.fingerprint || fingerprint === 0) {
        const migration = Program.migrate(from, to, state)
        previous = migration.state
        complete = migration.complete
      }
    }
    const state =
      complete && previous !== undefined
        ? previous
        : Batch.rebuild(to, events.filter(VisitorEvent.counts), now, previous)
    const changes = Evaluator.refresh(to, state, now)
    yield* store.commit(tenant, visitor, {
      state: VisitorState.isEmpty(state) ? null : VisitorState.toBytes(state),
      nextCheckAt: Evaluator.nextCheckAt(to, state, now) ?? null,
      changes
    })
    return changes
  })

/**
 * Applies the tenant's current audiences if they changed since the last time: compiles them, drops deleted
 * audiences' memberships and carries every visitor over (see the module docs). Returns whether anything was done.
 */
export const applyEdits = (tenant: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const audiences = yield* AudienceStore.AudienceStore
    const events = yield* EventStore.EventStore
    const members = yield* MembershipStore.MembershipStore
    const target = yield* audiences.revision(tenant)
    const current = yield* applied(tenant)
    if (current.revision === target) return false
    const stored = yield* audiences.list(tenant)
    const definitions = stored.filter((a) => a.status === "active").map((a) => ({ id: a.id, rule: a.rule }))
    const compiled = Program.makeEither(definitions)
    const now = yield* Clock.currentTimeMillis
    if (compiled._tag === "Left") {
      // The admin API validates rules, so this means limits changed under stored audiences: keep the old program.
      yield* Effect.logError(`audiences of tenant ${tenant} do not compile: ${compiled.left.message}`)
      yield* sql`UPDATE audience_programs SET error = ${compiled.left.message}, updated_at = ${now} WHERE tenant = ${tenant}`
      return false
    }
    const to = compiled.right
    const from = current.program
    const total = yield* events.count(tenant)
    yield* sql`INSERT INTO audience_programs ${sql.insert({
      tenant,
      revision: current.revision,
      definitions: JSON.stringify(from.audiences),
      sync: "backfilling",
      target_revision: target,
      processed: 0,
      total,
      error: null,
      updated_at: now
    })} ON CONFLICT (tenant) DO UPDATE SET sync = excluded.sync, target_revision = excluded.target_revision,
      processed = 0, total = excluded.total, error = NULL, updated_at = excluded.updated_at`
    const kept = new Set(to.audiences.map((a) => a.id))
    for (const a of from.audiences) if (!kept.has(a.id)) yield* members.dropAudience(tenant, a.id)
    if (JSON.stringify(to.audiences) !== JSON.stringify(from.audiences)) {
      const highSeq = yield* highestSeq
      let processed = 0
      // Every visitor with stored events (rebuilt as needed)…
      let after: string | undefined
      for (;;) {
        const visitors: ReadonlyArray<string> = yield* events.visitors(tenant, after, page)
        if (visitors.length === 0) break
        const history = yield* events.byVisitors(tenant, visitors)
        const byVisitor = new Map<string, Array<VisitorEvent.VisitorEvent>>()
        for (const event of history) {
          if (event.seq > highSeq) continue // not applied from the log yet: the log will bring it
          const list = byVisitor.get(event.visitor!) ?? []
          list.push(event)
          byVisitor.set(event.visitor!, list)
        }
        yield* sql.withTransaction(
          Effect.forEach(
            visitors,
            (visitor) =>
              Effect.flatMap(carryOver(tenant, visitor, from, to, byVisitor.get(visitor) ?? [], now), (changes) =>
                recordChanges(tenant, visitor, changes)
              ),
            { discard: true }
          )
        )
        processed += history.length
        after = visitors[visitors.length - 1]
        yield* saveProgress(tenant, { sync: "backfilling", processed, total, target })
      }
      // …and any stored state without events left (carried over as it is).
      after = undefined
      for (;;) {
        const visitors: ReadonlyArray<string> = yield* members.visitors(tenant, after, page)
        if (visitors.length === 0) break
        yield* sql.withTransaction(
          Effect.forEach(
            visitors,
            (visitor) =>
              Effect.flatMap(carryOver(tenant, visitor, from, to, [], now), (changes) =>
                recordChanges(tenant, visitor, changes)
              ),
            { discard: true }
          )
        )
        after = visitors[visitors.length - 1]
      }
    }
    const finished = yield* Clock.currentTimeMillis
    yield* sql`UPDATE audience_programs SET revision = ${target}, definitions = ${JSON.stringify(to.audiences)},
      sync = ${"ready"}, target_revision = ${target}, processed = total, error = NULL, updated_at = ${finished}
      WHERE tenant = ${tenant}`
    yield* Effect.logInfo(`audiences of tenant ${tenant} applied (revision ${target}, ${to.audiences.length} active)`)
    return true
  })

const highestSeq = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly high_seq: number | string }>`
    SELECT high_seq FROM audience_worker WHERE consumer = ${consumer}`
  return Number(rows[0]?.high_seq ?? 0)
})

/** Applies the next batch of the event log, if any; returns how many records it read. */
export const ingest = (max = 500) => readAndApply(consumer, max, apply)

/**
 * Applies records read from the log after this job's committed offset (by `ingest`, or by a read shared with the
 * daily-counts job, see `Worker`), then commits past them. Edits must have been applied first (`applyAllEdits`).
 */
export const apply = (items: ReadonlyArray<StoredEvents.Item>) =>
  applyThenCommit(
    consumer,
    items,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const store = yield* EventStore.EventStore
      const rows = yield* sql<{ readonly position: number | string; readonly high_seq: number | string }>`
          SELECT position, high_seq FROM audience_worker WHERE consumer = ${consumer}`
      const { fresh, high } = unseen(items, Number(rows[0]?.position ?? 0))
      let highSeq = Number(rows[0]?.high_seq ?? 0)
      for (const { ranges } of fresh) for (const [, last] of ranges) highSeq = Math.max(highSeq, last)
      for (const [tenant, ranges] of StoredEvents.byTenant(fresh)) {
        const { program } = yield* applied(tenant)
        if (program.audiences.length === 0) continue
        const events = yield* store.bySeqRanges(tenant, ranges)
        for (const [visitor, changes] of yield* Pipeline.ingestAll(tenant, program, events)) {
          yield* recordChanges(tenant, visitor, changes)
        }
      }
      yield* sql`INSERT INTO audience_worker ${sql.insert({ consumer, position: high, high_seq: highSeq })}
          ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, high_seq = excluded.high_seq`
    })
  )

/** Advances every tenant's visitors that are due at the `Clock`'s time; returns how many visitors were advanced. */
export const sweep = (limit = 1_000) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tenants = yield* sql<{ readonly tenant: string }>`SELECT tenant FROM audience_programs ORDER BY tenant`
    let advanced = 0
    for (const { tenant } of tenants) {
      const { program } = yield* applied(tenant)
      for (;;) {
        const changed = yield* sql.withTransaction(
          Effect.gen(function* () {
            const changes = yield* Pipeline.sweep(tenant, program, limit)
            for (const [visitor, list] of changes) yield* recordChanges(tenant, visitor, list)
            return changes.size
          })
        )
        advanced += changed
        if (changed < limit) break
      }
    }
    return advanced
  })

/** Applies every tenant's pending audience edits; returns how many tenants had some. */
export const applyAllEdits = Effect.gen(function* () {
  const audiences = yield* AudienceStore.AudienceStore
  let work = 0
  for (const { tenant } of yield* audiences.revisions) if (yield* applyEdits(tenant)) work++
  return work
})

/** One round of the job: edits first, then a batch of the log, then the visitors due. Returns the work done. */
export const step = (max = 500) =>
  Effect.gen(function* () {
    let work = yield* applyAllEdits
    work += yield* ingest(max)
    work += yield* sweep()
    return work
  })

/** What the admin API shows about a tenant's audience processing. */
export interface SyncStatus {
  /** The audience revision the worker has applied. */
  readonly revision: number
  /** `ready`, or `backfilling` while carrying visitors over to `targetRevision`. */
  readonly sync: "ready" | "backfilling"
  readonly targetRevision: number
  /** Events replayed so far out of `total` (the tenant's stored events when the backfill started). */
  readonly processed: number
  readonly total: number
  /** Why the last edit could not be applied, if it could not. */
  readonly error: string | null
  readonly updatedAt: number
}

/** The tenant's sync status, or none before the worker first applied its audiences. */
export const status = (tenant: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{
      revision: number | string
      sync: string
      target_revision: number | string
      processed: number | string
      total: number | string
      error: string | null
      updated_at: number | string
    }>`SELECT revision, sync, target_revision, processed, total, error, updated_at
      FROM audience_programs WHERE tenant = ${tenant}`
    const row = rows[0]
    if (row === undefined) return Option.none<SyncStatus>()
    return Option.some<SyncStatus>({
      revision: Number(row.revision),
      sync: row.sync === "backfilling" ? "backfilling" : "ready",
      targetRevision: Number(row.target_revision),
      processed: Number(row.processed),
      total: Number(row.total),
      error: row.error,
      updatedAt: Number(row.updated_at)
    })
  })

export interface DailyChanges {
  readonly day: string
  readonly entered: number
  readonly exited: number
}

/** An audience's entries and exits per UTC day since `since` (a `YYYY-MM-DD` date), newest first. */
export const daily = (tenant: string, audienceId: string, since: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ day: string; entered: number | string; exited: number | string }>`
      SELECT day, entered, exited FROM audience_daily
      WHERE tenant = ${tenant} AND audience_id = ${audienceId} AND day >= ${since} ORDER BY day DESC`
    return rows.map((r): DailyChanges => ({ day: r.day, entered: Number(r.entered), exited: Number(r.exited) }))
  })
