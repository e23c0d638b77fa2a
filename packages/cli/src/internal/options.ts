/**
 * Options several commands share, and `choice`, whose error names its option (@effect/cli's own choice error
 * lists the values but not the option).
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"

/** `--json`: print one JSON value on stdout instead of text. */
export const json = Options.boolean("json").pipe(
  Options.withDescription("Print one JSON value on stdout (and nothing else).")
)

/** `--tenant ID`: the tenant a site or key command works in. */
export const tenant = Options.text("tenant").pipe(
  Options.withPseudoName("ID"),
  Options.withDescription("The tenant's id (see `tenant list`).")
)

/** `--name VALUE` with one of `values`; anything else is refused with a message naming `--name`. */
export const choice = <const A extends string>(
  name: string,
  values: ReadonlyArray<A>,
  description: string
): Options.Options<A> =>
  Options.text(name).pipe(
    Options.withPseudoName(values.join("|")),
    Options.withDescription(`${description} One of: ${values.join(", ")}.`),
    Options.mapEffect((value) =>
      values.includes(value as A)
        ? Effect.succeed(value as A)
        : Effect.fail(
            ValidationError.invalidValue(
              HelpDoc.p(`Invalid --${name}: ${JSON.stringify(value)} is not one of ${values.join(", ")}`)
            )
          )
    )
  )
