/**
 * The cryptographically secure randomness the anonymizer needs: salt bytes for cookieless pseudonyms and the
 * uniform draws behind differential-privacy noise. Effect's `Random` is a seeded PRNG, fine for simulations and
 * wrong for salts and noise (its state can be recovered from outputs), so this is a separate service.
 *
 * `SecureRandom` is a `Context.Reference`: it defaults to `node:crypto`'s `getRandomValues` without any layer,
 * and tests replace it with `seeded(seed)`, a deterministic generator, to make salts and noise reproducible.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import { createHash, getRandomValues } from "node:crypto"

/**
 * A source of random bytes and of uniform numbers in the open interval (0, 1).
 *
 * @since 0.1.0
 * @category models
 */
export interface Source {
  /** `length` fresh random bytes. */
  readonly bytes: (length: number) => Uint8Array
  /** A uniform number in (0, 1) with 52 random bits; never 0 or 1, so `Math.log` of it is finite. */
  readonly uniform: () => number
}

const TWO_POW_26 = 67_108_864
const TWO_POW_52 = 4_503_599_627_370_496

/**
 * A uniform double from two 32-bit words: a 52-bit integer N, then (N + 0.5) / 2^52, exact in a double, so the
 * result is never 0 or 1 and is symmetric around 1/2.
 */
const fromWords = (hi: number, lo: number): number => ((hi >>> 6) * TWO_POW_26 + (lo >>> 6) + 0.5) / TWO_POW_52

/**
 * Builds a source from a function filling a byte array with random bytes. Uniform draws are taken from a pool
 * refilled 4 KiB at a time, so each costs no system call.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFill = (fill: (target: Uint8Array) => void): Source => {
  const pool = new Uint32Array(1024)
  const poolBytes = new Uint8Array(pool.buffer)
  let next = pool.length
  const word = (): number => {
    if (next === pool.length) {
      fill(poolBytes)
      next = 0
    }
    return pool[next++]!
  }
  return {
    bytes: (length) => {
      const out = new Uint8Array(length)
      fill(out)
      return out
    },
    uniform: () => fromWords(word(), word())
  }
}

const fillSecure = (target: Uint8Array): void => {
  // getRandomValues fills at most 65,536 bytes per call.
  for (let from = 0; from < target.length; from += 65_536) {
    getRandomValues(target.subarray(from, Math.min(target.length, from + 65_536)))
  }
}

/**
 * The operating system's cryptographically secure generator (`crypto.getRandomValues`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const secure: Source = fromFill(fillSecure)

/**
 * A deterministic source for tests: SHA-256 in counter mode over the seed. Never use it outside tests.
 *
 * @since 0.1.0
 * @category constructors
 */
export const seeded = (seed: string | number): Source => {
  let counter = 0
  let block = new Uint8Array(0)
  let offset = 0
  return fromFill((target) => {
    for (let i = 0; i < target.length; i++) {
      if (offset === block.length) {
        block = new Uint8Array(createHash("sha256").update(`${seed}:${counter++}`).digest())
        offset = 0
      }
      target[i] = block[offset++]!
    }
  })
}

/**
 * The secure randomness service; `secure` unless replaced.
 *
 * @since 0.1.0
 * @category services
 */
export class SecureRandom extends Context.Reference<SecureRandom>()("@openaudience/anonymizer/SecureRandom", {
  defaultValue: (): Source => secure
}) {}

/**
 * A layer replacing the secure source by a seeded deterministic one (tests only).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (seed: string | number): Layer.Layer<never> => Layer.succeed(SecureRandom, seeded(seed))
