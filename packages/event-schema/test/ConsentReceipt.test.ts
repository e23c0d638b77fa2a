import { assert, describe, it } from "@effect/vitest"
import { ConsentReceipt, StoredEvent } from "@openaudience/event-schema"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Schema from "effect/Schema"

const receipt = (decision: Partial<ConsentReceipt.ReceiptDecision> = {}): ConsentReceipt.ConsentReceipt => ({
  v: 1,
  policy: "2026-11-29.1",
  model: "opt-in",
  jurisdiction: "US-CA",
  signals: {
    gpc: false,
    dnt: false,
    optout: false,
    coppa: false,
    tcf: false,
    gpp: false,
    usp: false,
    gdprApplies: true
  },
  decision: {
    collect: true,
    identifier: false,
    personalization: false,
    measurement: true,
    child: false,
    reasons: ["tcf:missing"],
    ...decision
  }
})

const receipts: fc.Arbitrary<ConsentReceipt.ConsentReceipt> = fc.record({
  v: fc.constant(1 as const),
  policy: fc.string({ maxLength: 16 }),
  model: Arbitrary.make(ConsentReceipt.Model),
  jurisdiction: fc.constantFrom<ConsentReceipt.Jurisdiction>("EU", "US", "US-CA", "US-TX", "other", "unknown"),
  signals: Arbitrary.make(ConsentReceipt.ReceiptSignals),
  decision: Arbitrary.make(ConsentReceipt.ReceiptDecision)
})

describe("ConsentReceipt", () => {
  it("accepts a complete receipt and rejects a decision, a partial receipt or another version", () => {
    assert.isTrue(ConsentReceipt.is(receipt()))
    const { signals: _signals, ...partial } = receipt()
    for (const value of [
      partial,
      receipt().decision,
      { ...receipt(), v: 2 },
      { ...receipt(), jurisdiction: "US-California" },
      { ...receipt(), model: "opt-maybe" },
      { ...receipt(), decision: { ...receipt().decision, personalization: "yes" } },
      null,
      "receipt"
    ]) {
      assert.isFalse(ConsentReceipt.is(value), JSON.stringify(value))
    }
  })

  it("allows personalization only with a decision allowing it and no child signal", () => {
    assert.isTrue(ConsentReceipt.allowsPersonalization(receipt({ identifier: true, personalization: true })))
    assert.isFalse(ConsentReceipt.allowsPersonalization(receipt()))
    assert.isFalse(ConsentReceipt.allowsPersonalization(receipt({ personalization: true, child: true })))
    assert.isFalse(ConsentReceipt.allowsPersonalization(null))
  })

  it.prop("survives JSON: what a store writes it reads back as the same receipt", [receipts], ([r]) => {
    const back = JSON.parse(JSON.stringify(r))
    assert.isTrue(ConsentReceipt.is(back))
    assert.deepStrictEqual(Schema.decodeUnknownSync(ConsentReceipt.ConsentReceipt)(back), r)
  })

  it("types the consent of a stored event: a receipt or null", () => {
    const stored = {
      tenant: "t",
      eventId: "e",
      type: "page_view",
      site: "s",
      receivedAt: 0,
      clientTs: null,
      visitor: null,
      payload: {}
    }
    const decode = Schema.decodeUnknownEither(StoredEvent.StoredEvent)
    assert.isTrue(Either.isRight(decode({ ...stored, consent: receipt() })))
    assert.isTrue(Either.isRight(decode({ ...stored, consent: null })))
    assert.isTrue(Either.isLeft(decode({ ...stored, consent: { decision: { personalization: true } } })))
    assert.isTrue(
      Either.isRight(Schema.decodeUnknownEither(StoredEvent.SequencedEvent)({ ...stored, seq: 1, consent: receipt() }))
    )
  })
})
