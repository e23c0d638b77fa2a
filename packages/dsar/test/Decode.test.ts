/**
 * `Subject.decode` and `Request.decodeAction`, the decoders for untrusted JSON: every valid value round-trips, and a
 * document with any one value replaced by an object that cannot become text (`{"toString": false}`, valid JSON on
 * which Effect's union decoding throws) is refused without throwing.
 */
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"
import * as Request from "../src/Request.js"
import * as Subject from "../src/Subject.js"

const hostile = fc.constantFrom('{"toString":false}', '{"valueOf":{},"toString":1}', '{"_tag":{"toString":null}}')

/** The number of values `JSON.parse` visits in `text` (the root included). */
const valuesIn = (text: string): number => {
  let values = 0
  JSON.parse(text, (_, value) => {
    values++
    return value
  })
  return values
}

/** `text` parsed with its `index`th value (in the reviver's order, the root last) replaced by `replacement`. */
const replaced = (text: string, index: number, replacement: string): unknown => {
  let seen = 0
  return JSON.parse(text, (_, value) => (seen++ === index ? JSON.parse(replacement) : value))
}

interface Case {
  readonly name: string
  readonly schema: Schema.Schema<unknown, unknown>
  readonly decode: (input: unknown) => Either.Either<unknown, string>
  /** A document with `field` broken. */
  readonly broken: Record<string, unknown>
  readonly field: string
}

const cases: ReadonlyArray<Case> = [
  {
    name: "Subject.decode",
    schema: Subject.Subject as Schema.Schema<unknown, unknown>,
    decode: Subject.decode,
    broken: { _tag: "Visitor", tenant: "shop", visitor: 7 },
    field: "visitor"
  },
  {
    name: "Request.decodeAction",
    schema: Request.Action as Schema.Schema<unknown, unknown>,
    decode: Request.decodeAction,
    broken: { _tag: "Refuse", reason: ["no"] },
    field: "reason"
  }
]

for (const { name, schema, decode, broken, field } of cases) {
  const encode = Schema.encodeSync(schema)
  const documents = Arbitrary.make(schema).map((value) => JSON.stringify(encode(value)))

  describe(name, () => {
    it.prop("decodes every valid value from its JSON, unchanged", [documents], ([text]) => {
      const decoded = decode(JSON.parse(text))
      assert.isTrue(Either.isRight(decoded), Either.isLeft(decoded) ? decoded.left : "")
      assert.strictEqual(JSON.stringify(encode(Either.getOrThrow(decoded))), text)
    })

    it.prop(
      "refuses, without throwing, a document with any value replaced by an object that cannot become text",
      [documents.chain((text) => fc.tuple(fc.constant(text), fc.nat({ max: valuesIn(text) - 1 }))), hostile],
      ([[text, index], replacement]) => {
        const result = decode(replaced(text, index, replacement))
        assert.isTrue(Either.isLeft(result), `value #${index} of ${text}`)
        if (Either.isLeft(result)) assert.isAbove(result.left.length, 0)
      }
    )

    it.prop("answers Left, never a throw, for anything else", [fc.anything()], ([input]) => {
      const result = decode(input)
      if (Either.isLeft(result)) assert.isAbove(result.left.length, 0)
    })

    it("names the field at fault, and refuses unknown fields", () => {
      const result = decode(broken)
      assert.isTrue(Either.isLeft(result) && result.left.includes(field), String(Either.getLeft(result)))
      const extra = decode({ ...broken, [field]: "ok", extra: 1 })
      assert.isTrue(Either.isLeft(extra) && extra.left.includes("extra"), String(Either.getLeft(extra)))
    })
  })
}
