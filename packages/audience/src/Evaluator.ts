/**
 * Incremental evaluation: the functions a worker calls per event and per timer. They are synchronous and
 * deterministic, take the time as an argument (`receivedAt` for events, `now` for timers) and do no I/O; they
 * update the `VisitorState` in place and return the membership changes.
 *
 * - `update(program, state, event)`: one event. One that does not count (`VisitorEvent.counts`) leaves the state
 *   exactly as it was, its day included: it is no clock tick (time passes through `advance`).
 * - `advance(program, state, now)`: time passing. Windows are whole UTC days, so memberships change with time
 *   only at midnight UTC; `nextCheckAt` says when the next such change can happen for this visitor.
 * - `evaluate(program, state, now)`: the memberships at `now`, without changing anything.
 * - `refresh(program, state, now)`: every audience re-evaluated against the memberships recorded in the state
 *   (after `Program.migrate` or `Batch.rebuild`).
 *
 * The `*Now` variants read the time from Effect's `Clock`, so tests drive them with `TestClock`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Engine from "./internal/engine.js"
import { compiledOf } from "./internal/program.js"
import type { State } from "./internal/state.js"
import type * as Membership from "./Membership.js"
import type { Program } from "./Program.js"
import type { VisitorEvent } from "./VisitorEvent.js"
import type { VisitorState } from "./VisitorState.js"

const st = (s: VisitorState): State => s as unknown as State

/**
 * Applies one event to a visitor's state and returns the membership changes (at `event.receivedAt`). Events
 * should arrive in `receivedAt` order per visitor; a late event still counts in the windows it falls in. An event
 * that does not count (`VisitorEvent.counts`) changes nothing and returns no changes. Throws only when the state belongs to another program (carry it over with `Program.migrate`).
 *
 * @since 0.1.0
 * @category evaluation
 */
export const update = (program: Program, state: VisitorState, event: VisitorEvent): ReadonlyArray<Membership.Change> =>
  Engine.update(compiledOf(program), st(state), event)

/**
 * Brings a state to `now`: when a new UTC day started, windows slide, memberships expire, negated conditions may
 * start to hold; returns the changes (at the start of that day).
 *
 * @since 0.1.0
 * @category evaluation
 */
export const advance = (program: Program, state: VisitorState, now: number): ReadonlyArray<Membership.Change> =>
  Engine.advance(compiledOf(program), st(state), now)

/**
 * The audiences the visitor is in at `now`, with expiry and qualifying products; the state is not changed.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (program: Program, state: VisitorState, now: number): ReadonlyArray<Membership.Status> =>
  Engine.evaluate(compiledOf(program), st(state), now)

/**
 * Re-evaluates every audience at `now` and returns the changes against the memberships the state records.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const refresh = (program: Program, state: VisitorState, now: number): ReadonlyArray<Membership.Change> =>
  Engine.refresh(compiledOf(program), st(state), now)

/**
 * The next UTC midnight after `now` at which a membership can change without new events (a day with activity
 * enters or leaves a window, or a membership expires), or undefined when none can: when to call `advance`.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const nextCheckAt = (program: Program, state: VisitorState, now: number): number | undefined =>
  Engine.nextCheckAt(compiledOf(program), st(state), now)

/**
 * The ids of the audiences the state records the visitor in (as of the last update or advance).
 *
 * @since 0.1.0
 * @category getters
 */
export const memberIds = (program: Program, state: VisitorState): ReadonlyArray<string> => {
  const s = st(state)
  const p = compiledOf(program)
  const out: Array<string> = []
  for (let i = 0; i < s.mn; i++) {
    const audience = p.audiences[s.members[i * 2]! >>> 16]
    if (audience !== undefined) out.push(audience.id)
  }
  return out
}

/**
 * `advance` at the current time of the `Clock`.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const advanceNow = (program: Program, state: VisitorState): Effect.Effect<ReadonlyArray<Membership.Change>> =>
  Effect.map(Clock.currentTimeMillis, (now) => advance(program, state, now))

/**
 * `evaluate` at the current time of the `Clock`.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluateNow = (program: Program, state: VisitorState): Effect.Effect<ReadonlyArray<Membership.Status>> =>
  Effect.map(Clock.currentTimeMillis, (now) => evaluate(program, state, now))
