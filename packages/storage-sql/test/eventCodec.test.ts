import { assert, describe, it, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { ConsentReceipt } from "@openaudience/event-schema"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import { EventStore } from "../src/index.js"
import { decodeRows, encodeBatch, type ReadRow } from "../src/internal/eventCodec.js"
import { event, receipt, sqliteLayer, unique } from "./fixtures.js"

const row = (consent: unknown, payload: unknown = '{"n":1}'): ReadRow => ({
  seq: "7",
  tenant: "t",
  event_id: "e",
  type: "page_view",
  site: "shop.example",
  received_at: 1_700_000_000_000,
  client_ts: null,
  visitor: "v",
  payload,
  consent
})

const consentsOf = (rows: ReadonlyArray<ReadRow>, jsonAsText: boolean) =>
  Effect.runSync(decodeRows(rows, jsonAsText)).map((e) => e.consent)

describe("eventCodec: consent receipts read back", () => {
  it("a stored receipt reads back typed, from JSON text (SQLite) and from parsed JSONB (PostgreSQL)", () => {
    const stored = receipt()
    assert.deepStrictEqual(consentsOf([row(JSON.stringify(stored)), row(null)], true), [stored, null])
    assert.deepStrictEqual(consentsOf([row(stored, { n: 1 }), row(null, { n: 1 })], false), [stored, null])
  })

  it("a receipt that does not decode reads back as null (no personalization) and the read goes on", () => {
    const unreadable = [
      "not json",
      '{"ok":1}',
      JSON.stringify({ ...receipt(), v: 2 }),
      JSON.stringify({ ...receipt(), decision: { personalization: true } }),
      JSON.stringify({ ...receipt(), jurisdiction: "Atlantis" }),
      "[]",
      "true"
    ]
    const consents = consentsOf(
      unreadable.map((text) => row(text)),
      true
    )
    assert.deepStrictEqual(
      consents,
      unreadable.map(() => null)
    )
    for (const consent of consents) assert.isFalse(ConsentReceipt.allowsPersonalization(consent))
    const parsed = consentsOf(
      unreadable.slice(1).map((text) => row(JSON.parse(text), { n: 1 })),
      false
    )
    assert.deepStrictEqual(
      parsed,
      unreadable.slice(1).map(() => null)
    )
  })

  it("a receipt with fields added by a newer version still reads", () => {
    const newer = { ...receipt(), future: { x: 1 } }
    assert.deepStrictEqual(consentsOf([row(JSON.stringify(newer))], true), [newer])
  })

  it("a payload that is not JSON still fails the read as CorruptData", () => {
    const exit = Effect.runSyncExit(decodeRows([row(JSON.stringify(receipt()), "{oops")], true))
    assert.isTrue(Exit.isFailure(exit))
    if (Exit.isFailure(exit) && exit.cause._tag === "Fail") assert.strictEqual(exit.cause.error.reason, "CorruptData")
  })

  const receipts: fc.Arbitrary<ConsentReceipt.ConsentReceipt> = fc.record({
    v: fc.constant(1 as const),
    policy: fc.string({ maxLength: 20 }),
    model: fc.constantFrom("opt-in" as const, "opt-out" as const),
    jurisdiction: fc.constantFrom<ConsentReceipt.Jurisdiction>("EU", "US", "US-CA", "US-NY", "other", "unknown"),
    signals: Arbitrary.make(ConsentReceipt.ReceiptSignals),
    decision: Arbitrary.make(ConsentReceipt.ReceiptDecision)
  })

  it.prop(
    "every receipt survives encoding for the store and decoding from either dialect",
    [receipts],
    ([consent]) => {
      const [encoded] = Effect.runSync(encodeBatch([event("t", "e", { consent })]))
      const read = { ...encoded!, seq: 1 }
      assert.deepStrictEqual(consentsOf([read], true), [consent])
      assert.deepStrictEqual(
        consentsOf([{ ...read, payload: JSON.parse(read.payload), consent: JSON.parse(read.consent!) }], false),
        [consent]
      )
    },
    { fastCheck: { numRuns: 200 } }
  )
})

layer(EventStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "EventStore (SQLite): rows whose consent does not decode",
  (it) => {
    it.effect("read back with consent null, their other fields intact", () =>
      Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        const sql = yield* SqlClient.SqlClient
        const tenant = unique("t")
        yield* store.append([event(tenant, "good", { consent: receipt() })])
        const insert = (eventId: string, consent: string) =>
          sql`INSERT INTO events ${sql.insert({
            tenant,
            event_id: eventId,
            type: "page_view",
            site: "shop.example",
            received_at: 1_700_000_000_001,
            client_ts: null,
            visitor: "v",
            payload: '{"n":2}',
            consent
          })}`
        yield* insert("hand-written", '{"decision":{"personalization":true}}')
        yield* insert("garbled", "{not json")
        const events = yield* store.recent(tenant, 10)
        assert.deepStrictEqual(
          events.map((e) => [e.eventId, e.consent, e.payload]),
          [
            ["garbled", null, { n: 2 }],
            ["hand-written", null, { n: 2 }],
            ["good", receipt(), { url: "/", n: 1 }]
          ]
        )
      })
    )
  }
)
