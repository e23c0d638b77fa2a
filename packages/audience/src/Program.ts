/**
 * The compiler: a tenant's active audiences become one `Program`, whose matchers (event types and filters) and
 * tracks (day-bucketed counters kept per visitor) are shared between audiences. Evaluating a program is plain
 * synchronous code (see `Evaluator`); a visitor's `VisitorState` belongs to the program it was built with, and
 * `migrate` carries it over to an edited program, telling when history must be replayed (`Batch.rebuild`).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Audience from "./Audience.js"
import * as AudienceRule from "./AudienceRule.js"
import type { Compiled } from "./internal/program.js"
import { compile, compiledOf } from "./internal/program.js"
import { State, word } from "./internal/state.js"
import type { RuleError } from "./RuleError.js"
import type { VisitorState } from "./VisitorState.js"

/**
 * A compiled set of audiences.
 *
 * @since 0.1.0
 * @category models
 */
export interface Program {
  /** The audiences, in the order given. */
  readonly audiences: ReadonlyArray<Audience.Definition>
  /** Identifies the program's layout; a `VisitorState` remembers the one it was built with. */
  readonly fingerprint: number
}

const internal = (program: Program): Compiled => compiledOf(program)

/**
 * Compiles audiences (each validated against `limits`) into one program, without Effect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeEither = (
  audiences: ReadonlyArray<Audience.Definition>,
  limits: AudienceRule.Limits = AudienceRule.defaultLimits
): Either.Either<Program, RuleError> => compile(audiences, limits)

/**
 * Compiles audiences (each validated against `limits`) into one program.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  audiences: ReadonlyArray<Audience.Definition>,
  limits: AudienceRule.Limits = AudienceRule.defaultLimits
): Effect.Effect<Program, RuleError> => makeEither(audiences, limits)

/**
 * The number of tracks (distinct day-bucketed counters) of a program: what a visitor's state can hold at most,
 * whatever the number of audiences.
 *
 * @since 0.1.0
 * @category getters
 */
export const trackCount = (program: Program): number => internal(program).tracks.length

/**
 * The result of carrying a state over to another program.
 *
 * - `state`: the new state, for the new program, with the memberships of audiences both programs have.
 * - `complete`: whether it holds all the history the new program needs. When false (a new or edited audience
 *   reads counters the old program did not keep, or keeps them longer), rebuild it from stored events with
 *   `Batch.rebuild(program, events, now, state)`. Either way, call `Evaluator.refresh` next for the changes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Migration {
  readonly state: VisitorState
  readonly complete: boolean
}

/**
 * Carries a visitor's state from one program to another (after audiences were created, edited or deleted).
 *
 * @since 0.1.0
 * @category combinators
 */
export const migrate = (from: Program, to: Program, state: VisitorState): Migration => {
  const a = internal(from)
  const b = internal(to)
  const s = state as unknown as State
  const out = new State()
  out.fingerprint = b.fingerprint
  if (s.base < 0) return { state: out as unknown as VisitorState, complete: true }
  const oldByKey = new Map(a.tracks.map((t) => [t.key, t]))
  const mapping = new Int32Array(a.tracks.length).fill(-1)
  let complete = true
  for (const t of b.tracks) {
    const old = oldByKey.get(t.key)
    if (old === undefined || old.horizon < t.horizon) complete = false
    if (old !== undefined) mapping[old.index] = t.index
  }
  out.base = s.base
  out.day = s.day
  out.keys = s.keys.slice()
  const cells: Array<[number, number]> = []
  for (let i = 0; i < s.n; i++) {
    const w = s.cells[i * 2]!
    const track = mapping[w >>> 20]!
    if (track < 0) continue
    cells.push([word(track, (w >>> 12) & 0xff, w & 0xfff), s.cells[i * 2 + 1]!])
  }
  cells.sort((x, y) => x[0] - y[0])
  out.cells = new Uint32Array(cells.length * 2)
  cells.forEach(([w, v], i) => {
    out.cells[i * 2] = w
    out.cells[i * 2 + 1] = v
  })
  out.n = cells.length
  const parts: Array<number> = []
  for (let i = 0; i < s.pn; i++) {
    const id = s.parts[i * 2]!
    const track = mapping[Math.floor(id / 4096)]!
    if (track < 0) continue
    parts.push(track * 4096 + (id % 4096), s.parts[i * 2 + 1]!)
  }
  out.parts = Float64Array.from(parts)
  out.pn = parts.length / 2
  const newIndex = new Map(b.audiences.map((x) => [x.id, x.index]))
  const members: Array<[number, number, number]> = []
  for (let i = 0; i < s.mn; i++) {
    const old = a.audiences[s.members[i * 2]! >>> 16]
    const index = old === undefined ? undefined : newIndex.get(old.id)
    if (index !== undefined) members.push([index, s.members[i * 2]! & 0xffff, s.members[i * 2 + 1]!])
  }
  members.sort((x, y) => x[0] - y[0])
  out.members = new Uint32Array(members.length * 2)
  members.forEach(([index, day, hash], i) => {
    out.members[i * 2] = ((index << 16) | day) >>> 0
    out.members[i * 2 + 1] = hash
  })
  out.mn = members.length
  return { state: out as unknown as VisitorState, complete }
}
