/**
 * The evaluator wired to the `MembershipStore`, one visitor at a time: what a worker runs per event from the
 * event log (`ingest`) and on a timer (`sweep`, for windows sliding and memberships expiring at midnight UTC).
 * Each step loads the visitor's state, applies the pure `Evaluator` function and commits the new state, the
 * next time to check it and the membership changes together. Time comes from `Clock`.
 *
 * Audience edits are the worker's job: compile the new `Program`, then per stored visitor `Program.migrate`
 * (and `Batch.rebuild` from stored events when the migration is incomplete) and `Evaluator.refresh`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Evaluator from "./Evaluator.js"
import type * as Membership from "./Membership.js"
import { MembershipStore, type MembershipStoreError } from "./MembershipStore.js"
import type { Program } from "./Program.js"
import { counts, type VisitorEvent } from "./VisitorEvent.js"
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

const load = (tenant: string, visitor: string, program: Program) =>
  Effect.gen(function* () {
    const store = yield* MembershipStore
    const stored = yield* store.loadState(tenant, visitor)
    if (Option.isNone(stored)) return VisitorState.make()
    const state = yield* VisitorState.fromBytes(stored.value)
    const fingerprint = VisitorState.fingerprint(state)
    if (fingerprint !== 0 && fingerprint !== program.fingerprint) {
      return yield* new StaleStateError({
        visitor,
        message: `the state of visitor ${visitor} was built for another audience program: migrate it first`
      })
    }
    return state
  })

const save = (
  tenant: string,
  visitor: string,
  program: Program,
  state: VisitorState.VisitorState,
  changes: ReadonlyArray<Membership.Change>,
  now: number
) =>
  Effect.flatMap(MembershipStore, (store) =>
    store.commit(tenant, visitor, {
      state: VisitorState.isEmpty(state) ? null : VisitorState.toBytes(state),
      nextCheckAt: Evaluator.nextCheckAt(program, state, now) ?? null,
      changes
    })
  )

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
    if (!counts(event)) return []
    const visitor = event.visitor!
    const state = yield* load(tenant, visitor, program)
    const changes = Evaluator.update(program, state, event)
    yield* save(tenant, visitor, program, state, changes, event.receivedAt)
    return changes
  })

/**
 * Advances every visitor due at the `Clock`'s current time (at most `limit`), committing each; returns the
 * changes per visitor.
 *
 * @since 0.1.0
 * @category pipeline
 */
export const sweep = (
  tenant: string,
  program: Program,
  limit = 1_000
): Effect.Effect<
  ReadonlyMap<string, ReadonlyArray<Membership.Change>>,
  MembershipStoreError | VisitorState.VisitorStateError | StaleStateError,
  MembershipStore
> =>
  Effect.gen(function* () {
    const store = yield* MembershipStore
    const now = yield* Clock.currentTimeMillis
    const out = new Map<string, ReadonlyArray<Membership.Change>>()
    for (const visitor of yield* store.due(tenant, now, limit)) {
      const state = yield* load(tenant, visitor, program)
      const changes = Evaluator.advance(program, state, now)
      yield* save(tenant, visitor, program, state, changes, now)
      out.set(visitor, changes)
    }
    return out
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
