/**
 * The incremental evaluator: applies one event to a visitor's state (matchers once per event, cells of the
 * tracks it feeds, partial chains of sequences), re-evaluates the audiences reading what changed (all of them
 * when the day changed), and reports membership changes. Also: read-only evaluation at any time, the next time
 * a membership can change without new events, and explanations.
 */
import type * as Membership from "../Membership.js"
import type { VisitorEvent } from "../VisitorEvent.js"
import { counts, isObjection } from "../VisitorEvent.js"
import { type FieldInfo, itemsOf, payloadOf, readKey, readNumber } from "./fields.js"
import { murmur3 } from "./hash.js"
import type { Compiled, CompiledAudience, Group, Leaf, Node, Track } from "./program.js"
import { typeIndex } from "./program.js"
import {
  addCell,
  collectKeys,
  DAY,
  ensureBase,
  findMember,
  getPart,
  intern,
  keyIndex,
  keysPerTrack,
  lowerBound,
  maxOffset,
  partId,
  removeCells,
  removeMember,
  removeParts,
  reset,
  type State,
  setMember,
  setPart,
  word
} from "./state.js"

type Obj = Record<string, unknown>

const SINGLE: ReadonlyArray<Obj | undefined> = [undefined]

const maxProducts = 8

// ---------------------------------------------------------------------------------------------------------------
// Reading cells

/** Offsets `[a, b]` of the days `[lo, hi]` in the state, or undefined when none can hold cells. */
const offsets = (s: State, lo: number, hi: number): readonly [number, number] | undefined => {
  if (s.base < 0) return undefined
  const a = Math.max(lo - s.base, 0)
  const b = Math.min(hi - s.base, maxOffset)
  return a > b ? undefined : [a, b]
}

/** The aggregate of one track and key over days `[lo, hi]`: NaN for a min or max over nothing. */
const aggregate = (s: State, track: number, key: number, fn: number, lo: number, hi: number): number => {
  const range = offsets(s, lo, hi)
  if (range === undefined) return fn >= 2 ? Number.NaN : 0
  const cells = s.cells
  const end = word(track, key, range[1])
  let i = lowerBound(s, word(track, key, range[0]))
  if (fn <= 1) {
    let total = 0
    for (; i < s.n && cells[i * 2]! <= end; i++) total += cells[i * 2 + 1]!
    return total
  }
  let out = Number.NaN
  for (; i < s.n && cells[i * 2]! <= end; i++) {
    const v = cells[i * 2 + 1]!
    if (Number.isNaN(out) || (fn === 2 ? v < out : v > out)) out = v
  }
  return out
}

/** Calls `f(key, day)` for every cell of a track (any key) within days `[lo, hi]`. */
const eachCell = (s: State, track: number, lo: number, hi: number, f: (key: number, day: number) => void): void => {
  const range = offsets(s, lo, hi)
  if (range === undefined) return
  const cells = s.cells
  const end = word(track, 0xff, maxOffset)
  for (let i = lowerBound(s, word(track, 0, 0)); i < s.n && cells[i * 2]! <= end; i++) {
    const w = cells[i * 2]!
    const offset = w & maxOffset
    if (offset >= range[0] && offset <= range[1]) f((w >>> 12) & 0xff, offset + s.base)
  }
}

/** Number of keys of a track with a cell within days `[lo, hi]`. */
const distinctKeys = (s: State, track: number, lo: number, hi: number): number => {
  let count = 0
  let last = -1
  eachCell(s, track, lo, hi, (key) => {
    if (key !== last && key !== 0) {
      count++
      last = key
    }
  })
  return count
}

/** The latest day of a track (any key) within days `[lo, hi]`, or -1. */
const latestDay = (s: State, track: number, lo: number, hi: number): number => {
  let latest = -1
  eachCell(s, track, lo, hi, (_key, day) => {
    if (day > latest) latest = day
  })
  return latest
}

const windowOf = (leaf: Leaf, today: number): readonly [number, number] => [today - leaf.from + 1, today - leaf.to]

/** The value a leaf compares, for `key` (0 outside bound groups). */
export const leafValue = (p: Compiled, s: State, leaf: Leaf, key: number, today: number): number => {
  const scratch = p.scratch
  const cacheable = !leaf.keyed
  if (cacheable && scratch.valueStamp[leaf.value] === scratch.stamp) return scratch.valueCache[leaf.value]!
  const [lo, hi] = windowOf(leaf, today)
  const track = p.tracks[leaf.track]!
  const value =
    leaf.agg === "distinct" ? distinctKeys(s, leaf.track, lo, hi) : aggregate(s, leaf.track, key, track.fn, lo, hi)
  if (cacheable) {
    scratch.valueStamp[leaf.value] = scratch.stamp
    scratch.valueCache[leaf.value] = value
  }
  return value
}

/** Compares an aggregate; NaN (a min or max over nothing) compares false. */
export const compare = (value: number, op: Leaf["op"], threshold: number): boolean => {
  if (Number.isNaN(value)) return false
  switch (op) {
    case "gte":
      return value >= threshold
    case "gt":
      return value > threshold
    case "lte":
      return value <= threshold
    case "lt":
      return value < threshold
    case "eq":
      return value === threshold
    case "ne":
      return value !== threshold
  }
}

/** Keys with activity in the windows of a bound group's leaves, with the latest such day of each. */
export const candidates = (s: State, group: Group, today: number): Map<number, number> => {
  const out = new Map<number, number>()
  for (const leaf of group.leaves) {
    const [lo, hi] = windowOf(leaf, today)
    eachCell(s, leaf.track, lo, hi, (key, day) => {
      if (key === 0) return
      const known = out.get(key)
      if (known === undefined || day > known) out.set(key, day)
    })
  }
  return out
}

export const evalChildren = (p: Compiled, s: State, group: Group, today: number, key: number): boolean => {
  const children = group.children
  if (group.kind === "all") {
    for (let i = 0; i < children.length; i++) if (!evalNode(p, s, children[i]!, today, key)) return false
    return true
  }
  for (let i = 0; i < children.length; i++) if (evalNode(p, s, children[i]!, today, key)) return true
  return false
}

/** Whether a node holds at `today` (for `key` inside a bound group). */
export const evalNode = (p: Compiled, s: State, node: Node, today: number, key: number): boolean => {
  switch (node.kind) {
    case "leaf":
      return compare(leafValue(p, s, node, key, today), node.op, node.threshold)
    case "not":
      return !evalNode(p, s, node.child, today, key)
    default:
      if (node.bind !== undefined) {
        for (const k of candidates(s, node, today).keys()) if (evalChildren(p, s, node, today, k)) return true
        return false
      }
      return evalChildren(p, s, node, today, key)
  }
}

/** The result of one audience for one visitor at one day. */
export interface Result {
  readonly holds: boolean
  /** The last day with activity the rule counts (in a window of a leaf not under `not`), or -1. */
  readonly lastTouch: number
  readonly member: boolean
  /** Day the membership ends (exclusive), when the rule holds and something was touched. */
  readonly expiryDay: number
  readonly products: ReadonlyArray<string>
}

const notMember: Result = { holds: false, lastTouch: -1, member: false, expiryDay: -1, products: [] }

/** The products a member qualified with: keys of bound groups on productId that hold, most recent first. */
const productsOf = (p: Compiled, s: State, audience: CompiledAudience, today: number): ReadonlyArray<string> => {
  if (audience.productGroups.length === 0) return []
  const found = new Map<string, number>()
  for (const group of audience.productGroups) {
    for (const [key, day] of candidates(s, group, today)) {
      if (!evalChildren(p, s, group, today, key)) continue
      const name = s.keys[key]!
      const known = found.get(name)
      if (known === undefined || day > known) found.set(name, day)
    }
  }
  return [...found]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, maxProducts)
    .map(([name]) => name)
}

/** Evaluates one audience. Call `beginPass` before a series of evaluations of one state at one day. */
export const evaluateAudience = (p: Compiled, s: State, audience: CompiledAudience, today: number): Result => {
  if (s.base < 0) return notMember
  if (!evalNode(p, s, audience.root, today, 0)) return notMember
  let lastTouch = -1
  for (const leaf of audience.positiveLeaves) {
    const [lo, hi] = windowOf(leaf, today)
    const d = latestDay(s, leaf.track, lo, hi)
    if (d > lastTouch) lastTouch = d
  }
  if (lastTouch < 0) return { holds: true, lastTouch, member: false, expiryDay: -1, products: [] }
  const expiryDay = lastTouch + audience.expiryDays
  const member = today < expiryDay
  return { holds: true, lastTouch, member, expiryDay, products: member ? productsOf(p, s, audience, today) : [] }
}

/** Starts an evaluation pass: leaf values cached from an earlier pass are forgotten. */
export const beginPass = (p: Compiled): void => {
  const scratch = p.scratch
  scratch.stamp = (scratch.stamp + 1) >>> 0
  if (scratch.stamp === 0) {
    scratch.valueStamp.fill(0)
    scratch.stamp = 1
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Updating

/** Drops cells older than their track's horizon and partial chains that can no longer complete. */
const roll = (p: Compiled, s: State, day: number): void => {
  s.day = day
  if (s.base < 0) return
  const tracks = p.tracks
  const base = s.base
  removeCells(s, (w) => {
    const track = tracks[w >>> 20]
    return track === undefined || day - ((w & maxOffset) + base) >= track.horizon
  })
  if (s.pn > 0) {
    const dayStart = day * DAY
    removeParts(s, (id, time) => {
      const track = tracks[Math.floor(id / 4096)]
      return track?.sequence === undefined || time + track.sequence.withinMs < dayStart
    })
  }
  collectKeys(s)
}

/** The key of a keyed value as kept in the state. */
const keyText = (track: Track, k: string): string =>
  track.hashLongKeys && k.length > 64 ? `#${murmur3(k, 0x6b65).toString(16)}` : k

/** Whether the track has cells for key index `ki`. */
const trackHasKey = (s: State, track: number, ki: number): boolean => {
  const i = lowerBound(s, word(track, ki, 0))
  return i < s.n && s.cells[i * 2]! >>> 12 === ((track << 8) | ki)
}

/**
 * The key index for `k` on a keyed track, interning it; when the track already has `keysPerTrack` keys, the
 * least recently seen one is evicted first. 0 when the key table is full.
 */
const keyFor = (s: State, track: number, k: string): number => {
  let ki = keyIndex(s, k)
  if (ki > 0 && trackHasKey(s, track, ki)) return ki
  const latest = new Map<number, number>()
  const cells = s.cells
  const end = word(track, 0xff, maxOffset)
  for (let i = lowerBound(s, word(track, 0, 0)); i < s.n && cells[i * 2]! <= end; i++) {
    const w = cells[i * 2]!
    const key = (w >>> 12) & 0xff
    const day = w & maxOffset
    const known = latest.get(key)
    if (known === undefined || day > known) latest.set(key, day)
  }
  if (latest.size >= keysPerTrack) {
    let victim = -1
    let victimDay = Number.POSITIVE_INFINITY
    for (const [key, day] of latest) {
      if (day < victimDay || (day === victimDay && key < victim)) {
        victim = key
        victimDay = day
      }
    }
    const prefix = (track << 8) | victim
    removeCells(s, (w) => w >>> 12 === prefix)
  }
  if (ki === 0) ki = intern(s, k)
  return ki
}

/** Numeric values of a field over the matched units (an event-level field once). */
const valuesOf = (
  field: FieldInfo,
  payload: Obj,
  units: ReadonlyArray<Obj | undefined>,
  keyField: FieldInfo | undefined,
  key: string | undefined,
  track: Track
): { readonly any: boolean; readonly sum: number; readonly min: number; readonly max: number } => {
  let any = false
  let sum = 0
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  const take = (v: number | undefined) => {
    if (v === undefined) return
    any = true
    sum += v
    if (v < min) min = v
    if (v > max) max = v
  }
  if (!field.item || units === SINGLE) take(readNumber(field, payload, undefined))
  else {
    for (const unit of units) {
      if (key !== undefined) {
        const k = readKey(keyField!, payload, unit)
        if (k === undefined || keyText(track, k) !== key) continue
      }
      take(readNumber(field, payload, unit))
    }
  }
  return { any, sum: Math.min(sum, 0xffff_ffff), min, max }
}

/** Adds one event's contribution to one event track. */
const contribute = (s: State, track: Track, day: number, payload: Obj, units: ReadonlyArray<Obj | undefined>) => {
  const t = track.index
  if (track.keyField === undefined) {
    if (track.fn === 0) {
      addCell(s, t, 0, day, 0, 1)
      return
    }
    const v = valuesOf(track.valueField!, payload, units, undefined, undefined, track)
    if (!v.any) return
    if (track.fn === 1) addCell(s, t, 0, day, 0, v.sum)
    else if (track.fn === 2) addCell(s, t, 0, day, 1, v.min)
    else addCell(s, t, 0, day, 2, v.max)
    return
  }
  const keys: Array<string> = []
  for (const unit of units) {
    const k = readKey(track.keyField, payload, unit)
    if (k === undefined) continue
    const text = keyText(track, k)
    if (!keys.includes(text)) keys.push(text)
  }
  for (const key of keys) {
    if (track.fn === 0) {
      const ki = keyFor(s, t, key)
      if (ki !== 0) addCell(s, t, ki, day, 0, 1)
      continue
    }
    const v = valuesOf(track.valueField!, payload, units, track.keyField, key, track)
    if (!v.any) continue
    const ki = keyFor(s, t, key)
    if (ki === 0) continue
    if (track.fn === 1) addCell(s, t, ki, day, 0, v.sum)
    else if (track.fn === 2) addCell(s, t, ki, day, 1, v.min)
    else addCell(s, t, ki, day, 2, v.max)
  }
}

/** Advances one sequence track with one event. */
const advanceSequence = (p: Compiled, s: State, track: Track, time: number, day: number, payload: Obj) => {
  const seq = track.sequence!
  const matched = p.scratch.matched
  const steps = seq.steps
  const last = steps.length - 1
  const t = track.index
  if (track.keyField === undefined) {
    for (let j = last; j >= 0; j--) {
      if (matched[steps[j]!] === undefined) continue
      if (j === 0) {
        setPart(s, partId(t, 0, 0), time)
        continue
      }
      const prev = getPart(s, partId(t, 0, j - 1))
      if (prev < 0 || time - prev > seq.withinMs) continue
      if (j === last) addCell(s, t, 0, day, 0, 1)
      else setPart(s, partId(t, 0, j), prev)
    }
    return
  }
  // Keyed: the chain must run on one value of the bound field.
  const keysByStep: Array<ReadonlyArray<string>> = steps.map((m) => {
    const units = matched[m]
    if (units === undefined) return []
    const keys: Array<string> = []
    for (const unit of units) {
      const k = readKey(track.keyField!, payload, unit)
      if (k !== undefined && !keys.includes(k)) keys.push(k)
    }
    return keys
  })
  const all = new Set(keysByStep.flat())
  for (const key of all) {
    for (let j = last; j >= 0; j--) {
      if (!keysByStep[j]!.includes(key)) continue
      if (j === 0) {
        const ki = intern(s, key)
        if (ki !== 0) setPart(s, partId(t, ki, 0), time)
        continue
      }
      const ki0 = keyIndex(s, key)
      if (ki0 === 0) continue
      const prev = getPart(s, partId(t, ki0, j - 1))
      if (prev < 0 || time - prev > seq.withinMs) continue
      if (j === last) {
        const ki = keyFor(s, t, key)
        if (ki !== 0) addCell(s, t, ki, day, 0, 1)
      } else setPart(s, partId(t, ki0, j), prev)
    }
  }
}

const productsHash = (products: ReadonlyArray<string>): number =>
  products.length === 0 ? 0 : murmur3(products.join("\u0000"), 0x70) || 1

/** Re-evaluates audiences (all, or those marked in the scratch) and records membership changes. */
const reconcile = (
  p: Compiled,
  s: State,
  today: number,
  at: number,
  all: boolean,
  changes: Array<Membership.Change>
): void => {
  beginPass(p)
  const scratch = p.scratch
  for (const audience of p.audiences) {
    if (!all && scratch.audienceStamp[audience.index] !== scratch.audienceMark) continue
    const r = evaluateAudience(p, s, audience, today)
    const i = findMember(s, audience.index)
    if (r.member) {
      const hash = productsHash(r.products)
      const expiryDay = r.expiryDay & 0xffff
      if (i < 0) {
        changes.push({
          _tag: "Entered",
          audienceId: audience.id,
          at,
          expiresAt: r.expiryDay * DAY,
          products: r.products
        })
        setMember(s, audience.index, expiryDay, hash)
      } else if ((s.members[i * 2]! & 0xffff) !== expiryDay || s.members[i * 2 + 1] !== hash) {
        changes.push({
          _tag: "Updated",
          audienceId: audience.id,
          at,
          expiresAt: r.expiryDay * DAY,
          products: r.products
        })
        setMember(s, audience.index, expiryDay, hash)
      }
    } else if (i >= 0) {
      changes.push({ _tag: "Exited", audienceId: audience.id, at, reason: r.holds ? "expired" : "rule" })
      removeMember(s, audience.index)
    }
  }
}

/** Throws unless the state is new or belongs to the program (a misuse, not bad input). */
export const checkProgram = (p: Compiled, s: State): void => {
  if (s.fingerprint === p.fingerprint) return
  if (s.base < 0 && s.mn === 0) {
    s.fingerprint = p.fingerprint
    return
  }
  throw new Error("VisitorState was built for another audience program: carry it over with Program.migrate first")
}

const noChanges: ReadonlyArray<Membership.Change> = []

/** Applies one event; returns the membership changes it caused (with the day's changes when the day changed). */
export const update = (p: Compiled, s: State, event: VisitorEvent): ReadonlyArray<Membership.Change> =>
  apply(p, s, event, true)

/** Applies one event without evaluating audiences (rebuilding a state from history). */
export const fold = (p: Compiled, s: State, event: VisitorEvent): void => {
  apply(p, s, event, false)
}

/**
 * An objection: every membership ends at its time (`Exited`, reason `objection`, when evaluating) and the state is
 * emptied, so nothing before it counts again.
 */
const object = (p: Compiled, s: State, at: number, evaluate: boolean): ReadonlyArray<Membership.Change> => {
  checkProgram(p, s)
  const changes: Array<Membership.Change> = []
  if (evaluate) {
    for (let i = 0; i < s.mn; i++) {
      const audience = p.audiences[s.members[i * 2]! >>> 16]
      if (audience !== undefined) changes.push({ _tag: "Exited", audienceId: audience.id, at, reason: "objection" })
    }
  }
  reset(s)
  return changes
}

const apply = (p: Compiled, s: State, event: VisitorEvent, evaluate: boolean): ReadonlyArray<Membership.Change> => {
  if (isObjection(event)) return object(p, s, event.receivedAt, evaluate)
  // An event that does not count (no personalization consent, a child, no visitor, a receive time no store
  // accepts) leaves the state as it was, its day included: its time is as untrusted as the rest of it, and one far
  // in the future would otherwise roll every cell out. Time passes through `advance` (the sweep) instead.
  if (!counts(event)) return noChanges
  checkProgram(p, s)
  const time = event.receivedAt
  const day = Math.floor(time / DAY)
  const dayChanged = day > s.day
  if (dayChanged) roll(p, s, day)
  const scratch = p.scratch
  scratch.audienceMark = (scratch.audienceMark + 1) >>> 0
  if (scratch.audienceMark === 0) {
    scratch.audienceStamp.fill(0)
    scratch.audienceMark = 1
  }
  const ti = typeIndex.get(event.type)
  if (ti !== undefined && ensureBase(s, day)) {
    const payload = payloadOf(event.payload)
    const items = itemsOf(event.type, payload)
    const matched = scratch.matched
    const list = scratch.matchedList
    list.length = 0
    for (const m of p.matchersByType[ti]!) {
      const matcher = p.matchers[m]!
      let ok = true
      for (const test of matcher.eventTests) {
        if (!test.pass(payload, undefined)) {
          ok = false
          break
        }
      }
      if (!ok) continue
      let units: ReadonlyArray<Obj | undefined>
      if (items === undefined) {
        for (const test of matcher.itemTests) {
          if (!test.pass(payload, undefined)) {
            ok = false
            break
          }
        }
        if (!ok) continue
        units = SINGLE
      } else {
        units =
          matcher.itemTests.length === 0
            ? items
            : items.filter((it) => matcher.itemTests.every((t) => t.pass(payload, it)))
        if (units.length === 0) continue
      }
      matched[m] = units as Array<Obj | undefined>
      list.push(m)
    }
    const mark = scratch.audienceMark
    let sequences: Array<number> | undefined
    for (const m of list) {
      for (const t of p.tracksByMatcher[m]!) {
        const track = p.tracks[t]!
        if (s.day - day >= track.horizon) continue
        contribute(s, track, day, payload, matched[m]!)
        for (const a of track.audiences) scratch.audienceStamp[a] = mark
      }
      for (const t of p.sequencesByMatcher[m]!) {
        if (sequences === undefined) sequences = [t]
        else if (!sequences.includes(t)) sequences.push(t)
      }
    }
    if (sequences !== undefined) {
      for (const t of sequences) {
        const track = p.tracks[t]!
        if (s.day - day >= track.horizon) continue
        advanceSequence(p, s, track, time, day, payload)
        for (const a of track.audiences) scratch.audienceStamp[a] = mark
      }
    }
    for (const m of list) matched[m] = undefined
  }
  if (!evaluate) return noChanges
  const changes: Array<Membership.Change> = []
  reconcile(p, s, s.day, time, dayChanged, changes)
  return changes
}

/** Re-evaluates every audience at `now` against the memberships recorded in the state (after a migration). */
export const refresh = (p: Compiled, s: State, now: number): ReadonlyArray<Membership.Change> => {
  checkProgram(p, s)
  const today = Math.floor(now / DAY)
  if (today > s.day) roll(p, s, today)
  const changes: Array<Membership.Change> = []
  reconcile(p, s, Math.max(today, s.day), now, true, changes)
  return changes
}

/** Brings the state to `now`: on a new day, every audience is re-evaluated (windows slid, memberships expired). */
export const advance = (p: Compiled, s: State, now: number): ReadonlyArray<Membership.Change> => {
  const today = Math.floor(now / DAY)
  if (s.base < 0 || today <= s.day) return noChanges
  checkProgram(p, s)
  roll(p, s, today)
  const changes: Array<Membership.Change> = []
  reconcile(p, s, today, today * DAY, true, changes)
  return changes
}

/** Every audience the visitor is a member of at `now`, computed from the state (which is not changed). */
export const evaluate = (p: Compiled, s: State, now: number): ReadonlyArray<Membership.Status> => {
  const today = Math.floor(now / DAY)
  const out: Array<Membership.Status> = []
  if (s.base < 0) return out
  beginPass(p)
  for (const audience of p.audiences) {
    const r = evaluateAudience(p, s, audience, today)
    if (r.member) out.push({ audienceId: audience.id, expiresAt: r.expiryDay * DAY, products: r.products })
  }
  return out
}

/**
 * The next time (epoch ms, a UTC midnight after `now`) at which a membership can change without new events: a
 * day with activity enters or leaves a window, or a membership expires. `undefined` when nothing can change.
 */
export const nextCheckAt = (p: Compiled, s: State, now: number): number | undefined => {
  const today = Math.floor(now / DAY)
  let next = Number.POSITIVE_INFINITY
  const consider = (d: number) => {
    if (d > today && d < next) next = d
  }
  if (s.base >= 0) {
    for (let i = 0; i < s.n; i++) {
      const w = s.cells[i * 2]!
      const list = p.edges[w >>> 20]
      if (list === undefined) continue
      const day = (w & maxOffset) + s.base
      for (const e of list) consider(day + e)
    }
  }
  for (let i = 0; i < s.mn; i++) consider(s.members[i * 2]! & 0xffff)
  return Number.isFinite(next) ? next * DAY : undefined
}
