/**
 * Even delivery: a feedback controller that spreads a campaign's daily spend along the ideal linear curve over
 * the day's active time (its schedule's hours, in UTC). The controller holds a pass-through probability `p`: each
 * time the campaign would win, a coin with probability `p` is tossed first (before the creative is chosen), so
 * pacing never biases which creative is shown.
 *
 * At each step it compares the spend rate observed since its last step with the rate that would bring spend back
 * onto the curve within `horizon` steps, and multiplies `p` by their ratio (bounded per step). Multiplying is
 * integral action in log space: `p` settles wherever the traffic puts it, without gains to tune per campaign or
 * per traffic level; aiming at the curve a few steps ahead is the proportional part (behind: the desired rate
 * rises; ahead: it falls). A step comes when `minImpressions` impressions have been spent since the last one, or
 * after the active time in which as many are expected on the curve (at least `interval`), so a low-volume
 * campaign is not steered by noise and a burst is met at once. A hard guard keeps spend from running
 * ahead of the curve by more than `slack` of the day's target, so a burst of traffic before the controller reacts
 * (a new campaign starts at `p` = 1) cannot spend the day in minutes.
 *
 * Plain functions over plain state; the state is kept by the `DeliveryStore` port (see `Budget`).
 *
 * @since 0.1.0
 */
import { DAY, dayIndex } from "./internal/calendar.js"

/**
 * A campaign's controller state: the UTC day it belongs to, the pass-through probability, when it last stepped
 * and what had been spent today by then (thousandths of a minor unit), today's spend target, and when it steps
 * next.
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
  readonly nextAt: number
}

/**
 * Controller settings.
 *
 * - `interval`: the shortest time between steps, ms (default 60 000).
 * - `minImpressions`: a step comes after this many impressions spent or expected on the curve (default 10).
 * - `horizon`: how many steps ahead the controller aims to be back on the curve (default 4).
 * - `minProbability`: the lowest `p` (default 0.0001), so a throttled campaign is still observed.
 * - `maxIncrease` / `maxDecrease`: the largest factor by which one step may raise or lower `p` (defaults 2 and 10).
 * - `slack`: how far ahead of the ideal curve spend may run, as a fraction of the day's target (default 0.02).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly interval: number
  readonly minImpressions: number
  readonly horizon: number
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
  minImpressions: 10,
  horizon: 4,
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
 * Whether the controller should step at `now`: it has no state, the day changed, its next step is due, or
 * `minImpressions` impressions costing `cost` have been spent since its last step (so a burst is met at once).
 *
 * @since 0.1.0
 * @category combinators
 */
export const due = (
  previous: State | undefined,
  now: number,
  spentToday: number,
  cost: number,
  options: Options = defaults
): boolean =>
  previous === undefined ||
  previous.day !== dayIndex(now) ||
  now >= previous.nextAt ||
  (now > previous.stepAt && spentToday - previous.spentAtStep >= options.minImpressions * Math.max(1, cost))

/**
 * Advances the controller to `now`: a fresh state on a campaign's first step, the previous `p` carried into a new
 * day, and otherwise one step (call it when `due`). `cost` is the price of one impression, in the unit of
 * `spentToday` and `target`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const step = (
  previous: State | undefined,
  input: {
    readonly now: number
    readonly spentToday: number
    readonly target: number
    readonly cost: number
    readonly active: ActiveTime
  },
  options: Options = defaults
): State => {
  const { active, cost, now, spentToday, target } = input
  const day = dayIndex(now)
  const dayStart = day * DAY
  const whole = active(dayStart, dayStart + DAY)
  // Active time for `minImpressions` on the curve (at least `interval`); the campaign is only asked when active.
  const wait =
    whole <= 0 || target <= 0
      ? options.interval
      : Math.max(options.interval, Math.min(DAY, (options.minImpressions * Math.max(1, cost) * whole) / target))
  const next = (p: number): State => ({ day, p, stepAt: now, spentAtStep: spentToday, target, nextAt: now + wait })
  if (previous === undefined) return next(1)
  if (previous.day !== day) return next(previous.p)
  const elapsed = active(previous.stepAt, now)
  const ahead = Math.min(dayStart + DAY, now + options.horizon * wait)
  const window = active(now, ahead)
  if (elapsed <= 0 || window <= 0 || whole <= 0) return next(previous.p)
  const onCurve = (target * active(dayStart, ahead)) / whole
  const desired = Math.max(0, onCurve - spentToday) / window
  const observed = (spentToday - previous.spentAtStep) / elapsed
  const ratio =
    observed > 0
      ? Math.min(options.maxIncrease, Math.max(1 / options.maxDecrease, desired / observed))
      : desired > 0
        ? options.maxIncrease
        : 1
  return next(Math.min(1, Math.max(options.minProbability, previous.p * ratio)))
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
