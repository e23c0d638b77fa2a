/**
 * A synchronous source of uniform random numbers for the decision path. A decision draws many numbers (pacing
 * coins, Thompson samples), so it takes one seed from Effect's `Random` service (seeded in tests with
 * `Random.make(seed)` or `TestRandom`) and then draws from a small, fast generator (sfc32) without an Effect per
 * draw. The same seed gives the same sequence on every platform.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"

/**
 * A source of uniform numbers in [0, 1).
 *
 * @since 0.1.0
 * @category models
 */
export interface Rng {
  readonly next: () => number
}

/**
 * A generator from a 32-bit seed (sfc32, seeded through splitmix32; period about 2^128).
 *
 * @since 0.1.0
 * @category constructors
 */
export const seeded = (seed: number): Rng => {
  let s = seed >>> 0
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix()
  let b = splitmix()
  let c = splitmix()
  let d = splitmix()
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t / 4294967296
  }
  for (let i = 0; i < 12; i++) next()
  return { next }
}

/**
 * A generator seeded from Effect's `Random` service: deterministic wherever that service is (`Random.make(seed)`,
 * `TestRandom`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromRandom: Effect.Effect<Rng> = Effect.map(Random.nextIntBetween(0, 2 ** 31), seeded)
