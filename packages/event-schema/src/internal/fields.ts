/**
 * Field schemas shared by the event modules: bounded strings, ids, integers with friendly messages and
 * arbitraries that generate valid values directly (property tests would starve on filtered random data).
 */
import * as Schema from "effect/Schema"
import { describe } from "./describe.js"

const friendly = (expected: string) => (issue: { readonly actual: unknown }) => ({
  message: `expected ${expected}, got ${describe(issue.actual)}`,
  override: true
})

const urlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-".split("")
const siteChars = "abcdefghijklmnopqrstuvwxyz0123456789_-".split("")

/**
 * Text the platform can store and forward everywhere: well-formed UTF-16 (no lone surrogates, which neither
 * UTF-8 nor PostgreSQL can represent) and no NUL character.
 */
export const isStorableText = (s: string): boolean => s.isWellFormed() && !s.includes("\u0000")

/** A string of `min..max` characters, optionally matching `pattern`, with a readable failure message. */
export const boundedString = (
  min: number,
  max: number,
  options?: { pattern?: RegExp; what?: string; alphabet?: "url-safe" | "site" }
) => {
  const pattern = options?.pattern
  const what = options?.what ?? `a string of ${min} to ${max} characters`
  const alphabet = options?.alphabet
  return Schema.String.pipe(
    Schema.filter(
      (s) => s.length >= min && s.length <= max && (pattern === undefined ? isStorableText(s) : pattern.test(s)),
      {
        jsonSchema:
          pattern === undefined
            ? { minLength: min, maxLength: max }
            : { minLength: min, maxLength: max, pattern: pattern.source },
        arbitrary: () => (fc) =>
          alphabet === undefined
            ? fc
                .string({ unit: "grapheme", minLength: min, maxLength: max })
                .filter((s) => s.length >= min && s.length <= max && isStorableText(s))
            : alphabet === "url-safe"
              ? fc.string({ unit: fc.constantFrom(...urlSafe), minLength: min, maxLength: max })
              : fc
                  .tuple(
                    fc.constantFrom(...siteChars.slice(0, 36)),
                    fc.string({ unit: fc.constantFrom(...siteChars), maxLength: max - 1 })
                  )
                  .map(([head, tail]) => head + tail)
      }
    ),
    Schema.annotations({ message: friendly(what) })
  )
}

/** An integer in `min..max`, with a readable failure message. */
export const boundedInt = (min: number, max: number, what?: string) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isSafeInteger(n) && n >= min && n <= max, {
      jsonSchema: { type: "integer", minimum: min, maximum: max },
      arbitrary: () => (fc) => fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number)
    }),
    Schema.annotations({ message: friendly(what ?? `an integer from ${min} to ${max}`) })
  )

/** A boolean with a readable failure message. */
export const Flag = Schema.Boolean.annotations({ message: friendly("true or false") })
