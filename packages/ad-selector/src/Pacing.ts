/**
 * Even delivery: a feedback controller that spreads a campaign's daily spend over the day's active time (its
 * schedule's hours, in UTC). The controller holds a pass-through probability `p`: each time the campaign would
 * win, a coin with probability `p` is tossed first (before the creative is chosen), so pacing never biases which
 * creative is shown. Every `interval` it compares the spend rate observed since its last step with the rate that
 * would spend what is left of today's target by the end of today's active time, and multiplies `p` by their
 * ratio, bounded per step. That is integral action in log space (it learns the traffic level, whatever it is,
 * without gains to tune per campaign) with a proportional catch-up (the desired rate rises when behind and falls
 * when ahead). A hard guard keeps spend from running ahead of the ideal linear curve by more than `slack` of the
 * day's target, so a burst of traffic before the controller reacts cannot spend the day's budget in minutes.
 *
 * Plain functions over plain state; the state is kept by the `DeliveryStore` port (see `Budget`).
 *
 * @since 0.1.0
 */
import { DAY, dayIndex } from "./internal/calendar.js"

/**
 * A campaign's controller state: the UTC day it belongs to, the pass-through probability, when it last stepped
 * and what had been spent today by then (thousandths of a minor unit), and today's spend target.
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly day: number
  readonly p: number
  readonly stepAt: number
  readonly spentAtStep: number
  readonly target: number
}

/**
 * Controller settings.
 *
 * - `interval`: ms between steps (default 60 000).
 * - `minProbability`: the lowest `p` (default 0.0001), so a throttled campaign is still observed.
 * - `maxIncrease` / `maxDecrease`: the largest factor by which one step may raise or lower `p` (defaults 2 and 10).
 * - `slack`: how far ahead of the ideal curve spend may run, as a fraction of the day's target (default 0.02).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly interval: number
  readonly minProbability: number
  readonly maxIncrease: number
  readonly maxDecrease: number
  readonly slack: number
}

/**
 * The default settings.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: Options = {
  interval: 60_000,
  minProbability: 0.0001,
  maxIncrease: 2,
  maxDecrease: 10,
  slack: 0.02
}

/**
 * Milliseconds of active time in `[from, to)` (the campaign's schedule).
 *
 * @since 0.1.0
 * @category models
 */
export type ActiveTime = (from: number, to: number) => number

/**
 * Today's spend target in thousandths of a minor unit: the daily budget, or what is left of the total budget
 * spread evenly over the active days left (today included) when the campaign has a total budget and an end, the
 * smaller when both apply. `undefined` when there is nothing to pace against.
 *
 * @since 0.1.0
 * @category combinators
 */
export const dailyTarget = (input: {
  readonly daily: number | undefined
  readonly total: number | undefined
  readonly spentToday: number
  readonly spentTotal: number
  readonly activeDaysLeft: number
}): number | undefined => {
  const fromTotal =
    input.total === undefined || input.activeDaysLeft <= 0
      ? undefined
      : Math.floor(Math.max(0, input.total - (input.spentTotal - input.spentToday)) / input.activeDaysLeft)
  if (input.daily === undefined) return fromTotal
  return fromTotal === undefined ? input.daily : Math.min(input.daily, fromTotal)
}

/**
 * The fraction, 0–1, of today's active time elapsed at `now` (the ideal linear curve, as a share of the target).
 *
 * @since 0.1.0
 * @category combinators
 */
export const idealFraction = (active: ActiveTime, now: number): number => {
  const start = dayIndex(now) * DAY
  const whole = active(start, start + DAY)
  return whole <= 0 ? 1 : active(start, now) / whole
}

/**
 * Whether the controller should step at `now`: it has no state, the day changed, or `interval` has passed.
 *
 * @since 0.1.0
 * @category combinators
 */
export const due = (previous: State | undefined, now: number, options: Options = defaults): boolean =>
  previous === undefined || previous.day !== dayIndex(now) || now - previous.stepAt >= options.interval

/**
 * Advances the controller to `now`: a fresh state on a campaign's first step, the previous `p` carried into a new
 * day, and one step of the controller when `interval` has passed since the last.
 *
 * @since 0.1.0
 * @category combinators
 */
export const step = (
  previous: State | undefined,
  input: { readonly now: number; readonly spentToday: number; readonly target: number; readonly active: ActiveTime },
  options: Options = defaults
): State => {
  const { now, spentToday, target, active } = input
  const day = dayIndex(now)
  if (previous === undefined) return { day, p: 1, stepAt: now, spentAtStep: spentToday, target }
  if (previous.day !== day) return { day, p: previous.p, stepAt: now, spentAtStep: spentToday, target }
  if (now - previous.stepAt < options.interval) return previous
  const dayEnd = (day + 1) * DAY
  const left = active(now, dayEnd)
  const elapsed = active(previous.stepAt, now)
  if (left <= 0 || elapsed <= 0) return { day, p: previous.p, stepAt: now, spentAtStep: spentToday, target }
  const desired = Math.max(0, target - spentToday) / left
  const observed = (spentToday - previous.spentAtStep) / elapsed
  const ratio =
    observed > 0
      ? Math.min(options.maxIncrease, Math.max(1 / options.maxDecrease, desired / observed))
      : desired > 0
        ? options.maxIncrease
        : 1
  const p = Math.min(1, Math.max(options.minProbability, previous.p * ratio))
  return { day, p, stepAt: now, spentAtStep: spentToday, target }
}

/**
 * Whether one more impression costing `cost` keeps today's spend within the ideal curve plus `slack` of the
 * target.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withinCurve = (
  active: ActiveTime,
  now: number,
  spentToday: number,
  cost: number,
  target: number,
  options: Options = defaults
): boolean => spentToday + cost <= target * Math.min(1, idealFraction(active, now) + options.slack)
