/**
 * Explanations: for one visitor and one audience, the per-condition result tree with the values compared — the
 * window each condition looked at, the aggregate found, the comparison and whether it held; for bound groups,
 * the result per bound value (product or category). The privacy center answers "why do I see this ad" from it,
 * and `describe` renders it as plain sentences.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import { candidates, compare, evalChildren, evaluateAudience, beginPass, leafValue } from "./internal/engine.js"
import type { Group, Leaf, Node as CompiledNode } from "./internal/program.js"
import { compiledOf } from "./internal/program.js"
import { DAY, type State } from "./internal/state.js"
import type { Program } from "./Program.js"
import type { VisitorState } from "./VisitorState.js"
import type * as AudienceRule from "./AudienceRule.js"

/**
 * A condition on events (or a sequence's completions): what was aggregated over which days, the value found
 * (`null` for a min or max over nothing), how it was compared, and the result.
 *
 * @since 0.1.0
 * @category models
 */
export interface LeafResult {
  readonly kind: "event" | "sequence"
  readonly path: string
  readonly holds: boolean
  readonly events: ReadonlyArray<string>
  readonly where: AudienceRule.Where | undefined
  readonly aggregate: "count" | "sum" | "min" | "max" | "distinct"
  readonly field: string | undefined
  /** First and last day of the window, `YYYY-MM-DD` (UTC). */
  readonly window: { readonly from: string; readonly to: string }
  readonly value: number | null
  readonly op: AudienceRule.Compare["op"]
  readonly threshold: number
}

/**
 * An `all` or `any` group.
 *
 * @since 0.1.0
 * @category models
 */
export interface GroupResult {
  readonly kind: "all" | "any"
  readonly path: string
  readonly holds: boolean
  readonly children: ReadonlyArray<Result>
}

/**
 * A negation.
 *
 * @since 0.1.0
 * @category models
 */
export interface NotResult {
  readonly kind: "not"
  readonly path: string
  readonly holds: boolean
  readonly child: Result
}

/**
 * A bound group: its result for each value of the bound field seen in its windows (it holds when one holds).
 *
 * @since 0.1.0
 * @category models
 */
export interface BoundResult {
  readonly kind: "bound"
  readonly path: string
  readonly holds: boolean
  readonly field: AudienceRule.BindField
  readonly group: "all" | "any"
  readonly values: ReadonlyArray<{
    readonly value: string
    readonly holds: boolean
    readonly children: ReadonlyArray<Result>
  }>
}

/**
 * Any node of an explanation.
 *
 * @since 0.1.0
 * @category models
 */
export type Result = LeafResult | GroupResult | NotResult | BoundResult

/**
 * Why a visitor is (or is not) in an audience at `at`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Explanation {
  readonly audienceId: string
  readonly at: number
  readonly member: boolean
  /** The conditions hold (a member also needs recent enough activity: see `expiresAt`). */
  readonly holds: boolean
  /** The last day with activity the rule counts, `YYYY-MM-DD`, if any. */
  readonly lastActivity: string | undefined
  /** When the membership ends (or ended) without new activity. */
  readonly expiresAt: number | undefined
  readonly products: ReadonlyArray<string>
  readonly conditions: Result
}

const isoDay = (day: number): string => new Date(day * DAY).toISOString().slice(0, 10)

const typesOf = (t: AudienceRule.EventCondition["event"]): ReadonlyArray<string> => (typeof t === "string" ? [t] : t)

/**
 * Explains an audience for a visitor at `now` (the state is not changed); `None` when the program has no such
 * audience. Throws, like `Evaluator.update`, when the state belongs to another program.
 *
 * @since 0.1.0
 * @category explaining
 */
export const explain = (
  program: Program,
  audienceId: string,
  state: VisitorState,
  now: number
): Option.Option<Explanation> => {
  const p = compiledOf(program)
  const audience = p.byId.get(audienceId)
  if (audience === undefined) return Option.none()
  const s = state as unknown as State
  if (s.fingerprint !== 0 && s.fingerprint !== p.fingerprint) {
    throw new Error("VisitorState was built for another audience program: carry it over with Program.migrate first")
  }
  const today = Math.floor(now / DAY)
  beginPass(p)

  const leafResult = (leaf: Leaf, key: number): LeafResult => {
    const value =
      s.base < 0 ? (leaf.agg === "min" || leaf.agg === "max" ? Number.NaN : 0) : leafValue(p, s, leaf, key, today)
    const c = leaf.condition
    return {
      kind: c.kind,
      path: leaf.path,
      holds: compare(value, leaf.op, leaf.threshold),
      events: c.kind === "event" ? typesOf(c.event) : c.steps.flatMap((step) => typesOf(step.event)),
      where: c.kind === "event" ? c.where : undefined,
      aggregate: leaf.agg,
      field: c.kind === "event" ? c.aggregate?.field : undefined,
      window: { from: isoDay(today - leaf.from + 1), to: isoDay(today - leaf.to) },
      value: Number.isNaN(value) ? null : value,
      op: leaf.op,
      threshold: leaf.threshold
    }
  }

  const groupChildren = (group: Group, key: number): Array<Result> => group.children.map((c) => node(c, key))

  const node = (n: CompiledNode, key: number): Result => {
    switch (n.kind) {
      case "leaf":
        return leafResult(n, key)
      case "not": {
        const child = node(n.child, key)
        return { kind: "not", path: n.path, holds: !child.holds, child }
      }
      default: {
        if (n.bind !== undefined) {
          const values = s.base < 0 ? [] : [...candidates(s, n, today).keys()]
          const results = values.map((k) => ({
            value: s.keys[k]!,
            holds: evalChildren(p, s, n, today, k),
            children: groupChildren(n, k)
          }))
          return {
            kind: "bound",
            path: n.path,
            holds: results.some((r) => r.holds),
            field: n.bind,
            group: n.kind,
            values: results
          }
        }
        const children = groupChildren(n, key)
        return {
          kind: n.kind,
          path: n.path,
          holds: n.kind === "all" ? children.every((c) => c.holds) : children.some((c) => c.holds),
          children
        }
      }
    }
  }

  const result = evaluateAudience(p, s, audience, today)
  return Option.some({
    audienceId,
    at: now,
    member: result.member,
    holds: result.holds,
    lastActivity: result.lastTouch < 0 ? undefined : isoDay(result.lastTouch),
    expiresAt: result.expiryDay < 0 ? undefined : result.expiryDay * DAY,
    products: result.products,
    conditions: node(audience.root, 0)
  })
}

const opText: Record<AudienceRule.Compare["op"], string> = {
  gte: "at least",
  gt: "more than",
  lte: "at most",
  lt: "less than",
  eq: "exactly",
  ne: "not"
}

const whereText = (where: AudienceRule.Where | undefined): string => {
  if (where === undefined) return ""
  const parts = Object.entries(where).map(([field, test]) =>
    typeof test === "object" && test !== null
      ? `${field} ${Object.entries(test)
          .map(([op, v]) => `${op} ${JSON.stringify(v)}`)
          .join(" and ")}`
      : `${field} = ${JSON.stringify(test)}`
  )
  return parts.length === 0 ? "" : ` where ${parts.join(", ")}`
}

/**
 * The explanation as indented plain-text lines, one per condition (`✓` held, `✗` did not).
 *
 * @since 0.1.0
 * @category explaining
 */
export const describe = (explanation: Explanation): ReadonlyArray<string> => {
  const lines: Array<string> = [
    `${explanation.member ? "In" : "Not in"} audience ${explanation.audienceId}` +
      (explanation.member && explanation.expiresAt !== undefined
        ? ` until ${new Date(explanation.expiresAt).toISOString().slice(0, 10)}`
        : !explanation.member && explanation.holds
          ? " (the conditions hold, but the last activity they count is too old)"
          : "") +
      (explanation.products.length > 0 ? `; products: ${explanation.products.join(", ")}` : "")
  ]
  const mark = (b: boolean) => (b ? "✓" : "✗")
  const walk = (r: Result, depth: number): void => {
    const pad = "  ".repeat(depth)
    switch (r.kind) {
      case "event":
      case "sequence": {
        const what =
          r.kind === "sequence"
            ? `sequence ${r.events.join(" then ")}: completions`
            : `${r.events.join(" or ")}${whereText(r.where)}: ${r.aggregate}${r.field === undefined ? "" : ` of ${r.field}`}`
        lines.push(
          `${pad}${mark(r.holds)} ${what} from ${r.window.from} to ${r.window.to} = ${r.value ?? "none"} ` +
            `(needed ${opText[r.op]} ${r.threshold})`
        )
        return
      }
      case "not":
        lines.push(`${pad}${mark(r.holds)} did not:`)
        walk(r.child, depth + 1)
        return
      case "bound":
        lines.push(`${pad}${mark(r.holds)} for one ${r.field} (${r.group}):`)
        if (r.values.length === 0) lines.push(`${pad}  (no ${r.field} seen in these windows)`)
        for (const v of r.values) {
          lines.push(`${pad}  ${mark(v.holds)} ${r.field} ${v.value}:`)
          for (const c of v.children) walk(c, depth + 2)
        }
        return
      default:
        lines.push(`${pad}${mark(r.holds)} ${r.kind === "all" ? "all of" : "any of"}:`)
        for (const c of r.children) walk(c, depth + 1)
    }
  }
  walk(explanation.conditions, 1)
  return lines
}
