/**
 * A typed builder for rule conditions: it produces exactly the JSON documents of `AudienceRule`, so what is
 * written in TypeScript and what an admin API receives are the same thing.
 *
 * ```ts
 * Audience.make([
 *   Rule.viewed({ category: "shoes" }).atLeast(2).within(days(14)),
 *   Rule.not(Rule.purchased().within(days(30)))
 * ], { bind: "productId" })
 * ```
 *
 * Builders are immutable: every method returns a new one.
 *
 * @since 0.1.0
 */
import type { Event } from "@openaudience/event-schema"
import type * as AudienceRule from "./AudienceRule.js"

/**
 * A number of days: a window ("within the last n days") or an expiry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Days {
  readonly days: number
}

/**
 * A number of hours: how long a sequence may take.
 *
 * @since 0.1.0
 * @category models
 */
export interface Hours {
  readonly hours: number
}

/**
 * A number of days ago, for `between`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DaysAgo {
  readonly daysAgo: number
}

/**
 * `n` days.
 *
 * @since 0.1.0
 * @category constructors
 */
export const days = (n: number): Days => ({ days: n })

/**
 * `n` hours.
 *
 * @since 0.1.0
 * @category constructors
 */
export const hours = (n: number): Hours => ({ hours: n })

/**
 * `n` days ago (today is 0 days ago).
 *
 * @since 0.1.0
 * @category constructors
 */
export const daysAgo = (n: number): DaysAgo => ({ daysAgo: n })

/**
 * Anything that stands for a condition: a builder, or a condition document.
 *
 * @since 0.1.0
 * @category models
 */
export type Conditional = Builder | AudienceRule.Condition

/**
 * A builder of one condition.
 *
 * @since 0.1.0
 * @category models
 */
export interface Builder {
  readonly condition: AudienceRule.Condition
}

/**
 * The condition document of a builder or a document.
 *
 * @since 0.1.0
 * @category getters
 */
export const toCondition = (c: Conditional): AudienceRule.Condition => ("condition" in c ? c.condition : c)

type Types = Event.EventType | ReadonlyArray<Event.EventType>

const windowOf = (w: Days | { readonly from: DaysAgo; readonly to: DaysAgo }): AudienceRule.Window =>
  "days" in w
    ? { days: w.days }
    : {
        fromDaysAgo: Math.max(w.from.daysAgo, w.to.daysAgo),
        toDaysAgo: Math.min(w.from.daysAgo, w.to.daysAgo)
      }

/**
 * Builds an event condition: filter, aggregate, window, comparison.
 *
 * @since 0.1.0
 * @category builders
 */
export class EventBuilder implements Builder {
  constructor(readonly condition: AudienceRule.EventCondition) {}

  private with(patch: Partial<AudienceRule.EventCondition>): EventBuilder {
    return new EventBuilder({ ...this.condition, ...patch })
  }

  /** More property filters (merged with those given). */
  where(where: AudienceRule.Where): EventBuilder {
    return this.with({ where: { ...this.condition.where, ...where } })
  }

  /** Within the last `d.days` days (today included). */
  within(d: Days): EventBuilder {
    return this.with({ window: windowOf(d) })
  }

  /** Between two numbers of days ago (in either order). */
  between(from: DaysAgo, to: DaysAgo): EventBuilder {
    return this.with({ window: windowOf({ from, to }) })
  }

  /** Aggregates the sum of a numeric field. */
  sum(field: AudienceRule.Field): EventBuilder {
    return this.with({ aggregate: { fn: "sum", field } })
  }

  /** Aggregates the smallest value of a numeric field. */
  min(field: AudienceRule.Field): EventBuilder {
    return this.with({ aggregate: { fn: "min", field } })
  }

  /** Aggregates the largest value of a numeric field. */
  max(field: AudienceRule.Field): EventBuilder {
    return this.with({ aggregate: { fn: "max", field } })
  }

  /** Aggregates the number of distinct values of a field. */
  distinct(field: AudienceRule.Field): EventBuilder {
    return this.with({ aggregate: { fn: "distinct", field } })
  }

  /** The aggregate is at least `n`. */
  atLeast(n: number): EventBuilder {
    return this.with({ compare: { op: "gte", value: n } })
  }

  /** The aggregate is more than `n`. */
  moreThan(n: number): EventBuilder {
    return this.with({ compare: { op: "gt", value: n } })
  }

  /** The aggregate is at most `n`. */
  atMost(n: number): EventBuilder {
    return this.with({ compare: { op: "lte", value: n } })
  }

  /** The aggregate is less than `n`. */
  lessThan(n: number): EventBuilder {
    return this.with({ compare: { op: "lt", value: n } })
  }

  /** The aggregate is exactly `n`. */
  exactly(n: number): EventBuilder {
    return this.with({ compare: { op: "eq", value: n } })
  }
}

/**
 * Builds a sequence condition.
 *
 * @since 0.1.0
 * @category builders
 */
export class SequenceBuilder implements Builder {
  constructor(readonly condition: AudienceRule.SequenceCondition) {}

  private with(patch: Partial<AudienceRule.SequenceCondition>): SequenceBuilder {
    return new SequenceBuilder({ ...this.condition, ...patch })
  }

  /** `hours(n)`: the last step at most n hours after the first; `days(n)`: completed within the last n days. */
  within(span: Hours | Days): SequenceBuilder {
    return "hours" in span ? this.with({ within: { hours: span.hours } }) : this.with({ window: windowOf(span) })
  }

  /** Completed between two numbers of days ago (in either order). */
  between(from: DaysAgo, to: DaysAgo): SequenceBuilder {
    return this.with({ window: windowOf({ from, to }) })
  }

  /** Completed at least `n` times. */
  atLeast(n: number): SequenceBuilder {
    return this.with({ compare: { op: "gte", value: n } })
  }
}

/**
 * Builds an `all` or `any` group.
 *
 * @since 0.1.0
 * @category builders
 */
export class GroupBuilder implements Builder {
  constructor(readonly condition: AudienceRule.AllCondition | AudienceRule.AnyCondition) {}

  /** The group must hold for one and the same value of `field` across its events. */
  bind(field: AudienceRule.BindField): GroupBuilder {
    return new GroupBuilder({ ...this.condition, bind: field })
  }
}

/**
 * Events of the given types, optionally filtered.
 *
 * @since 0.1.0
 * @category constructors
 */
export const event = (types: Types, where?: AudienceRule.Where): EventBuilder =>
  new EventBuilder({ kind: "event", event: types, ...(where === undefined ? {} : { where }) })

/**
 * Product views.
 *
 * @since 0.1.0
 * @category constructors
 */
export const viewed = (where?: AudienceRule.Where): EventBuilder => event("product_view", where)

/**
 * Add-to-cart events.
 *
 * @since 0.1.0
 * @category constructors
 */
export const addedToCart = (where?: AudienceRule.Where): EventBuilder => event("add_to_cart", where)

/**
 * Purchases (conversions of type `purchase`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const purchased = (where?: AudienceRule.Where): EventBuilder =>
  event("conversion", { conversionType: "purchase", ...where })

/**
 * Conversions of any type.
 *
 * @since 0.1.0
 * @category constructors
 */
export const converted = (where?: AudienceRule.Where): EventBuilder => event("conversion", where)

/**
 * Page views whose URL path matches `glob` (`/pricing`, `/blog/*`, `/docs/**`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const visited = (glob: string, where?: AudienceRule.Where): EventBuilder =>
  event("page_view", { ...where, url: glob })

/**
 * Engagement events (clicks, scroll depth, time on page).
 *
 * @since 0.1.0
 * @category constructors
 */
export const engaged = (where?: AudienceRule.Where): EventBuilder => event("engagement", where)

/**
 * Steps in order: each step takes the event types and filters of a builder (its window and aggregate are not
 * used). By default the chain must take at most 24 hours.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sequence = (...steps: ReadonlyArray<EventBuilder | AudienceRule.Step>): SequenceBuilder =>
  new SequenceBuilder({
    kind: "sequence",
    steps: steps.map((s) => {
      const step = s instanceof EventBuilder ? s.condition : s
      return step.where === undefined ? { event: step.event } : { event: step.event, where: step.where }
    }),
    within: { hours: 24 }
  })

/**
 * Every condition holds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const all = (...conditions: ReadonlyArray<Conditional>): GroupBuilder =>
  new GroupBuilder({ kind: "all", conditions: conditions.map(toCondition) })

/**
 * At least one condition holds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const any = (...conditions: ReadonlyArray<Conditional>): GroupBuilder =>
  new GroupBuilder({ kind: "any", conditions: conditions.map(toCondition) })

/**
 * The condition does not hold ("and did not").
 *
 * @since 0.1.0
 * @category constructors
 */
export const not = (condition: Conditional): Builder => ({
  condition: { kind: "not", condition: toCondition(condition) }
})
