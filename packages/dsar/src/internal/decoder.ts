/**
 * Decoders for untrusted JSON that answer `Left` instead of throwing. Effect's schema decoding of a union of tagged
 * members converts the tag's value to text to pick the member, which throws for an object that cannot become text
 * (`{"toString": false}` is valid JSON); such input is simply not a valid value.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const unconvertible = "a value is an object that cannot be read as text (it has a toString or valueOf field)"

/** A decoder of `schema` from unknown input: every error named, unknown fields refused, never a throw. */
export const decoder = <A, I>(schema: Schema.Schema<A, I, never>): ((input: unknown) => Either.Either<A, string>) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })
  return (input) => {
    try {
      return Either.mapLeft(decode(input), (error) => ParseResult.TreeFormatter.formatErrorSync(error))
    } catch {
      return Either.left(unconvertible)
    }
  }
}
