/**
 * The small statistics and reporting types every benchmark shares: the median of rounds (robust to the
 * one round a noisy 2-core machine spoils) and the figure each benchmark reports.
 */

/** One reported number: `name` is its key in results.json. */
export interface Figure {
  readonly name: string
  readonly value: number
  readonly unit: string
  /** What the number means, in a few words, for the printed table. */
  readonly note: string
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) throw new Error("median of no values")
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Rounds to `digits` significant digits, so results.json does not carry timer noise as precision. */
export const significant = (value: number, digits = 4): number =>
  value === 0 || !Number.isFinite(value) ? value : Number(value.toPrecision(digits))

/** Writes a progress line to stderr, keeping stdout for the results table. */
export const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`)
}
