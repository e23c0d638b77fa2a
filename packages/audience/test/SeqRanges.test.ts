/**
 * Cutting a step's seq ranges into pieces read one at a time: every seq once, in ascending order, no piece larger
 * than asked, whatever the ranges (unordered, overlapping, adjacent, single seqs, empty).
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import { pieces } from "../src/internal/seqRanges.js"
import type { SeqRange } from "../src/SyncSource.js"

const seqsOf = (ranges: ReadonlyArray<SeqRange>): Array<number> => {
  const all = new Set<number>()
  for (const [first, last] of ranges) for (let seq = first; seq <= last; seq++) all.add(seq)
  return [...all].sort((a, b) => a - b)
}

const range = fc
  .tuple(fc.integer({ min: 1, max: 400 }), fc.integer({ min: -3, max: 60 }))
  .map(([first, length]): SeqRange => [first, first + length])

describe("pieces", () => {
  it("gives every seq of the ranges once, ascending, at most `size` per piece", () => {
    fc.assert(
      fc.property(fc.array(range, { maxLength: 30 }), fc.integer({ min: 1, max: 120 }), (ranges, size) => {
        const cut = pieces(ranges, size)
        const read = cut.flatMap((piece) => seqsOf(piece))
        expect(read).toEqual(seqsOf(ranges))
        for (const piece of cut) {
          const n = piece.reduce((sum, [first, last]) => sum + last - first + 1, 0)
          expect(n).toBeGreaterThan(0)
          expect(n).toBeLessThanOrEqual(size)
        }
        // Only the last piece may be short.
        for (const piece of cut.slice(0, -1)) {
          expect(piece.reduce((sum, [first, last]) => sum + last - first + 1, 0)).toBe(size)
        }
      }),
      { numRuns: 500 }
    )
  })

  it("refuses a size that is not a positive integer", () => {
    expect(() => pieces([[1, 2]], 0)).toThrow(RangeError)
    expect(() => pieces([[1, 2]], 1.5)).toThrow(RangeError)
  })
})
