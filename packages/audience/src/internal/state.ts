/**
 * The compact per-visitor state: day-bucketed cells in one sorted Uint32Array, a small key table for bound
 * and distinct values, the partial chains of sequences, and the audiences the visitor is in.
 *
 * A cell is two 32-bit words: `track (12 bits) | key (8 bits) | day - base (12 bits)`, then the value (a count,
 * a sum, a minimum or a maximum, saturating at 2^32 - 1). Cells are kept sorted by the first word, so the cells
 * of one track and key are contiguous and ordered by day, and a window is a binary search and a short scan.
 */

/** Milliseconds in a day. */
export const DAY = 86_400_000

/** Day offsets span 12 bits. */
export const maxOffset = 4095

/** Keys per visitor state (key index 0 means "no key"). */
export const maxKeys = 255

/** Keys kept per keyed track (the most recently seen). */
export const keysPerTrack = 16

/** Tracks a program may have. */
export const maxTracks = 4095

/** Days before the first event that the base day leaves room for (late events, long windows). */
const baseSlack = 1024

const KEY_SHIFT = 12
const TRACK_SHIFT = 20

/** The first word of a cell. */
export const word = (track: number, key: number, offset: number): number =>
  ((track << TRACK_SHIFT) | (key << KEY_SHIFT) | offset) >>> 0

/** The mutable state object (see the module comment). */
export class State {
  /** Cells: pairs of words, sorted by the first. */
  cells: Uint32Array = empty32
  /** Number of cells. */
  n = 0
  /** The day cell offsets count from (days since 1970-01-01 UTC). */
  base = -1
  /** The latest day the state was brought to (-1 before the first event). */
  day = -1
  /** Key strings by index; "" marks a free slot; index 0 is unused. */
  keys: Array<string> = [""]
  /** Partial sequence chains: pairs of (id, start time in ms). */
  parts: Float64Array = empty64
  /** Number of partial chains. */
  pn = 0
  /** Memberships: pairs of (audience index << 16 | expiry day, products hash), sorted by audience index. */
  members: Uint32Array = empty32
  /** Number of memberships. */
  mn = 0
  /** The program this state was built for. */
  fingerprint = 0
}

const empty32 = new Uint32Array(0)
const empty64 = new Float64Array(0)

/** Empties a state (an objection): no cells, keys, chains or memberships; it keeps its program's fingerprint. */
export const reset = (s: State): void => {
  s.cells = empty32
  s.n = 0
  s.base = -1
  s.day = -1
  s.keys = [""]
  s.parts = empty64
  s.pn = 0
  s.members = empty32
  s.mn = 0
}

/** A deep copy. */
export const clone = (s: State): State => {
  const c = new State()
  c.cells = s.cells.slice(0, s.n * 2)
  c.n = s.n
  c.base = s.base
  c.day = s.day
  c.keys = s.keys.slice()
  c.parts = s.parts.slice(0, s.pn * 2)
  c.pn = s.pn
  c.members = s.members.slice(0, s.mn * 2)
  c.mn = s.mn
  c.fingerprint = s.fingerprint
  return c
}

/** Index of the first cell whose word is >= w. */
export const lowerBound = (s: State, w: number): number => {
  const cells = s.cells
  let lo = 0
  let hi = s.n
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (cells[mid * 2]! < w) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Sets the base day on the first event, or moves it so that `day` fits (dropping cells too old to matter). */
export const ensureBase = (s: State, day: number): boolean => {
  if (s.base < 0) {
    s.base = Math.max(0, day - baseSlack)
    return true
  }
  if (day < s.base) return false
  if (day - s.base <= maxOffset) return true
  const base = Math.max(0, day - baseSlack)
  const shift = base - s.base
  let out = 0
  const cells = s.cells
  for (let i = 0; i < s.n; i++) {
    const w = cells[i * 2]!
    const offset = w & maxOffset
    if (offset < shift) continue
    cells[out * 2] = (w - shift) >>> 0
    cells[out * 2 + 1] = cells[i * 2 + 1]!
    out++
  }
  s.n = out
  s.base = base
  return true
}

const grow32 = (a: Uint32Array, needed: number): Uint32Array => {
  if (a.length >= needed) return a
  // Small steps: states are many and small, so spare capacity is memory wasted per visitor.
  const next = new Uint32Array(needed + 8)
  next.set(a)
  return next
}

/** Adds `value` to the cell (track, key, day) with `fn`: 0 sum (and count), 1 min, 2 max. */
export const addCell = (s: State, track: number, key: number, day: number, fn: number, value: number): void => {
  const w = word(track, key, day - s.base)
  const i = lowerBound(s, w)
  const cells = s.cells
  if (i < s.n && cells[i * 2] === w) {
    const old = cells[i * 2 + 1]!
    cells[i * 2 + 1] =
      fn === 0 ? Math.min(old + value, 0xffff_ffff) : fn === 1 ? Math.min(old, value) : Math.max(old, value)
    return
  }
  s.cells = grow32(s.cells, (s.n + 1) * 2)
  s.cells.copyWithin(i * 2 + 2, i * 2, s.n * 2)
  s.cells[i * 2] = w
  s.cells[i * 2 + 1] = Math.min(value, 0xffff_ffff)
  s.n++
}

/** Removes cells for which `drop(word)` holds. */
export const removeCells = (s: State, drop: (w: number) => boolean): void => {
  const cells = s.cells
  let out = 0
  for (let i = 0; i < s.n; i++) {
    const w = cells[i * 2]!
    if (drop(w)) continue
    if (out !== i) {
      cells[out * 2] = w
      cells[out * 2 + 1] = cells[i * 2 + 1]!
    }
    out++
  }
  s.n = out
}

/** The index of key `k`, interning it; 0 when the key table is full. */
export const intern = (s: State, k: string): number => {
  const keys = s.keys
  let free = 0
  for (let i = 1; i < keys.length; i++) {
    const x = keys[i]!
    if (x === k) return i
    if (free === 0 && x === "") free = i
  }
  if (free !== 0) {
    keys[free] = k
    return free
  }
  if (keys.length > maxKeys) return 0
  keys.push(k)
  return keys.length - 1
}

/** The index of key `k`, or 0 when it is not in the table. */
export const keyIndex = (s: State, k: string): number => {
  const keys = s.keys
  for (let i = 1; i < keys.length; i++) if (keys[i] === k) return i
  return 0
}

/** Frees keys that no cell or partial chain refers to, and trims free slots at the end of the table. */
export const collectKeys = (s: State): void => {
  if (s.keys.length <= 1) return
  const used = new Uint8Array(s.keys.length)
  for (let i = 0; i < s.n; i++) used[(s.cells[i * 2]! >>> KEY_SHIFT) & 0xff] = 1
  for (let i = 0; i < s.pn; i++) used[(s.parts[i * 2]! >>> 4) & 0xff] = 1
  for (let i = 1; i < s.keys.length; i++) if (used[i] === 0) s.keys[i] = ""
  let end = s.keys.length
  while (end > 1 && s.keys[end - 1] === "") end--
  s.keys.length = end
}

/** A partial chain id: track (12 bits) | key (8 bits) | step (4 bits). */
export const partId = (track: number, key: number, step: number): number => (track << 12) | (key << 4) | step

/** The start time of a partial chain, or -1. */
export const getPart = (s: State, id: number): number => {
  for (let i = 0; i < s.pn; i++) if (s.parts[i * 2] === id) return s.parts[i * 2 + 1]!
  return -1
}

/** Sets the start time of a partial chain to the later of its current one and `time`. */
export const setPart = (s: State, id: number, time: number): void => {
  for (let i = 0; i < s.pn; i++) {
    if (s.parts[i * 2] === id) {
      if (s.parts[i * 2 + 1]! < time) s.parts[i * 2 + 1] = time
      return
    }
  }
  if (s.parts.length < (s.pn + 1) * 2) {
    const next = new Float64Array((s.pn + 2) * 2)
    next.set(s.parts)
    s.parts = next
  }
  s.parts[s.pn * 2] = id
  s.parts[s.pn * 2 + 1] = time
  s.pn++
}

/** Removes partial chains for which `drop(id, time)` holds. */
export const removeParts = (s: State, drop: (id: number, time: number) => boolean): void => {
  let out = 0
  for (let i = 0; i < s.pn; i++) {
    const id = s.parts[i * 2]!
    const time = s.parts[i * 2 + 1]!
    if (drop(id, time)) continue
    s.parts[out * 2] = id
    s.parts[out * 2 + 1] = time
    out++
  }
  s.pn = out
}

/** The membership entry of audience `a`: its index in `members`, or -1. */
export const findMember = (s: State, a: number): number => {
  for (let i = 0; i < s.mn; i++) if (s.members[i * 2]! >>> 16 === a) return i
  return -1
}

/** Sets (or adds) the membership of audience `a`. */
export const setMember = (s: State, a: number, expiryDay: number, productsHash: number): void => {
  const i = findMember(s, a)
  const w = ((a << 16) | (expiryDay & 0xffff)) >>> 0
  if (i >= 0) {
    s.members[i * 2] = w
    s.members[i * 2 + 1] = productsHash
    return
  }
  s.members = grow32(s.members, (s.mn + 1) * 2)
  let at = s.mn
  while (at > 0 && s.members[(at - 1) * 2]! >>> 16 > a) at--
  s.members.copyWithin(at * 2 + 2, at * 2, s.mn * 2)
  s.members[at * 2] = w
  s.members[at * 2 + 1] = productsHash
  s.mn++
}

/** Removes the membership of audience `a`. */
export const removeMember = (s: State, a: number): void => {
  const i = findMember(s, a)
  if (i < 0) return
  s.members.copyWithin(i * 2, i * 2 + 2, s.mn * 2)
  s.mn--
}
