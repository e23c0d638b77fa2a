/**
 * Campaign statistics for `GET /v1/campaigns/{id}/stats?days=N`: per-day counters summed into a total and a
 * complete, sorted list of days, with the click-through rate's 95 % Wilson score interval, cost per acquisition and
 * return on ad spend.
 *
 * Money is exact: amounts are integers, summed as `bigint`, and the answer gives money in minor units of the
 * campaign's currency (cents). Spend comes in as thousandths of a minor unit (`spendMillis`, as `Budget` keeps it),
 * because a CPM impression costs a fraction of a cent (a CPM bid of `b` minor units costs `b` millis per
 * impression); it is rounded half up to minor units only in the answer. Ratios (CTR, ROAS) are
 * floating-point numbers; a ratio whose denominator is zero is `null`, never `0`, `NaN` or `Infinity`.
 *
 * Days are UTC calendar days written `YYYY-MM-DD`.
 *
 * @since 0.1.0
 */
import { Money } from "@openaudience/event-schema"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/**
 * A confidence interval for a proportion, both ends in [0, 1].
 *
 * @since 0.1.0
 * @category models
 */
export interface Interval {
  readonly low: number
  readonly high: number
}

/**
 * The z value of a two-sided 95 % interval.
 *
 * @since 0.1.0
 * @category constants
 */
export const z95 = 1.96

/**
 * The Wilson score interval of `successes` in `trials` (Wilson 1927; Agresti & Coull 1998): unlike the normal
 * approximation it stays inside [0, 1] and is informative at 0 successes and with few trials. With no trials it is
 * [0, 1]; `successes` is clamped into [0, trials]; both ends are exact at the edges (`low` is 0 at 0 successes,
 * `high` is 1 when every trial succeeded).
 *
 * @since 0.1.0
 * @category combinators
 */
export const wilson = (successes: number, trials: number, z: number = z95): Interval => {
  if (!(trials > 0) || !Number.isFinite(trials)) return { low: 0, high: 1 }
  const s = Math.min(Math.max(successes, 0), trials)
  const p = s / trials
  const z2 = z * z
  const denominator = 1 + z2 / trials
  const center = (p + z2 / (2 * trials)) / denominator
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))
  return {
    low: s === 0 ? 0 : Math.min(p, Math.max(0, center - half)),
    high: s === trials ? 1 : Math.max(p, Math.min(1, center + half))
  }
}

/**
 * One day of a campaign's counters, as the worker keeps them.
 *
 * - `impressions`: rendered impressions; `viewable`: viewable ones (counted separately).
 * - `conversionValue`: the attributed conversions' value, in minor units of the campaign's currency.
 * - `spendMillis`: what the day cost, in thousandths of a minor unit (see `Budget`).
 *
 * Every count and amount is a non-negative safe integer.
 *
 * @since 0.1.0
 * @category models
 */
export interface DayRow {
  readonly day: string
  readonly impressions: number
  readonly viewable: number
  readonly clicks: number
  readonly conversions: number
  readonly conversionValue: number
  readonly spendMillis: number
}

const Count = Schema.Int.pipe(Schema.nonNegative())
const Ratio = Schema.NullOr(Schema.Number.pipe(Schema.between(0, 1)))

/**
 * Counters and derived figures over a span of days.
 *
 * - `ctr` = clicks / impressions, with its 95 % Wilson interval `ctrLow`..`ctrHigh`; all three `null` without
 *   impressions. Clicks beyond impressions (a click counted the day after its impression) count as at most one
 *   click per impression here.
 * - `conversionValue`, `spend`, `cpa` are minor units; `spend` and `cpa` (spend / conversions) are rounded half up,
 *   `cpa` is `null` without conversions.
 * - `roas` = conversionValue / spend (from the exact spend), `null` without spend.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Totals = Schema.Struct({
  impressions: Count,
  viewable: Count,
  clicks: Count,
  ctr: Ratio,
  ctrLow: Ratio,
  ctrHigh: Ratio,
  conversions: Count,
  conversionValue: Money.MinorUnits,
  spend: Money.MinorUnits,
  cpa: Schema.NullOr(Money.MinorUnits),
  roas: Schema.NullOr(Schema.Number.pipe(Schema.nonNegative()))
}).annotations({ identifier: "CampaignTotals" })

/**
 * @since 0.1.0
 * @category models
 */
export type Totals = typeof Totals.Type

/**
 * A UTC calendar day, `YYYY-MM-DD`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Day = Schema.String.pipe(
  Schema.filter((s) => parseDay(s) !== undefined, { message: () => "expected a calendar day YYYY-MM-DD" })
).annotations({ identifier: "Day" })

/**
 * One day's figures.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DayStats = Schema.Struct({ day: Day, ...Totals.fields }).annotations({ identifier: "CampaignDayStats" })

/**
 * @since 0.1.0
 * @category models
 */
export type DayStats = typeof DayStats.Type

/**
 * The answer of the stats route: the total over the range and every day of it, oldest first.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CampaignStats = Schema.Struct({ total: Totals, days: Schema.Array(DayStats) }).annotations({
  identifier: "CampaignStats"
})

/**
 * @since 0.1.0
 * @category models
 */
export type CampaignStats = typeof CampaignStats.Type

/**
 * A span of UTC days, both ends included.
 *
 * @since 0.1.0
 * @category models
 */
export interface Range {
  readonly since: string
  readonly until: string
}

/**
 * The longest range, in days, `summarize` and `lastDays` accept.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxDays = 366

/**
 * Why statistics could not be computed.
 *
 * - `InvalidRange`: a day is not `YYYY-MM-DD`, `since` is after `until`, or the range is longer than `MaxDays`
 *   (or `days` is not an integer in 1..`MaxDays`).
 * - `InvalidRow`: a counter is not a non-negative safe integer, or a row's day is not a calendar day.
 * - `Overflow`: a total does not fit in a safe integer.
 *
 * @since 0.1.0
 * @category models
 */
export const StatsErrorReason = Schema.Literal("InvalidRange", "InvalidRow", "Overflow")

/**
 * @since 0.1.0
 * @category models
 */
export type StatsErrorReason = typeof StatsErrorReason.Type

/**
 * Statistics that could not be computed, with a reason callers can match on (`InvalidRange` is the client's fault,
 * answer 400; the others are the data's).
 *
 * @since 0.1.0
 * @category errors
 */
export class StatsError extends Schema.TaggedError<StatsError>("@openaudience/ad-selector/StatsError")("StatsError", {
  reason: StatsErrorReason,
  message: Schema.String
}) {}

const dayMillis = 86_400_000

/** The day number (days since 1970-01-01) of a `YYYY-MM-DD` calendar day, or `undefined`. */
function parseDay(s: string): number | undefined {
  if (typeof s !== "string") return undefined
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  if (match === null) return undefined
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const ms = Date.UTC(y, m - 1, d)
  const date = new Date(ms)
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined
  return ms / dayMillis
}

const formatDay = (n: number): string => new Date(n * dayMillis).toISOString().slice(0, 10)

const fail = (reason: StatsErrorReason, message: string) => Either.left(new StatsError({ reason, message }))

/**
 * The range of the last `days` UTC days up to and including the day of `now` (milliseconds since the epoch):
 * `?days=N` of the stats route.
 *
 * @since 0.1.0
 * @category constructors
 */
export const lastDays = (days: number, now: number): Either.Either<Range, StatsError> => {
  if (!Number.isInteger(days) || days < 1 || days > MaxDays) {
    return fail("InvalidRange", `days must be an integer from 1 to ${MaxDays}`)
  }
  if (!Number.isFinite(now)) return fail("InvalidRange", "now must be a time")
  const until = Math.floor(now / dayMillis)
  return Either.right({ since: formatDay(until - days + 1), until: formatDay(until) })
}

interface Sums {
  impressions: bigint
  viewable: bigint
  clicks: bigint
  conversions: bigint
  conversionValue: bigint
  spendMillis: bigint
}

const counters = ["impressions", "viewable", "clicks", "conversions", "conversionValue", "spendMillis"] as const

const zero = (): Sums => ({
  impressions: 0n,
  viewable: 0n,
  clicks: 0n,
  conversions: 0n,
  conversionValue: 0n,
  spendMillis: 0n
})

const thousand = 1000n

/** a / b rounded half up, for non-negative a and positive b. */
const divRound = (a: bigint, b: bigint): bigint => (2n * a + b) / (2n * b)

const safe = (n: bigint): number | undefined => (n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined)

const figures = (sums: Sums): Either.Either<Totals, StatsError> => {
  const impressions = safe(sums.impressions)
  const viewable = safe(sums.viewable)
  const clicks = safe(sums.clicks)
  const conversions = safe(sums.conversions)
  const conversionValue = safe(sums.conversionValue)
  const spend = safe(divRound(sums.spendMillis, thousand))
  if (
    impressions === undefined ||
    viewable === undefined ||
    clicks === undefined ||
    conversions === undefined ||
    conversionValue === undefined ||
    spend === undefined
  ) {
    return fail("Overflow", "a total is beyond the safe integer range")
  }
  const shown = Math.min(clicks, impressions)
  const interval = impressions === 0 ? undefined : wilson(shown, impressions)
  return Either.right({
    impressions,
    viewable,
    clicks,
    ctr: impressions === 0 ? null : shown / impressions,
    ctrLow: interval === undefined ? null : interval.low,
    ctrHigh: interval === undefined ? null : interval.high,
    conversions,
    conversionValue,
    spend,
    // Rounded from the exact spend, so the result is below the safe range whenever spend is.
    cpa: conversions === 0 ? null : Number(divRound(sums.spendMillis, thousand * sums.conversions)),
    roas: sums.spendMillis === 0n ? null : conversionValue / (Number(sums.spendMillis) / 1000)
  })
}

/**
 * Sums `rows` (in any order; several rows of one day are added up; rows outside the range are ignored) into the
 * total over `range` and one entry per day of it, oldest first, days without a row filled with zeros.
 *
 * @since 0.1.0
 * @category combinators
 */
export const summarize = (rows: Iterable<DayRow>, range: Range): Either.Either<CampaignStats, StatsError> => {
  const since = parseDay(range.since)
  const until = parseDay(range.until)
  if (since === undefined || until === undefined) return fail("InvalidRange", "since and until must be YYYY-MM-DD")
  if (since > until) return fail("InvalidRange", "since is after until")
  if (until - since + 1 > MaxDays) return fail("InvalidRange", `a range is at most ${MaxDays} days`)
  const perDay: Array<Sums> = Array.from({ length: until - since + 1 }, zero)
  for (const row of rows) {
    const n = parseDay(row.day)
    if (n === undefined) return fail("InvalidRow", "a row's day is not YYYY-MM-DD")
    for (const name of counters) {
      const value = row[name]
      if (!Number.isSafeInteger(value) || value < 0) {
        return fail("InvalidRow", `${row.day}: ${name} must be a non-negative safe integer`)
      }
    }
    if (n < since || n > until) continue
    const sums = perDay[n - since]!
    for (const name of counters) sums[name] += BigInt(row[name])
  }
  const total = zero()
  const days: Array<DayStats> = []
  for (let i = 0; i < perDay.length; i++) {
    const sums = perDay[i]!
    for (const name of counters) total[name] += sums[name]
    const day = figures(sums)
    if (Either.isLeft(day)) return Either.left(day.left)
    days.push({ day: formatDay(since + i), ...day.right })
  }
  return Either.map(figures(total), (t) => ({ total: t, days }))
}
