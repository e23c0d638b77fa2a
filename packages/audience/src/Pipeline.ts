/**
 * The evaluator wired to the `MembershipStore`, one visitor at a time: what a worker runs per event from the
 * event log (`ingest`) and on a timer (`sweep`, for windows sliding and memberships expiring at midnight UTC).
 * Each step loads the visitor's state, applies the pure `Evaluator` function and commits the new state, the
 * next time to check it and the membership changes together. Time comes from `Clock`.
 *
 * `Sync` runs these steps as a job (edits and backfills, the event stream, the sweep) over its ports.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Evaluator from "./Evaluator.js"
import type * as Membership from "./Membership.js"
import { type Commit, MembershipStore, type MembershipStoreError, type VisitorCommit } from "./MembershipStore.js"
import { countingByVisitor } from "./internal/byVisitor.js"
import type { Program } from "./Program.js"
import { matters, type VisitorEvent } from "./VisitorEvent.js"
import * as VisitorState from "./VisitorState.js"

/**
 * A stored state belongs to another program than the one given: the visitor must be migrated first.
 *
 * @since 0.1.0
 * @category errors
 */
export class StaleStateError extends Schema.TaggedError<StaleStateError>()("StaleStateError", {
  visitor: Schema.String,
  message: Schema.String
}) {}

/** A visitor's stored state decoded for `program` (a fresh state when none is stored). */
const decodeFor = (visitor: string, stored: Uint8Array | undefined, program: Program) =>
  Effect.gen(function* () {
    if (stored === undefined) return VisitorState.make()
    const state = yield* VisitorState.fromBytes(stored)
    const fingerprint = VisitorState.fingerprint(state)
    if (fingerprint !== 0 && fingerprint !== program.fingerprint) {
      return yield* new StaleStateError({
        visitor,
        message: `the state of visitor ${visitor} was built for another audience program: migrate it first`
      })
    }
    return state
  })

const load = (tenant: string, visitor: string, program: Program) =>
  Effect.flatMap(MembershipStore, (store) =>
    Effect.flatMap(store.loadState(tenant, visitor), (stored) =>
      decodeFor(visitor, Option.getOrUndefined(stored), program)
    )
  )

/** What `save` commits: the state (none when empty), when to advance it next, the changes. */
const commitOf = (
  program: Program,
  state: VisitorState.VisitorState,
  changes: ReadonlyArray<Membership.Change>,
  now: number
): Commit => ({
  state: VisitorState.isEmpty(state) ? null : VisitorState.toBytes(state),
  nextCheckAt: Evaluator.nextCheckAt(program, state, now) ?? null,
  changes
})

const save = (
  tenant: string,
  visitor: string,
  program: Program,
  state: VisitorState.VisitorState,
  changes: ReadonlyArray<Membership.Change>,
  now: number
) => Effect.flatMap(MembershipStore, (store) => store.commit(tenant, visitor, commitOf(program, state, changes, now)))

/**
 * Applies one stored event to its visitor (events not allowed to personalize are skipped) and commits the
 * result; returns the membership changes.
 *
 * @since 0.1.0
 * @category pipeline
 */
export const ingest = (
  tenant: string,
  program: Program,
  event: VisitorEvent
): Effect.Effect<
  ReadonlyArray<Membership.Change>,
  MembershipStoreError | VisitorState.VisitorStateError | StaleStateError,
  MembershipStore
> =>
  Effect.gen(function* () {
    if (!matters(event)) return []
    const visitor = event.visitor!
    const state = yield* load(tenant, visitor, program)
    const changes = Evaluator.update(program, state, event)
    yield* save(tenant, visitor, program, state, changes, event.receivedAt)
    return changes
  })

/**
 * The membership changes of a step, per visitor.
 *
 * @since 0.2.0
 * @category models
 */
export type ChangesPerVisitor = Effect.Effect<
  ReadonlyMap<string, ReadonlyArray<Membership.Change>>,
  MembershipStoreError | VisitorState.VisitorStateError | StaleStateError,
  MembershipStore
>

/**
 * Drops each `Updated` that a later `Updated` of the same audience supersedes with no `Entered` or `Exited` of that
 * audience between them (an update carries the whole expiry and product list, so the last one is what counts); the
 * kept update takes the place of the first one it replaced. Other changes keep their order.
 *
 * @since 0.2.0
 * @category pipeline
 */
export const coalesce = (changes: ReadonlyArray<Membership.Change>): Array<Membership.Change> => {
  const out: Array<Membership.Change> = []
  const pending = new Map<string, number>()
  for (const change of changes) {
    if (change._tag === "Updated") {
      const at = pending.get(change.audienceId)
      if (at !== undefined) {
        out[at] = change
        continue
      }
      pending.set(change.audienceId, out.length)
    } else {
      pending.delete(change.audienceId)
    }
    out.push(change)
  }
  return out
}

/**
 * Applies a batch of stored events (those not allowed to personalize are skipped), one commit per visitor: each
 * visitor's events in the order given on one read of its state, then its new state, next check and changes in one
 * commit. The stored result is what `ingest` event by event leaves; the changes per visitor are the ones `ingest`
 * would return in sequence, `coalesce`d. What a worker applying the event log in steps uses: a visitor with several
 * events in a step costs one read and one write.
 *
 * @since 0.2.0
 * @category pipeline
 */
export const ingestAll = (tenant: string, program: Program, events: Iterable<VisitorEvent>): ChangesPerVisitor => {
  const byVisitor = countingByVisitor(events)
  return stepAll(tenant, program, [...byVisitor.keys()], (visitor, loaded) => {
    const list = byVisitor.get(visitor)!
    let state = loaded
    const changes: Array<Membership.Change> = []
    for (const event of list) {
      // An empty state is not kept (see `save`): start the next event afresh, as `ingest` would after reloading.
      if (VisitorState.isEmpty(state)) state = VisitorState.make()
      for (const change of Evaluator.update(program, state, event)) changes.push(change)
    }
    return { state, changes: coalesce(changes), now: list[list.length - 1]!.receivedAt }
  })
}

/**
 * Steps distinct visitors: each one's state is loaded, `step` gives its new state (it may update the loaded one in
 * place), changes and time, and they are committed. On a store with `loadStates` and `commitAll` that is one read
 * and one commit for them all, else one of each per visitor.
 */
const stepAll = (
  tenant: string,
  program: Program,
  visitors: ReadonlyArray<string>,
  step: (
    visitor: string,
    state: VisitorState.VisitorState
  ) => {
    readonly state: VisitorState.VisitorState
    readonly changes: ReadonlyArray<Membership.Change>
    readonly now: number
  }
): ChangesPerVisitor =>
  Effect.gen(function* () {
    const store = yield* MembershipStore
    const out = new Map<string, ReadonlyArray<Membership.Change>>()
    if (visitors.length === 0) return out
    const { commitAll, loadStates } = store
    if (loadStates === undefined || commitAll === undefined) {
      for (const visitor of visitors) {
        const { changes, now, state } = step(visitor, yield* load(tenant, visitor, program))
        yield* save(tenant, visitor, program, state, changes, now)
        out.set(visitor, changes)
      }
      return out
    }
    const stored = yield* loadStates(tenant, visitors)
    const commits: Array<VisitorCommit> = []
    for (const visitor of visitors) {
      const { changes, now, state } = step(visitor, yield* decodeFor(visitor, stored.get(visitor), program))
      commits.push({ visitor, commit: commitOf(program, state, changes, now) })
      out.set(visitor, changes)
    }
    yield* commitAll(tenant, commits)
    return out
  })

/**
 * Advances every visitor due at the `Clock`'s current time (at most `limit`), committing each; returns the
 * changes per visitor.
 *
 * @since 0.1.0
 * @category pipeline
 */
export const sweep = (tenant: string, program: Program, limit = 1_000): ChangesPerVisitor =>
  Effect.gen(function* () {
    const store = yield* MembershipStore
    const now = yield* Clock.currentTimeMillis
    const due = yield* store.due(tenant, now, limit)
    return yield* stepAll(tenant, program, due, (_, state) => ({
      state,
      changes: Evaluator.advance(program, state, now),
      now
    }))
  })

/**
 * A visitor's active memberships at the `Clock`'s current time.
 *
 * @since 0.1.0
 * @category pipeline
 */
export const memberships = (
  tenant: string,
  visitor: string
): Effect.Effect<ReadonlyArray<Membership.Membership>, MembershipStoreError, MembershipStore> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.flatMap(MembershipStore, (store) => store.memberships(tenant, visitor, now))
  )
