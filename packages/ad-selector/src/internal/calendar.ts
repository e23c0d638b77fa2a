/** UTC calendar arithmetic on epoch milliseconds, shared by caps, schedules and pacing. */

export const HOUR = 3_600_000
export const DAY = 86_400_000

/** The UTC hour since the epoch. */
export const hourIndex = (ms: number): number => Math.floor(ms / HOUR)

/** The UTC day since the epoch. */
export const dayIndex = (ms: number): number => Math.floor(ms / DAY)

/** The week since the epoch, weeks starting Monday 00:00 UTC (1970-01-01 was a Thursday). */
export const weekIndex = (ms: number): number => Math.floor((dayIndex(ms) + 3) / 7)

/** The hour of the day, 0–23, UTC. */
export const hourOfDay = (ms: number): number => hourIndex(ms) - dayIndex(ms) * 24

/** The day of the week, 0 (Sunday) – 6, UTC. */
export const dayOfWeek = (ms: number): number => (((dayIndex(ms) + 4) % 7) + 7) % 7
