/**
 * Audience sizes and the size floor (privacy invariant 6: no audience below k members, default 50, is
 * targetable). A `Size` counts distinct visitors exactly up to a threshold (1,000 by default, far above any
 * sensible k, so the floor is always decided on an exact count), then switches to a HyperLogLog sketch (2^14
 * registers, about 0.8 % standard error, 16 KiB) for large audiences. Sizes merge, so per-shard or per-batch
 * counts combine. An estimated size is targetable only when its lower bound (three standard errors below the
 * estimate) reaches k: an error may hide a targetable audience, never expose a small one.
 *
 * @since 0.1.0
 */
import { murmur3 } from "./internal/hash.js"

const precision = 14
const registers = 1 << precision
const alpha = 0.7213 / (1 + 1.079 / registers)
const relativeError = 1.04 / Math.sqrt(registers)

/**
 * A distinct-visitor counter (mutable: `add` changes it).
 *
 * @since 0.1.0
 * @category models
 */
export interface Size {
  readonly threshold: number
  /** The visitors, while counted exactly. */
  exact: Set<string> | undefined
  /** The HyperLogLog registers, once the threshold was passed. */
  sketch: Uint8Array | undefined
}

/**
 * A size: `value` (exact, or estimated with bounds `low` to `high`, three standard errors either side).
 *
 * @since 0.1.0
 * @category models
 */
export interface Estimate {
  readonly value: number
  readonly exact: boolean
  readonly low: number
  readonly high: number
}

/**
 * The default size floor.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultK = 50

/**
 * An empty size, exact up to `threshold` distinct visitors (default 1,000).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (threshold = 1_000): Size => ({ threshold, exact: new Set(), sketch: undefined })

const insert = (sketch: Uint8Array, id: string): void => {
  const h1 = murmur3(id, 0x9747b28c)
  const h2 = murmur3(id, 0x2f2b5a1d)
  const index = h1 >>> (32 - precision)
  const rest = (h1 << precision) >>> 0
  const rank = rest !== 0 ? Math.clz32(rest) + 1 : 32 - precision + Math.clz32(h2) + 1
  if (sketch[index]! < rank) sketch[index] = rank
}

const toSketch = (size: Size): Uint8Array => {
  if (size.sketch !== undefined) return size.sketch
  const sketch = new Uint8Array(registers)
  for (const id of size.exact ?? []) insert(sketch, id)
  size.sketch = sketch
  size.exact = undefined
  return sketch
}

/**
 * Counts a visitor (counting one twice changes nothing).
 *
 * @since 0.1.0
 * @category mutations
 */
export const add = (size: Size, visitor: string): void => {
  if (size.exact !== undefined) {
    size.exact.add(visitor)
    if (size.exact.size > size.threshold) toSketch(size)
    return
  }
  insert(size.sketch!, visitor)
}

/**
 * A new size counting the visitors of both.
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = (a: Size, b: Size): Size => {
  const out = make(Math.min(a.threshold, b.threshold))
  if (a.exact !== undefined && b.exact !== undefined) {
    for (const id of a.exact) add(out, id)
    for (const id of b.exact) add(out, id)
    return out
  }
  const sketch = toSketch(out)
  for (const part of [a, b]) {
    if (part.exact !== undefined) for (const id of part.exact) insert(sketch, id)
    else for (let i = 0; i < registers; i++) if (part.sketch![i]! > sketch[i]!) sketch[i] = part.sketch![i]!
  }
  return out
}

/**
 * An exact size from a count (a `COUNT(*)` of stored memberships).
 *
 * @since 0.1.0
 * @category constructors
 */
export const exactly = (count: number): Estimate => ({ value: count, exact: true, low: count, high: count })

/**
 * The size: exact while under the threshold, else the HyperLogLog estimate (with linear counting while many
 * registers are still empty).
 *
 * @since 0.1.0
 * @category getters
 */
export const estimate = (size: Size): Estimate => {
  if (size.exact !== undefined) return exactly(size.exact.size)
  const sketch = size.sketch!
  let sum = 0
  let zeros = 0
  for (let i = 0; i < registers; i++) {
    const r = sketch[i]!
    sum += 2 ** -r
    if (r === 0) zeros++
  }
  let value = (alpha * registers * registers) / sum
  if (value <= 2.5 * registers && zeros > 0) value = registers * Math.log(registers / zeros)
  const rounded = Math.round(value)
  const spread = 3 * relativeError * value
  return { value: rounded, exact: false, low: Math.max(0, Math.floor(value - spread)), high: Math.ceil(value + spread) }
}

/**
 * Whether an audience of this size may be targeted: at least `k` members, counting an estimate at its lower
 * bound.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTargetable = (size: Size | Estimate | number, k: number = defaultK): boolean => {
  const e = typeof size === "number" ? exactly(size) : "threshold" in size ? estimate(size) : size
  return (e.exact ? e.value : e.low) >= k
}
