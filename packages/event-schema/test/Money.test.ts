import { assert, describe, it } from "@effect/vitest"
import { Currency, Money } from "@openaudience/event-schema"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"

describe("Currency", () => {
  it("knows the minor-unit exponent of ISO 4217 currencies", () => {
    assert.deepStrictEqual(Currency.exponent("EUR"), Option.some(2))
    assert.deepStrictEqual(Currency.exponent("JPY"), Option.some(0))
    assert.deepStrictEqual(Currency.exponent("KWD"), Option.some(3))
    assert.deepStrictEqual(Currency.exponent("CLF"), Option.some(4))
    assert.deepStrictEqual(Currency.exponent("XAU"), Option.none())
    assert.deepStrictEqual(Currency.exponent("eur"), Option.none())
    assert.deepStrictEqual(Currency.exponent("toString"), Option.none())
    assert.isAbove(Currency.codes.length, 150)
  })
})

describe("Money", () => {
  it("converts decimal strings exactly, by the currency's exponent", () => {
    assert.deepStrictEqual(Money.fromDecimal("19.99", "EUR"), Either.right({ amount: 1999, currency: "EUR" }))
    assert.deepStrictEqual(Money.fromDecimal("0.1", "USD"), Either.right({ amount: 10, currency: "USD" }))
    assert.deepStrictEqual(Money.fromDecimal("1500", "JPY"), Either.right({ amount: 1500, currency: "JPY" }))
    assert.deepStrictEqual(Money.fromDecimal("1.234", "KWD"), Either.right({ amount: 1234, currency: "KWD" }))
    assert.deepStrictEqual(Money.fromDecimal("1.5", "JPY"), Either.left('JPY has 0 decimals, got "1.5"'))
    assert.deepStrictEqual(
      Money.fromDecimal("-1", "EUR"),
      Either.left('expected a non-negative decimal amount, got "-1"')
    )
    assert.deepStrictEqual(
      Money.fromDecimal("1e3", "EUR"),
      Either.left('expected a non-negative decimal amount, got "1e3"')
    )
    assert.deepStrictEqual(Money.fromDecimal("1", "ABC"), Either.left('unknown currency "ABC"'))
  })

  it("round-trips minor units through decimal strings (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...Currency.codes), fc.integer({ min: 0, max: 2 ** 40 }), (currency, amount) => {
        const decimal = Money.toDecimal({ amount, currency })
        assert.deepStrictEqual(Money.fromDecimal(decimal, currency), Either.right({ amount, currency }))
      })
    )
  })
})
