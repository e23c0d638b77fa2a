import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Schema from "effect/Schema"
import * as Pii from "../src/Pii.js"
import * as Url from "../src/Url.js"
import {
  card,
  componentTimes,
  email,
  encodeTimes,
  internationalPhone,
  ipv4,
  ipv6,
  nationalPhone,
  type Planted,
  luhnComplete,
  planted,
  survives
} from "./fixtures/piiValues.js"

const around = fc.tuple(
  fc.constantFrom("", "Contact ", "call me: ", "ref/", "x "),
  fc.constantFrom("", " please", " (home)", "/x", ", thanks")
)
const rounds = fc.integer({ min: 0, max: 5 })
/** `n` rounds of percent-encoding: the first escaping every byte (when `byte`), the next ones what they must. */
const encode = (value: string, n: number, byte: boolean) =>
  n === 0 ? value : componentTimes(byte ? encodeTimes(value, 1) : encodeURIComponent(value), n - 1)

describe("Pii.detect", () => {
  for (const [name, arbitrary] of [
    ["email", email],
    ["international phone", internationalPhone],
    ["national phone", nationalPhone],
    ["card", card],
    ["IPv4", ipv4],
    ["IPv6", ipv6]
  ] as const) {
    it(`finds every ${name} in text, percent-encoded up to five times`, () => {
      fc.assert(
        fc.property(arbitrary, around, rounds, fc.boolean(), (value: Planted, [before, after], n, byte) => {
          const text = encode(`${before}${value.text}${after}`, n, byte)
          assert.isDefined(Pii.detect(text, { tokens: false }), text)
          assert.notStrictEqual(Pii.redact(text).text, text)
        }),
        { numRuns: 300 }
      )
    })
  }

  it("leaves ordinary SKUs, categories, sizes, prices, dates, versions and ids alone", () => {
    const ordinary = [
      "SKU-12345",
      "SKU-123456789",
      "Shoes > Running",
      "Women/Shoes/Trail Running",
      "42",
      "EU 42.5",
      "XL",
      "1299",
      "19.99",
      "2026-12-05",
      "12:30:45",
      "v1.2.3",
      "std::vector",
      "550e8400-e29b-41d4-a716-446655440000",
      "a3f5c2e1b9d84f0e8c7a6b5d4e3f2a1b",
      "ORD-2026-000123",
      "1000234567",
      "5012345678901",
      "Buy now",
      "add-to-cart-button",
      "Écharpe en laine 100% mérinos",
      "Sale: 50% off",
      "Größe 38-40",
      "Pack of 3 x 250 ml"
    ]
    for (const text of ordinary) {
      assert.isUndefined(Pii.detect(text, { tokens: false }), text)
      assert.deepStrictEqual(Pii.redact(text), { text, kind: undefined })
    }
  })

  it("reads a whole 13-19 digit run with a card network's first digit and a valid Luhn check as a card, nothing else", () => {
    // Long numeric order ids and timestamps: every run of 14+ digits holds a Luhn-valid window, so windows are not
    // searched; runs of 20+ digits, runs starting 0, 1, 7, 8 or 9, and runs failing Luhn are not cards.
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{20,26}$/), (id) => Pii.detect(`order-${id}`) !== "card"),
      { numRuns: 300 }
    )
    fc.assert(
      fc.property(
        fc.constantFrom("0", "1", "7", "8", "9"),
        fc.stringMatching(/^[0-9]{14}$/),
        (first, rest) => Pii.detect(`ORD ${luhnComplete(`${first}${rest}`)}`) !== "card"
      ),
      { numRuns: 300 }
    )
    fc.assert(
      fc.property(
        fc.constantFrom("2", "3", "4", "5", "6"),
        fc.stringMatching(/^[0-9]{14}$/),
        (first, rest) => Pii.detect(`paid with ${luhnComplete(`${first}${rest}`)}`) === "card"
      ),
      { numRuns: 300 }
    )
  })

  it("treats text still escaped after sixteen decoding rounds as hiding something", () => {
    assert.strictEqual(Pii.detect(componentTimes("SKU 1", 17)), "token")
    assert.isUndefined(Pii.detect(componentTimes("SKU 1", 16)))
    assert.strictEqual(Pii.detect(componentTimes("jane@example.com", 16)), "email")
  })
})

describe("Pii.redact", () => {
  it("strips C0, DEL, C1 and line separator characters, and replaces personal data by its marker", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom("Shoes", " > ", "Running", "42"),
            fc
              .integer({ min: 0, max: 0x9f })
              .filter((c) => c < 0x20 || c >= 0x7f)
              .map((c) => String.fromCharCode(c)),
            fc.constantFrom("\u2028", "\u2029")
          ),
          { maxLength: 12 }
        ),
        (parts) => {
          const { text } = Pii.redact(parts.join(""))
          assert.notMatch(text, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/)
        }
      )
    )
    assert.deepStrictEqual(Pii.redact("Shoes\r\n> Running\u001b[31m"), { text: "Shoes> Running[31m", kind: undefined })
    assert.deepStrictEqual(Pii.redact("jane\n@example.com"), { text: "[redacted:email]", kind: "email" })
    assert.strictEqual(Pii.redact("+33 6 40 60 62 70").text, Pii.marker("phone"))
  })
})

describe("Pii.freeTextFields", () => {
  const Id = Schema.String.pipe(Schema.pattern(/^[a-z0-9]+$/))
  const Base = Schema.Struct({
    type: Schema.Literal("x"),
    id: Id,
    kind: Schema.Literal("a", "b"),
    label: Schema.String.pipe(Schema.maxLength(128)),
    count: Schema.Number,
    items: Schema.Array(Schema.Struct({ sku: Schema.String, tag: Schema.optionalWith(Schema.String, { exact: true }) }))
  })

  it("lists the strings that are not literals, enums or patterned, in nested structs and arrays", () => {
    assert.deepStrictEqual(Pii.freeTextFields(Base).map(Pii.formatPath), ["label", "items[].sku", "items[].tag"])
  })

  it("covers a field added later without any change to the detector", () => {
    const Later = Schema.Struct({ ...Base.fields, note: Schema.optionalWith(Schema.String, { exact: true }) })
    assert.include(Pii.freeTextFields(Later).map(Pii.formatPath), "note")
    const Filtered = Later.pipe(Schema.filter(() => true))
    assert.include(Pii.freeTextFields(Schema.Union(Filtered, Base)).map(Pii.formatPath), "note")
  })
})

describe("Url.scrub closes the gaps", () => {
  it("redacts bare-digit phones, IPv4/IPv6 addresses and values encoded many times in paths and query values", () => {
    fc.assert(
      fc.property(planted, fc.integer({ min: 0, max: 5 }), fc.boolean(), (value, n, inQuery) => {
        const encoded = encode(value.text, Math.max(1, n), n % 2 === 0)
        const url = inQuery
          ? `https://shop.example/p?product=${encoded}&utm_source=x`
          : `https://shop.example/p/${encoded}/view`
        const scrubbed = Url.scrub(url)
        assert.isDefined(scrubbed)
        assert.isFalse(survives(value, scrubbed!), `${url} -> ${scrubbed}`)
      }),
      { numRuns: 500 }
    )
  })

  it("keeps product paths and ids", () => {
    for (const url of [
      "https://shop.example/p/SKU-12345?product=42&category=shoes",
      "https://shop.example/c/shoes/running/size-42",
      "https://shop.example/p/5012345678901"
    ]) {
      assert.strictEqual(Url.scrub(url), url)
    }
  })
})
