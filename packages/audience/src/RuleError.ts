/**
 * The one error of the rule language: a rule document that is not valid (`reason: "invalid"`, with the path to
 * the offending value) or that would be too expensive to evaluate (`reason: "too-complex"`, naming the limit).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A rejected rule document or audience set.
 *
 * - `path`: where the problem is, as `conditions[1].window.days` (`rule` for the document as a whole).
 * - `message`: `path: what is wrong`, ready to show to the person who wrote the rule.
 * - `limit`: for `too-complex`, the name of the limit exceeded (`maxDepth`, `maxLeaves`, `maxWindows`, …).
 *
 * @since 0.1.0
 * @category errors
 */
export class RuleError extends Schema.TaggedError<RuleError>()("RuleError", {
  reason: Schema.Literal("invalid", "too-complex"),
  path: Schema.String,
  message: Schema.String,
  limit: Schema.optionalWith(Schema.String, { exact: true })
}) {}

/**
 * A `RuleError` for an invalid value at `path`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const invalid = (path: string, problem: string): RuleError =>
  new RuleError({ reason: "invalid", path, message: `${path}: ${problem}` })

/**
 * A `RuleError` for a rule over the limit `limit`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tooComplex = (path: string, limit: string, problem: string): RuleError =>
  new RuleError({ reason: "too-complex", path, limit, message: `${path}: ${problem} (limit ${limit})` })
