/**
 * A visitor's compact audience state for one `Program`: day-bucketed counters (count, sum, min or max per track,
 * key and day) in one sorted `Uint32Array` of two words a cell, a small table of bound and distinct values (at
 * most 16 per track, the most recently seen), the partial chains of sequences, and the audiences the visitor is
 * in. Its size grows with what the visitor did, not with the number of audiences.
 *
 * `toBytes` / `fromBytes` give the form to store (a BLOB per tenant and visitor); `byteSize` is its length.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { clone as cloneState, DAY, maxKeys, State } from "./internal/state.js"

declare const Brand: unique symbol

/**
 * A visitor's state (opaque). The evaluator updates it in place; `clone` it to keep an older version.
 *
 * @since 0.1.0
 * @category models
 */
export interface VisitorState {
  readonly [Brand]: "VisitorState"
}

const toState = (s: VisitorState): State => s as unknown as State
const fromState = (s: State): VisitorState => s as unknown as VisitorState

/**
 * A bad stored state.
 *
 * @since 0.1.0
 * @category errors
 */
export class VisitorStateError extends Schema.TaggedError<VisitorStateError>()("VisitorStateError", {
  message: Schema.String
}) {}

/**
 * A new, empty state (it takes on the program of the first event it sees).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): VisitorState => fromState(new State())

/**
 * A deep copy.
 *
 * @since 0.1.0
 * @category constructors
 */
export const clone = (state: VisitorState): VisitorState => fromState(cloneState(toState(state)))

/**
 * Whether the state holds nothing: no counters, no chains, no memberships (it can be deleted).
 *
 * @since 0.1.0
 * @category getters
 */
export const isEmpty = (state: VisitorState): boolean => {
  const s = toState(state)
  return s.n === 0 && s.pn === 0 && s.mn === 0
}

/**
 * The fingerprint of the program the state belongs to (0 before its first event).
 *
 * @since 0.1.0
 * @category getters
 */
export const fingerprint = (state: VisitorState): number => toState(state).fingerprint

/**
 * The latest time the state was brought to (the start of that UTC day), or undefined when it saw nothing.
 *
 * @since 0.1.0
 * @category getters
 */
export const latestDay = (state: VisitorState): number | undefined => {
  const day = toState(state).day
  return day < 0 ? undefined : day * DAY
}

/**
 * Number of day-bucketed cells held.
 *
 * @since 0.1.0
 * @category getters
 */
export const cellCount = (state: VisitorState): number => toState(state).n

const encoder = new TextEncoder()
const magic = 0x4f41 // "OA"
const version = 1
const headerBytes = 2 + 1 + 4 + 4 + 4 + 4 + 2 + 2 + 2

/**
 * The stored form: a small header, the cells, the chains, the memberships and the key table (UTF-8).
 *
 * @since 0.1.0
 * @category encoding
 */
export const toBytes = (state: VisitorState): Uint8Array => {
  const s = toState(state)
  const keys = s.keys.slice(1).map((k) => encoder.encode(k))
  const size = headerBytes + s.n * 8 + s.pn * 16 + s.mn * 8 + keys.reduce((n, k) => n + 2 + k.length, 0)
  const bytes = new Uint8Array(size)
  const view = new DataView(bytes.buffer)
  let o = 0
  view.setUint16(o, magic)
  view.setUint8(o + 2, version)
  view.setUint32(o + 3, s.fingerprint)
  view.setInt32(o + 7, s.base)
  view.setInt32(o + 11, s.day)
  view.setUint32(o + 15, s.n)
  view.setUint16(o + 19, s.pn)
  view.setUint16(o + 21, s.mn)
  view.setUint16(o + 23, keys.length)
  o = headerBytes
  for (let i = 0; i < s.n * 2; i++, o += 4) view.setUint32(o, s.cells[i]!)
  for (let i = 0; i < s.pn * 2; i++, o += 8) view.setFloat64(o, s.parts[i]!)
  for (let i = 0; i < s.mn * 2; i++, o += 4) view.setUint32(o, s.members[i]!)
  for (const k of keys) {
    view.setUint16(o, k.length)
    bytes.set(k, o + 2)
    o += 2 + k.length
  }
  return bytes
}

/**
 * The length of the stored form, in bytes.
 *
 * @since 0.1.0
 * @category getters
 */
export const byteSize = (state: VisitorState): number => {
  const s = toState(state)
  let keys = 0
  for (let i = 1; i < s.keys.length; i++) keys += 2 + encoder.encode(s.keys[i]!).length
  return headerBytes + s.n * 8 + s.pn * 16 + s.mn * 8 + keys
}

/**
 * Reads a stored state, without Effect; anything malformed is a `VisitorStateError`, never a crash.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromBytesEither = (bytes: Uint8Array): Either.Either<VisitorState, VisitorStateError> => {
  const fail = (message: string) => Either.left(new VisitorStateError({ message }))
  if (bytes.length < headerBytes) return fail(`a stored state has at least ${headerBytes} bytes, got ${bytes.length}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint16(0) !== magic || view.getUint8(2) !== version) return fail("not a version 1 visitor state")
  const s = new State()
  s.fingerprint = view.getUint32(3)
  s.base = view.getInt32(7)
  s.day = view.getInt32(11)
  s.n = view.getUint32(15)
  s.pn = view.getUint16(19)
  s.mn = view.getUint16(21)
  const keyCount = view.getUint16(23)
  if (keyCount > maxKeys) return fail(`at most ${maxKeys} keys, got ${keyCount}`)
  let o = headerBytes
  const need = o + s.n * 8 + s.pn * 16 + s.mn * 8
  if (need > bytes.length) return fail("truncated visitor state")
  s.cells = new Uint32Array(s.n * 2)
  for (let i = 0; i < s.n * 2; i++, o += 4) s.cells[i] = view.getUint32(o)
  for (let i = 1; i < s.n; i++) if (s.cells[i * 2]! <= s.cells[i * 2 - 2]!) return fail("cells out of order")
  s.parts = new Float64Array(s.pn * 2)
  for (let i = 0; i < s.pn * 2; i++, o += 8) s.parts[i] = view.getFloat64(o)
  s.members = new Uint32Array(s.mn * 2)
  for (let i = 0; i < s.mn * 2; i++, o += 4) s.members[i] = view.getUint32(o)
  const decoder = new TextDecoder("utf-8", { fatal: true })
  s.keys = [""]
  for (let i = 0; i < keyCount; i++) {
    if (o + 2 > bytes.length) return fail("truncated key table")
    const length = view.getUint16(o)
    if (o + 2 + length > bytes.length) return fail("truncated key table")
    try {
      s.keys.push(decoder.decode(bytes.subarray(o + 2, o + 2 + length)))
    } catch {
      return fail("a key is not valid UTF-8")
    }
    o += 2 + length
  }
  if (o !== bytes.length) return fail("trailing bytes after the key table")
  if (s.n > 0 && (s.base < 0 || s.day < 0)) return fail("cells without a base day")
  for (let i = 0; i < s.n; i++) {
    const key = (s.cells[i * 2]! >>> 12) & 0xff
    if (key >= s.keys.length) return fail("a cell refers to a missing key")
  }
  return Either.right(fromState(s))
}

/**
 * Reads a stored state.
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromBytes = (bytes: Uint8Array): Effect.Effect<VisitorState, VisitorStateError> => fromBytesEither(bytes)
