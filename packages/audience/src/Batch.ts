/**
 * Batch evaluation from stored events, for previews and backfills when an audience is created or edited.
 *
 * - `evaluate(rule, events, now)`: one rule over one visitor's events, interpreted directly from the document,
 *   without any incremental state. It is the reference the incremental evaluator is tested against (the two
 *   agree at every instant for any history; see the differential property test).
 * - `rebuild(program, events, now, previous?)`: a visitor's `VisitorState` replayed from their events (after
 *   `Program.migrate` said the history was incomplete); `Evaluator.refresh` then gives the changes.
 * - `backfill(program, events, now, onProgress?)`: every visitor of a list of stored events: their rebuilt
 *   states, their memberships at `now` and each audience's `Size`, with progress reported as it goes.
 *
 * All are synchronous and pure (they only read their arguments), so a worker can run them in chunks.
 *
 * @since 0.1.0
 */
import type * as AudienceRule from "./AudienceRule.js"
import { windowBounds } from "./AudienceRule.js"
import * as Evaluator from "./Evaluator.js"
import { type FieldInfo, fields, itemsOf, payloadOf, readKey, readNumber } from "./internal/fields.js"
import { clone as cloneState, DAY, type State } from "./internal/state.js"
import { compileWhere, type Test } from "./internal/where.js"
import * as Engine from "./internal/engine.js"
import { countingByVisitor } from "./internal/byVisitor.js"
import { compiledOf } from "./internal/program.js"
import type * as Membership from "./Membership.js"
import type { Program } from "./Program.js"
import * as Size from "./Size.js"
import { isObjection, matters, type VisitorEvent } from "./VisitorEvent.js"
import * as VisitorState from "./VisitorState.js"

type Obj = Record<string, unknown>

/**
 * The result of one rule for one visitor at one instant.
 *
 * - `holds`: the conditions hold.
 * - `member`: they hold and the last activity they count is less than `expiry.days` old.
 * - `expiresAt`: when the membership ends without new activity (set when `holds` and something was counted).
 * - `products`: the product ids that qualified the visitor (bound on productId), most recent first, at most 8.
 *
 * @since 0.1.0
 * @category models
 */
export interface Result {
  readonly holds: boolean
  readonly member: boolean
  readonly expiresAt: number | undefined
  readonly products: ReadonlyArray<string>
}

interface Prepared {
  readonly time: number
  readonly day: number
  readonly type: string
  readonly payload: Obj
  readonly items: ReadonlyArray<Obj> | undefined
}

/** One event's part in a leaf: per key (or `undefined` outside bindings), the numeric values it brings. */
interface Contribution {
  readonly key: string | undefined
  readonly values: ReadonlyArray<number>
}

/** The events that count up to `now` in time order, without any received before (or with) the last objection. */
const prepare = (events: ReadonlyArray<VisitorEvent>, now: number): ReadonlyArray<Prepared> => {
  const sorted = events
    .filter((e) => matters(e) && e.receivedAt <= now)
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.receivedAt - b.e.receivedAt || a.i - b.i)
  const objection = sorted.findLastIndex(({ e }) => isObjection(e))
  return sorted.slice(objection + 1).map(({ e }) => {
    const payload = payloadOf(e.payload)
    return {
      time: e.receivedAt,
      day: Math.floor(e.receivedAt / DAY),
      type: e.type,
      payload,
      items: itemsOf(e.type, payload)
    }
  })
}

const typesOf = (t: AudienceRule.EventCondition["event"]): ReadonlyArray<string> => (typeof t === "string" ? [t] : t)

/** The units of an event passing a matcher: `[undefined]` for the event itself, or line items. */
const unitsOf = (
  e: Prepared,
  types: ReadonlyArray<string>,
  tests: ReadonlyArray<Test>
): ReadonlyArray<Obj | undefined> => {
  if (!types.includes(e.type)) return []
  for (const t of tests) if (!t.item && !t.pass(e.payload, undefined)) return []
  const itemTests = tests.filter((t) => t.item)
  if (e.items === undefined) return itemTests.every((t) => t.pass(e.payload, undefined)) ? [undefined] : []
  return e.items.filter((item) => itemTests.every((t) => t.pass(e.payload, item)))
}

const keyOf = (field: FieldInfo, e: Prepared, unit: Obj | undefined): string | undefined =>
  readKey(field, e.payload, unit)

/** What an event brings to a leaf (count, or the values of `valueField`), per key of `keyField`. */
const contributions = (
  e: Prepared,
  units: ReadonlyArray<Obj | undefined>,
  valueField: FieldInfo | undefined,
  keyField: FieldInfo | undefined
): ReadonlyArray<Contribution> => {
  if (units.length === 0) return []
  const valuesFor = (unitsOfKey: ReadonlyArray<Obj | undefined>): Array<number> => {
    if (valueField === undefined) return []
    const out: Array<number> = []
    if (!valueField.item || e.items === undefined) {
      const v = readNumber(valueField, e.payload, undefined)
      if (v !== undefined) out.push(v)
    } else {
      for (const unit of unitsOfKey) {
        const v = readNumber(valueField, e.payload, unit)
        if (v !== undefined) out.push(v)
      }
    }
    return out
  }
  const keep = (c: Contribution) => valueField === undefined || c.values.length > 0
  if (keyField === undefined) return [{ key: undefined, values: valuesFor(units) }].filter(keep)
  const byKey = new Map<string, Array<Obj | undefined>>()
  for (const unit of units) {
    const k = keyOf(keyField, e, unit)
    if (k === undefined) continue
    const list = byKey.get(k) ?? []
    list.push(unit)
    byKey.set(k, list)
  }
  return [...byKey].map(([key, list]) => ({ key, values: valuesFor(list) })).filter(keep)
}

/** Per event (in order), the contributions of one leaf, computed once per evaluation. */
interface LeafData {
  readonly from: number
  readonly to: number
  readonly agg: "count" | "sum" | "min" | "max" | "distinct"
  readonly op: AudienceRule.Compare["op"]
  readonly threshold: number
  readonly positive: boolean
  readonly perEvent: ReadonlyArray<{ readonly day: number; readonly parts: ReadonlyArray<Contribution> }>
}

/** Completions of a sequence, per event: the keys (or `undefined`) whose chain the event completes. */
const sequenceCompletions = (
  c: AudienceRule.SequenceCondition,
  events: ReadonlyArray<Prepared>,
  keyField: FieldInfo | undefined
): Array<ReadonlyArray<Contribution>> => {
  const steps = c.steps.map((s) => ({ types: typesOf(s.event), tests: compileWhere(s.where) }))
  const within = c.within.hours * 3_600_000
  // For each step and event: the keys the event matches the step with (`""` stands for "no key").
  const matches: Array<Array<ReadonlySet<string>>> = steps.map((step) =>
    events.map((e) => {
      const units = unitsOf(e, step.types, step.tests)
      if (units.length === 0) return new Set<string>()
      if (keyField === undefined) return new Set([""])
      const keys = new Set<string>()
      for (const unit of units) {
        const k = keyOf(keyField, e, unit)
        if (k !== undefined) keys.add(k)
      }
      return keys
    })
  )
  const last = steps.length - 1
  // start(j, n, key): the latest start time of a chain of steps 0..j ending at event n, or -Infinity.
  const memo = new Map<string, number>()
  const start = (j: number, n: number, key: string): number => {
    if (j === 0) return events[n]!.time
    const id = `${j}:${n}:${key}`
    const known = memo.get(id)
    if (known !== undefined) return known
    let best = Number.NEGATIVE_INFINITY
    for (let i = 0; i < n; i++) {
      if (!matches[j - 1]![i]!.has(key)) continue
      const s = start(j - 1, i, key)
      if (s > best) best = s
    }
    memo.set(id, best)
    return best
  }
  return events.map((e, n) => {
    const out: Array<Contribution> = []
    for (const key of matches[last]![n]!) {
      if (e.time - start(last, n, key) <= within)
        out.push({ key: keyField === undefined ? undefined : key, values: [] })
    }
    return out
  })
}

/**
 * Evaluates a rule over one visitor's events at `now`, directly from the document (events after `now`, and
 * events whose consent does not allow personalization, are ignored).
 *
 * @since 0.1.0
 * @category evaluation
 */
export const evaluate = (rule: AudienceRule.AudienceRule, events: ReadonlyArray<VisitorEvent>, now: number): Result => {
  const evs = prepare(events, now)
  const today = Math.floor(now / DAY)
  const leaves = new Map<string, LeafData>()
  const productGroups: Array<{
    readonly group: AudienceRule.AllCondition | AudienceRule.AnyCondition
    readonly path: string
  }> = []
  const rootGroup: AudienceRule.AllCondition = {
    kind: "all",
    conditions: rule.conditions,
    ...(rule.bind === undefined ? {} : { bind: rule.bind })
  }

  const inWindow = (leaf: LeafData, day: number) => today - day < leaf.from && today - day >= leaf.to

  const prepareLeaf = (
    c: AudienceRule.EventCondition | AudienceRule.SequenceCondition,
    bind: AudienceRule.BindField | undefined,
    positive: boolean,
    path: string
  ) => {
    const { from, to } = windowBounds(c.window)
    const compare = c.compare ?? { op: "gte" as const, value: 1 }
    let agg: LeafData["agg"] = "count"
    let parts: Array<ReadonlyArray<Contribution>>
    if (c.kind === "sequence") {
      parts = sequenceCompletions(c, evs, bind === undefined ? undefined : fields[bind])
    } else {
      const aggregate = c.aggregate ?? { fn: "count" as const }
      agg = aggregate.fn
      const tests = compileWhere(c.where)
      const types = typesOf(c.event)
      const valueField = agg === "count" || agg === "distinct" ? undefined : fields[aggregate.field!]
      const keyField = agg === "distinct" ? fields[aggregate.field!] : bind === undefined ? undefined : fields[bind]
      parts = evs.map((e) => contributions(e, unitsOf(e, types, tests), valueField, keyField))
    }
    leaves.set(path, {
      from,
      to,
      agg,
      op: compare.op,
      threshold: compare.value,
      positive,
      perEvent: evs.map((e, i) => ({ day: e.day, parts: parts[i]! }))
    })
  }

  const walk = (
    c: AudienceRule.Condition,
    bind: AudienceRule.BindField | undefined,
    positive: boolean,
    path: string
  ): void => {
    switch (c.kind) {
      case "event":
      case "sequence":
        prepareLeaf(c, bind, positive, path)
        return
      case "not":
        walk(c.condition, bind, !positive, `${path}.condition`)
        return
      default:
        if (c.bind === "productId" && positive) productGroups.push({ group: c, path })
        c.conditions.forEach((child, i) => {
          walk(child, c.bind ?? bind, positive, `${path}.conditions[${i}]`)
        })
    }
  }
  walk(rootGroup, undefined, true, "rule")

  const leafValue = (leaf: LeafData, key: string | undefined): number => {
    if (leaf.agg === "distinct") {
      const keys = new Set<string>()
      for (const e of leaf.perEvent) if (inWindow(leaf, e.day)) for (const p of e.parts) keys.add(p.key!)
      return keys.size
    }
    let count = 0
    let sum = 0
    let min = Number.NaN
    let max = Number.NaN
    for (const e of leaf.perEvent) {
      if (!inWindow(leaf, e.day)) continue
      for (const p of e.parts) {
        if (p.key !== key) continue
        count++
        for (const v of p.values) {
          sum += v
          if (!(v >= min)) min = v
          if (!(v <= max)) max = v
        }
      }
    }
    return leaf.agg === "count" ? count : leaf.agg === "sum" ? sum : leaf.agg === "min" ? min : max
  }

  /** Leaves under a condition. */
  const leavesUnder = (c: AudienceRule.Condition, path: string): Array<LeafData> => {
    switch (c.kind) {
      case "event":
      case "sequence":
        return [leaves.get(path)!]
      case "not":
        return leavesUnder(c.condition, `${path}.condition`)
      default:
        return c.conditions.flatMap((child, i) => leavesUnder(child, `${path}.conditions[${i}]`))
    }
  }

  /** Keys with activity in the windows of a group's leaves, with the latest such day of each. */
  const candidatesOf = (
    group: AudienceRule.AllCondition | AudienceRule.AnyCondition,
    path: string
  ): Map<string, number> => {
    const out = new Map<string, number>()
    for (const leaf of leavesUnder(group, path)) {
      for (const e of leaf.perEvent) {
        if (!inWindow(leaf, e.day)) continue
        for (const p of e.parts) {
          if (p.key === undefined) continue
          const known = out.get(p.key)
          if (known === undefined || e.day > known) out.set(p.key, e.day)
        }
      }
    }
    return out
  }

  const holdsChildren = (
    group: AudienceRule.AllCondition | AudienceRule.AnyCondition,
    key: string | undefined,
    path: string
  ): boolean =>
    group.kind === "all"
      ? group.conditions.every((c, i) => holds(c, key, `${path}.conditions[${i}]`))
      : group.conditions.some((c, i) => holds(c, key, `${path}.conditions[${i}]`))

  const holds = (c: AudienceRule.Condition, key: string | undefined, path: string): boolean => {
    switch (c.kind) {
      case "event":
      case "sequence": {
        const leaf = leaves.get(path)!
        return Engine.compare(leafValue(leaf, key), leaf.op, leaf.threshold)
      }
      case "not":
        return !holds(c.condition, key, `${path}.condition`)
      default:
        if (c.bind !== undefined) {
          return [...candidatesOf(c, path).keys()].some((k) => holdsChildren(c, k, path))
        }
        return holdsChildren(c, key, path)
    }
  }

  if (!holds(rootGroup, undefined, "rule")) return { holds: false, member: false, expiresAt: undefined, products: [] }
  let lastTouch = -1
  for (const leaf of leaves.values()) {
    if (!leaf.positive) continue
    for (const e of leaf.perEvent)
      if (e.parts.length > 0 && inWindow(leaf, e.day) && e.day > lastTouch) lastTouch = e.day
  }
  if (lastTouch < 0) return { holds: true, member: false, expiresAt: undefined, products: [] }
  const expiryDay = lastTouch + (rule.expiry?.days ?? 30)
  const member = today < expiryDay
  const found = new Map<string, number>()
  if (member) {
    for (const { group, path } of productGroups) {
      for (const [key, day] of candidatesOf(group, path)) {
        if (!holdsChildren(group, key, path)) continue
        const known = found.get(key)
        if (known === undefined || day > known) found.set(key, day)
      }
    }
  }
  const products = [...found]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, 8)
    .map(([k]) => k)
  return { holds: true, member, expiresAt: expiryDay * DAY, products }
}

/**
 * A visitor's state replayed from their stored events (in `receivedAt` order; those after `now` are left out)
 * and brought to `now`. The memberships recorded in `previous` (already carried over with `Program.migrate`)
 * are kept, so `Evaluator.refresh(program, state, now)` then reports exactly what changed.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const rebuild = (
  program: Program,
  events: ReadonlyArray<VisitorEvent>,
  now: number,
  previous?: VisitorState.VisitorState
): VisitorState.VisitorState => {
  const p = compiledOf(program)
  const s = VisitorState.make() as unknown as State
  s.fingerprint = p.fingerprint
  const sorted = events
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.receivedAt <= now)
    .sort((a, b) => a.e.receivedAt - b.e.receivedAt || a.i - b.i)
  for (const { e } of sorted) Engine.fold(p, s, e)
  if (previous !== undefined) {
    const old = cloneState(previous as unknown as State)
    s.members = old.members
    s.mn = old.mn
  }
  return s as unknown as VisitorState.VisitorState
}

/**
 * Progress of a backfill: events read so far out of `total`, and visitors done.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly processed: number
  readonly total: number
  readonly visitors: number
}

/**
 * The outcome of a backfill: per visitor the rebuilt state (its recorded memberships are those at `now`) and the
 * memberships; per audience the size.
 *
 * @since 0.1.0
 * @category models
 */
export interface Backfill {
  readonly states: ReadonlyMap<string, VisitorState.VisitorState>
  readonly memberships: ReadonlyMap<string, ReadonlyArray<Membership.Status>>
  readonly sizes: ReadonlyMap<string, Size.Size>
}

/**
 * Rebuilds every visitor found in `events` (stored events of one tenant, any order) and evaluates them at `now`.
 * `onProgress` is called about every `every` events (default 10,000) and once at the end.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const backfill = (
  program: Program,
  events: ReadonlyArray<VisitorEvent>,
  now: number,
  onProgress?: (progress: Progress) => void,
  every = 10_000
): Backfill => {
  const byVisitor = countingByVisitor(events)
  const states = new Map<string, VisitorState.VisitorState>()
  const memberships = new Map<string, ReadonlyArray<Membership.Status>>()
  const sizes = new Map(program.audiences.map((a) => [a.id, Size.make()]))
  let processed = events.length - [...byVisitor.values()].reduce((n, l) => n + l.length, 0)
  let reported = 0
  for (const [visitor, list] of byVisitor) {
    const state = rebuild(program, list, now)
    Evaluator.refresh(program, state, now)
    const members = Evaluator.evaluate(program, state, now)
    states.set(visitor, state)
    memberships.set(visitor, members)
    for (const m of members) Size.add(sizes.get(m.audienceId)!, visitor)
    processed += list.length
    if (onProgress !== undefined && processed - reported >= every) {
      reported = processed
      onProgress({ processed, total: events.length, visitors: states.size })
    }
  }
  onProgress?.({ processed: events.length, total: events.length, visitors: states.size })
  return { states, memberships, sizes }
}

/**
 * The size an audience would have over stored events at `now` (a preview before activating it): the members
 * counted by evaluating its rule directly for every visitor.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const preview = (
  rule: AudienceRule.AudienceRule,
  events: ReadonlyArray<VisitorEvent>,
  now: number
): Size.Size => {
  const byVisitor = new Map<string, Array<VisitorEvent>>()
  for (const e of events) {
    if (!matters(e)) continue
    const list = byVisitor.get(e.visitor!) ?? []
    list.push(e)
    byVisitor.set(e.visitor!, list)
  }
  const size = Size.make()
  for (const [visitor, list] of byVisitor) if (evaluate(rule, list, now).member) Size.add(size, visitor)
  return size
}
