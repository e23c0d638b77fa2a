import { assert, describe, it } from "@effect/vitest"
import { StoredEvent } from "@openaudience/event-schema"
import * as fc from "effect/FastCheck"
import * as Either from "effect/Either"
import * as Audience from "../src/Audience.js"
import * as Batch from "../src/Batch.js"
import * as Evaluator from "../src/Evaluator.js"
import * as Program from "../src/Program.js"
import * as Rule from "../src/Rule.js"
import * as VisitorEvent from "../src/VisitorEvent.js"
import * as VisitorState from "../src/VisitorState.js"
import { rule, timeline } from "./fixtures/arbitraries.js"
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

describe("a malformed child signal fails closed", () => {
  it.prop(
    "a receipt allowing personalization counts only when its child flag is exactly false",
    [fc.anything().filter((child) => child !== false)],
    ([child]) => {
      const allowed = receipt()
      const consent = { ...allowed, decision: { ...allowed.decision, child } } as never
      assert.isFalse(VisitorEvent.counts(view(T0, "p1", "shoes", 100, { consent })), JSON.stringify(child))
      const { child: _missing, ...withoutChild } = allowed.decision
      const missing = { ...allowed, decision: withoutChild } as never
      assert.isFalse(VisitorEvent.counts(view(T0, "p1", "shoes", 100, { consent: missing })))
    }
  )

  it("the evaluator and the batch evaluator build nothing from such an event", () => {
    const program = Either.getOrThrow(Program.makeEither([{ id: "any", rule: Audience.make([Rule.viewed()]) }]))
    const allowed = receipt()
    for (const child of ["false", "true", 0, 1, null, {}, []]) {
      const consent = { ...allowed, decision: { ...allowed.decision, child } } as never
      const event = view(T0, "p1", "shoes", 100, { consent })
      const state = VisitorState.make()
      assert.deepStrictEqual(Evaluator.update(program, state, event), [], JSON.stringify(child))
      assert.isTrue(VisitorState.isEmpty(state))
      assert.isFalse(Batch.evaluate(program.audiences[0]!.rule, [event], T0 + 1).member)
    }
  })
})

/** Events that never count: a receive time no store accepts, or an in-range time with no usable consent or visitor. */
const nonCounting: fc.Arbitrary<VisitorEvent.VisitorEvent> = fc
  .record({
    base: timeline.map((steps) => steps.find((s) => s._tag === "event")!),
    receivedAt: fc.oneof(
      fc.integer({ min: StoredEvent.maxReceivedAt + 1, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
      fc.double({ noInteger: true }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 1e300),
      // In range, from the arbitraries' epoch to the end of 9999 (far in the future included).
      fc.integer({ min: T0, max: StoredEvent.maxReceivedAt })
    ),
    consent: fc.constantFrom<unknown>(
      receipt(false),
      receipt(true, true),
      null,
      { ...receipt(), decision: { ...receipt().decision, child: "false" } },
      { ...receipt(), decision: { ...receipt().decision, personalization: "true" } },
      receipt()
    ),
    visitor: fc.constantFrom<string | null>("visitor-1", "visitor-1", null, "")
  })
  .map(({ base, consent, receivedAt, visitor }) => ({
    ...(base as { readonly event: VisitorEvent.VisitorEvent }).event,
    receivedAt,
    visitor,
    consent: consent as never
  }))
  .filter((e) => !VisitorEvent.counts(e))

describe("an event that does not count never moves a visitor's state", () => {
  it("for any state and any such event: the state after is the state before, on every path", () => {
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 3 }), timeline, nonCounting, (rules, steps, odd) => {
        const program = Either.getOrThrow(Program.makeEither(rules.map((r, i) => ({ id: `a${i}`, rule: r }))))
        const state = VisitorState.make()
        const events: Array<VisitorEvent.VisitorEvent> = []
        let now = 0
        for (const step of steps) {
          now = step._tag === "event" ? step.event.receivedAt : step.at
          if (step._tag === "event") {
            events.push(step.event)
            Evaluator.update(program, state, step.event)
          } else Evaluator.advance(program, state, now)
        }
        const before = VisitorState.toBytes(state)
        const members = Evaluator.evaluate(program, state, now)
        assert.deepStrictEqual(Evaluator.update(program, state, odd), [], "incremental: no changes")
        assert.deepStrictEqual(VisitorState.toBytes(state), before, "incremental: the same state")
        assert.deepStrictEqual(Evaluator.evaluate(program, state, now), members)
        // The batch path: a replay with the event in it is the replay without it.
        const at = Math.max(now, Number.isFinite(odd.receivedAt) ? odd.receivedAt : now)
        assert.deepStrictEqual(
          VisitorState.toBytes(Batch.rebuild(program, [...events, odd], at)),
          VisitorState.toBytes(Batch.rebuild(program, events, at)),
          "batch: the same state"
        )
        for (const a of program.audiences) {
          assert.deepStrictEqual(Batch.evaluate(a.rule, [...events, odd], at), Batch.evaluate(a.rule, events, at))
        }
      }),
      { numRuns: 200 }
    )
  })

  it("a far-future event without consent does not wipe a member's state", () => {
    const program = Either.getOrThrow(Program.makeEither([{ id: "any", rule: Audience.make([Rule.viewed()]) }]))
    const state = VisitorState.make()
    assert.deepStrictEqual(
      Evaluator.update(program, state, view(T0, "p1")).map((c) => c._tag),
      ["Entered"]
    )
    const future = Date.UTC(9000, 0, 1)
    assert.deepStrictEqual(Evaluator.update(program, state, view(future, "p1", "shoes", 100, { consent: null })), [])
    assert.deepStrictEqual(Evaluator.update(program, state, { ...view(T0, "p1"), receivedAt: 1e16 }), [])
    assert.deepStrictEqual(
      Evaluator.evaluate(program, state, T0 + 1).map((m) => m.audienceId),
      ["any"]
    )
    assert.deepStrictEqual(Evaluator.update(program, state, view(T0 + 1, "p1")), [], "still a member, still fed")
  })
})
