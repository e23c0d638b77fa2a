/**
 * What the selector decided for one ad request: the campaign and creative chosen with the propensity to log, or
 * why nothing was, and the campaigns passed over on the way with the reason for each (for debugging; targeting
 * mismatches only when the request asks to `explain`, and only of campaigns the index reached: a campaign of
 * another slot size, site or page category is never looked at). JSON-ready.
 *
 * The propensity is the probability that the chooser picked this creative given that this campaign was
 * selected: it covers the choice inside the campaign (Thompson sampling, or `uniform`), which is where the
 * selector explores, and not the selection of the campaign (tier order and expected value are deterministic;
 * pacing coins are tossed before exploration and are reported as `pacing`, the winning campaign's pass-through
 * probability). Off-policy estimates of creative policies use `propensity` as it is.
 *
 * @since 0.1.0
 */
import type * as Campaign from "./Campaign.js"
import type * as Targeting from "./Targeting.js"

/**
 * Why a campaign was passed over.
 *
 * - Targeting (`explain` only): `site`, `category`, `device`, `schedule`, `personalization` (personalized campaign
 *   but no identifier, no consent, a child signal or a child-directed site), `audience`, `excluded`, `recency`.
 * - `no-identifier`: capped or recency-blocked, and the visitor has no identifier for the tenant.
 * - `child`: capped or recency-blocked, and a child signal or a child-directed site forbids using the identifier.
 * - `caps-unavailable`: the visitor's counters could not be read or written (caps fail closed).
 * - `capped`: a frequency cap is reached (every creative, the campaign, or the advertiser).
 * - `recency-block`: the campaign was shown to the visitor too recently.
 * - `budget`: the daily or total budget cannot pay for one more impression.
 * - `budget-unavailable`: the spend could not be read or charged (budgets fail closed).
 * - `ahead-of-curve`: even pacing: today's spend is ahead of the ideal curve.
 * - `paced`: even pacing: the pass-through coin said no.
 *
 * @since 0.1.0
 * @category models
 */
export type SkipReason =
  | Targeting.Mismatch
  | "schedule"
  | "no-identifier"
  | "child"
  | "caps-unavailable"
  | "capped"
  | "recency-block"
  | "budget"
  | "budget-unavailable"
  | "ahead-of-curve"
  | "paced"

/**
 * One campaign passed over.
 *
 * @since 0.1.0
 * @category models
 */
export interface Skip {
  readonly campaignId: string
  readonly reason: SkipReason
}

/**
 * A campaign and creative were chosen.
 *
 * - `tier`: the campaign's tier; `personalized`: it reads the visitor's data (audiences or recency).
 * - `propensity`: P(this creative | this campaign), from the chooser, in (0, 1].
 * - `pacing`: the pass-through probability of the campaign's pacing coin (1 when not paced).
 * - `costMillis`: what the impression cost, in thousandths of a minor unit of `currency`.
 * - `reason`: why this campaign, in words.
 * - `at`: the decision time (epoch ms, from `Clock`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Selected {
  readonly _tag: "Selected"
  readonly campaignId: string
  readonly tenant: string
  readonly creativeId: string
  readonly tier: Campaign.Tier
  readonly personalized: boolean
  readonly propensity: number
  readonly pacing: number
  readonly costMillis: number
  readonly currency: string
  readonly reason: string
  readonly at: number
  readonly skipped: ReadonlyArray<Skip>
}

/**
 * Nothing could be served (no campaign has a creative of the slot's size, or every one was passed over).
 *
 * @since 0.1.0
 * @category models
 */
export interface Empty {
  readonly _tag: "Empty"
  readonly reason: string
  readonly at: number
  readonly skipped: ReadonlyArray<Skip>
}

/**
 * A decision.
 *
 * @since 0.1.0
 * @category models
 */
export type Decision = Selected | Empty

/**
 * Whether a campaign was chosen.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSelected = (d: Decision): d is Selected => d._tag === "Selected"
