import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { strFromU8, unzipSync } from "fflate"
import fc from "fast-check"
import { Export, Registry, Subject } from "../src/index.js"

/** An RFC 4180 reader (quoted fields, doubled quotes, CRLF), independent of the writer. */
const parseCsv = (text: string): Array<Array<string>> => {
  const rows: Array<Array<string>> = []
  let row: Array<string> = []
  let cell = ""
  let i = 0
  while (i < text.length) {
    if (text[i] === '"') {
      i++
      while (i < text.length) {
        if (text[i] === '"' && text[i + 1] === '"') {
          cell += '"'
          i += 2
        } else if (text[i] === '"') {
          i++
          break
        } else cell += text[i++]
      }
    } else if (text[i] === ",") {
      row.push(cell)
      cell = ""
      i++
    } else if (text[i] === "\r" && text[i + 1] === "\n") {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ""
      i += 2
    } else cell += text[i++]
  }
  assert.strictEqual(row.length, 0, "every row ends with CRLF")
  return rows
}

const unzipCsv = (zip: Uint8Array): Record<string, Array<Array<string>>> =>
  Object.fromEntries(
    Object.entries(unzipSync(zip))
      .filter(([name]) => name.endsWith(".csv"))
      .map(([name, bytes]) => {
        const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes)
        assert.strictEqual(text[0], "\uFEFF")
        return [name, parseCsv(text.slice(1))]
      })
  )

const alice = new Subject.Visitor({ tenant: "shop", visitor: "v-alice" })
const aliceUser = new Subject.User({ tenant: "shop", user: "u-alice" })

const store = (
  name: string,
  records: Record<string, ReadonlyArray<Registry.ExportedRecord>>,
  retained: Array<Registry.Retained> = []
): Registry.SubjectStore => ({
  name,
  kinds: ["Visitor", "User"],
  tables: [],
  retained,
  count: () => Effect.succeed(0),
  erase: () => Effect.succeed(0),
  export: (subject, { limit }) => Effect.succeed((records[Subject.idOf(subject)] ?? []).slice(0, limit))
})

const at = Date.UTC(2026, 11, 5, 12, 0, 0)

const events = store(
  "events",
  {
    "v-alice": [
      { store: "events", kind: "pageview", at: at - 3000, fields: { url: "/a", referrer: '=HYPERLINK("x")' } },
      { store: "events", kind: "pageview", at: at - 1000, fields: { url: "/b", tags: ["x", 1] } },
      { store: "events", kind: "conversion", at: at - 2000, fields: { order: "o-1", value: -19.99 } }
    ],
    "u-alice": [{ store: "events", kind: "pageview", at: at - 2500, fields: { url: '/c, "quoted"\r\nnext' } }]
  },
  [{ store: "events", what: "aggregate counts without identifiers", why: "statistics" }]
)

describe("Export.collect", () => {
  it.effect("gathers each store's records for all subjects, oldest first, at most the limit", () =>
    Effect.gen(function* () {
      const all = yield* Export.collect([events], [alice, aliceUser], { limitPerStore: 10 })
      assert.strictEqual(all[0]!.store, "events")
      assert.deepStrictEqual(
        all[0]!.records.map((r) => r.at),
        [at - 3000, at - 2500, at - 2000, at - 1000]
      )
      assert.isFalse(all[0]!.truncated)
      const some = yield* Export.collect([events], [alice, aliceUser], { limitPerStore: 2 })
      assert.deepStrictEqual(
        some[0]!.records.map((r) => r.at),
        [at - 3000, at - 2500]
      )
      assert.isTrue(some[0]!.truncated)
    })
  )

  it.effect("fails with the store's error when a store is unavailable", () =>
    Effect.gen(function* () {
      const down: Registry.SubjectStore = {
        ...events,
        name: "down",
        export: () => Effect.fail(new Registry.StoreUnavailable({ store: "down", message: "refused" }))
      }
      const error = yield* Effect.flip(Export.collect([events, down], [alice], { limitPerStore: 5 }))
      assert.strictEqual(error._tag, "StoreUnavailable")
      assert.strictEqual(error.store, "down")
    })
  )
})

describe("Export.toJson", () => {
  it.effect("writes a header explaining each store and what it retains, then the records", () =>
    Effect.gen(function* () {
      const collected = yield* Export.collect([events], [alice], { limitPerStore: 10 })
      const text = Export.toJson(["digest-1"], collected, at)
      assert.include(text, '\n  "header": {')
      const document = JSON.parse(text)
      assert.deepStrictEqual(document.header, {
        format: "openaudience/dsar-export",
        version: 1,
        generatedAt: "2026-12-05T12:00:00.000Z",
        subjects: ["digest-1"],
        stores: [
          {
            name: "events",
            kinds: ["Visitor", "User"],
            records: 3,
            truncated: false,
            retained: [{ what: "aggregate counts without identifiers", why: "statistics" }]
          }
        ]
      })
      assert.deepStrictEqual(document.stores.events[0], {
        kind: "pageview",
        at: at - 3000,
        time: "2026-12-05T11:59:57.000Z",
        fields: { url: "/a", referrer: '=HYPERLINK("x")' }
      })
    })
  )
})

describe("Export.toCsvZip", () => {
  it.effect("writes one CSV per store and kind, and a README", () =>
    Effect.gen(function* () {
      const collected = yield* Export.collect([events], [alice, aliceUser], { limitPerStore: 10 })
      const zip = Export.toCsvZip(collected, at)
      const files = unzipSync(zip)
      assert.deepStrictEqual(Object.keys(files).sort(), ["README.txt", "events-conversion.csv", "events-pageview.csv"])
      const readme = strFromU8(files["README.txt"]!)
      assert.include(readme, "events-pageview.csv: store events, records of kind pageview")
      assert.include(readme, "kept after an erasure: aggregate counts without identifiers (statistics)")
      const csv = unzipCsv(zip)
      assert.deepStrictEqual(csv["events-pageview.csv"], [
        ["at", "url", "referrer", "tags"],
        ["2026-12-05T11:59:57.000Z", "/a", '\'=HYPERLINK("x")', ""],
        ["2026-12-05T11:59:57.500Z", '/c, "quoted"\r\nnext', "", ""],
        ["2026-12-05T11:59:59.000Z", "/b", "", '["x",1]']
      ])
      assert.deepStrictEqual(csv["events-conversion.csv"], [
        ["at", "order", "value"],
        ["2026-12-05T11:59:58.000Z", "o-1", "-19.99"]
      ])
    })
  )

  it("gives distinct file names to stores and kinds that would clash", () => {
    const records = (kind: string): Export.StoreRecords => ({
      store: "a/b",
      kinds: ["Visitor"],
      retained: [],
      truncated: false,
      records: [{ store: "a/b", kind, fields: { x: 1 } }]
    })
    const files = Object.keys(unzipSync(Export.toCsvZip([records("c:d"), records("c?d")], at))).sort()
    assert.deepStrictEqual(files, ["README.txt", "a_b-c_d-2.csv", "a_b-c_d.csv"])
  })

  const unit = fc.oneof(
    fc.constantFrom("=", "+", "-", "@", "\t", "\r", "\n", '"', ",", "'", " ", "é", "😀", "中"),
    fc.string({ minLength: 1, maxLength: 1 })
  )
  const arbText = fc.string({ unit, maxLength: 12 })
  const arbValue = fc.oneof(arbText, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean())

  it("round-trips every cell through the ZIP and an RFC 4180 reader, formulas prefixed with an apostrophe", () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.constantFrom("a", "b", "=c", "d,e"), arbValue, { minKeys: 1 }), {
          minLength: 1,
          maxLength: 6
        }),
        (rows) => {
          const records = rows.map((fields) => ({ store: "s", kind: "k", fields }))
          const csv = unzipCsv(
            Export.toCsvZip([{ store: "s", kinds: [], retained: [], truncated: false, records }], at)
          )
          const table = csv["s-k.csv"]!
          const columns = table[0]!.slice(1)
          assert.strictEqual(table.length, rows.length + 1)
          rows.forEach((fields, index) => {
            const cells = table[index + 1]!
            assert.strictEqual(cells[0], "")
            columns.forEach((column, c) => {
              const value = fields[column.replace(/^'/, "")]
              const expected =
                value === undefined
                  ? ""
                  : typeof value === "string" && /^[=+\-@\t\r]/.test(value)
                    ? `'${value}`
                    : String(value)
              assert.strictEqual(cells[c + 1], expected)
            })
          })
        }
      )
    )
  })

  it("neutralizes formula injection in every text cell, and only there", () => {
    fc.assert(
      fc.property(arbText, (text) => {
        const cell = Export.cellText(text)
        if (/^[=+\-@\t\r]/.test(text)) assert.strictEqual(cell, `'${text}`)
        else assert.strictEqual(cell, text)
        assert.notMatch(cell, /^[=+\-@\t\r]/)
      })
    )
    assert.strictEqual(Export.cellText(-5), "-5")
    assert.strictEqual(Export.cellText({ f: "=1" }), '{"f":"=1"}')
    assert.strictEqual(Export.cellText(["=1"]), '["=1"]')
  })
})
