import { assert, describe, it } from "@effect/vitest"
import { StoredEvent } from "@openaudience/event-schema"
import * as fc from "effect/FastCheck"
import * as VisitorEvent from "../src/VisitorEvent.js"
import { receipt, T0, view } from "./fixtures/events.js"

describe("VisitorEvent.counts", () => {
  it("uses the stores' receive-time limits, 1970 to the end of 9999", () => {
    const at = (receivedAt: number) => VisitorEvent.counts({ ...view(T0, "p1"), receivedAt })
    for (const t of [0, Date.UTC(1999, 11, 31), Date.UTC(2100, 0, 1), StoredEvent.maxReceivedAt]) {
      assert.isTrue(at(t), new Date(t).toISOString())
    }
    for (const t of [-1, StoredEvent.maxReceivedAt + 1, T0 + 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.isFalse(at(t), String(t))
    }
  })

  it.prop(
    "counts an event with a receipt allowing personalization exactly when the store would accept its time",
    [
      fc.oneof(
        fc.integer({ min: -1e3, max: 1e3 }),
        fc.double(),
        fc.integer({ min: StoredEvent.maxReceivedAt - 1e3, max: StoredEvent.maxReceivedAt + 1e3 })
      )
    ],
    ([receivedAt]) => {
      const event = { ...view(T0, "p1"), receivedAt }
      assert.strictEqual(VisitorEvent.counts(event), StoredEvent.isReceivedAt(receivedAt))
    }
  )

  it("needs a receipt allowing personalization, without a child signal, and a visitor", () => {
    assert.isTrue(VisitorEvent.counts(view(T0, "p1", "shoes", 100, { consent: receipt() })))
    assert.isFalse(VisitorEvent.counts(view(T0, "p1", "shoes", 100, { consent: receipt(false) })))
    assert.isFalse(VisitorEvent.counts(view(T0, "p1", "shoes", 100, { consent: receipt(true, true) })))
    assert.isFalse(VisitorEvent.counts(view(T0, "p1", "shoes", 100, { consent: null })))
    assert.isFalse(VisitorEvent.counts({ ...view(T0, "p1"), visitor: "" }))
  })
})
