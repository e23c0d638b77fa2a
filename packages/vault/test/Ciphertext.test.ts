import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { Ciphertext } from "../src/index.js"

const sealed = FastCheck.record({
  iv: FastCheck.uint8Array({ minLength: 12, maxLength: 12 }),
  ciphertext: FastCheck.uint8Array({ maxLength: 300 }),
  tag: FastCheck.uint8Array({ minLength: 16, maxLength: 16 })
})

describe("Ciphertext", () => {
  it.prop("text and bytes forms round-trip", [sealed], ([value]) => {
    const text = Ciphertext.toText(value)
    assert.isTrue(text.startsWith("v1."))
    assert.deepStrictEqual(Ciphertext.fromText(text), Either.right(value))
    assert.deepStrictEqual(Ciphertext.fromBytes(Ciphertext.toBytes(value)), Either.right(value))
    assert.strictEqual(Ciphertext.toBytes(value).length, Ciphertext.minBytes + value.ciphertext.length)
  })

  it.prop("reading untrusted text never throws", [FastCheck.string({ unit: "binary" })], ([text]) => {
    const read = Ciphertext.fromText(text)
    assert.isTrue(Either.isLeft(read) || text.startsWith("v1."))
  })

  it("names what is wrong", () => {
    assert.deepStrictEqual(Ciphertext.fromText("v2.AAAA"), Either.left('the ciphertext does not start with "v1."'))
    assert.deepStrictEqual(Ciphertext.fromText("v1.AAAA"), Either.left("the ciphertext is shorter than 29 bytes"))
    assert.deepStrictEqual(Ciphertext.fromText("v1.a+b/"), Either.left("the ciphertext is not base64url"))
    assert.deepStrictEqual(Ciphertext.fromBytes(new Uint8Array([2, 0, 0])), Either.left("unknown ciphertext format 2"))
  })
})
