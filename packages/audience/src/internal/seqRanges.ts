/** Runs of stored event seqs, cut into pieces a reader takes one at a time. */
import type { SeqRange } from "../SyncSource.js"

/**
 * `ranges` (inclusive, in any order, possibly overlapping) as pieces in ascending seq order, each naming at most
 * `size` seqs, every seq of `ranges` in exactly one piece: reading the pieces in order reads what one read of all the
 * ranges would, in the same order.
 */
export const pieces = (ranges: ReadonlyArray<SeqRange>, size: number): Array<Array<SeqRange>> => {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`pieces: size must be a positive integer: ${size}`)
  const sorted = ranges.filter(([first, last]) => first <= last).sort((a, b) => a[0] - b[0])
  const out: Array<Array<SeqRange>> = []
  let piece: Array<SeqRange> = []
  let room = size
  // The first seq not yet taken: overlapping ranges give each seq once.
  let next = Number.NEGATIVE_INFINITY
  for (const [first, last] of sorted) {
    let from = Math.max(first, next)
    while (from <= last) {
      const to = Math.min(last, from + room - 1)
      piece.push([from, to])
      room -= to - from + 1
      from = to + 1
      if (room === 0) {
        out.push(piece)
        piece = []
        room = size
      }
    }
    next = Math.max(next, last + 1)
  }
  if (piece.length > 0) out.push(piece)
  return out
}
