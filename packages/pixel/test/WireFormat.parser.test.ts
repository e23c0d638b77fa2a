import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as WireFormat from "../src/WireFormat.js"

// The wire parser decodes percent-escapes and integers by hand for speed. These properties hold it to the
// rules it replaces: `decodeURIComponent` (with `+` as a space) and "an optional minus and 1 to 16 digits that
// make a safe integer".

const base = "v=1&e=pv&id=evt_0123456789&s=demo"

const escapes = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 12 }).map(encodeURIComponent),
  fc
    .string({ unit: fc.constantFrom("a", " ", "/", "é", "😀", "\u0000", "+", "%"), maxLength: 8 })
    .map(encodeURIComponent),
  fc.string({
    unit: fc.constantFrom(
      "%",
      "%2",
      "%2F",
      "%7E",
      "%7e",
      "%80",
      "%C3",
      "%A9",
      "%FF",
      "%ED%A0%80",
      "%G0",
      "%g0",
      "%0g",
      "%2:",
      "%/0",
      "+",
      "a",
      "0"
    ),
    maxLength: 8
  })
)

const builtin = (raw: string): string | undefined => {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "))
  } catch {
    return undefined
  }
}

describe("WireFormat parser", () => {
  it("decodes percent-escapes exactly as decodeURIComponent does (property)", () => {
    fc.assert(
      fc.property(escapes, (raw) => {
        const result = WireFormat.decodeQuery(`${base}&u=${raw}&r=x${raw}`)
        const url = builtin(raw)
        if (url === undefined) {
          assert.isTrue(Either.isLeft(result))
          if (Either.isLeft(result)) {
            assert.strictEqual(result.left.reason, "Malformed")
            assert.strictEqual(result.left.message, "u: bad percent-encoding or invalid UTF-8")
          }
        } else if (Either.isRight(result)) {
          assert.strictEqual((result.right as { url?: string }).url, url)
          assert.strictEqual((result.right as { referrer?: string }).referrer, `x${url}`)
        } else {
          // The decoded text reached the schema, which may still refuse it (empty, or holding NUL).
          assert.strictEqual(result.left.reason, "InvalidValue")
          assert.isTrue(url === "" || url.includes("\u0000"), result.left.message)
        }
      }),
      { numRuns: 3000 }
    )
  })

  it("reads integers as an optional minus and 1 to 16 digits that make a safe integer (property)", () => {
    const raws = fc.oneof(
      fc.string({ unit: fc.constantFrom("0", "1", "9", "-", "+", ".", "e", " ", "x", "٣", "/", ":"), maxLength: 18 }),
      fc.bigInt({ min: -(2n ** 54n), max: 2n ** 54n }).map(String),
      fc.tuple(fc.nat(18), fc.nat()).map(([width, n]) => String(n).padStart(width, "0")),
      fc.constantFrom(
        "9007199254740991",
        "9007199254740992",
        "9007199254740993",
        "-0",
        "0000000000000001",
        "00000000000000001"
      )
    )
    fc.assert(
      fc.property(raws, (raw) => {
        const result = WireFormat.decodeQuery(`v=1&e=vw&id=evt_0123456789&s=demo&p=A&cu=EUR&pr=${raw}`)
        const n = Number(raw)
        if (!/^-?[0-9]{1,16}$/.test(raw) || !Number.isSafeInteger(n)) {
          assert.isTrue(Either.isLeft(result))
          if (Either.isLeft(result)) {
            assert.strictEqual(
              result.left.message,
              `pr (unitPrice): expected a safe decimal integer, got ${JSON.stringify(raw)}`
            )
          }
        } else if (n >= 0) {
          assert.isTrue(Either.isRight(result))
          if (Either.isRight(result)) assert.isTrue(Object.is((result.right as { unitPrice?: number }).unitPrice, n))
        } else {
          assert.isTrue(Either.isLeft(result))
          if (Either.isLeft(result)) assert.match(result.left.message, /^pr \(unitPrice\): expected a non-negative/)
        }
      }),
      { numRuns: 3000 }
    )
  })
})
