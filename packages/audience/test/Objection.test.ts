/**
 * Objection records end a visitor's identified history (issue: an opt-out must undo what was built). Properties over
 * random rules and random visitor timelines with an objection inserted anywhere: every entry point (the incremental
 * evaluator, batched ingestion through the MembershipStore, `Batch.evaluate`, `Batch.rebuild`, `Batch.backfill`,
 * `Batch.preview`) behaves exactly as if the events before the objection had never been received, and the
 * incremental path ends every membership at the objection's time.
 */
import { assert, describe, it } from "@effect/vitest"
import { StoredEvent } from "@openaudience/event-schema"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Audience from "../src/Audience.js"
import * as Batch from "../src/Batch.js"
import * as Evaluator from "../src/Evaluator.js"
import { MembershipStore, layerMemory } from "../src/MembershipStore.js"
import * as Pipeline from "../src/Pipeline.js"
import * as Program from "../src/Program.js"
import * as Rule from "../src/Rule.js"
import * as Size from "../src/Size.js"
import { isObjection, type VisitorEvent } from "../src/VisitorEvent.js"
import * as VisitorState from "../src/VisitorState.js"
import { DAY, rule, type Step, timeline } from "./fixtures/arbitraries.js"
import { HOUR, T0, view } from "./fixtures/events.js"

const runs = Number(process.env.AUDIENCE_PROPERTY_RUNS ?? 300)

const objection = (at: number, visitor = "visitor-1"): VisitorEvent => ({
  type: StoredEvent.objectionType,
  receivedAt: at,
  visitor,
  payload: {},
  // An objection needs no consent: its receipt is the one that refused an identifier, or none at all.
  consent: null
})

/** A timeline with an objection inserted after step `at` (at the time of the event or checkpoint before it). */
const withObjection = fc.tuple(timeline, fc.nat(), fc.integer({ min: 0, max: HOUR })).map(([steps, pick, delay]) => {
  const at = pick % steps.length
  const previous = steps[at]!
  const time = (previous._tag === "event" ? previous.event.receivedAt : previous.at) + delay
  // Later steps happen no earlier than the objection (the stream delivers in receive order).
  const shifted = steps.slice(at + 1).map((step): Step => {
    if (step._tag === "check") return { _tag: "check", at: Math.max(step.at, time) }
    return { _tag: "event", event: { ...step.event, receivedAt: Math.max(step.event.receivedAt, time) } }
  })
  return { before: steps.slice(0, at + 1), time, after: shifted }
})

const events = (steps: ReadonlyArray<Step>): Array<VisitorEvent> =>
  steps.flatMap((step) => (step._tag === "event" ? [step.event] : []))

const programOf = (rules: ReadonlyArray<import("../src/AudienceRule.js").AudienceRule>) =>
  Either.getOrThrow(Program.makeEither(rules.map((r, i) => ({ id: `a${i}`, rule: r }))))

describe("an objection ends the visitor's identified history", () => {
  it("incrementally: every membership exits at the objection, and later states equal a fresh visitor's", () => {
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 3 }), withObjection, (rules, { before, time, after }) => {
        const program = programOf(rules)
        const objected = VisitorState.make()
        const fresh = VisitorState.make()
        for (const step of before) {
          if (step._tag === "event") Evaluator.update(program, objected, step.event)
          else Evaluator.advance(program, objected, step.at)
        }
        const membersBefore = [...Evaluator.memberIds(program, objected)].sort()
        const changes = Evaluator.update(program, objected, objection(time))
        assert.deepStrictEqual(
          changes.map((c) => `${c._tag}:${c.audienceId}:${c._tag === "Exited" ? c.reason : ""}:${c.at}`).sort(),
          membersBefore.map((id) => `Exited:${id}:objection:${time}`).sort(),
          "exactly the memberships held end, at the objection's time"
        )
        assert.deepStrictEqual(Evaluator.memberIds(program, objected), [])
        assert.isTrue(VisitorState.isEmpty(objected), "nothing of the history is kept")
        for (const step of after) {
          if (step._tag === "event") {
            Evaluator.update(program, objected, step.event)
            Evaluator.update(program, fresh, step.event)
            continue
          }
          Evaluator.advance(program, objected, step.at)
          Evaluator.advance(program, fresh, step.at)
          assert.deepStrictEqual(
            Evaluator.evaluate(program, objected, step.at),
            Evaluator.evaluate(program, fresh, step.at),
            "after the objection, the state is a fresh visitor's"
          )
        }
      }),
      { numRuns: runs }
    )
  })

  it("in batch: evaluate, rebuild, backfill and preview ignore everything before the last objection", () => {
    fc.assert(
      fc.property(fc.array(rule, { minLength: 1, maxLength: 3 }), withObjection, (rules, { before, time, after }) => {
        const program = programOf(rules)
        const all = [...events(before), objection(time), ...events(after)]
        const later = events(after)
        const now = Math.max(time, ...all.map((e) => e.receivedAt)) + DAY
        for (const r of rules) {
          assert.deepStrictEqual(Batch.evaluate(r, all, now), Batch.evaluate(r, later, now), "Batch.evaluate")
          assert.deepStrictEqual(
            Size.estimate(Batch.preview(r, all, now)),
            Size.estimate(Batch.preview(r, later, now)),
            "Batch.preview"
          )
        }
        assert.deepStrictEqual(
          Evaluator.evaluate(program, Batch.rebuild(program, all, now), now),
          Evaluator.evaluate(program, Batch.rebuild(program, later, now), now),
          "Batch.rebuild"
        )
        const members = (list: ReadonlyArray<VisitorEvent>) =>
          [...Batch.backfill(program, list, now).memberships].filter(([, m]) => m.length > 0)
        assert.deepStrictEqual(members(all), members(later), "Batch.backfill")
      }),
      { numRuns: runs }
    )
  })

  it("is recognized by type, visitor and time only, whatever its receipt", () => {
    assert.isTrue(isObjection(objection(T0)))
    assert.isTrue(isObjection({ ...objection(T0), consent: view(T0, "p").consent }))
    assert.isFalse(isObjection({ ...objection(T0), visitor: null }))
    assert.isFalse(isObjection({ ...objection(T0), visitor: "" }))
    assert.isFalse(isObjection({ ...objection(T0), receivedAt: -1 }))
    assert.isFalse(isObjection({ ...objection(T0), type: "Objection" }))
  })
})

describe("an objection through the MembershipStore", () => {
  const shoes = programOf([Audience.make([Rule.viewed({ category: "shoes" }).within(Rule.days(14))])])

  it.layer(layerMemory)((it) => {
    it.effect("ends stored memberships at once, in one batch or event by event, for that visitor only", () =>
      Effect.gen(function* () {
        const store = yield* MembershipStore
        for (const visitor of ["v-objects", "v-stays"]) {
          yield* Pipeline.ingestAll("t", shoes, [view(T0, "p1", "shoes", 100, { visitor })])
        }
        assert.lengthOf(yield* store.memberships("t", "v-objects", T0 + HOUR), 1)
        // Ingested in the same step as newer activity: the activity after the objection counts, nothing before.
        const changes = yield* Pipeline.ingestAll("t", shoes, [
          view(T0 + HOUR, "p2", "shoes", 100, { visitor: "v-objects" }),
          objection(T0 + 2 * HOUR, "v-objects")
        ])
        assert.deepStrictEqual(changes.get("v-objects"), [
          { _tag: "Exited", audienceId: "a0", at: T0 + 2 * HOUR, reason: "objection" }
        ])
        assert.lengthOf(yield* store.memberships("t", "v-objects", T0 + 3 * HOUR), 0)
        assert.lengthOf(yield* store.memberships("t", "v-stays", T0 + 3 * HOUR), 1)
        // A later event with that pseudonym (the visitor chose again) starts from nothing.
        yield* Pipeline.ingest("t", shoes, view(T0 + 4 * HOUR, "p3", "shoes", 100, { visitor: "v-objects" }))
        assert.lengthOf(yield* store.memberships("t", "v-objects", T0 + 5 * HOUR), 1)
        // Event by event too.
        yield* Pipeline.ingest("t", shoes, objection(T0 + 6 * HOUR, "v-objects"))
        assert.lengthOf(yield* store.memberships("t", "v-objects", T0 + 7 * HOUR), 0)
      })
    )
  })
})
