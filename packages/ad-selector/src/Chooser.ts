/**
 * The choice inside a campaign: which of its creatives (or products) to show. The selector hands a chooser the
 * eligible arms with a prior (the click-through model's predicted rate for this context) and gets back one arm
 * and the probability with which this chooser picks it (the propensity logged with the decision, for off-policy
 * evaluation). `Thompson` implements it; `uniform` is the baseline.
 *
 * @since 0.1.0
 */
import type { Rng } from "./Rng.js"

/**
 * One option: an id and the predicted probability of a click, in (0, 1).
 *
 * @since 0.1.0
 * @category models
 */
export interface Arm {
  readonly id: string
  readonly prior: number
}

/**
 * The arm chosen and the probability the chooser had of choosing it, in (0, 1].
 *
 * @since 0.1.0
 * @category models
 */
export interface Choice {
  readonly id: string
  readonly propensity: number
}

/**
 * Chooses one of `arms` (never empty) for `scope` (a campaign id, or a campaign and slot).
 *
 * @since 0.1.0
 * @category models
 */
export interface Chooser {
  readonly choose: (scope: string, arms: ReadonlyArray<Arm>, rng: Rng) => Choice
}

/**
 * Every arm with the same probability.
 *
 * @since 0.1.0
 * @category constructors
 */
export const uniform: Chooser = {
  choose: (_scope, arms, rng) => {
    const i = Math.min(arms.length - 1, Math.floor(rng.next() * arms.length))
    return { id: arms[i]!.id, propensity: 1 / arms.length }
  }
}
