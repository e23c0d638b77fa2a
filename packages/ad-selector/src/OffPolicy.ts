/**
 * Off-policy evaluation: what a new policy would have earned, estimated from the logs of the one that ran. Every
 * decision is logged with its propensity (the probability the logging policy had of taking the action it took);
 * for each record the new ("target") policy gives the probability it would have taken that same action. The ratio
 * of the two reweights the logged rewards:
 *
 * - IPS (inverse propensity scoring): `V = (1/n) Σ wᵢ rᵢ` with `wᵢ = targetᵢ / propensityᵢ`. Unbiased when the
 *   propensities are right and every action the target takes had a non-zero propensity; its variance grows with
 *   the weights.
 * - SNIPS (self-normalized IPS): `V = Σ wᵢ rᵢ / Σ wᵢ`. Slightly biased, much less variance, and always inside the
 *   range of the rewards.
 *
 * Both come with a confidence interval from the normal approximation (IPS: the sample variance of `wᵢ rᵢ`; SNIPS:
 * the delta method, `SE = √(Σ wᵢ² (rᵢ − V)²) / Σ wᵢ`), and with the effective sample size `(Σ w)² / Σ w²`: when it
 * is small compared with `n`, the logs say little about the target policy and the intervals are optimistic.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { normalQuantile } from "./internal/learning-stats.js"

/**
 * One logged decision: the logging policy's `propensity` for the action it took (in (0, 1]), the `reward` observed
 * (1 for a click, 0 otherwise, or any finite value such as revenue) and `target`, the probability that the policy
 * being evaluated would have taken the same action in the same context (in [0, 1]; 1 or 0 for a deterministic
 * policy).
 *
 * @since 0.1.0
 * @category models
 */
export interface LoggedDecision {
  readonly propensity: number
  readonly reward: number
  readonly target: number
}

/**
 * The options: `confidence` (default 0.95) of the intervals, and `clip` (default: none), the largest weight kept;
 * clipping trades a bias (towards lower values for non-negative rewards) for less variance.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly confidence: number
  readonly clip: number
}

/**
 * The default options.
 *
 * @since 0.1.0
 * @category models
 */
export const defaults: Options = { confidence: 0.95, clip: Number.POSITIVE_INFINITY }

/**
 * An estimate with its standard error and confidence interval.
 *
 * @since 0.1.0
 * @category models
 */
export interface Interval {
  readonly estimate: number
  readonly standardError: number
  readonly lower: number
  readonly upper: number
}

/**
 * The evaluation of a target policy. `snips` is undefined when the target gave no weight to any logged action
 * (`Σ w = 0`): the logs say nothing about it. With one record the standard errors are infinite.
 *
 * @since 0.1.0
 * @category models
 */
export interface Evaluation {
  readonly n: number
  readonly confidence: number
  readonly ips: Interval
  readonly snips: Interval | undefined
  readonly effectiveSampleSize: number
  readonly maxWeight: number
  readonly clipped: number
}

/**
 * Why an evaluation was refused: `NoRecords`, `InvalidRecord` (a propensity outside (0, 1], a target probability
 * outside [0, 1] or a non-finite reward; the message names the index) or `InvalidOptions`.
 *
 * @since 0.1.0
 * @category errors
 */
export class OffPolicyError extends Schema.TaggedError<OffPolicyError>("@openaudience/ad-selector/OffPolicyError")(
  "OffPolicyError",
  {
    reason: Schema.Literal("NoRecords", "InvalidRecord", "InvalidOptions"),
    message: Schema.String
  }
) {}

const fail = (reason: OffPolicyError["reason"], message: string) => Either.left(new OffPolicyError({ reason, message }))

const interval = (estimate: number, standardError: number, z: number): Interval => ({
  estimate,
  standardError,
  lower: estimate - z * standardError,
  upper: estimate + z * standardError
})

/**
 * IPS and SNIPS estimates of the target policy's mean reward per decision, from logged decisions.
 *
 * @since 0.1.0
 * @category combinators
 */
export const evaluate = (
  records: Iterable<LoggedDecision>,
  options: Partial<Options> = {}
): Either.Either<Evaluation, OffPolicyError> => {
  const { clip, confidence } = { ...defaults, ...options }
  if (!(confidence > 0 && confidence < 1))
    return fail("InvalidOptions", `confidence must be in (0, 1), got ${confidence}`)
  if (!(clip > 0)) return fail("InvalidOptions", `clip must be positive, got ${clip}`)
  const weights: Array<number> = []
  const rewards: Array<number> = []
  let clipped = 0
  let index = 0
  for (const { propensity, reward, target } of records) {
    if (!(propensity > 0 && propensity <= 1)) {
      return fail("InvalidRecord", `record ${index}: propensity must be in (0, 1], got ${propensity}`)
    }
    if (!(target >= 0 && target <= 1)) {
      return fail("InvalidRecord", `record ${index}: target probability must be in [0, 1], got ${target}`)
    }
    if (typeof reward !== "number" || !Number.isFinite(reward)) {
      return fail("InvalidRecord", `record ${index}: reward must be a finite number, got ${reward}`)
    }
    let w = target / propensity
    if (w > clip) {
      w = clip
      clipped++
    }
    weights.push(w)
    rewards.push(reward)
    index++
  }
  const n = weights.length
  if (n === 0) return fail("NoRecords", "no logged decisions to evaluate")
  const z = normalQuantile(1 - (1 - confidence) / 2)

  let sumWR = 0
  let maxWeight = 0
  for (let i = 0; i < n; i++) {
    const w = weights[i]!
    sumWR += w * rewards[i]!
    if (w > maxWeight) maxWeight = w
  }
  const ips = sumWR / n
  // SNIPS and the effective sample size do not change when every weight is scaled by one factor: they are computed
  // over the weights divided by the largest, in (0, 1], so tiny weights (a target probability of 1e-300) neither
  // underflow to zero in products nor leave the estimate outside the rewards' range.
  let sumU = 0
  let sumU2 = 0
  let sumUR = 0
  for (let i = 0; i < n && maxWeight > 0; i++) {
    const u = weights[i]! / maxWeight
    sumU += u
    sumU2 += u * u
    sumUR += u * rewards[i]!
  }
  let squares = 0
  for (let i = 0; i < n; i++) squares += (weights[i]! * rewards[i]! - ips) ** 2
  const ipsError = n > 1 ? Math.sqrt(squares / (n - 1) / n) : Number.POSITIVE_INFINITY

  let snips: Interval | undefined
  if (sumU > 0) {
    const value = sumUR / sumU
    let deviations = 0
    for (let i = 0; i < n; i++) deviations += ((weights[i]! / maxWeight) * (rewards[i]! - value)) ** 2
    snips = interval(value, n > 1 ? Math.sqrt(deviations) / sumU : Number.POSITIVE_INFINITY, z)
  }
  return Either.right({
    n,
    confidence,
    ips: interval(ips, ipsError, z),
    snips,
    effectiveSampleSize: sumU2 > 0 ? (sumU * sumU) / sumU2 : 0,
    maxWeight,
    clipped
  })
}
