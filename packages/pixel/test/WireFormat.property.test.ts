import { Event } from "@openaudience/event-schema"
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc } from "effect"
import * as WireFormat from "../src/WireFormat.js"

/** Valid events as the wire carries them: `serverTs` and `userAgent` are set by the server, never sent. */
const onWire = (event: Event.Event): Event.Event => {
  const { serverTs: _serverTs, userAgent: _userAgent, ...rest } = event
  return rest as Event.Event
}

const events = Arbitrary.make(Event.Event).map(onWire)

const isWireFormatError = (error: unknown): boolean =>
  error instanceof WireFormat.WireFormatError &&
  error._tag === "WireFormatError" &&
  typeof error.field === "string" &&
  error.field.length > 0 &&
  typeof error.message === "string" &&
  error.message.length > 0

/** Decodes without throwing, and either succeeds with a schema-valid event or fails with a WireFormatError. */
const assertWellBehaved = (result: Either.Either<Event.Event, WireFormat.WireFormatError>) => {
  if (Either.isRight(result)) assert.isTrue(Either.isRight(Event.decodeUnknown(result.right)))
  else assert.isTrue(isWireFormatError(result.left), String(result.left))
}

const assertBatchWellBehaved = (
  result: Either.Either<
    ReadonlyArray<Either.Either<Event.Event, WireFormat.WireFormatError>>,
    WireFormat.WireFormatError
  >
) => {
  if (Either.isLeft(result)) assert.isTrue(isWireFormatError(result.left))
  else for (const line of result.right) assertWellBehaved(line)
}

// Mutations of a valid encoding: the decoder sees near-misses rather than pure noise.
const mutate = (text: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.nat({ max: text.length }).map((i) => text.slice(0, i)),
    fc
      .tuple(fc.nat({ max: text.length }), fc.string({ unit: "binary", maxLength: 4 }))
      .map(([i, s]) => text.slice(0, i) + s + text.slice(i)),
    fc.tuple(fc.nat({ max: text.length }), fc.nat({ max: 6 })).map(([i, n]) => text.slice(0, i) + text.slice(i + n)),
    fc
      .tuple(
        fc.nat({ max: text.length }),
        fc.constantFrom("%", "%E", "%FF", "%ED%A0%80", "&", "=", "\n", ",", ";", "+")
      )
      .map(([i, s]) => text.slice(0, i) + s + text.slice(i)),
    fc.constant(text.split("&").reverse().join("&")),
    fc.nat({ max: 20 }).map((i) => {
      const parts = text.split("&")
      return [...parts, parts[i % parts.length]].join("&")
    })
  )

describe("WireFormat properties", () => {
  it.prop(
    "GET form: decode(encode(e)) equals e for every valid event",
    [events],
    ([event]) => {
      const query = WireFormat.encodeQuery(event)
      const decoded = WireFormat.decodeQuery(query)
      if (query.length <= WireFormat.MaxBatchBytes) {
        if (Either.isLeft(decoded)) assert.fail(`${decoded.left.message}\n${query}`)
        assert.deepStrictEqual(decoded.right, event)
      } else {
        assert.isTrue(Either.isLeft(decoded) && decoded.left.reason === "TooLarge")
      }
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "GET form: query strings are plain ASCII without separators the pixel URL cannot carry",
    [events],
    ([event]) => {
      assert.match(WireFormat.encodeQuery(event), /^[\x21-\x7e]+$/)
      assert.notInclude(WireFormat.encodeQuery(event), "#")
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "batch form: every event of every body decodes back, in order, each body within the budget",
    [fc.array(events, { maxLength: 30 }), fc.integer({ min: 2_000, max: WireFormat.MaxBatchBytes })],
    ([batch, maxBytes]) => {
      const { bodies, rejected } = WireFormat.encodeBatch(batch, maxBytes)
      const decoded: Array<Event.Event> = []
      for (const body of bodies) {
        assert.isAtMost(new TextEncoder().encode(body).byteLength, maxBytes)
        const result = WireFormat.decodeBatch(body)
        if (Either.isLeft(result)) assert.fail(result.left.message)
        for (const line of result.right) {
          if (Either.isLeft(line)) assert.fail(line.left.message)
          decoded.push(line.right)
        }
      }
      const skipped = new Set(rejected.map((r) => r.index))
      assert.deepStrictEqual(
        decoded,
        batch.filter((_, i) => !skipped.has(i))
      )
      for (const { index } of rejected) assert.isAbove(WireFormat.encodeLine(batch[index]!).length + 4, maxBytes)
    },
    { fastCheck: { numRuns: 200 } }
  )

  it.prop(
    "line items round-trip whatever characters their product ids and categories hold",
    [
      fc.array(
        fc.record(
          {
            productId: fc.string({
              unit: fc.constantFrom(",", ";", "%", "&", "=", "+", " ", "a", "é", "😀"),
              minLength: 1,
              maxLength: 12
            }),
            quantity: fc.integer({ min: 1, max: 10_000 }),
            unitPrice: fc.maxSafeNat(),
            category: fc.string({ unit: fc.constantFrom(",", ";", "%", "+", "b"), minLength: 1, maxLength: 6 })
          },
          { requiredKeys: ["productId", "quantity", "unitPrice"] }
        ),
        { maxLength: 100 }
      )
    ],
    ([items]) => {
      const event: Event.Event = {
        type: "conversion",
        id: "evt_0123456789",
        site: "demo",
        orderId: "o;1,2",
        conversionType: "purchase",
        currency: "EUR",
        items
      }
      const decoded = WireFormat.decodeQuery(WireFormat.encodeQuery(event))
      if (Either.isLeft(decoded)) assert.fail(decoded.left.message)
      assert.deepStrictEqual(decoded.right, event)
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "fuzz: random strings never make the GET decoder throw",
    [
      fc.oneof(
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.string({
          unit: fc.constantFrom("v", "=", "1", "&", "e", "pv", "%", "id", "s", "it", ",", ";", "x"),
          maxLength: 60
        })
      )
    ],
    ([input]) => {
      assertWellBehaved(WireFormat.decodeQuery(input))
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "fuzz: mutated valid encodings decode to a valid event or a WireFormatError, never a throw",
    [events.chain((event) => mutate(WireFormat.encodeQuery(event)))],
    ([input]) => {
      assertWellBehaved(WireFormat.decodeQuery(input))
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "fuzz: random and mutated batch bodies, as text or bytes, never make the batch decoder throw",
    [
      fc.oneof(
        fc.string({ unit: "binary", maxLength: 500 }).map((s) => `v=1\n${s}`),
        fc.uint8Array({ maxLength: 500 }),
        fc
          .array(events, { minLength: 1, maxLength: 5 })
          .chain((batch) => mutate(WireFormat.encodeBatch(batch).bodies[0] ?? "v=1")),
        fc
          .array(events, { minLength: 1, maxLength: 5 })
          .chain((batch) => mutate(WireFormat.encodeBatch(batch).bodies[0] ?? "v=1"))
          .map((body) => new TextEncoder().encode(body))
      )
    ],
    ([body]) => {
      assertBatchWellBehaved(WireFormat.decodeBatch(body))
    },
    { fastCheck: { numRuns: 1000 } }
  )
})
