/**
 * The one error of the consent-string decoders: a TC, GPP or US Privacy string that breaks a rule of its
 * specification. `rule` names the rule (for example `policy-version` or `trailing-bits`) so a decision can record
 * exactly why it failed closed.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A consent string that could not be accepted. `format` says which kind of string, `rule` which rule it broke,
 * `section` the GPP section id when the problem lies inside one, `detail` a human-readable explanation.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConsentStringError extends Schema.TaggedError<ConsentStringError>()("ConsentStringError", {
  format: Schema.Literal("tcf", "gpp", "usp"),
  rule: Schema.String,
  section: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  override get message(): string {
    const where = this.section === undefined ? "" : ` (section ${this.section})`
    return `invalid ${this.format} string${where}: ${this.rule}: ${this.detail}`
  }
}
