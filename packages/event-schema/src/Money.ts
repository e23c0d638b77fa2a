/**
 * Exact money: an integer number of minor units (cents, yen, fils) and an ISO 4217 currency. Floating-point
 * amounts never enter the model; decimal strings are converted with the currency's exponent, digit by digit.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Currency from "./Currency.js"
import { describe } from "./internal/describe.js"

/**
 * A non-negative integer amount in minor units, within the safe integer range.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MinorUnits = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n >= 0, {
    jsonSchema: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    arbitrary: () => (fc) => fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.maxSafeNat())
  }),
  Schema.annotations({
    identifier: "MinorUnits",
    description: "a non-negative integer amount in minor units of the currency",
    message: (issue) => ({
      message: `expected a non-negative integer amount in minor units, got ${describe(issue.actual)}`,
      override: true
    })
  })
)

/**
 * An amount and its currency.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Money = Schema.Struct({
  amount: MinorUnits,
  currency: Currency.CurrencyCode
}).annotations({ identifier: "Money" })

/**
 * @since 0.1.0
 * @category models
 */
export type Money = typeof Money.Type

/**
 * Converts a decimal string such as `"19.99"` to minor units of `currency` without floating point. Fails when
 * the string has more decimals than the currency allows, is negative, or is not a plain decimal number.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromDecimal = (decimal: string, currency: string): Either.Either<Money, string> => {
  const exponent = Currency.exponent(currency)
  if (Option.isNone(exponent)) return Either.left(`unknown currency ${describe(currency)}`)
  const match = /^(\d{1,15})(?:\.(\d+))?$/.exec(decimal)
  if (match === null) return Either.left(`expected a non-negative decimal amount, got ${describe(decimal)}`)
  const fraction = match[2] ?? ""
  if (fraction.length > exponent.value) {
    return Either.left(`${currency} has ${exponent.value} decimals, got ${describe(decimal)}`)
  }
  const amount = Number(match[1]! + fraction.padEnd(exponent.value, "0"))
  if (!Number.isSafeInteger(amount)) return Either.left(`amount ${describe(decimal)} is too large`)
  return Either.right({ amount, currency })
}

/**
 * Formats minor units as a decimal string using the currency's exponent (`1999, "EUR"` → `"19.99"`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const toDecimal = (money: Money): string => {
  const exponent = Option.getOrElse(Currency.exponent(money.currency), () => 2)
  if (exponent === 0) return String(money.amount)
  const digits = String(money.amount).padStart(exponent + 1, "0")
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`
}
