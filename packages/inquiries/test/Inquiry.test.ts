import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { Inquiry } from "../src/index.js"

const valid = { name: "Ada Testperson", email: "ada@example.test", message: "Hello" }

const fieldOf = (input: Inquiry.Input) => {
  const result = Inquiry.validate(input)
  return Either.isLeft(result) ? result.left.field : undefined
}

describe("Inquiry.validate", () => {
  it("names the field of every refusal", () => {
    assert.strictEqual(fieldOf({ ...valid, name: "" }), "name")
    assert.strictEqual(fieldOf({ ...valid, name: "\u0000\t\n " }), "name")
    assert.strictEqual(fieldOf({ ...valid, name: "n".repeat(201) }), "name")
    assert.strictEqual(fieldOf({ ...valid, name: 42 }), "name")
    assert.strictEqual(fieldOf({ ...valid, email: undefined }), "email")
    for (const email of [
      "ada",
      "ada@",
      "@example.test",
      "ada@example",
      "a da@example.test",
      "ada@@example.test",
      ".ada@example.test",
      "ada..b@example.test",
      "ada@-example.test",
      "ada@example..test",
      `${"a".repeat(65)}@example.test`,
      `ada@${"d".repeat(250)}.test`
    ]) {
      assert.strictEqual(fieldOf({ ...valid, email }), "email", email)
    }
    assert.strictEqual(fieldOf({ ...valid, message: " \r\n " }), "message")
    assert.strictEqual(fieldOf({ ...valid, message: "m".repeat(5001) }), "message")
    assert.strictEqual(fieldOf({ ...valid, message: null }), "message")
    assert.strictEqual(fieldOf({ ...valid, honeypot: "https://spam.example" }), "honeypot")
    assert.strictEqual(Either.getOrThrow(Either.flip(Inquiry.validate({ ...valid, honeypot: 1 }))).reason, "Spam")
  })

  it("refuses a card number in any field, naming it and never echoing it", () => {
    for (const field of ["name", "email", "message"] as const) {
      const card = field === "email" ? "4111111111111111@example.test" : "Card 4111-1111-1111-1111 please"
      const result = Inquiry.validate({ ...valid, [field]: card })
      assert.isTrue(Either.isLeft(result), field)
      const error = Either.getOrThrow(Either.flip(result))
      assert.deepStrictEqual([error.reason, error.field], ["InvalidInput", field])
      assert.notInclude(error.message, "4111")
    }
    // A number that is not Luhn-valid (an order number) is fine.
    assert.isTrue(Either.isRight(Inquiry.validate({ ...valid, message: "Order 4111 1111 1111 1112" })))
  })

  it("cleans and normalizes what it accepts", () => {
    const result = Either.getOrThrow(
      Inquiry.validate({
        name: "  Ada\tTest\u0000person\n",
        email: "  Ada.Test+Inq@Example.TEST ",
        message: "\u0007 Line one\r\nLine\ttwo\rthree\u001b[31m\u0085 ",
        honeypot: ""
      })
    )
    assert.deepStrictEqual(result, {
      name: "Ada Testperson",
      email: "ada.test+inq@example.test",
      message: "Line one\nLine\ttwo\nthree[31m"
    })
    assert.strictEqual(Either.getOrThrow(Inquiry.validateName("n".repeat(200))).length, 200)
    assert.strictEqual(Either.getOrThrow(Inquiry.validateMessage("😀".repeat(5000))).length, 10_000)
    assert.strictEqual(Either.getOrThrow(Inquiry.validateEmail("jörg@bücher.example")), "jörg@bücher.example")
  })

  it("never throws on untrusted input, and what it accepts stays within the limits", () => {
    const anything = FastCheck.oneof(
      FastCheck.string({ unit: "binary", maxLength: 300 }),
      FastCheck.string({ unit: "grapheme", maxLength: 6000 }),
      FastCheck.anything()
    )
    FastCheck.assert(
      FastCheck.property(anything, anything, anything, FastCheck.option(anything), (name, email, message, honeypot) => {
        const result = Inquiry.validate({ name, email, message, honeypot: honeypot ?? undefined })
        if (Either.isLeft(result)) {
          assert.include(["name", "email", "message", "honeypot"], result.left.field)
          return
        }
        const { name: n, email: e, message: m } = result.right
        assert.isTrue([...n].length >= 1 && [...n].length <= 200 && !/\p{Cc}/u.test(n))
        assert.isTrue([...m].length >= 1 && [...m].length <= 5000 && !/[^\P{Cc}\n\t]/u.test(m))
        assert.isTrue(e.includes("@") && e === e.trim().toLowerCase())
      }),
      { numRuns: 300 }
    )
  })
})
