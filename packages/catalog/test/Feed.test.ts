/**
 * Feeds as shops export them (Google and Meta columns, CSV, TSV, JSON), row-by-row rejections naming their column,
 * limits, and hostile input: whatever the bytes, `parse` answers a report or a `FeedError`, never an exception.
 */
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import { Feed, Product, Template } from "../src/index.js"
import { origin, products } from "./arbitraries.js"

const options = { format: "csv", origins: [origin] } as const

const ok = (input: string | Uint8Array, opts: Feed.Options = options): Feed.Report =>
  Either.getOrThrowWith(Feed.parse(input, opts), (e) => new Error(e.message))

const error = (input: string | Uint8Array, opts: Feed.Options = options): Feed.FeedError =>
  Either.match(Feed.parse(input, opts), {
    onLeft: (e) => e,
    onRight: (report) => assert.fail(`expected a FeedError, got ${JSON.stringify(report)}`)
  })

const header = "id,title,link,image_link,price,availability"
const row = (fields: Partial<Record<string, string>> = {}) => {
  const values = {
    id: "sku-1",
    title: "Chef knife",
    link: `${origin}/p/1`,
    image_link: `${origin}/i/1.jpg`,
    price: "129.00 EUR",
    availability: "in_stock",
    ...fields
  }
  return [values.id, values.title, values.link, values.image_link, values.price, values.availability]
    .map((v) => `"${(v ?? "").replaceAll('"', '""')}"`)
    .join(",")
}
/** The reasons of a one-row feed whose row is rejected, as `column: message`. */
const reasonsOf = (fields: Partial<Record<string, string>>, opts: Feed.Options = options): Array<string> => {
  const report = ok(`${header}\n${row(fields)}\n`, opts)
  assert.strictEqual(report.products.length, 0, `accepted: ${JSON.stringify(report.products)}`)
  return report.rejected[0]!.reasons.map((r) => `${r.column}: ${r.message}`)
}

const quote = (v: string) => `"${v.replaceAll('"', '""')}"`
/** A CSV writer independent of the reader: every field quoted, Google's column names. */
const toCsv = (items: ReadonlyArray<Product.Product>, eol = "\r\n", delimiter = ",") =>
  [
    [
      "id",
      "title",
      "description",
      "link",
      "image_link",
      "price",
      "sale_price",
      "availability",
      "brand",
      "product_type"
    ].join(delimiter),
    ...items.map((p) =>
      [
        p.id,
        p.title,
        p.description ?? "",
        p.link,
        p.imageLink,
        Template.formatPrice(p.price),
        p.salePrice === undefined ? "" : Template.formatPrice(p.salePrice),
        p.availability,
        p.brand ?? "",
        p.productType ?? ""
      ]
        .map(quote)
        .join(delimiter)
    )
  ].join(eol) + eol

describe("Feed.parse: CSV", () => {
  it("reads a Google Merchant Center feed into exact-money products", () => {
    const csv = [
      "id,title,description,link,image_link,price,sale_price,availability,brand,product_type,gtin",
      `SKU-1,"Chef knife, 20 cm","Forged steel.\nDishwasher safe: no",${origin}/p/1,${origin}/i/1.jpg,129.00 EUR,99.5 EUR,in_stock,Acme,Home & Garden > Kitchen,4006381333931`,
      `SKU-2,Rice,,${origin}/p/2,${origin}/i/2.jpg,JPY 1500,,out_of_stock,,,`
    ].join("\n")
    const report = ok(csv)
    assert.deepStrictEqual(report, {
      products: [
        {
          id: "SKU-1",
          title: "Chef knife, 20 cm",
          description: "Forged steel.\nDishwasher safe: no",
          link: `${origin}/p/1`,
          imageLink: `${origin}/i/1.jpg`,
          price: { amount: 12900, currency: "EUR" },
          salePrice: { amount: 9950, currency: "EUR" },
          availability: "in_stock",
          brand: "Acme",
          productType: "Home & Garden > Kitchen"
        },
        {
          id: "SKU-2",
          title: "Rice",
          link: `${origin}/p/2`,
          imageLink: `${origin}/i/2.jpg`,
          price: { amount: 1500, currency: "JPY" },
          availability: "out_of_stock"
        }
      ],
      rejected: [],
      rows: 2,
      ignoredColumns: ["gtin"]
    })
  })

  it("takes Meta's and Google's column spellings in any case, a BOM, CR, LF or CRLF, and TSV", () => {
    const body = (eol: string, d: string) =>
      [
        ["G:ID", "Title", "Image Link", "LINK", "Price", "Availability", "sale-price"].join(d),
        ["1", "A", `${origin}/1.jpg`, `${origin}/1`, "129 eur", "in stock", "EUR 100.00"].join(d),
        ["2", "B", `${origin}/2.jpg`, `${origin}/2`, "5.00 USD", "Out Of Stock", ""].join(d)
      ].join(eol)
    for (const eol of ["\n", "\r\n", "\r"]) {
      for (const [format, d] of [
        ["csv", ","],
        ["tsv", "\t"]
      ] as const) {
        const input = new TextEncoder().encode(`\uFEFF${body(eol, d)}${eol}`)
        const report = ok(input, { format, origins: [origin] })
        assert.deepStrictEqual(
          report.products.map((p) => [p.id, p.price.amount, p.price.currency, p.availability, p.salePrice?.amount]),
          [
            ["1", 12900, "EUR", "in_stock", 10000],
            ["2", 500, "USD", "out_of_stock", undefined]
          ],
          JSON.stringify({ eol, format, rejected: report.rejected })
        )
      }
    }
  })

  it("numbers rows from the first product and gives the line a row starts on, past multi-line fields", () => {
    const csv = `${header}\n${row({ title: "two\nlines" })}\n\n${row({ id: "2", price: "oops" })}\r\n`
    const report = ok(csv)
    assert.deepStrictEqual(report.rejected, [
      {
        row: 1,
        line: 2,
        id: "sku-1",
        reasons: [{ column: "title", message: "holds a control character" }]
      },
      {
        row: 2,
        line: 5,
        id: "2",
        reasons: [
          { column: "price", message: 'expected an amount and an ISO 4217 currency such as "129.00 EUR", got "oops"' }
        ]
      }
    ])
  })

  it("rejects prices that are not exact, positive amounts of a known currency, naming the column", () => {
    const cases: ReadonlyArray<[string, RegExp]> = [
      ["129,00 EUR", /decimal point/],
      ["1,299.00 EUR", /decimal point/],
      ["-5.00 EUR", /negative/],
      ["EUR -5", /negative/],
      ["12.345 EUR", /EUR has 2 decimals/],
      ["1.5 JPY", /JPY has 0 decimals/],
      ["10 XYZ", /unknown currency "XYZ"/],
      ["10 XAU", /unknown currency/],
      ["EUR", /expected an amount/],
      ["129.00", /expected an amount/],
      ["129. EUR", /expected an amount/],
      [".5 EUR", /expected an amount/],
      ["1e3 EUR", /expected an amount/],
      ["１２ EUR", /expected an amount/],
      ["99999999999999999 EUR", /too large|expected/]
    ]
    for (const [price, why] of cases) {
      const reasons = reasonsOf({ price })
      assert.strictEqual(reasons.length, 1, `${price}: ${reasons}`)
      assert.match(reasons[0]!, /^price: /, price)
      assert.match(reasons[0]!, why, price)
    }
  })

  it("checks every link against the tenant's origins; images may have their own origins", () => {
    assert.deepStrictEqual(reasonsOf({ link: "https://evil.example/p/1" }), [
      'link: "https://evil.example" is not one of the tenant\'s site origins (https://shop.example)'
    ])
    assert.match(reasonsOf({ link: "http://shop.example/p/1" })[0]!, /^link: "http:\/\/shop.example" is not one/)
    assert.match(reasonsOf({ link: "https://shop.example.evil.example/p" })[0]!, /^link: /)
    assert.match(reasonsOf({ link: "https://user:pw@shop.example/p" })[0]!, /^link: must not hold a user name/)
    assert.match(reasonsOf({ link: "javascript:alert(1)" })[0]!, /^link: must be an http or https URL/)
    assert.match(reasonsOf({ link: "/p/1" })[0]!, /^link: is not an absolute URL/)
    assert.match(reasonsOf({ image_link: "https://cdn.example/1.jpg" })[0]!, /^image_link: .* image origins/)

    const cdn = { ...options, imageOrigins: ["https://cdn.example"] }
    assert.strictEqual(ok(`${header}\n${row({ image_link: "https://cdn.example/1.jpg" })}`, cdn).products.length, 1)
    assert.match(reasonsOf({}, cdn)[0]!, /^image_link: "https:\/\/shop.example" is not one of the tenant's image/)
    // Host names are compared as URLs write them: case and the default port do not matter.
    assert.strictEqual(ok(`${header}\n${row({ link: "https://SHOP.example:443/p" })}`).products.length, 1)
  })

  it("rejects text that is empty, too long, multi-line or with control characters, naming the column", () => {
    assert.deepStrictEqual(reasonsOf({ title: "", id: "" }), ["id: is required", "title: is required"])
    assert.deepStrictEqual(reasonsOf({ title: "x".repeat(201) }), ["title: must have at most 200 characters, got 201"])
    assert.deepStrictEqual(reasonsOf({ id: "a\u0000b" }), ["id: holds a control character"])
    assert.deepStrictEqual(reasonsOf({ id: "x".repeat(129) }), ["id: must have at most 128 characters, got 129"])
    assert.deepStrictEqual(reasonsOf({ title: "a\u009bb" }), ["title: holds a control character"])
    assert.deepStrictEqual(reasonsOf({ availability: "sold" }), [
      'availability: expected in_stock, out_of_stock, preorder or backorder, got "sold"'
    ])
  })

  it("keeps the first of two rows with one id and rejects the later, unless the first was rejected", () => {
    const csv = [
      header,
      row({ title: "first" }),
      row({ title: "second" }),
      row({ id: "b", price: "x" }),
      row({ id: "b" })
    ]
    const report = ok(csv.join("\n"))
    assert.deepStrictEqual(
      report.products.map((p) => [p.id, p.title]),
      [
        ["sku-1", "first"],
        ["b", "Chef knife"]
      ]
    )
    assert.deepStrictEqual(
      report.rejected.map((r) => [r.row, r.id, r.reasons[0]!.column, r.reasons[0]!.message]),
      [
        [2, "sku-1", "id", "duplicate id: row 1 has it already (the first row wins)"],
        [3, "b", "price", 'expected an amount and an ISO 4217 currency such as "129.00 EUR", got "x"']
      ]
    )
  })

  it("checks sale prices against the price", () => {
    const csv = (sale: string) => `${header},sale_price\n${row()},"${sale}"`
    assert.deepStrictEqual(ok(csv("200.00 EUR")).rejected[0]!.reasons, [
      { column: "sale_price", message: "sale price is above the price" }
    ])
    assert.match(ok(csv("100 USD")).rejected[0]!.reasons[0]!.message, /one currency/)
    assert.deepStrictEqual(ok(csv("129.00 EUR")).products[0]!.salePrice, { amount: 12900, currency: "EUR" })
  })

  it("rejects a row with more or fewer fields than the header, or text after a closing quote", () => {
    const report = ok(`${header}\n${row()},extra\n"a",b\n"x"y,t,${origin}/1,${origin}/1.jpg,1 EUR,in_stock`)
    assert.deepStrictEqual(
      report.rejected.map((r) => [r.row, r.reasons[0]]),
      [
        [1, { column: "*", message: "has 7 fields, the header 6" }],
        [2, { column: "*", message: "has 2 fields, the header 6" }],
        [3, { column: "*", message: "field 1 has text after its closing quote" }]
      ]
    )
  })

  it("fails the whole feed on a missing column, a doubled column, an unclosed quote or nothing at all", () => {
    assert.deepStrictEqual(
      [error("id,title,price\n1,a,1 EUR").reason, error("id,title,price\n1,a,1 EUR").message],
      ["MissingColumns", 'the header has no link, image_link, availability columns (found: "id", "title", "price")']
    )
    const doubled = error(`${header},Image Link\n`)
    assert.deepStrictEqual(
      [doubled.reason, doubled.message],
      ["Malformed", 'columns "image_link" and "Image Link" are both image_link']
    )
    const open = error(`${header}\n${row()}\n"unclosed,a,b\nc,d`)
    assert.deepStrictEqual(
      [open.reason, open.message],
      ["Malformed", "the quoted field starting on line 3 is never closed"]
    )
    assert.strictEqual(error("").reason, "Malformed")
    assert.strictEqual(error("\uFEFF\r\n\n").reason, "Malformed")
    assert.strictEqual(error(new Uint8Array([0x69, 0x64, 0xff, 0xfe])).message, "the feed is not valid UTF-8 text")
  })
})

describe("Feed.parse: limits", () => {
  it("counts bytes as UTF-8, rows exactly, and field lengths per field", () => {
    const feed = `${header}\n${row({ title: "é".repeat(50) })}\n`
    const bytes = new TextEncoder().encode(feed).byteLength
    assert.strictEqual(ok(feed, { ...options, limits: { maxBytes: bytes } }).products.length, 1)
    assert.strictEqual(error(feed, { ...options, limits: { maxBytes: bytes - 1 } }).reason, "TooLarge")
    assert.strictEqual(
      error(new TextEncoder().encode(feed), { ...options, limits: { maxBytes: bytes - 1 } }).reason,
      "TooLarge"
    )

    const rows = (n: number) => [header, ...Array.from({ length: n }, (_, i) => row({ id: `id-${i}` }))].join("\n")
    assert.strictEqual(ok(rows(3), { ...options, limits: { maxRows: 3 } }).products.length, 3)
    const many = error(rows(4), { ...options, limits: { maxRows: 3 } })
    assert.deepStrictEqual([many.reason, many.message], ["TooManyRows", "the feed has more than 3 rows"])
    const json = JSON.stringify(Array.from({ length: 4 }, () => ({})))
    assert.strictEqual(error(json, { format: "json", origins: [origin], limits: { maxRows: 3 } }).reason, "TooManyRows")

    const long = reasonsOf({ title: "x".repeat(51) }, { ...options, limits: { maxFieldLength: 50 } })
    assert.deepStrictEqual(long, ["title: is longer than the feed's limit of 50 characters"])
  })

  it("refuses bad options with InvalidOptions", () => {
    for (const opts of [
      { format: "csv", origins: ["shop.example"] },
      { format: "csv", origins: ["https://shop.example/path"] },
      { format: "csv", origins: ["ftp://shop.example"] },
      { format: "csv", origins: [origin], imageOrigins: ["nope"] },
      { format: "csv", origins: [origin], limits: { maxRows: 0 } },
      { format: "csv", origins: [origin], limits: { maxBytes: Number.NaN } },
      { format: "xml", origins: [origin] },
      { format: "csv", origins: "https://shop.example" },
      { format: "csv", origins: [] }
    ]) {
      assert.strictEqual(error(header, opts as unknown as Feed.Options).reason, "InvalidOptions", JSON.stringify(opts))
    }
  })
})

describe("Feed.parse: JSON", () => {
  const json = { format: "json", origins: [origin] } as const
  const item = {
    id: 42,
    title: "Chef knife",
    link: `${origin}/p/42`,
    image_link: `${origin}/i/42.jpg`,
    price: "129.00 EUR",
    availability: "in stock"
  }

  it("reads an array or { products: [...] }, keys in Google, Meta or camel case", () => {
    const camel = { ...item, image_link: undefined, imageLink: `${origin}/i/42.jpg`, salePrice: "100 EUR" }
    for (const input of [[item], { products: [item] }, { products: [camel] }]) {
      const report = ok(JSON.stringify(input), json)
      assert.deepStrictEqual(report.rejected, [])
      assert.strictEqual(report.products[0]!.id, "42")
      assert.strictEqual(report.products[0]!.availability, "in_stock")
    }
  })

  it("rejects items that are not objects, numbers as prices, non-text values and keys given twice", () => {
    const report = ok(
      JSON.stringify([
        null,
        [item],
        { ...item, price: 129 },
        { ...item, id: 1.5 },
        { ...item, title: { text: "x" } },
        { ...item, "image link": item.image_link },
        { ...item, __proto__: { admin: true }, constructor: "x" }
      ]),
      json
    )
    assert.deepStrictEqual(
      report.rejected.map((r) => [r.row, `${r.reasons[0]!.column}: ${r.reasons[0]!.message}`]),
      [
        [1, "*: expected an object, got null"],
        [2, "*: expected an object, got an array"],
        [3, 'price: must be text such as "129.00 EUR" (a JSON number is not exact money)'],
        [4, "id: must be text, not a number"],
        [5, "title: must be text, got object"],
        [6, 'image_link: is given twice ("image_link" and "image link")']
      ]
    )
    assert.deepStrictEqual(report.products.length, 1)
    assert.deepStrictEqual(report.ignoredColumns, ["constructor"])
  })

  it("refuses deep nesting before parsing it (JSON.parse takes seconds on millions of brackets)", () => {
    const deep = error(`${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}`, json)
    assert.deepStrictEqual(
      [deep.reason, deep.message],
      ["Malformed", "the feed nests arrays and objects deeper than 32 levels"]
    )
    const nested = (n: number) => `[{"id":"1","x":${"[".repeat(n)}"[[[{{"${"]".repeat(n)}}]`
    assert.deepStrictEqual(ok(nested(30), json).ignoredColumns, ["x"])
    assert.strictEqual(error(nested(31), json).reason, "Malformed")
  })

  it("fails on invalid JSON and other shapes", () => {
    for (const input of ["", "{", '{"items": []}', "42", '"text"', "null", '{"products": {}}']) {
      assert.strictEqual(error(input, json).reason, "Malformed", input)
    }
  })
})

describe("Feed.parse: properties", () => {
  it("reads back every product written as CSV, TSV or JSON, in order", () => {
    fc.assert(
      fc.property(products(12), fc.constantFrom("\n", "\r\n"), (items, eol) => {
        assert.deepStrictEqual(ok(toCsv(items, eol)).products, items)
        const tsv = ok(toCsv(items, eol, "\t"), { format: "tsv", origins: [origin] })
        assert.deepStrictEqual(tsv.products, items)
        const json = items.map((p) => ({
          ...p,
          price: Template.formatPrice(p.price),
          ...(p.salePrice === undefined ? {} : { salePrice: Template.formatPrice(p.salePrice) })
        }))
        assert.deepStrictEqual(
          ok(JSON.stringify({ products: json }), { format: "json", origins: [origin] }).products,
          items
        )
      }),
      { seed: 14, numRuns: 200 }
    )
  })

  it("parses every formatted price back to the same money, amount first or currency first", () => {
    const money = fc.record({
      amount: fc.integer({ min: 0, max: 999_999_999_999_999 }),
      currency: fc.constantFrom("EUR", "JPY", "KWD", "CLF", "USD")
    })
    fc.assert(
      fc.property(money, (m) => {
        const text = Template.formatPrice(m)
        assert.deepStrictEqual(Product.parsePrice(text), Either.right(m))
        const [amount, currency] = text.split(" ")
        assert.deepStrictEqual(Product.parsePrice(`${currency}  ${amount}`), Either.right(m))
      }),
      { seed: 15, numRuns: 500 }
    )
  })

  const csvish = fc
    .array(
      fc.oneof(
        fc.constantFrom(",", '"', '""', "\n", "\r", "\r\n", "\t", "\uFEFF", "\u0000", "\uD800", "https://", origin),
        fc.constantFrom(...header.split(","), "image link", "EUR", "129.00", "in stock", "-", "{", "}", "["),
        fc.string({ maxLength: 8 })
      ),
      { maxLength: 80 }
    )
    .map((parts) => parts.join(""))
  const withHeader = csvish.map((body) => `${header}\n${body}`)
  const jsonish = fc.oneof(
    fc.json({ maxDepth: 4 }),
    fc
      .array(
        fc.dictionary(
          fc.constantFrom("id", "title", "price", "link", "g:id", "Image Link", "x"),
          fc.jsonValue({ maxDepth: 2 })
        )
      )
      .map((a) => JSON.stringify(a))
  )

  it("never throws: any text or bytes give a consistent report or a FeedError", () => {
    const inputs = fc.oneof(
      fc.string({ unit: "binary", maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }),
      csvish,
      withHeader,
      jsonish
    )
    const validate = Schema.validateEither(Product.Product)
    fc.assert(
      fc.property(
        inputs,
        fc.constantFrom("csv", "tsv", "json") as fc.Arbitrary<Feed.Options["format"]>,
        (input, format) => {
          const result = Feed.parse(input, { format, origins: [origin], limits: { maxRows: 50, maxFieldLength: 100 } })
          if (Either.isLeft(result)) {
            assert.strictEqual(result.left._tag, "FeedError")
            assert.isAbove(result.left.message.length, 0)
            return
          }
          const report = result.right
          assert.strictEqual(report.rows, report.products.length + report.rejected.length)
          assert.strictEqual(new Set(report.products.map((p) => p.id)).size, report.products.length)
          for (const p of report.products) {
            assert.isTrue(Either.isRight(validate(p)), JSON.stringify(p))
            assert.isTrue(p.link.startsWith(`${origin}/`) && p.imageLink.startsWith(`${origin}/`))
          }
          for (const r of report.rejected) {
            assert.isAbove(r.reasons.length, 0)
            assert.isTrue(r.row >= 1 && r.row <= report.rows)
          }
          const rowsSeen = [...report.rejected.map((r) => r.row)]
          assert.strictEqual(new Set(rowsSeen).size, rowsSeen.length)
        }
      ),
      { seed: 16, numRuns: 3000 }
    )
  })
})
