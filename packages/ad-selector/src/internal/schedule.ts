/** A campaign schedule compiled for the decision path: bounds in epoch ms and bit masks of UTC hours and days. */
import type * as Campaign from "../Campaign.js"
import { DAY, HOUR, hourIndex } from "./calendar.js"

export interface Active {
  readonly start: number
  readonly end: number
  /** Bit h set: the campaign may serve during UTC hour h. */
  readonly hours: number
  /** Bit d set: the campaign may serve on UTC weekday d (0 = Sunday). */
  readonly days: number
}

const maskOf = (values: ReadonlyArray<number> | undefined, all: number): number => {
  if (values === undefined) return all
  let mask = 0
  for (const v of values) mask |= 1 << v
  return mask
}

export const compile = (s: Campaign.Schedule): Active => ({
  start: s.start.epochMillis,
  end: s.end?.epochMillis ?? Number.POSITIVE_INFINITY,
  hours: maskOf(s.hours, 0xffffff),
  days: maskOf(s.days, 0x7f)
})

const hourAllowed = (a: Active, hour: number): boolean => {
  const dayIdx = Math.floor(hour / 24)
  const weekday = (((dayIdx + 4) % 7) + 7) % 7
  return (a.hours & (1 << (hour - dayIdx * 24))) !== 0 && (a.days & (1 << weekday)) !== 0
}

export const isActive = (a: Active, now: number): boolean =>
  now >= a.start && now < a.end && hourAllowed(a, hourIndex(now))

/** Milliseconds in [from, to) during which the campaign may serve. */
export const activeMs = (a: Active, from: number, to: number): number => {
  const lo = Math.max(from, a.start)
  const hi = Math.min(to, a.end)
  if (hi <= lo) return 0
  let total = 0
  for (let h = hourIndex(lo); h * HOUR < hi; h++) {
    if (!hourAllowed(a, h)) continue
    total += Math.min(hi, (h + 1) * HOUR) - Math.max(lo, h * HOUR)
  }
  return total
}

/** Days from the day of `now` to the campaign's end (inclusive) with some active time; at most `limit`. */
export const activeDaysLeft = (a: Active, now: number, limit: number): number => {
  let n = 0
  const first = Math.floor(Math.max(now, a.start) / DAY)
  for (let d = first; d < first + limit && d * DAY < a.end; d++) {
    if (activeMs(a, Math.max(d * DAY, now), (d + 1) * DAY) > 0) n++
  }
  return n
}
