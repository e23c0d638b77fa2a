/**
 * The differential property test: for random rules (compiled together into one program, so tracks are shared)
 * and random visitor histories, the incremental evaluator (events applied in order, time advancing between
 * them) and the batch evaluator (each rule interpreted directly over the events so far) agree on membership,
 * expiry and qualifying products at every checkpoint — and the memberships the incremental state records agree
 * with the changes it reported.
 */
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Either from "effect/Either"
import * as Batch from "../src/Batch.js"
import * as Evaluator from "../src/Evaluator.js"
import * as Program from "../src/Program.js"
import { counts, type VisitorEvent } from "../src/VisitorEvent.js"
import * as VisitorState from "../src/VisitorState.js"
import { DAY, rule, timeline } from "./fixtures/arbitraries.js"
import { receipt } from "./fixtures/events.js"

/** Runs per property; raise it (AUDIENCE_PROPERTY_RUNS=20000) to hunt for rare disagreements. */
const runs = Number(process.env.AUDIENCE_PROPERTY_RUNS ?? 400)

describe("incremental and batch evaluation agree", () => {
  it("on membership, expiry and products at every checkpoint", () => {
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 4 }), timeline, (rules, steps) => {
        const audiences = rules.map((r, i) => ({ id: `a${i}`, rule: r }))
        const program = Either.getOrThrow(Program.makeEither(audiences))
        const state = VisitorState.make()
        const seen: Array<VisitorEvent> = []
        const members = new Map<string, number>()
        const track = (changes: ReadonlyArray<{ readonly _tag: string; readonly audienceId: string }>) => {
          for (const c of changes) {
            if (c._tag === "Entered") {
              assert.isFalse(members.has(c.audienceId), `entered ${c.audienceId} twice`)
              members.set(c.audienceId, 1)
            } else if (c._tag === "Exited") {
              assert.isTrue(members.has(c.audienceId), `exited ${c.audienceId} without entering`)
              members.delete(c.audienceId)
            } else assert.isTrue(members.has(c.audienceId), `updated ${c.audienceId} without entering`)
          }
        }
        for (const step of steps) {
          if (step._tag === "event") {
            seen.push(step.event)
            track(Evaluator.update(program, state, step.event))
            continue
          }
          track(Evaluator.advance(program, state, step.at))
          const incremental = new Map(Evaluator.evaluate(program, state, step.at).map((m) => [m.audienceId, m]))
          for (const a of audiences) {
            const batch = Batch.evaluate(a.rule, seen, step.at)
            const inc = incremental.get(a.id)
            const context = `audience ${a.id} at +${((step.at - steps[0]!._tag.length) / 3_600_000).toFixed(1)} h: ${JSON.stringify(a.rule)}`
            assert.strictEqual(inc !== undefined, batch.member, `membership of ${context}`)
            if (inc !== undefined) {
              assert.strictEqual(inc.expiresAt, batch.expiresAt, `expiry of ${context}`)
              assert.deepStrictEqual(inc.products, batch.products, `products of ${context}`)
            }
          }
          assert.deepStrictEqual(
            [...members.keys()].sort(),
            [...incremental.keys()].sort(),
            "the changes reported add up to the memberships evaluated"
          )
          assert.deepStrictEqual(
            [...Evaluator.memberIds(program, state)].sort(),
            [...incremental.keys()].sort(),
            "the state records the memberships evaluated"
          )
        }
      }),
      { numRuns: runs }
    )
  })

  it("and nothing changes before the time nextCheckAt gives", () => {
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 3 }), timeline, (rules, steps) => {
        const program = Either.getOrThrow(Program.makeEither(rules.map((r, i) => ({ id: `a${i}`, rule: r }))))
        const state = VisitorState.make()
        for (const step of steps) {
          const now = step._tag === "event" ? step.event.receivedAt : step.at
          if (step._tag === "event") {
            // An event that does not count leaves the state as it was: the next check given before still stands.
            if (!counts(step.event)) {
              const before = VisitorState.toBytes(state)
              assert.deepStrictEqual(Evaluator.update(program, state, step.event), [])
              assert.deepStrictEqual(VisitorState.toBytes(state), before)
              continue
            }
            Evaluator.update(program, state, step.event)
          } else Evaluator.advance(program, state, now)
          const next = Evaluator.nextCheckAt(program, state, now)
          if (next !== undefined) assert.isAbove(next, now)
          const current = Evaluator.evaluate(program, state, now)
          // Windows here are at most 8 days and expiries 30: 40 days cover every change.
          const horizon = Math.min(next ?? Number.POSITIVE_INFINITY, now + 40 * DAY)
          for (let t = Math.floor(now / DAY + 1) * DAY; t < horizon; t += DAY) {
            assert.deepStrictEqual(Evaluator.evaluate(program, state, t), current, `changed before nextCheckAt`)
          }
        }
      }),
      { numRuns: Math.ceil(runs / 3) }
    )
  })

  it("and a state rebuilt from the stored events evaluates like the incremental one", () => {
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 3 }), timeline, (rules, steps) => {
        const program = Either.getOrThrow(Program.makeEither(rules.map((r, i) => ({ id: `a${i}`, rule: r }))))
        const state = VisitorState.make()
        const events: Array<VisitorEvent> = []
        for (const step of steps) {
          if (step._tag === "event") {
            events.push(step.event)
            Evaluator.update(program, state, step.event)
          } else {
            Evaluator.advance(program, state, step.at)
            const rebuilt = Batch.rebuild(program, events, step.at)
            assert.deepStrictEqual(
              Evaluator.evaluate(program, rebuilt, step.at),
              Evaluator.evaluate(program, state, step.at)
            )
          }
        }
      }),
      { numRuns: Math.ceil(runs / 3) }
    )
  })
})

describe("found by the differential test", () => {
  it("an event that does not count leaves the state alone; advance then sees memberships entered since", () => {
    const rules = [
      {
        version: 1,
        conditions: [
          {
            kind: "not",
            condition: {
              kind: "not",
              condition: {
                kind: "event",
                event: "product_view",
                window: { fromDaysAgo: 5, toDaysAgo: 1 },
                aggregate: { fn: "sum", field: "unitPrice" },
                compare: { op: "gte", value: 500 }
              }
            }
          }
        ],
        bind: "productId",
        expiry: { days: 4 }
      }
    ]
    const program = Either.getOrThrow(Program.makeEither(rules.map((r, i) => ({ id: `a${i}`, rule: r as never }))))
    const state = VisitorState.make()
    const view = (receivedAt: number, personalization: boolean) => ({
      type: "product_view",
      receivedAt,
      visitor: "visitor-1",
      payload: { productId: "p1", unitPrice: 500, currency: "EUR" },
      consent: receipt(personalization)
    })
    const day1 = Date.UTC(2026, 2, 1, 9)
    const day2 = Date.UTC(2026, 2, 2)
    Evaluator.update(program, state, view(day1, true) as never)
    const before = VisitorState.toBytes(state)
    // The next day an event without personalization consent arrives: it counts for nothing, not even as a clock
    // tick (its time is as untrusted as the rest of it); a0 entered today, which the sweep's advance records.
    assert.deepStrictEqual(Evaluator.update(program, state, view(day2, false) as never), [])
    assert.deepStrictEqual(VisitorState.toBytes(state), before)
    assert.isAtMost(Evaluator.nextCheckAt(program, state, day1)!, day2, "the sweep comes back by then")
    assert.deepStrictEqual(
      Evaluator.advance(program, state, day2).map((c) => `${c._tag}:${c.audienceId}`),
      ["Entered:a0"]
    )
    const current = Evaluator.evaluate(program, state, day2)
    assert.deepStrictEqual(
      current.map((m) => m.audienceId),
      ["a0"]
    )
    const next = Evaluator.nextCheckAt(program, state, day2)!
    assert.isAtMost(next, current[0]!.expiresAt, "the membership's expiry is a check")
  })
})
