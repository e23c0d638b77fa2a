/**
 * The compiler: a set of audience rules becomes one program whose pieces are shared between audiences.
 *
 * - A matcher is event types plus property filters; each event is matched once per matcher.
 * - A track is what a visitor's state keeps for a matcher: a day-bucketed count, sum, minimum or maximum,
 *   optionally per key (a bound field, or the field of a distinct count), or the completions of a sequence.
 * - A leaf reads a track over a window; audiences are trees of leaves.
 *
 * Twenty audiences that all look at "product views in category shoes" share one track, so a visitor's state
 * grows with what they did, not with the number of audiences.
 */
import { Event } from "@openaudience/event-schema"
import * as Either from "effect/Either"
import type * as Audience from "../Audience.js"
import * as AudienceRule from "../AudienceRule.js"
import { invalid, type RuleError, tooComplex } from "../RuleError.js"
import { type FieldInfo, fields } from "./fields.js"
import { murmur3 } from "./hash.js"
import { maxTracks } from "./state.js"
import { compileWhere, type Test, whereKey } from "./where.js"

/** Event types by index. */
export const typeIndex: ReadonlyMap<string, number> = new Map(Event.eventTypes.map((t, i) => [t, i]))

/** Event types and filters. */
export interface Matcher {
  readonly index: number
  readonly key: string
  /** Bitmask of event type indexes. */
  readonly types: number
  readonly eventTests: ReadonlyArray<Test>
  readonly itemTests: ReadonlyArray<Test>
}

/** How cells of a track combine: 0 count, 1 sum, 2 min, 3 max. */
export type Fn = 0 | 1 | 2 | 3

/** A sequence's steps. */
export interface Sequence {
  readonly steps: ReadonlyArray<number>
  readonly withinMs: number
}

/** What a state keeps for a matcher (or a sequence). */
export interface Track {
  readonly index: number
  readonly key: string
  /** The matcher, or -1 for a sequence. */
  readonly matcher: number
  readonly fn: Fn
  readonly valueField: FieldInfo | undefined
  readonly keyField: FieldInfo | undefined
  /** Distinct-count keys longer than 64 characters are kept as a hash. */
  readonly hashLongKeys: boolean
  readonly sequence: Sequence | undefined
  /** Days of cells kept: the longest window reading the track. */
  horizon: number
  /** Audience indexes reading the track. */
  readonly audiences: Array<number>
}

/** The aggregate a leaf reads. */
export type Agg = "count" | "sum" | "min" | "max" | "distinct"

/** A track read over a window (days ago `[from, to)`) and compared. */
export interface Leaf {
  readonly kind: "leaf"
  readonly path: string
  readonly condition: AudienceRule.EventCondition | AudienceRule.SequenceCondition
  /** Index of the (track, window, aggregate) value, for sharing the value between audiences. */
  readonly value: number
  readonly track: number
  readonly from: number
  readonly to: number
  readonly agg: Agg
  readonly op: AudienceRule.Compare["op"]
  readonly threshold: number
  /** Read per key of the enclosing bound group. */
  readonly keyed: boolean
  /** Not under an odd number of `not`. */
  readonly positive: boolean
}

/** An `all` or `any` group; `bind` when bound. */
export interface Group {
  readonly kind: "all" | "any"
  readonly path: string
  readonly children: ReadonlyArray<Node>
  readonly bind: AudienceRule.BindField | undefined
  /** Every leaf under a bound group (its candidates come from them). */
  readonly leaves: ReadonlyArray<Leaf>
  readonly positive: boolean
}

/** A negation. */
export interface Not {
  readonly kind: "not"
  readonly path: string
  readonly child: Node
}

/** A node of an audience's tree. */
export type Node = Leaf | Group | Not

/** One compiled audience. */
export interface CompiledAudience {
  readonly id: string
  readonly index: number
  readonly rule: AudienceRule.AudienceRule
  readonly expiryDays: number
  readonly root: Group
  /** Leaves not under `not`: the last day they saw activity refreshes the membership. */
  readonly positiveLeaves: ReadonlyArray<Leaf>
  /** Bound groups on productId not under `not`: the values they hold for are the qualifying products. */
  readonly productGroups: ReadonlyArray<Group>
}

/** A compiled set of audiences. */
export interface Compiled {
  readonly matchers: ReadonlyArray<Matcher>
  readonly tracks: ReadonlyArray<Track>
  readonly audiences: ReadonlyArray<CompiledAudience>
  readonly byId: ReadonlyMap<string, CompiledAudience>
  /** Matcher indexes per event type index. */
  readonly matchersByType: ReadonlyArray<ReadonlyArray<number>>
  /** Event tracks per matcher. */
  readonly tracksByMatcher: ReadonlyArray<ReadonlyArray<number>>
  /** Sequence tracks having a step on the matcher. */
  readonly sequencesByMatcher: ReadonlyArray<ReadonlyArray<number>>
  /** Number of distinct leaf values. */
  readonly values: number
  /** Per track, the window edges (days ago) at which a cell enters or leaves a window reading it. */
  readonly edges: ReadonlyArray<ReadonlyArray<number>>
  readonly fingerprint: number
  // Scratch space of the evaluator (one program is used by one synchronous caller at a time).
  readonly scratch: Scratch
}

/** Reusable buffers, so the per-event path allocates little. */
export interface Scratch {
  valueCache: Float64Array
  valueStamp: Uint32Array
  stamp: number
  audienceStamp: Uint32Array
  audienceMark: number
  readonly matched: Array<Array<Record<string, unknown> | undefined> | undefined>
  readonly matchedList: Array<number>
}

/** The compiled form behind a public `Program`. */
export const compiledOf = (program: { readonly fingerprint: number }): Compiled => program as unknown as Compiled

const typesOf = (t: Event.EventType | ReadonlyArray<Event.EventType>): ReadonlyArray<string> =>
  typeof t === "string" ? [t] : t

/** Compiles audiences into one program. */
export const compile = (
  definitions: ReadonlyArray<Audience.Definition>,
  limits: AudienceRule.Limits = AudienceRule.defaultLimits
): Either.Either<Compiled, RuleError> => {
  const matchers: Array<Matcher> = []
  const matcherIndex = new Map<string, number>()
  const tracks: Array<Track> = []
  const trackIndex = new Map<string, number>()
  const valueIndex = new Map<string, number>()
  const audiences: Array<CompiledAudience> = []
  const byId = new Map<string, CompiledAudience>()

  const matcherFor = (types: ReadonlyArray<string>, where: AudienceRule.Where | undefined): number => {
    const sorted = [...new Set(types)].sort()
    const key = `${sorted.join(",")}|${whereKey(where)}`
    const known = matcherIndex.get(key)
    if (known !== undefined) return known
    const tests = compileWhere(where)
    let mask = 0
    for (const t of sorted) mask |= 1 << typeIndex.get(t)!
    const m: Matcher = {
      index: matchers.length,
      key,
      types: mask,
      eventTests: tests.filter((t) => !t.item),
      itemTests: tests.filter((t) => t.item)
    }
    matchers.push(m)
    matcherIndex.set(key, m.index)
    return m.index
  }

  const trackFor = (spec: Omit<Track, "index" | "horizon" | "audiences">, horizon: number, audience: number) => {
    let index = trackIndex.get(spec.key)
    if (index === undefined) {
      index = tracks.length
      tracks.push({ ...spec, index, horizon, audiences: [] })
      trackIndex.set(spec.key, index)
    }
    const track = tracks[index]!
    if (track.horizon < horizon) track.horizon = horizon
    if (!track.audiences.includes(audience)) track.audiences.push(audience)
    return index
  }

  for (const definition of definitions) {
    if (byId.has(definition.id)) {
      return Either.left(invalid("audiences", `audience id ${JSON.stringify(definition.id)} appears twice`))
    }
    const checked = AudienceRule.validate(definition.rule, limits)
    if (Either.isLeft(checked)) return Either.left(checked.left)
    const rule = checked.right
    const audienceIndex = audiences.length
    const positiveLeaves: Array<Leaf> = []
    const productGroups: Array<Group> = []

    const leafOf = (
      c: AudienceRule.EventCondition | AudienceRule.SequenceCondition,
      path: string,
      bind: AudienceRule.BindField | undefined,
      positive: boolean
    ): Leaf => {
      const { from, to } = AudienceRule.windowBounds(c.window)
      const compare = c.compare ?? { op: "gte" as const, value: 1 }
      const keyField = bind === undefined ? undefined : fields[bind]
      let track: number
      let agg: Agg
      if (c.kind === "sequence") {
        agg = "count"
        const steps = c.steps.map((s) => matcherFor(typesOf(s.event), s.where))
        track = trackFor(
          {
            key: `seq|${steps.map((m) => matchers[m]!.key).join(">")}|${c.within.hours}|${bind ?? ""}`,
            matcher: -1,
            fn: 0,
            valueField: undefined,
            keyField,
            hashLongKeys: false,
            sequence: { steps, withinMs: c.within.hours * 3_600_000 }
          },
          from,
          audienceIndex
        )
      } else {
        const matcher = matcherFor(typesOf(c.event), c.where)
        const aggregate = c.aggregate ?? { fn: "count" as const }
        agg = aggregate.fn
        const distinct = aggregate.fn === "distinct"
        const fn: Fn = aggregate.fn === "sum" ? 1 : aggregate.fn === "min" ? 2 : aggregate.fn === "max" ? 3 : 0
        const valueField = fn === 0 ? undefined : fields[aggregate.field!]
        const trackKeyField = distinct ? fields[aggregate.field!] : keyField
        track = trackFor(
          {
            key: `ev|${matchers[matcher]!.key}|${fn}|${valueField?.name ?? ""}|${distinct ? `d:${aggregate.field}` : bind === undefined ? "" : `b:${bind}`}`,
            matcher,
            fn,
            valueField,
            keyField: trackKeyField,
            hashLongKeys: distinct,
            sequence: undefined
          },
          from,
          audienceIndex
        )
      }
      const valueKey = `${track}|${from}|${to}|${agg}`
      let value = valueIndex.get(valueKey)
      if (value === undefined) {
        value = valueIndex.size
        valueIndex.set(valueKey, value)
      }
      const leaf: Leaf = {
        kind: "leaf",
        path,
        condition: c,
        value,
        track,
        from,
        to,
        agg,
        op: compare.op,
        threshold: compare.value,
        keyed: bind !== undefined,
        positive
      }
      if (positive) positiveLeaves.push(leaf)
      return leaf
    }

    const nodeOf = (
      c: AudienceRule.Condition,
      path: string,
      bind: AudienceRule.BindField | undefined,
      positive: boolean
    ): Node => {
      switch (c.kind) {
        case "event":
        case "sequence":
          return leafOf(c, path, bind, positive)
        case "not":
          return { kind: "not", path, child: nodeOf(c.condition, `${path}.condition`, bind, !positive) }
        default:
          return groupOf(c.kind, c.conditions, path, c.bind, bind, positive, `${path}.conditions`)
      }
    }

    const groupOf = (
      kind: "all" | "any",
      conditions: ReadonlyArray<AudienceRule.Condition>,
      path: string,
      ownBind: AudienceRule.BindField | undefined,
      outerBind: AudienceRule.BindField | undefined,
      positive: boolean,
      childPath: string
    ): Group => {
      const bind = ownBind ?? outerBind
      const children = conditions.map((c, i) => nodeOf(c, `${childPath}[${i}]`, bind, positive))
      const leaves: Array<Leaf> = []
      const collect = (n: Node) => {
        if (n.kind === "leaf") leaves.push(n)
        else if (n.kind === "not") collect(n.child)
        else n.children.forEach(collect)
      }
      if (ownBind !== undefined) children.forEach(collect)
      const group: Group = { kind, path, children, bind: ownBind, leaves, positive }
      if (ownBind === "productId" && positive) productGroups.push(group)
      return group
    }

    const root = groupOf("all", rule.conditions, "rule", rule.bind, undefined, true, "conditions")
    const compiled: CompiledAudience = {
      id: definition.id,
      index: audienceIndex,
      rule,
      expiryDays: AudienceRule.expiryDays(rule),
      root,
      positiveLeaves,
      productGroups
    }
    audiences.push(compiled)
    byId.set(compiled.id, compiled)
    if (audiences.length > 0xffff) {
      return Either.left(tooComplex("audiences", "maxAudiences", "more than 65535 audiences in one program"))
    }
  }
  if (tracks.length > maxTracks) {
    return Either.left(
      tooComplex("audiences", "maxTracks", `${tracks.length} distinct tracks, more than ${maxTracks} in one program`)
    )
  }

  const matchersByType: Array<Array<number>> = Event.eventTypes.map(() => [])
  for (const m of matchers) {
    for (let t = 0; t < Event.eventTypes.length; t++) if (m.types & (1 << t)) matchersByType[t]!.push(m.index)
  }
  const tracksByMatcher: Array<Array<number>> = matchers.map(() => [])
  const sequencesByMatcher: Array<Array<number>> = matchers.map(() => [])
  for (const t of tracks) {
    if (t.sequence === undefined) tracksByMatcher[t.matcher]!.push(t.index)
    else for (const m of new Set(t.sequence.steps)) sequencesByMatcher[m]!.push(t.index)
  }
  const edges: Array<Array<number>> = tracks.map(() => [])
  const collectEdges = (n: Node): void => {
    if (n.kind === "leaf") {
      const list = edges[n.track]!
      if (!list.includes(n.from)) list.push(n.from)
      if (n.to > 0 && !list.includes(n.to)) list.push(n.to)
    } else if (n.kind === "not") collectEdges(n.child)
    else n.children.forEach(collectEdges)
  }
  for (const a of audiences) collectEdges(a.root)
  const fingerprint = murmur3(
    `${tracks.map((t) => `${t.key}@${t.horizon}`).join("\n")}\n${audiences.map((a) => a.id).join("\n")}`,
    0x5eed
  )
  return Either.right({
    matchers,
    tracks,
    audiences,
    byId,
    matchersByType: matchersByType.map((ms) =>
      ms.filter((m) => tracksByMatcher[m]!.length > 0 || sequencesByMatcher[m]!.length > 0)
    ),
    tracksByMatcher,
    sequencesByMatcher,
    values: valueIndex.size,
    edges,
    fingerprint,
    scratch: {
      valueCache: new Float64Array(valueIndex.size),
      valueStamp: new Uint32Array(valueIndex.size),
      stamp: 0,
      audienceStamp: new Uint32Array(audiences.length),
      audienceMark: 0,
      matched: matchers.map(() => undefined),
      matchedList: []
    }
  })
}
