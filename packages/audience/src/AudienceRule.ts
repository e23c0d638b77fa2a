/**
 * The audience rule language, version 1: a JSON document validated by an Effect Schema. A rule is a list of
 * conditions that must all hold, over the events a visitor produced:
 *
 * - `event`: events of some types, filtered by their properties (`where`), aggregated over a window of days
 *   (`count`, `sum`, `min`, `max`, `distinct`) and compared with a number (by default: at least one).
 * - `sequence`: steps in order (A then B), the whole chain within some hours; its completions are counted over a
 *   window like events.
 * - `all`, `any`, `not`: nesting. `bind` on a group (or on the whole rule) binds a field across its events: the
 *   group must hold for one and the same value (the product viewed is the product not bought).
 *
 * Windows are whole UTC days: `{ days: 14 }` is today and the 13 days before it; `{ fromDaysAgo: 30, toDaysAgo:
 * 7 }` is the days from 29 to 7 days ago (today is 0 days ago). A visitor is a member while the rule holds and
 * the last day they did something the rule counts is less than `expiry.days` ago (default 30, at most 540).
 *
 * `decode` rejects bad documents with the path to the first problem (`conditions[1].window.days: expected a
 * whole number of days from 1 to 540, got 0`) and rules over the complexity `Limits` naming the limit.
 *
 * @since 0.1.0
 */
import { Event } from "@openaudience/event-schema"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { type FieldName, fields, numericFields } from "./internal/fields.js"
import { invalid, type RuleError, tooComplex } from "./RuleError.js"

const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

const describe = (u: unknown): string => {
  if (u === undefined) return "nothing"
  if (typeof u === "string") return JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}…` : u)
  if (Array.isArray(u)) return "an array"
  if (u === null) return "null"
  if (typeof u === "object") return "an object"
  return String(u)
}

const wholeNumber = (min: number, max: number, what: string) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isInteger(n) && n >= min && n <= max, {
      message: (issue) => ({
        message: `expected ${what} from ${min} to ${max}, got ${describe(issue.actual)}`,
        override: true
      })
    })
  )

/**
 * The longest window, in days, and the longest membership expiry.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxDays = 540

/**
 * The default membership expiry, in days.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultExpiryDays = 30

/**
 * The default window, in days, of a condition that names none.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultWindowDays = 30

/**
 * The largest value a `distinct` count may be compared with: distinct values are tracked per visitor up to 16.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxDistinct = 15

const Days = wholeNumber(1, maxDays, "a whole number of days")
const DaysAgo = wholeNumber(0, maxDays, "a whole number of days ago")

/**
 * A time window of whole UTC days: `{ days: n }` (today and the n - 1 days before), or `{ fromDaysAgo: m,
 * toDaysAgo: n }` (from m - 1 days ago to n days ago, m > n).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Window = Schema.Struct({
  days: opt(Days),
  fromDaysAgo: opt(DaysAgo),
  toDaysAgo: opt(DaysAgo)
}).pipe(
  Schema.filter((w) => {
    if (w.days !== undefined) {
      return w.fromDaysAgo === undefined && w.toDaysAgo === undefined
        ? true
        : { path: ["days"], message: "give either days or fromDaysAgo and toDaysAgo, not both" }
    }
    if (w.fromDaysAgo === undefined) return { path: ["fromDaysAgo"], message: "is required (or give days)" }
    if (w.toDaysAgo === undefined) return { path: ["toDaysAgo"], message: "is required with fromDaysAgo" }
    return w.fromDaysAgo > w.toDaysAgo
      ? true
      : {
          path: ["fromDaysAgo"],
          message: `must be more days ago than toDaysAgo (${w.toDaysAgo}), got ${w.fromDaysAgo}`
        }
  }),
  Schema.annotations({ identifier: "Window" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Window = typeof Window.Type

/**
 * A whole number of days, as used for `expiry`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Duration = Schema.Struct({ days: Days }).annotations({ identifier: "Duration" })

/**
 * @since 0.1.0
 * @category models
 */
export type Duration = typeof Duration.Type

const Text = Schema.String.pipe(
  Schema.filter((s) => s.length >= 1 && s.length <= 256, {
    message: (issue) => ({
      message:
        typeof issue.actual === "string"
          ? `expected 1 to 256 characters, got ${issue.actual.length}`
          : `expected a string, got ${describe(issue.actual)}`,
      override: true
    })
  })
)

const Texts = Schema.Array(Text).pipe(
  Schema.filter((a) => a.length >= 1 && a.length <= 100, {
    message: (issue) =>
      `expected 1 to 100 values, got ${Array.isArray(issue.actual) ? issue.actual.length : describe(issue.actual)}`
  })
)

const Amount = wholeNumber(0, 0xffff_ffff, "a whole number")

const Amounts = Schema.Array(Amount).pipe(
  Schema.filter((a) => a.length >= 1 && a.length <= 100, {
    message: () => "expected 1 to 100 values"
  })
)

const atLeastOne =
  (keys: ReadonlyArray<string>) =>
  <A extends object, I, R>(self: Schema.Schema<A, I, R>) =>
    self.pipe(
      Schema.filter((o) =>
        keys.some((k) => (o as Record<string, unknown>)[k] !== undefined)
          ? true
          : `expected at least one of ${keys.join(", ")}`
      )
    )

/**
 * A test on a text field: equal to a value, one of values, or starting with a prefix (all given must hold).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TextTest = Schema.Struct({ equals: opt(Text), in: opt(Texts), prefix: opt(Text) }).pipe(
  atLeastOne(["equals", "in", "prefix"]),
  Schema.annotations({ identifier: "TextTest", parseOptions: { onExcessProperty: "error" } })
)

/**
 * A test on a URL field (`url`, `referrer`): as a text field, or a `glob` pattern. A pattern starting with `/`
 * matches the path only (query and fragment ignored); otherwise it matches host and path. `*` stands for any
 * characters but `/`, `**` for any characters at all.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UrlTest = Schema.Struct({
  equals: opt(Text),
  in: opt(Texts),
  prefix: opt(Text),
  glob: opt(Text)
}).pipe(
  atLeastOne(["equals", "in", "prefix", "glob"]),
  Schema.annotations({ identifier: "UrlTest", parseOptions: { onExcessProperty: "error" } })
)

/**
 * A test on a numeric field: comparisons (all given must hold), equality or membership.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NumberTest = Schema.Struct({
  equals: opt(Amount),
  in: opt(Amounts),
  gt: opt(Amount),
  gte: opt(Amount),
  lt: opt(Amount),
  lte: opt(Amount)
}).pipe(
  atLeastOne(["equals", "in", "gt", "gte", "lt", "lte"]),
  Schema.annotations({ identifier: "NumberTest", parseOptions: { onExcessProperty: "error" } })
)

const textField = opt(Schema.Union(Text, TextTest))
const urlField = opt(Schema.Union(Text, UrlTest))
const numberField = opt(Schema.Union(Amount, NumberTest))

/**
 * Property filters: each named field must pass its test. A plain string means `equals` (for `url` and
 * `referrer`: `glob`), a plain number means `equals`. Money is in minor units, as stored (filter `currency` too).
 * Item fields (`productId`, `category`, `unitPrice`, `quantity`) of a conversion are tested per line item: the
 * conversion matches when one of its items passes every test.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Where = Schema.Struct({
  productId: textField,
  category: textField,
  unitPrice: numberField,
  quantity: numberField,
  currency: textField,
  orderId: textField,
  conversionType: textField,
  value: numberField,
  url: urlField,
  referrer: urlField,
  element: textField,
  scrollDepth: numberField,
  timeOnPage: numberField,
  "context.browser": textField,
  "context.os": textField,
  "context.device": textField,
  "context.jurisdiction": textField
}).annotations({ identifier: "Where", parseOptions: { onExcessProperty: "error" } })

/**
 * @since 0.1.0
 * @category models
 */
export type Where = typeof Where.Type

/**
 * A field a rule can name.
 *
 * @since 0.1.0
 * @category models
 */
export type Field = FieldName

const fieldList = Object.keys(fields) as Array<FieldName>

/**
 * A field name.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Field: Schema.Schema<Field> = Schema.Literal(...fieldList).annotations({
  identifier: "Field",
  message: (issue) => ({
    message: `expected a field (${fieldList.join(", ")}), got ${describe(issue.actual)}`,
    override: true
  })
})

/**
 * The event types, as in @openaudience/event-schema.
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventType: Schema.Schema<Event.EventType> = Schema.Literal(...Event.eventTypes).annotations({
  identifier: "EventType",
  message: (issue) => ({
    message: `expected an event type (${Event.eventTypes.join(", ")}), got ${describe(issue.actual)}`,
    override: true
  })
})

const EventTypes = Schema.Union(
  EventType,
  Schema.Array(EventType).pipe(
    Schema.filter((a) => a.length >= 1 && a.length <= 5, {
      message: () => "expected 1 to 5 event types"
    })
  )
)

/**
 * What is aggregated over the window: the number of matching events (`count`, the default), the `sum`, `min` or
 * `max` of a numeric field, or the number of `distinct` values of a field.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Aggregate = Schema.Struct({
  fn: Schema.Literal("count", "sum", "min", "max", "distinct"),
  field: opt(Field)
}).pipe(
  Schema.filter((a) => {
    if (a.fn === "count") return a.field === undefined ? true : { path: ["field"], message: "count takes no field" }
    if (a.field === undefined) return { path: ["field"], message: `is required for ${a.fn}` }
    if (a.fn !== "distinct" && fields[a.field].kind !== "number") {
      return {
        path: ["field"],
        message: `${a.fn} needs a numeric field (${numericFields.join(", ")}), got ${JSON.stringify(a.field)}`
      }
    }
    return true
  }),
  Schema.annotations({ identifier: "Aggregate", parseOptions: { onExcessProperty: "error" } })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Aggregate = typeof Aggregate.Type

/**
 * How the aggregate is compared: `gte` (at least), `gt`, `lte`, `lt`, `eq`, `ne`. The default is at least 1.
 * A `min` or `max` over no values compares false.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Compare = Schema.Struct({
  op: Schema.Literal("gte", "gt", "lte", "lt", "eq", "ne"),
  value: Amount
}).annotations({ identifier: "Compare", parseOptions: { onExcessProperty: "error" } })

/**
 * @since 0.1.0
 * @category models
 */
export type Compare = typeof Compare.Type

/**
 * A field events can be bound on.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BindField = Schema.Literal("productId", "category").annotations({
  identifier: "BindField",
  message: (issue) => ({ message: `expected productId or category, got ${describe(issue.actual)}`, override: true })
})

/**
 * @since 0.1.0
 * @category models
 */
export type BindField = typeof BindField.Type

/**
 * Events of one or more types with properties passing `where`, aggregated over `window` (default 30 days) and
 * compared (default: at least one).
 *
 * @since 0.1.0
 * @category models
 */
export interface EventCondition {
  readonly kind: "event"
  readonly event: Event.EventType | ReadonlyArray<Event.EventType>
  readonly where?: Where
  readonly window?: Window
  readonly aggregate?: Aggregate
  readonly compare?: Compare
}

/**
 * One step of a sequence.
 *
 * @since 0.1.0
 * @category models
 */
export interface Step {
  readonly event: Event.EventType | ReadonlyArray<Event.EventType>
  readonly where?: Where
}

/**
 * Steps in order (each event at or after the previous one), the last within `within.hours` of the first. Each
 * event completing the chain is one completion; completions are counted over `window` and compared (default:
 * at least one).
 *
 * @since 0.1.0
 * @category models
 */
export interface SequenceCondition {
  readonly kind: "sequence"
  readonly steps: ReadonlyArray<Step>
  readonly within: { readonly hours: number }
  readonly window?: Window
  readonly compare?: Compare
}

/**
 * Every condition holds (for one value of `bind`, when given).
 *
 * @since 0.1.0
 * @category models
 */
export interface AllCondition {
  readonly kind: "all"
  readonly conditions: ReadonlyArray<Condition>
  readonly bind?: BindField
}

/**
 * At least one condition holds (for one value of `bind`, when given).
 *
 * @since 0.1.0
 * @category models
 */
export interface AnyCondition {
  readonly kind: "any"
  readonly conditions: ReadonlyArray<Condition>
  readonly bind?: BindField
}

/**
 * The condition does not hold ("and did not").
 *
 * @since 0.1.0
 * @category models
 */
export interface NotCondition {
  readonly kind: "not"
  readonly condition: Condition
}

/**
 * Any condition.
 *
 * @since 0.1.0
 * @category models
 */
export type Condition = EventCondition | SequenceCondition | AllCondition | AnyCondition | NotCondition

const strict = { parseOptions: { onExcessProperty: "error" as const } }

const Step: Schema.Schema<Step> = Schema.Struct({ event: EventTypes, where: opt(Where) }).annotations({
  identifier: "Step",
  ...strict
})

const Conditions = Schema.Array(Schema.suspend((): Schema.Schema<Condition> => Condition)).pipe(
  Schema.filter((a) => a.length >= 1 && a.length <= 32, {
    message: (issue) =>
      `expected 1 to 32 conditions, got ${Array.isArray(issue.actual) ? issue.actual.length : describe(issue.actual)}`
  })
)

/**
 * Any condition, told apart by `kind`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Condition: Schema.Schema<Condition> = Schema.Union(
  Schema.Struct({
    kind: Schema.Literal("event"),
    event: EventTypes,
    where: opt(Where),
    window: opt(Window),
    aggregate: opt(Aggregate),
    compare: opt(Compare)
  }).annotations({ identifier: "EventCondition", ...strict }),
  Schema.Struct({
    kind: Schema.Literal("sequence"),
    steps: Schema.Array(Step).pipe(
      Schema.filter((a) => a.length >= 2 && a.length <= 4, {
        message: (issue) =>
          `expected 2 to 4 steps, got ${Array.isArray(issue.actual) ? issue.actual.length : describe(issue.actual)}`
      })
    ),
    within: Schema.Struct({ hours: wholeNumber(1, 720, "a whole number of hours") }).annotations(strict),
    window: opt(Window),
    compare: opt(Compare)
  }).annotations({ identifier: "SequenceCondition", ...strict }),
  Schema.Struct({ kind: Schema.Literal("all"), conditions: Conditions, bind: opt(BindField) }).annotations({
    identifier: "AllCondition",
    ...strict
  }),
  Schema.Struct({ kind: Schema.Literal("any"), conditions: Conditions, bind: opt(BindField) }).annotations({
    identifier: "AnyCondition",
    ...strict
  }),
  Schema.Struct({
    kind: Schema.Literal("not"),
    condition: Schema.suspend((): Schema.Schema<Condition> => Condition)
  }).annotations({ identifier: "NotCondition", ...strict })
)

/**
 * A rule document, version 1: `conditions` must all hold (for one value of `bind`, when given); membership
 * lasts `expiry.days` (default 30, at most 540) after the last day the visitor did something the rule counts.
 *
 * @since 0.1.0
 * @category models
 */
export interface AudienceRule {
  readonly version: 1
  readonly conditions: ReadonlyArray<Condition>
  readonly bind?: BindField
  readonly expiry?: Duration
}

/**
 * The rule document schema.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AudienceRule: Schema.Schema<AudienceRule> = Schema.Struct({
  version: Schema.Literal(1).annotations({
    message: (issue) => ({ message: `expected 1 (the only version), got ${describe(issue.actual)}`, override: true })
  }),
  conditions: Conditions,
  bind: opt(BindField),
  expiry: opt(Duration.annotations(strict))
}).annotations({ identifier: "AudienceRule", ...strict })

/**
 * Complexity limits. A rule over any of them is rejected with `reason: "too-complex"` naming the limit.
 *
 * - `maxDepth`: nesting of `all`/`any`/`not` groups (the rule's own list is depth 1).
 * - `maxLeaves`: event conditions plus sequence steps.
 * - `maxWindows`: distinct windows in one rule.
 * - `maxInValues`: values of all `in` lists together.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly maxDepth: number
  readonly maxLeaves: number
  readonly maxWindows: number
  readonly maxInValues: number
}

/**
 * The default limits.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultLimits: Limits = { maxDepth: 5, maxLeaves: 24, maxWindows: 8, maxInValues: 500 }

/**
 * Renders a property path as `conditions[1].window.days`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string => Event.formatPath(path, "rule")

const decodeDocument = Schema.decodeUnknownEither(AudienceRule, { errors: "all", onExcessProperty: "error" })

/**
 * A window as days ago: `from` (exclusive) and `to` (inclusive), `from > to`; no window means the last 30 days.
 *
 * @since 0.1.0
 * @category getters
 */
export const windowBounds = (window: Window | undefined): { readonly from: number; readonly to: number } =>
  window === undefined
    ? { from: defaultWindowDays, to: 0 }
    : window.days !== undefined
      ? { from: window.days, to: 0 }
      : { from: window.fromDaysAgo!, to: window.toDaysAgo! }

/**
 * Checks a decoded document against the limits and the rules that need more than one field to state: no
 * `bind` inside a bound group, no `distinct` inside one, `distinct` compared with at most 15, and at least one
 * condition on something the visitor did (not under `not`), in the rule and in every bound group.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (
  rule: AudienceRule,
  limits: Limits = defaultLimits
): Either.Either<AudienceRule, RuleError> => {
  let leaves = 0
  let inValues = 0
  const windows = new Set<string>()
  let error: RuleError | undefined
  const fail = (e: RuleError) => {
    if (error === undefined) error = e
  }
  const countIn = (where: Where | undefined) => {
    if (where === undefined) return
    for (const test of Object.values(where)) {
      if (typeof test === "object" && test !== null && Array.isArray((test as { in?: unknown }).in)) {
        inValues += (test as { in: ReadonlyArray<unknown> }).in.length
      }
    }
  }
  /** Returns whether the subtree has a positive (not negated) leaf. */
  const walk = (c: Condition, path: string, depth: number, bound: boolean, positive: boolean): boolean => {
    switch (c.kind) {
      case "event": {
        leaves++
        countIn(c.where)
        const w = windowBounds(c.window)
        windows.add(`${w.from}:${w.to}`)
        if (c.aggregate?.fn === "distinct") {
          if (bound) fail(invalid(`${path}.aggregate`, "distinct cannot be used inside a bound group"))
          const value = c.compare?.value ?? 1
          if (value > maxDistinct) {
            fail(invalid(`${path}.compare.value`, `distinct counts compare with at most ${maxDistinct}, got ${value}`))
          }
        }
        return positive
      }
      case "sequence": {
        leaves += c.steps.length
        for (const s of c.steps) countIn(s.where)
        const w = windowBounds(c.window)
        windows.add(`${w.from}:${w.to}`)
        return positive
      }
      case "not":
        if (depth + 1 > limits.maxDepth) {
          fail(tooComplex(path, "maxDepth", `nesting deeper than ${limits.maxDepth}`))
          return false
        }
        return walk(c.condition, `${path}.condition`, depth + 1, bound, !positive)
      case "all":
      case "any": {
        if (depth + 1 > limits.maxDepth) {
          fail(tooComplex(path, "maxDepth", `nesting deeper than ${limits.maxDepth}`))
          return false
        }
        if (c.bind !== undefined && bound) fail(invalid(`${path}.bind`, "a bound group cannot contain another bind"))
        let found = false
        c.conditions.forEach((child, i) => {
          if (walk(child, `${path}.conditions[${i}]`, depth + 1, bound || c.bind !== undefined, positive)) found = true
        })
        if (c.bind !== undefined && !hasPositive(c.conditions)) {
          fail(invalid(`${path}.bind`, "a bound group needs a condition that is not negated"))
        }
        return found
      }
    }
  }
  let positiveLeaf = false
  rule.conditions.forEach((c, i) => {
    if (walk(c, `conditions[${i}]`, 1, rule.bind !== undefined, true)) positiveLeaf = true
  })
  if (error !== undefined) return Either.left(error)
  if (rule.bind !== undefined && !hasPositive(rule.conditions)) {
    return Either.left(invalid("bind", "a bound rule needs a condition that is not negated"))
  }
  if (!positiveLeaf) {
    return Either.left(invalid("conditions", "needs at least one condition on something the visitor did (not negated)"))
  }
  if (leaves > limits.maxLeaves) {
    return Either.left(
      tooComplex(
        "conditions",
        "maxLeaves",
        `${leaves} event conditions and sequence steps, more than ${limits.maxLeaves}`
      )
    )
  }
  if (windows.size > limits.maxWindows) {
    return Either.left(
      tooComplex("conditions", "maxWindows", `${windows.size} different windows, more than ${limits.maxWindows}`)
    )
  }
  if (inValues > limits.maxInValues) {
    return Either.left(
      tooComplex("conditions", "maxInValues", `${inValues} values in "in" lists, more than ${limits.maxInValues}`)
    )
  }
  return Either.right(rule)
}

const hasPositive = (conditions: ReadonlyArray<Condition>): boolean => {
  const walk = (c: Condition, positive: boolean): boolean => {
    switch (c.kind) {
      case "event":
      case "sequence":
        return positive
      case "not":
        return walk(c.condition, !positive)
      default:
        return c.conditions.some((child) => walk(child, positive))
    }
  }
  return conditions.some((c) => walk(c, true))
}

/**
 * Decodes and validates a rule document from untrusted JSON, without Effect.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEither = (
  input: unknown,
  limits: Limits = defaultLimits
): Either.Either<AudienceRule, RuleError> => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return Either.left(invalid("rule", `expected a rule document (an object), got ${describe(input)}`))
  }
  let decoded: Either.Either<AudienceRule, ParseResult.ParseError>
  try {
    decoded = decodeDocument(input)
  } catch {
    // Effect's union decoding converts a tag value to text, which throws for an object such as {"toString": false}
    // (valid JSON): such a document is no rule.
    return Either.left(
      invalid("rule", "a value is an object that cannot be read as text (a toString or valueOf field)")
    )
  }
  if (Either.isLeft(decoded)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    // Within a union every member reports; the deepest issue is the one that names what is wrong.
    let first = issues[0]
    for (const issue of issues) if (first === undefined || issue.path.length > first.path.length) first = issue
    return Either.left(
      first === undefined ? invalid("rule", "is invalid") : invalid(formatPath(first.path), Event.issueMessage(first))
    )
  }
  return validate(decoded.right, limits)
}

/**
 * Decodes and validates a rule document from untrusted JSON.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (input: unknown, limits: Limits = defaultLimits): Effect.Effect<AudienceRule, RuleError> =>
  decodeEither(input, limits)

/**
 * The JSON form of a rule (the document itself: it holds no non-JSON values).
 *
 * @since 0.1.0
 * @category encoding
 */
export const toJson = (rule: AudienceRule): string => JSON.stringify(rule)

/**
 * The membership expiry of a rule, in days.
 *
 * @since 0.1.0
 * @category getters
 */
export const expiryDays = (rule: AudienceRule): number => rule.expiry?.days ?? defaultExpiryDays
