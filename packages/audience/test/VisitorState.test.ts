import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Evaluator from "../src/Evaluator.js"
import * as Program from "../src/Program.js"
import * as VisitorState from "../src/VisitorState.js"
import { rule, timeline } from "./fixtures/arbitraries.js"
import { DAY, T0, view } from "./fixtures/events.js"

describe("VisitorState", () => {
  it("survives toBytes / fromBytes: same memberships now, same changes later", () => {
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 3 }), timeline, timeline, (rules, before, after) => {
        const program = Either.getOrThrow(Program.makeEither(rules.map((r, i) => ({ id: `a${i}`, rule: r }))))
        const state = VisitorState.make()
        let now = 0
        for (const step of before) {
          if (step._tag === "event") Evaluator.update(program, state, step.event)
          else Evaluator.advance(program, state, step.at)
          now = step._tag === "event" ? step.event.receivedAt : step.at
        }
        const bytes = VisitorState.toBytes(state)
        assert.strictEqual(bytes.length, VisitorState.byteSize(state))
        const copy = Either.getOrThrow(VisitorState.fromBytesEither(bytes))
        assert.deepStrictEqual(VisitorState.toBytes(copy), bytes)
        assert.deepStrictEqual(Evaluator.evaluate(program, copy, now), Evaluator.evaluate(program, state, now))
        // Continue both with the second timeline, shifted after the first.
        const shift = now - T0 + DAY
        for (const step of after) {
          if (step._tag === "event") {
            const e = { ...step.event, receivedAt: step.event.receivedAt + shift }
            assert.deepStrictEqual(Evaluator.update(program, copy, e), Evaluator.update(program, state, e))
          } else {
            assert.deepStrictEqual(
              Evaluator.advance(program, copy, step.at + shift),
              Evaluator.advance(program, state, step.at + shift)
            )
          }
        }
      }),
      { numRuns: 150 }
    )
  })

  it("rejects malformed stored bytes with a VisitorStateError, never a crash", () => {
    const state = VisitorState.make()
    const program = Either.getOrThrow(
      Program.makeEither([
        { id: "a", rule: { version: 1, conditions: [{ kind: "event", event: "product_view" }], bind: "productId" } }
      ])
    )
    for (let i = 0; i < 5; i++) Evaluator.update(program, state, view(T0 + i * DAY, `p${i}`))
    const good = VisitorState.toBytes(state)
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.integer({ min: 0, max: good.length - 1 }).map((n) => good.slice(0, n)),
          fc.tuple(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
            const bad = good.slice()
            bad[at] = byte
            return bad
          })
        ),
        (bytes) => {
          const result = VisitorState.fromBytesEither(bytes)
          if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "VisitorStateError")
        }
      ),
      { numRuns: 500 }
    )
    assert.isTrue(Either.isLeft(VisitorState.fromBytesEither(good.slice(0, 10))))
  })

  it.effect("fromBytes fails in Effect with the reason", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(VisitorState.fromBytes(new Uint8Array([1, 2, 3])))
      assert.strictEqual(error.message, "a stored state has at least 25 bytes, got 3")
    })
  )

  it("clones deeply", () => {
    const program = Either.getOrThrow(
      Program.makeEither([{ id: "a", rule: { version: 1, conditions: [{ kind: "event", event: "product_view" }] } }])
    )
    const state = VisitorState.make()
    Evaluator.update(program, state, view(T0, "p1"))
    const copy = VisitorState.clone(state)
    Evaluator.advance(program, copy, T0 + 40 * DAY)
    assert.isTrue(VisitorState.isEmpty(copy))
    assert.deepStrictEqual(Evaluator.memberIds(program, state), ["a"])
    assert.strictEqual(VisitorState.cellCount(state), 1)
  })
})
