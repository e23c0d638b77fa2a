/**
 * Builds a rule document (`AudienceRule`, version 1) from builder conditions, and names the definition an audience
 * set is compiled from.
 *
 * @since 0.1.0
 */
import type * as AudienceRule from "./AudienceRule.js"
import { type Conditional, type Days, toCondition } from "./Rule.js"

/**
 * Options of a rule document: bind every condition on one field, and the membership expiry.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly bind?: AudienceRule.BindField
  readonly expiry?: Days
}

/**
 * A rule document whose conditions must all hold.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (conditions: ReadonlyArray<Conditional>, options: Options = {}): AudienceRule.AudienceRule => ({
  version: 1,
  conditions: conditions.map(toCondition),
  ...(options.bind === undefined ? {} : { bind: options.bind }),
  ...(options.expiry === undefined ? {} : { expiry: { days: options.expiry.days } })
})

/**
 * An audience as the compiler takes it: a stable id (chosen by whoever stores audiences) and its rule.
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition {
  readonly id: string
  readonly rule: AudienceRule.AudienceRule
}
