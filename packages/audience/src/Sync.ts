/**
 * The audience job: keeps every visitor's memberships current as audiences are edited, events arrive and time
 * passes, over four ports: `SyncSource` (definitions and stored events), `SyncStore` (what was applied, backfill
 * progress, the stream cursor, per-day counts, the unit of work), `ChangeSink` (changes for other consumers) and
 * `MembershipStore`.
 *
 * - Edits (`applyEdits`): when a tenant's revision differs from the one applied, its active audiences are compiled
 *   into a new `Program` and every visitor is carried over: `Program.migrate` when the old state holds all the
 *   history the new program needs, otherwise a rebuild from the visitor's stored events (`Batch.rebuild`), then
 *   `Evaluator.refresh` for the membership changes. Deleted audiences lose their memberships. Progress is recorded
 *   page by page; a backfill interrupted by a crash resumes, skipping visitors already on the new program.
 * - Events (`ingest`): deliveries name stored events by runs of `seq`, each with its position in the stream; those
 *   at or below the recorded position are repeats and skipped, the rest are read (for tenants with audiences only)
 *   and applied through `Pipeline.ingestAll`, and the new position recorded, in one unit of work: redelivery never
 *   applies an event twice.
 * - Time (`sweep`): visitors whose windows slide or memberships expire are advanced at the `Clock`'s time.
 *
 * Every change is sent to the `ChangeSink` in the unit of work that makes it, and entries and exits are counted per
 * audience and UTC day. Apply edits before ingesting further: a backfill replays exactly the events up to the highest
 * `seq` ingested so far and the stream supplies the rest, so nothing is counted twice or missed.
 *
 * @since 0.3.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Batch from "./Batch.js"
import { ChangeSink, type ChangeSinkError } from "./ChangeSink.js"
import * as Evaluator from "./Evaluator.js"
import type * as Membership from "./Membership.js"
import { MembershipStore, type MembershipStoreError } from "./MembershipStore.js"
import * as Pipeline from "./Pipeline.js"
import * as Program from "./Program.js"
import { pieces } from "./internal/seqRanges.js"
import { type SeqRange, SyncSource, type SyncSourceError } from "./SyncSource.js"
import { SyncStore, SyncStoreError, type SyncStatus, type DailyChanges } from "./SyncStore.js"
import * as VisitorEvent from "./VisitorEvent.js"
import * as VisitorState from "./VisitorState.js"

/**
 * What the job's effects fail with: a port's failure, or a stored visitor state that cannot be read.
 *
 * @since 0.3.0
 * @category errors
 */
export type SyncError =
  | SyncSourceError
  | SyncStoreError
  | ChangeSinkError
  | MembershipStoreError
  | VisitorState.VisitorStateError
  | Pipeline.StaleStateError

/**
 * The ports the job runs over.
 *
 * @since 0.3.0
 * @category models
 */
export type Ports = SyncSource | SyncStore | ChangeSink | MembershipStore

/**
 * The program applied for a tenant, with its revision.
 *
 * @since 0.3.0
 * @category models
 */
export interface Applied {
  readonly revision: number
  readonly program: Program.Program
}

/** Compiled programs per store and tenant, as applied (the store is the truth; this saves recompiling). */
const cache = new WeakMap<object, Map<string, Applied>>()

/** The program of a tenant without active audiences (no audience, so nothing can fail to compile). */
const emptyProgram = Either.getOrThrow(Program.makeEither([]))

/**
 * The program applied for a tenant (empty, revision 0, before the first edit), compiled once per revision.
 *
 * @since 0.3.0
 * @category combinators
 */
export const applied = (tenant: string): Effect.Effect<Applied, SyncStoreError, SyncStore> =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    let programs = cache.get(store)
    if (programs === undefined) {
      programs = new Map()
      cache.set(store, programs)
    }
    const row = yield* store.applied(tenant)
    if (Option.isNone(row)) return { revision: 0, program: emptyProgram }
    const hit = programs.get(tenant)
    if (hit !== undefined && hit.revision === row.value.revision) return hit
    const compiled = Program.makeEither(row.value.audiences)
    if (Either.isLeft(compiled)) {
      return yield* new SyncStoreError({
        message: `the applied audiences of tenant ${tenant} no longer compile: ${compiled.left.message}`
      })
    }
    const fresh = { revision: row.value.revision, program: compiled.right }
    programs.set(tenant, fresh)
    return fresh
  })

const day = (at: number) => new Date(at).toISOString().slice(0, 10)

/**
 * Entries and exits among `changes`, per audience and UTC day (updates are not counted).
 *
 * @since 0.3.0
 * @category combinators
 */
export const dailyCounts = (
  changes: ReadonlyArray<Membership.Change>
): Array<DailyChanges & { readonly audienceId: string }> => {
  const counts = new Map<string, { audienceId: string; day: string; entered: number; exited: number }>()
  for (const change of changes) {
    if (change._tag === "Updated") continue
    const key = `${change.audienceId}\u0000${day(change.at)}`
    const c = counts.get(key) ?? { audienceId: change.audienceId, day: day(change.at), entered: 0, exited: 0 }
    if (change._tag === "Entered") c.entered++
    else c.exited++
    counts.set(key, c)
  }
  return [...counts.values()]
}

/** Records a visitor's changes: sent to the sink and added to the per-day counts, in the caller's unit of work. */
const recordChanges = (tenant: string, visitor: string, changes: ReadonlyArray<Membership.Change>) =>
  recordAll(tenant, [[visitor, changes]])

/**
 * Records the changes of many visitors (`recordChanges` for each): one write to the sink where it takes batches
 * (`emitAll`), and the per-day counts summed into one `addDaily`.
 */
const recordAll = (
  tenant: string,
  changes: Iterable<readonly [visitor: string, changes: ReadonlyArray<Membership.Change>]>
) =>
  Effect.gen(function* () {
    const batch: Array<readonly [string, ReadonlyArray<Membership.Change>]> = []
    const all: Array<Membership.Change> = []
    for (const entry of changes) {
      if (entry[1].length === 0) continue
      batch.push(entry)
      for (const change of entry[1]) all.push(change)
    }
    if (batch.length === 0) return
    const sink = yield* ChangeSink
    if (sink.emitAll !== undefined) yield* sink.emitAll(tenant, batch)
    else for (const [visitor, list] of batch) yield* sink.emit(tenant, visitor, list)
    yield* Effect.flatMap(SyncStore, (store) => store.addDaily(tenant, dailyCounts(all)))
  })

/** Visitors per page of a backfill (one unit of work each). */
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
    const store = yield* MembershipStore
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
        : Batch.rebuild(to, events.filter(VisitorEvent.matters), now, previous)
    const changes = Evaluator.refresh(to, state, now)
    yield* store.commit(tenant, visitor, {
      state: VisitorState.isEmpty(state) ? null : VisitorState.toBytes(state),
      nextCheckAt: Evaluator.nextCheckAt(to, state, now) ?? null,
      changes
    })
    return changes
  })

/** Carries a page of visitors over in one unit of work. */
const carryPage = (
  tenant: string,
  visitors: ReadonlyArray<string>,
  from: Program.Program,
  to: Program.Program,
  events: ReadonlyMap<string, ReadonlyArray<VisitorEvent.VisitorEvent>>,
  now: number
) =>
  Effect.flatMap(SyncStore, (store) =>
    store.transaction(
      Effect.forEach(
        visitors,
        (visitor) =>
          Effect.flatMap(carryOver(tenant, visitor, from, to, events.get(visitor) ?? [], now), (changes) =>
            recordChanges(tenant, visitor, changes)
          ),
        { discard: true }
      )
    )
  )

/**
 * Applies the tenant's current audiences if they changed since the last time: compiles them, drops deleted
 * audiences' memberships and carries every visitor over (see the module docs). Audiences that do not compile (the
 * limits changed under stored audiences) leave the applied program in place and are reported in the status.
 * Returns whether anything was done.
 *
 * @since 0.3.0
 * @category combinators
 */
export const applyEdits = (tenant: string): Effect.Effect<boolean, SyncError, Ports> =>
  Effect.gen(function* () {
    const source = yield* SyncSource
    const store = yield* SyncStore
    const members = yield* MembershipStore
    const target = yield* source.revision(tenant)
    const current = yield* applied(tenant)
    if (current.revision === target) return false
    const compiled = Program.makeEither(yield* source.audiences(tenant))
    const now = yield* Clock.currentTimeMillis
    if (Either.isLeft(compiled)) {
      yield* Effect.logError(`audiences of tenant ${tenant} do not compile: ${compiled.left.message}`)
      yield* store.fail(tenant, compiled.left.message, now)
      return false
    }
    const to = compiled.right
    const from = current.program
    const total = yield* source.count(tenant)
    yield* store.begin(tenant, {
      applied: { revision: current.revision, audiences: from.audiences },
      targetRevision: target,
      total,
      at: now
    })
    const kept = new Set(to.audiences.map((a) => a.id))
    for (const a of from.audiences) if (!kept.has(a.id)) yield* members.dropAudience(tenant, a.id)
    if (JSON.stringify(to.audiences) !== JSON.stringify(from.audiences)) {
      const { highSeq } = yield* store.cursor
      let processed = 0
      // Every visitor with stored events (rebuilt as needed)…
      let after: string | undefined
      for (;;) {
        const visitors: ReadonlyArray<string> = yield* source.visitors(tenant, after, page)
        if (visitors.length === 0) break
        const history = yield* source.byVisitors(tenant, visitors)
        const byVisitor = new Map<string, Array<VisitorEvent.VisitorEvent>>()
        for (const event of history) {
          if (event.seq > highSeq || event.visitor === null) continue // not ingested yet: the stream will bring it
          const list = byVisitor.get(event.visitor) ?? []
          list.push(event)
          byVisitor.set(event.visitor, list)
        }
        yield* carryPage(tenant, visitors, from, to, byVisitor, now)
        processed += history.length
        after = visitors[visitors.length - 1]
        yield* store.progress(tenant, { processed, total, targetRevision: target, at: yield* Clock.currentTimeMillis })
      }
      // …and any stored state without events left (carried over as it is).
      after = undefined
      for (;;) {
        const visitors: ReadonlyArray<string> = yield* members.visitors(tenant, after, page)
        if (visitors.length === 0) break
        yield* carryPage(tenant, visitors, from, to, new Map(), now)
        after = visitors[visitors.length - 1]
      }
    }
    yield* store.finish(tenant, { revision: target, audiences: to.audiences }, yield* Clock.currentTimeMillis)
    yield* Effect.logInfo(`audiences of tenant ${tenant} applied (revision ${target}, ${to.audiences.length} active)`)
    return true
  })

/**
 * Applies every tenant's pending audience edits; returns how many tenants had some.
 *
 * @since 0.3.0
 * @category combinators
 */
export const applyAllEdits: Effect.Effect<number, SyncError, Ports> = Effect.gen(function* () {
  const source = yield* SyncSource
  let work = 0
  for (const { tenant } of yield* source.revisions) if (yield* applyEdits(tenant)) work++
  return work
})

/**
 * Stored events delivered by the event stream: the position of the record naming them (positions only grow along
 * the stream), their tenant and their runs of `seq` (none for records that name no stored events).
 *
 * @since 0.3.0
 * @category models
 */
export interface Delivery {
  readonly position: number
  readonly tenant: string
  readonly ranges: ReadonlyArray<SeqRange>
}

/** Seqs read and applied at a time by `ingest`. */
const seqsPerRead = 1_000

/**
 * Applies deliveries in one unit of work: those at or below the recorded position are repeats and skipped; the
 * others' events are read (tenants with audiences only) and applied through `Pipeline.ingestAll`, their changes
 * recorded, and the new position and highest `seq` saved. Apply pending edits first (`applyAllEdits`).
 *
 * @since 0.3.0
 * @category combinators
 */
export const ingest = (deliveries: ReadonlyArray<Delivery>): Effect.Effect<void, SyncError, Ports> =>
  Effect.gen(function* () {
    if (deliveries.length === 0) return
    const store = yield* SyncStore
    const source = yield* SyncSource
    yield* store.transaction(
      Effect.gen(function* () {
        let { highSeq, position } = yield* store.cursor
        const tenants = new Map<string, Array<SeqRange>>()
        for (const delivery of deliveries) {
          if (delivery.position <= position) continue
          position = delivery.position
          if (delivery.ranges.length === 0) continue
          for (const [, last] of delivery.ranges) highSeq = Math.max(highSeq, last)
          const list = tenants.get(delivery.tenant)
          if (list === undefined) tenants.set(delivery.tenant, [...delivery.ranges])
          else list.push(...delivery.ranges)
        }
        for (const [tenant, ranges] of tenants) {
          const { program } = yield* applied(tenant)
          if (program.audiences.length === 0) continue
          // A read at a time, each applied before the next is read: a step may name ten thousand events, which held
          // in memory at once outlived the worker's young-generation collections (copied, then promoted). Applying
          // the pieces one after another in the transaction leaves the same states as applying them all at once.
          for (const piece of pieces(ranges, seqsPerRead)) {
            const events = yield* source.bySeqRanges(tenant, piece)
            yield* recordAll(tenant, yield* Pipeline.ingestAll(tenant, program, events))
          }
        }
        yield* store.saveCursor({ position, highSeq })
      })
    )
  })

/**
 * Advances every tenant's visitors that are due at the `Clock`'s time, `limit` visitors per unit of work; returns
 * how many visitors were advanced.
 *
 * @since 0.3.0
 * @category combinators
 */
export const sweep = (limit = 1_000): Effect.Effect<number, SyncError, Ports> =>
  Effect.gen(function* () {
    const store = yield* SyncStore
    let advanced = 0
    for (const tenant of yield* store.tenants) {
      const { program } = yield* applied(tenant)
      for (;;) {
        const changed = yield* store.transaction(
          Effect.gen(function* () {
            const changes = yield* Pipeline.sweep(tenant, program, limit)
            yield* recordAll(tenant, changes)
            return changes.size
          })
        )
        advanced += changed
        if (changed < limit) break
      }
    }
    return advanced
  })

/**
 * Where the job stands with a tenant's audiences, or none before it first applied them.
 *
 * @since 0.3.0
 * @category combinators
 */
export const status = (tenant: string): Effect.Effect<Option.Option<SyncStatus>, SyncStoreError, SyncStore> =>
  Effect.flatMap(SyncStore, (store) => store.status(tenant))

/**
 * An audience's entries and exits per UTC day since `since` (a `YYYY-MM-DD` date), newest first.
 *
 * @since 0.3.0
 * @category combinators
 */
export const daily = (
  tenant: string,
  audienceId: string,
  since: string
): Effect.Effect<ReadonlyArray<DailyChanges>, SyncStoreError, SyncStore> =>
  Effect.flatMap(SyncStore, (store) => store.daily(tenant, audienceId, since))
