/**
 * Noise for differential privacy: Laplace and Gaussian samplers drawing from a cryptographically secure uniform
 * source (`SecureRandom`, injectable so tests can be reproducible), and their calibration: Laplace scale
 * `b = Δ₁ / ε` for ε-differential privacy, Gaussian `σ = Δ₂ · √(2 ln(1.25 / δ)) / ε` for (ε, δ) with ε < 1
 * (Dwork and Roth, The Algorithmic Foundations of Differential Privacy, theorems 3.6 and A.1).
 *
 * Δ is the sensitivity: how much one visitor can change the released numbers. It is finite only because each
 * visitor's contribution is bounded before counting (see `Report.aggregate`): at most `maxContribution` events
 * per cell and at most `maxCells` cells.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/**
 * A uniform source on the open interval (0, 1), like `SecureRandom.Source.uniform`.
 *
 * @since 0.1.0
 * @category models
 */
export type Uniform = () => number

/**
 * A privacy parameter out of its range (ε not positive, δ not in [0, 1), a non-positive bound, …).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPrivacyParameter extends Schema.TaggedError<InvalidPrivacyParameter>()("InvalidPrivacyParameter", {
  parameter: Schema.String,
  value: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.parameter} ${this.value}: ${this.detail}`
  }
}

/**
 * One draw of Laplace(0, scale), by inverting the CDF.
 *
 * @since 0.1.0
 * @category samplers
 */
export const laplace = (scale: number, uniform: Uniform): number => {
  const u = uniform() - 0.5
  return u < 0 ? scale * Math.log(1 + 2 * u) : -scale * Math.log(1 - 2 * u)
}

/**
 * One draw of Normal(0, sigma²), by the Box–Muller transform.
 *
 * @since 0.1.0
 * @category samplers
 */
export const gaussian = (sigma: number, uniform: Uniform): number =>
  sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())

/**
 * A noise mechanism and its privacy parameters.
 *
 * @since 0.1.0
 * @category models
 */
export const Mechanism = Schema.Union(
  Schema.TaggedStruct("Laplace", { epsilon: Schema.Number }),
  Schema.TaggedStruct("Gaussian", { epsilon: Schema.Number, delta: Schema.Number })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Mechanism = typeof Mechanism.Type

/**
 * The privacy cost of a release: ε and δ (0 for pure ε-differential privacy).
 *
 * @since 0.1.0
 * @category models
 */
export interface Cost {
  readonly epsilon: number
  readonly delta: number
}

/**
 * The cost a mechanism charges to a privacy budget.
 *
 * @since 0.1.0
 * @category models
 */
export const costOf = (mechanism: Mechanism): Cost =>
  mechanism._tag === "Laplace" ? { epsilon: mechanism.epsilon, delta: 0 } : mechanism

const invalid = (parameter: string, value: number, detail: string) =>
  Either.left(new InvalidPrivacyParameter({ parameter, value, detail }))

/**
 * Checks a cost: ε finite and positive, δ finite in [0, 1).
 *
 * @since 0.1.0
 * @category validation
 */
export const validateCost = (cost: Cost): Either.Either<Cost, InvalidPrivacyParameter> => {
  if (!Number.isFinite(cost.epsilon) || cost.epsilon <= 0) return invalid("epsilon", cost.epsilon, "must be > 0")
  if (!Number.isFinite(cost.delta) || cost.delta < 0 || cost.delta >= 1)
    return invalid("delta", cost.delta, "must be in [0, 1)")
  return Either.right(cost)
}

/**
 * Checks a mechanism's parameters: ε > 0; for Gaussian also 0 < ε < 1 and 0 < δ < 1, where the classic
 * calibration holds.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (mechanism: Mechanism): Either.Either<Mechanism, InvalidPrivacyParameter> => {
  if (!Number.isFinite(mechanism.epsilon) || mechanism.epsilon <= 0)
    return invalid("epsilon", mechanism.epsilon, "must be > 0")
  if (mechanism._tag === "Gaussian") {
    if (mechanism.epsilon >= 1)
      return invalid("epsilon", mechanism.epsilon, "the Gaussian calibration used here needs ε < 1")
    if (!Number.isFinite(mechanism.delta) || mechanism.delta <= 0 || mechanism.delta >= 1)
      return invalid("delta", mechanism.delta, "must be in (0, 1)")
  }
  return Either.right(mechanism)
}

/**
 * Laplace scale for ε-differential privacy of a query with L1 sensitivity `sensitivity`: `b = Δ₁ / ε`.
 *
 * @since 0.1.0
 * @category calibration
 */
export const laplaceScale = (sensitivity: number, epsilon: number): number => sensitivity / epsilon

/**
 * Gaussian standard deviation for (ε, δ)-differential privacy (ε < 1) of a query with L2 sensitivity
 * `sensitivity`: `σ = Δ₂ · √(2 ln(1.25 / δ)) / ε`.
 *
 * @since 0.1.0
 * @category calibration
 */
export const gaussianSigma = (sensitivity: number, epsilon: number, delta: number): number =>
  (sensitivity * Math.sqrt(2 * Math.log(1.25 / delta))) / epsilon

/**
 * A sampler for one mechanism applied to a query of the given sensitivities: L1 for Laplace, L2 for Gaussian.
 *
 * @since 0.1.0
 * @category samplers
 */
export const sampler = (
  mechanism: Mechanism,
  sensitivity: { readonly l1: number; readonly l2: number },
  uniform: Uniform
): (() => number) => {
  if (mechanism._tag === "Laplace") {
    const b = laplaceScale(sensitivity.l1, mechanism.epsilon)
    return () => laplace(b, uniform)
  }
  const sigma = gaussianSigma(sensitivity.l2, mechanism.epsilon, mechanism.delta)
  return () => gaussian(sigma, uniform)
}
