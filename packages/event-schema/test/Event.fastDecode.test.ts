import { assert, describe, it } from "@effect/vitest"
import { Event, SchemaVersion } from "@openaudience/event-schema"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { describe as describeValue } from "../src/internal/describe.js"
import { fastDecode } from "../src/internal/fastDecode.js"

// The fast path answers "valid" (with the decoded event) or "not sure" (undefined). These properties hold it to
// the schemas: on the plain JSON-like inputs the collector sees it must accept exactly what the schema accepts
// (too lax would let bad events in, too strict would silently lose the speed-up), return the same value with
// the same key order, and leave every error message as the schema decode words it.

const unionDecode = Schema.decodeUnknownEither(Event.Event, { onExcessProperty: "error" })

/**
 * The union schema's decode, as the oracle. It throws (a `TypeError` from `String(value)` while it matches the union's
 * members) on a `type` that is an object whose `toString` is not a function, e.g. `{"toString": false}` from JSON:
 * such an input is no event, so it counts as refused here. `Event.decodeUnknown` dispatches on `type` first and
 * never reaches that code (see the test "refuses objects whose toString is not a function" below).
 */
const schemaDecode = (input: unknown): Either.Either<Event.Event, unknown> => {
  try {
    return unionDecode(input)
  } catch (error) {
    if (error instanceof TypeError) return Either.left(error)
    throw error
  }
}

const perType = Object.fromEntries(
  Event.eventTypes.map((type) => [
    type,
    Schema.decodeUnknownEither(Event.schemas[type] as Schema.Schema<Event.Event, any>, {
      errors: "all",
      onExcessProperty: "error"
    })
  ])
) as Record<string, (input: unknown) => Either.Either<Event.Event, any>>

/** `Event.decodeUnknown` as it was before the fast path: the schema decode alone. */
const referenceDecode = (input: unknown): Either.Either<Event.Event, Event.EventDecodeError> => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return Either.left(
      Event.toDecodeError([
        { _tag: "Type", path: [], message: `expected an event object, got ${describeValue(input)}` }
      ])
    )
  }
  const type = (input as { type?: unknown }).type
  if (typeof type !== "string" || !Object.hasOwn(Event.schemas, type)) {
    return Either.left(
      Event.toDecodeError([
        {
          _tag: "Type",
          path: ["type"],
          message: `expected one of ${Event.eventTypes.join(", ")}, got ${describeValue(type)}`
        }
      ])
    )
  }
  const result = perType[type]!(input)
  if (Either.isRight(result)) return Either.right(result.right)
  return Either.left(Event.fromParseError(result.left))
}

/** Keys of every nested object, in order: `deepStrictEqual` ignores key order, the stored JSON does not. */
const shape = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(shape)
    : typeof value === "object" && value !== null
      ? Object.entries(value).map(([key, inner]) => [key, shape(inner)])
      : typeof value

/** Asserts that the fast path decides like the schema and that `Event.decodeUnknown` behaves as before. */
const agrees = (input: unknown): boolean => {
  const expected = schemaDecode(input)
  const fast = fastDecode(input)
  assert.strictEqual(
    fast !== undefined,
    Either.isRight(expected),
    `fast path ${fast === undefined ? "rejects" : "accepts"} ${describeInput(input)}`
  )
  if (fast !== undefined && Either.isRight(expected)) {
    assert.deepStrictEqual(fast, expected.right)
    assert.deepStrictEqual(shape(fast), shape(expected.right))
    assert.notStrictEqual(fast, input)
  }
  const actual = Event.decodeUnknown(input)
  const reference = referenceDecode(input)
  if (Either.isRight(reference)) {
    assert.isTrue(Either.isRight(actual))
    assert.deepStrictEqual(Either.getOrThrow(actual), reference.right)
    assert.deepStrictEqual(shape(Either.getOrThrow(actual)), shape(reference.right))
  } else {
    assert.isTrue(Either.isLeft(actual))
    if (Either.isLeft(actual)) {
      assert.strictEqual(actual.left.message, reference.left.message)
      assert.strictEqual(actual.left.field, reference.left.field)
      assert.deepStrictEqual(actual.left.issues, reference.left.issues)
    }
  }
  return Either.isRight(expected)
}

const describeInput = (input: unknown): string => {
  try {
    return JSON.stringify(input, (_, v) => (v === undefined ? "<undefined>" : typeof v === "number" ? String(v) : v))
  } catch {
    return String(input)
  }
}

const asJson = (value: unknown): any => JSON.parse(JSON.stringify(value))

const validEvent = Arbitrary.make(Event.Event).map(asJson)

// ---------------------------------------------------------------------------------------------------------------
// Boundary values, derived from the published JSON Schemas (which the schemas generate from the same bounds as
// their filters), so that the mutations probe each field's limits independently of the fast path's own table.
// ---------------------------------------------------------------------------------------------------------------

type JsonSchema = {
  readonly $ref?: string
  readonly type?: string
  readonly enum?: ReadonlyArray<string>
  readonly minLength?: number
  readonly maxLength?: number
  readonly pattern?: string
  readonly minimum?: number
  readonly maximum?: number
  readonly maxItems?: number
  readonly properties?: Record<string, JsonSchema>
  readonly items?: JsonSchema
}

const jsonSchemas = SchemaVersion.jsonSchemas() as Record<string, { $defs: Record<string, JsonSchema>; $ref: string }>

const allDefs: Record<string, JsonSchema> = Object.assign({}, ...Object.values(jsonSchemas).map((s) => s.$defs))
const defsOf = (_type: string) => allDefs
const resolve = (schema: JsonSchema, defs: Record<string, JsonSchema>): JsonSchema =>
  schema.$ref === undefined ? schema : resolve(defs[schema.$ref.split("/").pop()!]!, defs)
const rootOf = (type: string): JsonSchema => resolve({ $ref: jsonSchemas[type]!.$ref }, defsOf(type))

const specials = ["\u0000", "\ud800", "\udfff", "\ud83d\ude00", "é", "A", "Z", "-", "_", " ", ".", "%", "\n"]

const stringOfLength = (length: number, pattern: string | undefined) =>
  fc
    .tuple(fc.option(fc.constantFrom(...specials), { nil: undefined }), fc.nat(), fc.boolean())
    .map(([special, position, head]) => {
      // A site key must start with a-z0-9, event ids allow more: "a" and "0" are valid everywhere.
      const filler = pattern !== undefined && head ? "0" : "a"
      const base = filler.repeat(Math.max(0, length))
      if (special === undefined || base.length === 0) return base
      const at = position % base.length
      return (base.slice(0, at) + special + base.slice(at + 1)).slice(0, Math.max(length, 1))
    })

const validLineItem = { productId: "sku-1", quantity: 1, unitPrice: 100 }

const interesting = (schema: JsonSchema, defs: Record<string, JsonSchema>): fc.Arbitrary<unknown> => {
  const s = resolve(schema, defs)
  const anything = fc.oneof(fc.jsonValue(), fc.constantFrom(undefined, null, NaN, Infinity, -0, [], {}, "", true))
  if (s.enum !== undefined) {
    const values = s.enum
    return fc.oneof(
      fc.constantFrom(...values),
      fc.constantFrom(...values).map((v) => v.toLowerCase()),
      fc.constantFrom(...values).map((v) => `${v} `),
      fc.constantFrom(...values).map((v) => v.slice(1)),
      anything
    )
  }
  switch (s.type) {
    case "string": {
      const min = s.minLength ?? 0
      const max = s.maxLength ?? 64
      return fc.oneof(
        fc.constantFrom(min - 1, min, min + 1, max - 1, max, max + 1).chain((n) => stringOfLength(n, s.pattern)),
        fc.integer({ min, max }).chain((n) => stringOfLength(n, s.pattern)),
        anything
      )
    }
    case "integer": {
      const min = s.minimum ?? 0
      const max = s.maximum ?? Number.MAX_SAFE_INTEGER
      return fc.oneof(
        fc.constantFrom(min - 1, min, max, max + 1, min + 0.5, max - 0.5, -0, Number.MAX_SAFE_INTEGER + 1),
        fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number),
        fc.constantFrom(String(min), String(max)),
        anything
      )
    }
    case "boolean":
      return fc.oneof(fc.boolean(), fc.constantFrom(0, 1, "true", "false"), anything)
    case "array":
      return fc.oneof(
        fc.constantFrom(0, 1, 99, 100, 101).map((n) => Array.from({ length: n }, () => ({ ...validLineItem }))),
        fc.array(Arbitrary.make(Event.LineItem).map(asJson), { maxLength: 3 }),
        anything
      )
    case "object":
      return fc.oneof(fc.constant({}), Arbitrary.make(Event.ConsentSignals).map(asJson), anything)
    default:
      return anything
  }
}

type Json = Record<string, unknown>

/** One change to an event: a field set to a probing value, removed or added, or a string corrupted. */
const mutation = (event: Json): fc.Arbitrary<(e: Json) => void> => {
  const type = event.type as string
  const defs = defsOf(type)
  const root = rootOf(type)
  const consent = resolve({ $ref: "#/$defs/ConsentSignals" }, defs)
  const lineItem = resolve({ $ref: "#/$defs/LineItem" }, defs)
  const items = Array.isArray(event.items) ? (event.items as Array<Json>).length : 0
  // Where to change something: the event itself, its consent signals or one of its line items.
  const targets: Array<fc.Arbitrary<{ readonly at: (e: Json) => Json | undefined; readonly schema: JsonSchema }>> = [
    fc.constant({ at: (e: Json) => e, schema: root }),
    fc.constant({
      at: (e: Json) => {
        if (typeof e.consent !== "object" || e.consent === null) e.consent = {}
        return e.consent as Json
      },
      schema: consent
    })
  ]
  if (items > 0) {
    targets.push(
      fc.nat(items - 1).map((k) => ({
        at: (e: Json) => {
          const item: unknown = Array.isArray(e.items) ? e.items[k] : undefined
          return typeof item === "object" && item !== null ? (item as Json) : undefined
        },
        schema: lineItem as JsonSchema
      }))
    )
  }
  return fc.oneof(...targets).chain(({ at, schema }) => {
    const properties = schema.properties!
    const names = Object.keys(properties)
    return fc.oneof(
      fc
        .constantFrom(...names)
        .chain((name) => interesting(properties[name]!, defs).map((value) => [name, value] as const))
        .map(([name, value]) => (e: Json) => {
          const target = at(e)
          if (target !== undefined) target[name] = value
        }),
      fc.constantFrom(...names).map((name) => (e: Json) => {
        const target = at(e)
        if (target !== undefined) delete target[name]
      }),
      fc
        .tuple(
          fc.oneof(fc.string(), fc.constantFrom("constructor", "__proto__", "toString", "items", "type")),
          fc.jsonValue()
        )
        .map(([name, value]) => (e: Json) => {
          const target = at(e)
          if (target !== undefined)
            Object.defineProperty(target, name, { value, enumerable: true, configurable: true, writable: true })
        }),
      fc
        .tuple(fc.constantFrom(...names), fc.constantFrom("\u0000", "\ud800", "\udc00", "\ud83d"), fc.nat())
        .map(([name, bad, position]) => (e: Json) => {
          const target = at(e)
          const value = target?.[name]
          if (typeof value === "string") {
            const k = position % (value.length + 1)
            target![name] = value.slice(0, k) + bad + value.slice(k)
          }
        })
    )
  })
}

const mutatedEvent = validEvent.chain((event) =>
  fc
    .tuple(
      fc.array(mutation(event), { minLength: 1, maxLength: 3 }),
      fc.option(fc.constantFrom(...Event.eventTypes), { nil: undefined, freq: 8 })
    )
    .map(([changes, retype]) => {
      const copy = structuredClone(event) as Json
      for (const change of changes) change(copy)
      if (retype !== undefined) copy.type = retype
      return copy
    })
)

const fieldNames = [
  ...new Set(Event.eventTypes.flatMap((type) => Object.keys(rootOf(type).properties!))),
  "gpc",
  "quantity"
]

const randomJson = fc.oneof(
  fc.jsonValue(),
  fc
    .tuple(fc.constantFrom(...Event.eventTypes), fc.dictionary(fc.constantFrom(...fieldNames), fc.jsonValue()))
    .map(([type, fields]) => ({ ...fields, type })),
  fc
    .tuple(
      fc.constantFrom(...Event.eventTypes),
      fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(...fieldNames)), fc.jsonValue())
    )
    .map(([type, fields]) => ({ type, id: "evt_0123456789", site: "demo", ...fields }))
)

// Every field of every event type, at each of its bounds, on a minimal and on a complete valid event.
const boundaryValues = (schema: JsonSchema): ReadonlyArray<unknown> => {
  const s = resolve(schema, allDefs)
  const other: ReadonlyArray<unknown> = [undefined, null, NaN, 1, true, "", "x", {}, []]
  if (s.enum !== undefined) {
    return [...s.enum, ...s.enum.flatMap((v) => [v.toLowerCase(), `${v} `, v.slice(1)]), ...other]
  }
  switch (s.type) {
    case "string": {
      const min = s.minLength ?? 0
      const max = s.maxLength ?? 64
      const lengths = [min - 1, min, min + 1, max - 1, max, max + 1].filter((n) => n >= 0)
      const plain = lengths.flatMap((n) => ["a".repeat(n), "0".repeat(n), `_${"a".repeat(Math.max(0, n - 1))}`])
      const mid = "a".repeat(Math.max(min, Math.min(max, 9)) - 1)
      return [...plain, ...specials.map((c) => mid + c), ...specials.map((c) => c + mid), ...other]
    }
    case "integer": {
      const min = s.minimum ?? 0
      const max = s.maximum ?? Number.MAX_SAFE_INTEGER
      return [min - 1, min, min + 1, max - 1, max, max + 1, min + 0.5, -0, Infinity, 2 ** 53, String(min), ...other]
    }
    case "boolean":
      return [true, false, 0, 1, "true", ...other]
    case "array":
      return [
        ...[0, 1, 100, 101].map((n) => Array.from({ length: n }, () => ({ ...validLineItem }))),
        [{ ...validLineItem, quantity: 0 }],
        [null],
        ...other
      ]
    default:
      return [{}, { gpc: true, dnt: false, optout: true, tcf: "CQ", gpp: "DBAA" }, ...other]
  }
}

const base = { id: "evt_0123456789", site: "demo" }
const fullContext = {
  ...base,
  clientTs: 1_764_000_000_000,
  serverTs: 1_764_000_000_001,
  url: "https://shop.example/p/1",
  referrer: "https://news.example/",
  userAgent: "Mozilla/5.0",
  visitorId: "v_abcdefgh",
  consent: { gpc: true, dnt: false, optout: false, tcf: "CQ", gpp: "DBAA" }
}
const fullItems = [
  { productId: "sku-1", quantity: 2, unitPrice: 1999, category: "shoes" },
  { productId: "sku-2", quantity: 1, unitPrice: 600 }
]
const sweepBases: ReadonlyArray<Json> = [
  { type: "page_view", ...base },
  { type: "page_view", ...fullContext },
  { type: "product_view", ...base, productId: "p" },
  { type: "product_view", ...fullContext, productId: "p", category: "c", unitPrice: 1, currency: "EUR" },
  { type: "add_to_cart", ...base, productId: "p", quantity: 1 },
  { type: "add_to_cart", ...fullContext, productId: "p", quantity: 3, category: "c", unitPrice: 1, currency: "JPY" },
  { type: "conversion", ...base, orderId: "o", conversionType: "lead", items: [] },
  {
    type: "conversion",
    ...fullContext,
    orderId: "o",
    conversionType: "purchase",
    currency: "KWD",
    value: 4598,
    items: fullItems
  },
  { type: "engagement", ...base },
  { type: "engagement", ...fullContext, element: "e", scrollDepth: 1, timeOnPage: 2, pointerX: 3, pointerY: 4 }
]

describe("Event.decodeUnknown fast path", () => {
  it("accepts every valid event and returns what the schema returns (property)", () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        assert.isTrue(agrees(event))
        assert.notStrictEqual(fastDecode(event), undefined)
      }),
      { numRuns: 3000 }
    )
  })

  it("decides like the schema on events with one to three fields changed (property)", () => {
    let accepted = 0
    let rejected = 0
    fc.assert(
      fc.property(mutatedEvent, (input) => {
        if (agrees(input)) accepted++
        else rejected++
      }),
      { numRuns: 8000 }
    )
    // Both sides of the boundary must be well explored, or the property proves little.
    assert.isAbove(accepted, 400)
    assert.isAbove(rejected, 2000)
  })

  it("refuses objects whose toString is not a function, in any field, without throwing", () => {
    const hostile = JSON.parse('{"toString":false,"valueOf":{}}') as unknown
    for (const field of ["type", "id", "site", "url", "productId", "currency", "consent"]) {
      const input = { type: "product_view", id: "evt_0123456789", site: "demo", productId: "p-1", [field]: hostile }
      const result = Event.decodeUnknown(input)
      assert.isTrue(Either.isLeft(result), field)
      // The field itself, or a member of it (the consent object names its unknown key).
      if (Either.isLeft(result)) assert.match(result.left.field ?? "", new RegExp(`^${field}(\\.|$)`))
      assert.isFalse(agrees(input), field)
    }
  })

  it("decides like the schema on random JSON (property)", () => {
    fc.assert(
      fc.property(randomJson, (input) => {
        agrees(input)
      }),
      { numRuns: 4000 }
    )
  })

  it("decides like the schema at every field's bounds, on every event type", () => {
    let checked = 0
    for (const valid of sweepBases) {
      assert.isTrue(agrees(valid), describeInput(valid))
      const type = valid.type as string
      const places: Array<[JsonSchema, (e: Json) => Json]> = [
        [rootOf(type), (e) => e],
        [
          allDefs.ConsentSignals!,
          (e) => {
            if (e.consent === undefined) e.consent = {}
            return e.consent as Json
          }
        ]
      ]
      if (Array.isArray(valid.items) && valid.items.length > 0) {
        places.push([allDefs.LineItem!, (e) => (e.items as Array<Json>)[0]!])
      }
      for (const [schema, at] of places) {
        for (const [name, property] of Object.entries(schema.properties!)) {
          for (const value of boundaryValues(property)) {
            const input = structuredClone(valid)
            at(input)[name] = value
            agrees(input)
            checked++
          }
          const without = structuredClone(valid)
          delete at(without)[name]
          agrees(without)
        }
        const extra = structuredClone(valid)
        at(extra).extra = 1
        assert.isFalse(agrees(extra))
      }
    }
    assert.isAbove(checked, 3000)
  })

  it("decides like the schema on hand-picked edge cases", () => {
    const base = { type: "engagement", id: "evt_0123456789", site: "demo" }
    const cases: Array<[Json, boolean]> = [
      [{ ...base, id: "a".repeat(8) }, true],
      [{ ...base, id: "a".repeat(7) }, false],
      [{ ...base, id: "a".repeat(64) }, true],
      [{ ...base, id: "a".repeat(65) }, false],
      [{ ...base, id: "evt_012345678!" }, false],
      [{ ...base, site: "0" }, true],
      [{ ...base, site: "-demo" }, false],
      [{ ...base, site: "de_mo-1" }, true],
      [{ ...base, site: "Demo" }, false],
      [{ ...base, site: "" }, false],
      [{ ...base, clientTs: 946_684_800_000 }, true],
      [{ ...base, clientTs: 946_684_799_999 }, false],
      [{ ...base, serverTs: 4_102_444_800_000 }, true],
      [{ ...base, serverTs: 4_102_444_800_001 }, false],
      [{ ...base, url: "u".repeat(2048) }, true],
      [{ ...base, url: "u".repeat(2049) }, false],
      [{ ...base, userAgent: "u".repeat(512) }, true],
      [{ ...base, userAgent: "u".repeat(513) }, false],
      [{ ...base, referrer: "ok \ud83d\ude00" }, true],
      [{ ...base, referrer: "bad \ud83d" }, false],
      [{ ...base, referrer: "bad \u0000" }, false],
      [{ ...base, element: "" }, false],
      [{ ...base, scrollDepth: 100, pointerX: 0, pointerY: 100, timeOnPage: 86_400_000 }, true],
      [{ ...base, timeOnPage: 86_400_001 }, false],
      [{ ...base, scrollDepth: -0 }, true],
      [{ ...base, scrollDepth: 50.5 }, false],
      [{ ...base, pointerY: Number.NaN }, false],
      [{ ...base, consent: { tcf: "t".repeat(4096), gpp: "g", gpc: true, dnt: false, optout: true } }, true],
      [{ ...base, consent: { tcf: "t".repeat(4097) } }, false],
      [{ ...base, consent: { gpc: 1 } }, false],
      [{ ...base, consent: { gdprApplies: true, tcf: "t" } }, true],
      [{ ...base, consent: { gdprApplies: false } }, true],
      [{ ...base, consent: { gdprApplies: 1 } }, false],
      [{ ...base, consent: { gdprApplies: "yes" } }, false],
      [{ ...base, consent: { gpc: undefined } }, false],
      [{ ...base, consent: [] }, false],
      [{ ...base, consent: null }, false],
      [{ ...base, element: undefined }, false],
      [{ type: "product_view", id: "evt_0123456789", site: "demo", productId: "p", unitPrice: 0 }, false],
      [{ type: "product_view", id: "evt_0123456789", site: "demo", productId: "p", currency: "JPY" }, true],
      [{ type: "product_view", id: "evt_0123456789", site: "demo", productId: "p", currency: "XAU" }, false],
      [{ type: "add_to_cart", id: "evt_0123456789", site: "demo", productId: "p", quantity: 10_000 }, true],
      [{ type: "add_to_cart", id: "evt_0123456789", site: "demo", productId: "p", quantity: 10_001 }, false],
      [{ type: "add_to_cart", id: "evt_0123456789", site: "demo", productId: "p" }, false]
    ]
    const conversion = {
      type: "conversion",
      id: "evt_0123456789",
      site: "demo",
      orderId: "o",
      conversionType: "other",
      items: []
    }
    const item = { productId: "p", quantity: 1, unitPrice: Number.MAX_SAFE_INTEGER }
    cases.push(
      [conversion, true],
      [{ ...conversion, value: 0 }, false],
      [{ ...conversion, value: 0, currency: "KWD" }, true],
      [{ ...conversion, items: [item] }, false],
      [{ ...conversion, currency: "EUR", items: Array.from({ length: 100 }, () => item) }, true],
      [{ ...conversion, currency: "EUR", items: Array.from({ length: 101 }, () => item) }, false],
      [{ ...conversion, currency: "EUR", items: [{ ...item, unitPrice: Number.MAX_SAFE_INTEGER + 1 }] }, false],
      [{ ...conversion, currency: "EUR", items: [{ ...item, extra: 1 }] }, false],
      [{ ...conversion, currency: "EUR", items: [{ ...item, category: "" }] }, false],
      [{ ...conversion, items: {} }, false],
      [{ ...conversion, conversionType: "refund" }, false]
    )
    for (const [input, valid] of cases) {
      assert.strictEqual(agrees(input), valid, describeInput(input))
    }
  })

  it("leaves unusual objects to the schema decode", () => {
    const plain = { type: "page_view", id: "evt_0123456789", site: "demo" }
    const withSymbol = { ...plain, [Symbol("tag")]: 1 }
    const withHidden = Object.defineProperty({ ...plain }, "hidden", { value: 1, enumerable: false })
    const nullPrototype = Object.assign(Object.create(null), plain)
    const inherited = Object.assign(Object.create({ site: "demo" }), { type: "page_view", id: "evt_0123456789" })
    class Custom {
      readonly type = "page_view"
      readonly id = "evt_0123456789"
      readonly site = "demo"
    }
    const sparse = {
      type: "conversion",
      id: "evt_0123456789",
      site: "demo",
      orderId: "o",
      conversionType: "lead",
      currency: "EUR",
      // biome-ignore lint/suspicious/noSparseArray: a hole must be treated like the schema does
      items: [, { productId: "p", quantity: 1, unitPrice: 1 }]
    }
    for (const input of [withSymbol, withHidden, nullPrototype, inherited, new Custom(), sparse]) {
      assert.strictEqual(fastDecode(input), undefined)
      const actual = Event.decodeUnknown(input)
      const reference = referenceDecode(input)
      assert.strictEqual(Either.isRight(actual), Either.isRight(reference))
      if (Either.isLeft(actual) && Either.isLeft(reference)) {
        assert.strictEqual(actual.left.message, reference.left.message)
      }
    }
  })

  it("never throws on values the schema's error formatter cannot print (found by the mutation property)", () => {
    // An array with an own `constructor` that is not a constructor: Effect's formatter maps over it and throws.
    const odd = (value: unknown) => {
      const array: Array<unknown> = [1]
      Object.defineProperty(array, "constructor", { value, enumerable: true, configurable: true, writable: true })
      return array
    }
    for (const value of [1, "x", null, true, {}]) {
      const inputs = [
        { type: "page_view", id: "evt_0123456789", site: "demo", consent: odd(value) },
        { type: "product_view", id: "evt_0123456789", site: "demo", productId: odd(value) },
        { type: "conversion", id: "evt_0123456789", site: "demo", items: [odd(value)] }
      ]
      for (const input of inputs) {
        const decoded = Event.decodeUnknown(input)
        assert.isTrue(Either.isLeft(decoded), describeInput(input))
        if (Either.isLeft(decoded)) assert.isAbove(decoded.left.message.length, 0)
      }
    }
  })
})
