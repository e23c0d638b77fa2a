import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { Fields } from "../src/index.js"

const reasonOf = <A>(result: Either.Either<A, Fields.FieldError>) =>
  Either.match(result, {
    onLeft: (e) => ({ field: e.field, reason: e.reason, message: e.message }),
    onRight: () => undefined
  })

describe("Fields", () => {
  it("accepts valid IBANs in any spacing and case, returns the electronic form", () => {
    assert.deepStrictEqual(Fields.iban("iban", " de89 3704 0044 0532 0130 00 "), Either.right("DE89370400440532013000"))
    assert.deepStrictEqual(Fields.iban("iban", "GB82WEST12345698765432"), Either.right("GB82WEST12345698765432"))
  })

  it("refuses invalid IBANs, naming the field and the problem", () => {
    const typo = reasonOf(Fields.iban("bank.iban", "DE89370400440532013001"))
    assert.strictEqual(typo?.field, "bank.iban")
    assert.strictEqual(typo?.reason, "InvalidIban")
    assert.include(typo?.message, "check digits are wrong")
    assert.strictEqual(reasonOf(Fields.iban("iban", "ZZ00"))?.reason, "InvalidIban")
    assert.strictEqual(reasonOf(Fields.iban("iban", ""))?.reason, "InvalidIban")
  })

  it("validates BICs", () => {
    assert.deepStrictEqual(Fields.bic("bic", "deut de ff"), Either.right("DEUTDEFF"))
    assert.deepStrictEqual(Fields.bic("bic", "NEDSZAJJXXX"), Either.right("NEDSZAJJXXX"))
    assert.strictEqual(reasonOf(Fields.bic("bank.bic", "DEUT"))?.reason, "InvalidBic")
    assert.strictEqual(reasonOf(Fields.bic("bank.bic", "DEUT1EFF"))?.field, "bank.bic")
  })

  it("refuses anything that looks like a card number, naming the field and never the number", () => {
    for (const value of [
      "4111111111111111",
      "4111 1111 1111 1111",
      "5500-0000-0000-0004",
      "my card: 4111 1111 1111 1111 thanks",
      "ann@example.test 4111111111111111",
      "4111 1111 1111 1111, 192.0.2.1"
    ]) {
      const refused = reasonOf(Fields.refuseCard("address.line2", value))
      assert.strictEqual(refused?.reason, "CardNumber", value)
      assert.strictEqual(refused?.field, "address.line2")
      assert.include(refused?.message, "address.line2")
      assert.notInclude(refused?.message, "4111")
    }
  })

  it("lets other values through", () => {
    for (const value of [
      "Ann",
      "12 rue de la Paix, 75002 Paris",
      "+33 6 12 34 56 78",
      "order 4111111111111112",
      "",
      "1234567890123"
    ]) {
      assert.deepStrictEqual(Fields.refuseCard("note", value), Either.right(value))
    }
  })

  it("normalizes email addresses: trim, NFC, lower case; plus addresses and IDNs as typed", () => {
    assert.strictEqual(Fields.normalizeEmail("  Ann.Lee+News@Example.TEST \n"), "ann.lee+news@example.test")
    assert.strictEqual(Fields.normalizeEmail("Jose\u0301@Example.test"), "jos\u00e9@example.test")
    assert.notStrictEqual(
      Fields.normalizeEmail("ann@bücher.example"),
      Fields.normalizeEmail("ann@xn--bcher-kva.example")
    )
  })
})
