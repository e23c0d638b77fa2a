/**
 * Samplers for Thompson sampling, driven by the package's seeded `Rng`: a standard normal (Box–Muller), the
 * logarithm of a Gamma variate (Marsaglia–Tsang 2000, with the `shape + 1` boost for shapes below one) and a Beta
 * variate as `X / (X + Y)` of two Gammas. The Gamma is kept in log space so that tiny shapes (a cold arm with a
 * prior of 1e-6) do not underflow to 0 / 0: the Beta sample is always a number in [0, 1], never NaN.
 *
 * @internal
 */
import type { Rng } from "../Rng.js"

/** A uniform number in (0, 1]: safe under `Math.log`. */
const open = (rng: Rng): number => 1 - rng.next()

/** A standard normal variate (Box–Muller, one of the pair). */
export const normal = (rng: Rng): number => Math.sqrt(-2 * Math.log(open(rng))) * Math.cos(2 * Math.PI * rng.next())

/** The natural logarithm of a Gamma(shape, 1) variate; `shape` must be positive and finite. */
export const logGamma = (rng: Rng, shape: number): number => {
  if (shape < 1) {
    // Gamma(a) = Gamma(a + 1) · U^(1/a) (Marsaglia–Tsang, section 6), in logs.
    return logGamma(rng, shape + 1) + Math.log(open(rng)) / shape
  }
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const x = normal(rng)
    const t = 1 + c * x
    if (t <= 0) continue
    const v = t * t * t
    const u = open(rng)
    const x2 = x * x
    if (u < 1 - 0.0331 * x2 * x2 || Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return Math.log(d) + Math.log(v)
  }
}

/** A Beta(a, b) variate in [0, 1]; `a` and `b` must be positive and finite. */
export const beta = (rng: Rng, a: number, b: number): number => {
  const x = logGamma(rng, a)
  const y = logGamma(rng, b)
  // X / (X + Y) = 1 / (1 + e^(log Y − log X)); both logs are finite, the exponential may overflow to Infinity (→ 0).
  return 1 / (1 + Math.exp(y - x))
}
