import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as TestClock from "effect/TestClock"
import * as Audience from "../src/Audience.js"
import type * as AudienceRule from "../src/AudienceRule.js"
import * as Batch from "../src/Batch.js"
import * as Evaluator from "../src/Evaluator.js"
import type * as Membership from "../src/Membership.js"
import * as Program from "../src/Program.js"
import * as Rule from "../src/Rule.js"
import type { VisitorEvent } from "../src/VisitorEvent.js"
import * as VisitorState from "../src/VisitorState.js"
import { cart, DAY, HOUR, MINUTE, page, purchase, receipt, T0, view } from "./fixtures/events.js"

const { days, hours, daysAgo } = Rule

const programOf = (audiences: Record<string, AudienceRule.AudienceRule>) =>
  Either.getOrThrow(Program.makeEither(Object.entries(audiences).map(([id, rule]) => ({ id, rule }))))

/** The changes as `Tag:audience` strings, in order. */
const tags = (changes: ReadonlyArray<Membership.Change>) => changes.map((c) => `${c._tag}:${c.audienceId}`)

/** A visitor driven by the TestClock: events happen "now", `later` moves the clock and advances the state. */
const visitor = (program: Program.Program) => {
  const state = VisitorState.make()
  return {
    state,
    at: (make: (now: number) => VisitorEvent) =>
      Effect.gen(function* () {
        const now = yield* TestClock.currentTimeMillis
        return Evaluator.update(program, state, make(now))
      }),
    later: (ms: number) =>
      Effect.gen(function* () {
        yield* TestClock.adjust(ms)
        return yield* Evaluator.advanceNow(program, state)
      }),
    members: () => Effect.map(Evaluator.evaluateNow(program, state), (ms) => ms.map((m) => m.audienceId))
  }
}

describe("windows", () => {
  const program = programOf({
    shoes: Audience.make([Rule.viewed({ category: "shoes" }).atLeast(2).within(days(14))])
  })

  it.effect("a visitor enters when the count is reached and leaves when the window slides past", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const v = visitor(program)
      assert.deepStrictEqual(tags(yield* v.at((t) => view(t, "p1"))), [])
      assert.deepStrictEqual(tags(yield* v.at((t) => view(t, "p2", "hats"))), [], "hats do not count")
      const entered = yield* v.at((t) => view(t + MINUTE, "p3"))
      assert.deepStrictEqual(tags(entered), ["Entered:shoes"])
      assert.strictEqual(
        Evaluator.nextCheckAt(program, v.state, T0),
        Date.UTC(2026, 2, 16),
        "the views leave the 14-day window at midnight 14 days later"
      )
      // The window is today and the 13 days before: still in on day 13, out on day 14.
      assert.deepStrictEqual(tags(yield* v.later(13 * DAY)), [])
      assert.deepStrictEqual(yield* v.members(), ["shoes"])
      const exited = yield* v.later(DAY)
      assert.deepStrictEqual(exited, [
        { _tag: "Exited", audienceId: "shoes", at: Date.UTC(2026, 2, 16), reason: "rule" }
      ])
      assert.deepStrictEqual(yield* v.members(), [])
      assert.isTrue(VisitorState.isEmpty(v.state), "nothing is kept once every window has passed")
    })
  )

  it.effect("events on different days add up while they are in the window", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const v = visitor(program)
      yield* v.at((t) => view(t, "p1"))
      yield* v.later(10 * DAY)
      assert.deepStrictEqual(tags(yield* v.at((t) => view(t, "p1"))), ["Entered:shoes"])
      // The first view leaves the window on day 14, the second keeps the count at 1: out.
      assert.deepStrictEqual(tags(yield* v.later(4 * DAY)), ["Exited:shoes"])
    })
  )

  it.effect("a window between two numbers of days ago is entered and left as time passes", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const lapsed = programOf({
        lapsed: Audience.make([Rule.purchased().between(daysAgo(60), daysAgo(30))], { expiry: days(90) })
      })
      const v = visitor(lapsed)
      assert.deepStrictEqual(tags(yield* v.at((t) => purchase(t, [{ productId: "p1", unitPrice: 5_000 }]))), [])
      assert.deepStrictEqual(tags(yield* v.later(29 * DAY)), [])
      const entered = yield* v.later(DAY)
      assert.deepStrictEqual(tags(entered), ["Entered:lapsed"])
      assert.strictEqual(entered[0]?.at, Date.UTC(2026, 3, 1), "at the midnight it became true")
      assert.deepStrictEqual(tags(yield* v.later(29 * DAY)), [])
      assert.deepStrictEqual(tags(yield* v.later(DAY)), ["Exited:lapsed"])
    })
  )
})

describe("expiry", () => {
  it.effect("a membership expires expiry.days after the last activity, is extended by new activity", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const program = programOf({ browsers: Audience.make([Rule.viewed().within(days(90))], { expiry: days(7) }) })
      const v = visitor(program)
      const entered = yield* v.at((t) => view(t, "p1"))
      assert.deepStrictEqual(entered, [
        { _tag: "Entered", audienceId: "browsers", at: T0, expiresAt: Date.UTC(2026, 2, 9), products: [] }
      ])
      yield* v.later(3 * DAY)
      const updated = yield* v.at((t) => view(t, "p2"))
      assert.deepStrictEqual(tags(updated), ["Updated:browsers"])
      assert.strictEqual((updated[0] as Membership.Updated).expiresAt, Date.UTC(2026, 2, 12))
      assert.deepStrictEqual(tags(yield* v.later(6 * DAY)), [])
      // The rule still holds (views within 90 days), but nothing new happened for 7 days.
      assert.deepStrictEqual(yield* v.later(DAY), [
        { _tag: "Exited", audienceId: "browsers", at: Date.UTC(2026, 2, 12), reason: "expired" }
      ])
      assert.deepStrictEqual(tags(yield* v.at((t) => view(t, "p3"))), ["Entered:browsers"])
    })
  )

  it.effect("the default expiry is 30 days", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const program = programOf({ ever: Audience.make([Rule.viewed().within(days(540))]) })
      const v = visitor(program)
      yield* v.at((t) => view(t, "p1"))
      assert.deepStrictEqual(tags(yield* v.later(29 * DAY)), [])
      assert.deepStrictEqual(tags(yield* v.later(DAY)), ["Exited:ever"])
    })
  )
})

describe("negation", () => {
  it.effect("cart abandoners: added to cart in the last 3 days, excluding buyers of the last 30", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const program = programOf({
        abandoners: Audience.make([Rule.addedToCart().within(days(3)), Rule.not(Rule.purchased().within(days(30)))])
      })
      const v = visitor(program)
      assert.deepStrictEqual(tags(yield* v.at((t) => cart(t, "p1"))), ["Entered:abandoners"])
      assert.deepStrictEqual(tags(yield* v.at((t) => purchase(t + HOUR, [{ productId: "p1", unitPrice: 8_900 }]))), [
        "Exited:abandoners"
      ])
      yield* v.later(DAY)
      assert.deepStrictEqual(tags(yield* v.at((t) => cart(t, "p2"))), [], "a buyer of the last 30 days is excluded")
      yield* v.later(29 * DAY)
      assert.deepStrictEqual(tags(yield* v.at((t) => cart(t, "p3"))), ["Entered:abandoners"], "30 days after buying")
    })
  )

  it.effect("visited /pricing but never reached /signup/complete", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const program = programOf({
        hesitant: Audience.make([
          Rule.visited("/pricing").within(days(30)),
          Rule.not(Rule.visited("/signup/*").within(days(540)))
        ])
      })
      const v = visitor(program)
      assert.deepStrictEqual(tags(yield* v.at((t) => page(t, "/pricing/"))), [], "the glob matches /pricing exactly")
      assert.deepStrictEqual(tags(yield* v.at((t) => page(t, "/pricing?plan=pro"))), ["Entered:hesitant"])
      assert.deepStrictEqual(tags(yield* v.at((t) => page(t, "/signup/complete#done"))), ["Exited:hesitant"])
      yield* v.later(40 * DAY)
      assert.deepStrictEqual(tags(yield* v.at((t) => page(t, "/pricing"))), [], "signed up within 540 days")
    })
  )

  it.effect("a negated condition can start to hold as time passes", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const program = programOf({
        cooled: Audience.make([Rule.viewed().within(days(30)), Rule.not(Rule.viewed().within(days(3)))])
      })
      const v = visitor(program)
      assert.deepStrictEqual(tags(yield* v.at((t) => view(t, "p1"))), [])
      assert.deepStrictEqual(tags(yield* v.later(2 * DAY)), [])
      assert.deepStrictEqual(tags(yield* v.later(DAY)), ["Entered:cooled"])
    })
  )
})

describe("sequences", () => {
  const program = programOf({
    considered: Audience.make([Rule.sequence(Rule.viewed(), Rule.addedToCart()).within(hours(1)).within(days(7))])
  })

  it.effect("A then B within the span enters; too late, or in the wrong order, does not", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const quick = visitor(program)
      yield* quick.at((t) => view(t, "p1"))
      assert.deepStrictEqual(tags(yield* quick.at((t) => cart(t + 59 * MINUTE, "p1"))), ["Entered:considered"])

      const slow = visitor(program)
      yield* slow.at((t) => view(t, "p1"))
      assert.deepStrictEqual(tags(yield* slow.at((t) => cart(t + 61 * MINUTE, "p1"))), [])

      const reversed = visitor(program)
      yield* reversed.at((t) => cart(t, "p1"))
      assert.deepStrictEqual(tags(yield* reversed.at((t) => view(t + MINUTE, "p1"))), [])
      // A later cart completes the chain the view started.
      assert.deepStrictEqual(tags(yield* reversed.at((t) => cart(t + 2 * MINUTE, "p1"))), ["Entered:considered"])
      assert.deepStrictEqual(tags(yield* reversed.later(7 * DAY)), ["Exited:considered"])
    })
  )

  it.effect("a bound sequence must run on one product", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const same = programOf({
        same: Audience.make([Rule.sequence(Rule.viewed(), Rule.addedToCart()).within(hours(1))], { bind: "productId" })
      })
      const v = visitor(same)
      yield* v.at((t) => view(t, "p1"))
      assert.deepStrictEqual(tags(yield* v.at((t) => cart(t + MINUTE, "p2"))), [])
      const entered = yield* v.at((t) => cart(t + 2 * MINUTE, "p1"))
      assert.deepStrictEqual(tags(entered), ["Entered:same"])
      assert.deepStrictEqual((entered[0] as Membership.Entered).products, ["p1"])
    })
  )
})

describe("binding", () => {
  const program = programOf({
    shoes: Audience.make(
      [Rule.viewed({ category: "shoes" }).atLeast(2).within(days(14)), Rule.not(Rule.purchased().within(days(14)))],
      { bind: "productId" }
    )
  })

  it.effect("the product viewed is the product not bought, and qualifies the visitor for product ads", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const v = visitor(program)
      yield* v.at((t) => view(t, "p1"))
      assert.deepStrictEqual(tags(yield* v.at((t) => view(t, "p2"))), [], "two products viewed once each")
      const entered = yield* v.at((t) => view(t + MINUTE, "p1"))
      assert.deepStrictEqual(entered, [
        { _tag: "Entered", audienceId: "shoes", at: T0 + MINUTE, expiresAt: Date.UTC(2026, 3, 1), products: ["p1"] }
      ])
      yield* v.later(DAY)
      const both = yield* v.at((t) => view(t, "p2"))
      assert.deepStrictEqual(both, [
        {
          _tag: "Updated",
          audienceId: "shoes",
          at: T0 + DAY,
          expiresAt: Date.UTC(2026, 3, 2),
          products: ["p2", "p1"]
        }
      ])
      const bought = yield* v.at((t) => purchase(t + HOUR, [{ productId: "p2", unitPrice: 8_900 }]))
      assert.deepStrictEqual(tags(bought), ["Updated:shoes"])
      assert.deepStrictEqual(
        (bought[0] as Membership.Updated).products,
        ["p1"],
        "the bought product no longer qualifies"
      )
      const all = yield* v.at((t) =>
        purchase(t + 2 * HOUR, [
          { productId: "p1", unitPrice: 8_900 },
          { productId: "sock", unitPrice: 500, category: "socks" }
        ])
      )
      assert.deepStrictEqual(tags(all), ["Exited:shoes"], "a line item of an order counts as buying that product")
    })
  )

  it.effect("an unbound rule cannot tell products apart", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const unbound = programOf({
        loose: Audience.make([
          Rule.viewed({ category: "shoes" }).atLeast(2).within(days(14)),
          Rule.not(Rule.purchased().within(days(14)))
        ])
      })
      const v = visitor(unbound)
      yield* v.at((t) => view(t, "p1"))
      assert.deepStrictEqual(tags(yield* v.at((t) => view(t, "p2"))), ["Entered:loose"])
      assert.deepStrictEqual(tags(yield* v.at((t) => purchase(t, [{ productId: "p3", unitPrice: 100 }]))), [
        "Exited:loose"
      ])
    })
  )
})

describe("aggregates", () => {
  it.effect("spent over 200 EUR in the last 90 days", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const program = programOf({
        big: Audience.make([Rule.purchased({ currency: "EUR" }).sum("value").moreThan(20_000).within(days(90))], {
          expiry: days(90)
        })
      })
      const v = visitor(program)
      assert.deepStrictEqual(tags(yield* v.at((t) => purchase(t, [{ productId: "p1", unitPrice: 12_000 }]))), [])
      yield* v.later(45 * DAY)
      assert.deepStrictEqual(
        tags(yield* v.at((t) => purchase(t, [{ productId: "p2", unitPrice: 8_000 }]))),
        [],
        "exactly 200"
      )
      assert.deepStrictEqual(tags(yield* v.at((t) => purchase(t, [{ productId: "p3", unitPrice: 1 }]))), [
        "Entered:big"
      ])
      assert.deepStrictEqual(tags(yield* v.later(45 * DAY)), ["Exited:big"], "the first order left the 90-day window")
    })
  )

  it.effect("distinct, min and max", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const program = programOf({
        explorer: Audience.make([Rule.viewed().distinct("category").atLeast(3).within(days(7))]),
        premium: Audience.make([Rule.viewed().min("unitPrice").atLeast(10_000).within(days(7))]),
        bargain: Audience.make([Rule.addedToCart().max("quantity").atLeast(5).within(days(7))])
      })
      const v = visitor(program)
      assert.deepStrictEqual(tags(yield* v.at((t) => view(t, "p1", "shoes", 12_000))), ["Entered:premium"])
      yield* v.at((t) => view(t, "p2", "shoes", 15_000))
      assert.deepStrictEqual(tags(yield* v.at((t) => view(t, "p3", "hats", 9_000))), ["Exited:premium"])
      assert.deepStrictEqual(tags(yield* v.at((t) => view(t, "p4", "bags", 20_000))), ["Entered:explorer"])
      assert.deepStrictEqual(tags(yield* v.at((t) => cart(t, "p4", "bags", 5))), ["Entered:bargain"])
    })
  )
})

describe("what counts", () => {
  const program = programOf({ any: Audience.make([Rule.viewed()]) })

  it("only events whose stored decision allows personalization, never with a child signal", () => {
    const state = VisitorState.make()
    const ignored: ReadonlyArray<VisitorEvent> = [
      view(T0, "p1", "shoes", 100, { consent: receipt(false) }),
      view(T0, "p1", "shoes", 100, { consent: receipt(true, true) }),
      view(T0, "p1", "shoes", 100, { consent: null }),
      // A receipt of the wrong shape (from an untyped caller) counts for nothing either.
      view(T0, "p1", "shoes", 100, { consent: { decision: { personalization: "yes" } } as never }),
      { ...view(T0, "p1"), visitor: null },
      { ...view(T0, "p1"), receivedAt: Number.NaN }
    ]
    for (const event of ignored) assert.deepStrictEqual(Evaluator.update(program, state, event), [])
    assert.isTrue(VisitorState.isEmpty(state))
    assert.deepStrictEqual(Evaluator.evaluate(program, state, T0), [])
    assert.deepStrictEqual(Batch.evaluate(program.audiences[0]!.rule, ignored, T0).member, false)
    assert.deepStrictEqual(tags(Evaluator.update(program, state, view(T0, "p1"))), ["Entered:any"])
  })

  it("events with unexpected fields or values never break evaluation", () => {
    const junk = fc.record({
      type: fc.constantFrom(
        "product_view",
        "conversion",
        "page_view",
        "add_to_cart",
        "engagement",
        "",
        "x".repeat(300)
      ),
      receivedAt: fc.oneof(fc.integer({ min: T0, max: T0 + 30 * DAY }), fc.constantFrom(-1, Number.NaN, 1e300)),
      visitor: fc.constantFrom("v", null),
      payload: fc.anything(),
      consent: fc.oneof(fc.constant(receipt()), fc.anything())
    })
    const rich = programOf({
      a: Audience.make([Rule.viewed({ category: "shoes" }).sum("unitPrice").atLeast(1)], { bind: "productId" }),
      b: Audience.make([Rule.converted().distinct("productId").atLeast(2), Rule.visited("/x/**")]),
      c: Audience.make([Rule.sequence(Rule.viewed(), Rule.purchased({ unitPrice: { gte: 1 } })).within(hours(2))])
    })
    fc.assert(
      fc.property(fc.array(junk, { maxLength: 30 }), (events) => {
        const state = VisitorState.make()
        for (const e of [...events].sort((x, y) => (x.receivedAt || 0) - (y.receivedAt || 0))) {
          Evaluator.update(rich, state, e as VisitorEvent)
        }
        Evaluator.advance(rich, state, T0 + 40 * DAY)
        Evaluator.evaluate(rich, state, T0 + 40 * DAY)
        for (const a of rich.audiences) Batch.evaluate(a.rule, events as ReadonlyArray<VisitorEvent>, T0 + 40 * DAY)
      }),
      { numRuns: 300 }
    )
  })
})

describe("edits", () => {
  const history: ReadonlyArray<VisitorEvent> = [
    view(T0, "p1"),
    view(T0 + HOUR, "p1"),
    purchase(T0 + 2 * DAY, [{ productId: "p9", unitPrice: 30_000 }]),
    view(T0 + 3 * DAY, "p2", "hats")
  ]
  const v1 = programOf({
    shoes: Audience.make([Rule.viewed({ category: "shoes" }).atLeast(2).within(days(7))]),
    hats: Audience.make([Rule.viewed({ category: "hats" })])
  })

  it("an edit that needs more history is rebuilt from stored events (backfill)", () => {
    const state = VisitorState.make()
    for (const e of history) Evaluator.update(v1, state, e)
    const now = T0 + 8 * DAY
    Evaluator.advance(v1, state, now)
    assert.deepStrictEqual(Evaluator.memberIds(v1, state), ["hats"], "the shoe views left the 7-day window")

    // Edited: shoes over 30 days (longer than what was kept), a new audience, hats deleted.
    const v2 = programOf({
      shoes: Audience.make([Rule.viewed({ category: "shoes" }).atLeast(2).within(days(30))]),
      spenders: Audience.make([Rule.purchased().sum("value").atLeast(25_000)])
    })
    const migration = Program.migrate(v1, v2, state)
    assert.isFalse(migration.complete, "the old program did not keep 30 days of shoe views")
    assert.deepStrictEqual(Evaluator.memberIds(v2, migration.state), [], "hats is gone")
    const rebuilt = Batch.rebuild(v2, history, now, migration.state)
    assert.deepStrictEqual(tags(Evaluator.refresh(v2, rebuilt, now)), ["Entered:shoes", "Entered:spenders"])
    // From now on the rebuilt state evolves as if v2 had always been there.
    assert.deepStrictEqual(tags(Evaluator.update(v2, rebuilt, view(now, "p3"))), ["Updated:shoes"])
  })

  it("an edit that only removes audiences carries the state over as it is", () => {
    const state = VisitorState.make()
    for (const e of history) Evaluator.update(v1, state, e)
    const v2 = programOf({ hats: Audience.make([Rule.viewed({ category: "hats" })]) })
    const migration = Program.migrate(v1, v2, state)
    assert.isTrue(migration.complete)
    assert.deepStrictEqual(Evaluator.refresh(v2, migration.state, T0 + 3 * DAY), [])
    assert.deepStrictEqual(Evaluator.memberIds(v2, migration.state), ["hats"])
    assert.throws(() => Evaluator.update(v1, migration.state, view(T0 + 4 * DAY, "p1")), /another audience program/)
  })

  it("backfill rebuilds every visitor, reports progress and sizes", () => {
    const events = Array.from({ length: 120 }, (_, i) =>
      view(T0 + (i % 5) * HOUR, `p${i % 3}`, i % 2 === 0 ? "shoes" : "hats", 100, { visitor: `v${i % 60}` })
    )
    const progress: Array<number> = []
    const result = Batch.backfill(v1, events, T0 + DAY, (p) => progress.push(p.processed), 50)
    assert.strictEqual(result.states.size, 60)
    assert.deepStrictEqual(progress, [50, 100, 120])
    // Even visitors viewed shoes twice; odd ones hats twice.
    assert.deepStrictEqual(
      result.memberships.get("v0")?.map((m) => m.audienceId),
      ["shoes"]
    )
    assert.deepStrictEqual(
      result.memberships.get("v1")?.map((m) => m.audienceId),
      ["hats"]
    )
    assert.strictEqual(result.sizes.get("shoes")!.exact!.size, 30)
    assert.deepStrictEqual(Evaluator.memberIds(v1, result.states.get("v0")!), ["shoes"])
    assert.strictEqual(Batch.preview(v1.audiences[1]!.rule, events, T0 + DAY).exact!.size, 30)
  })
})

describe("bounds", () => {
  it("keeps the 16 most recently seen values of a bound field, reports at most 8 products", () => {
    const program = programOf({
      viewers: Audience.make([Rule.viewed().within(days(30))], { bind: "productId" }),
      explorers: Audience.make([Rule.viewed().distinct("productId").atLeast(15).within(days(7))])
    })
    const state = VisitorState.make()
    const events = Array.from({ length: 40 }, (_, i) => view(T0 + i * HOUR, `p${i}`))
    for (const e of events) Evaluator.update(program, state, e)
    const now = T0 + 2 * DAY
    const members = Evaluator.evaluate(program, state, now)
    assert.deepStrictEqual(
      members.map((m) => m.audienceId),
      ["viewers", "explorers"]
    )
    // Products: most recent day first, then by id; the oldest views were forgotten.
    const viewers = members.find((m) => m.audienceId === "viewers")!
    assert.strictEqual(viewers.products.length, 8)
    for (const p of viewers.products) assert.isAtLeast(Number(p.slice(1)), 24, `${p} is among the 16 latest`)
    assert.isAtMost(VisitorState.byteSize(state), 1_024, "40 products viewed still fit in a kilobyte")
    // Up to 16 values, distinct counts agree with the direct evaluation.
    const few = events.slice(0, 16)
    const small = VisitorState.make()
    for (const e of few) Evaluator.update(program, small, e)
    assert.deepStrictEqual(
      Evaluator.evaluate(program, small, now).map((m) => m.audienceId),
      program.audiences.filter((a) => Batch.evaluate(a.rule, few, now).member).map((a) => a.id)
    )
  })

  it("handles years between events and events arriving late", () => {
    const program = programOf({
      year: Audience.make([Rule.viewed().atLeast(2).within(days(540))], { expiry: days(540) })
    })
    const state = VisitorState.make()
    const events = [
      view(T0, "p1"),
      view(T0 + 3_000 * DAY, "p2"),
      view(T0 + 5_000 * DAY, "p3"),
      view(T0 + 5_001 * DAY, "p4")
    ]
    const seen: Array<VisitorEvent> = []
    for (const e of events) {
      seen.push(e)
      Evaluator.update(program, state, e)
      const now = e.receivedAt + HOUR
      assert.strictEqual(
        Evaluator.evaluate(program, state, now).length > 0,
        Batch.evaluate(program.audiences[0]!.rule, seen, now).member
      )
    }
    assert.deepStrictEqual(Evaluator.memberIds(program, state), ["year"])
    // A late event (received earlier than the last one) still counts in its window.
    const late = VisitorState.make()
    Evaluator.update(program, late, view(T0 + 10 * DAY, "p1"))
    assert.deepStrictEqual(tags(Evaluator.update(program, late, view(T0 + 2 * DAY, "p2"))), ["Entered:year"])
  })
})

describe("amounts across the event schema's range", () => {
  const ceiling = 0xffff_ffff
  const rulesFor = (threshold: number, field: "unitPrice" | "value"): Record<string, AudienceRule.AudienceRule> => {
    const type = field === "value" ? "conversion" : "product_view"
    const leaf = (fn: "sum" | "min" | "max") => ({
      kind: "event" as const,
      event: type,
      aggregate: { fn, field },
      compare: { op: "gte" as const, value: threshold }
    })
    return {
      sum: { version: 1, conditions: [leaf("sum")] },
      min: { version: 1, conditions: [leaf("min")] },
      max: { version: 1, conditions: [leaf("max")] },
      where: { version: 1, conditions: [{ kind: "event", event: type, where: { [field]: { gte: threshold } } }] }
    } as never
  }

  it.prop(
    "an amount in minor units (0 to 2^53 - 1) compares as itself against any threshold: large ones saturate",
    [
      fc.oneof(fc.integer({ min: 0, max: 2 * ceiling }), fc.maxSafeNat()),
      fc.oneof(fc.integer({ min: 0, max: ceiling }), fc.constant(ceiling)),
      fc.constantFrom("unitPrice" as const, "value" as const)
    ],
    ([amount, threshold, field]) => {
      const program = programOf(rulesFor(threshold, field))
      const event: VisitorEvent =
        field === "value"
          ? {
              type: "conversion",
              receivedAt: T0,
              visitor: "visitor-a",
              payload: { conversionType: "purchase", value: amount, currency: "IDR" },
              consent: receipt()
            }
          : view(T0, "p1", "shoes", amount)
      const state = VisitorState.make()
      Evaluator.update(program, state, event)
      const expected = amount >= threshold ? ["max", "min", "sum", "where"] : []
      const ids = Evaluator.evaluate(program, state, T0)
        .map((m) => m.audienceId)
        .sort()
      assert.deepStrictEqual(ids, expected, `${field} ${amount} against ${threshold}`)
      for (const a of program.audiences) {
        assert.strictEqual(Batch.evaluate(a.rule, [event], T0).member, ids.includes(a.id), `batch ${a.id}`)
      }
    }
  )

  it("filters read large amounts exactly; fractions, negatives and non-finite numbers read as missing", () => {
    const above = programOf({
      above: {
        version: 1,
        conditions: [{ kind: "event", event: "product_view", where: { unitPrice: { gt: ceiling } } }]
      }
    } as never)
    const big = view(T0, "p1", "shoes", 2 ** 40)
    assert.deepStrictEqual(tags(Evaluator.update(above, VisitorState.make(), big)), ["Entered:above"])
    const any = programOf({
      priced: { version: 1, conditions: [{ kind: "event", event: "product_view", where: { unitPrice: { gte: 0 } } }] }
    } as never)
    for (const odd of [0.5, 12.25, -1, -(2 ** 40), Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.deepStrictEqual(
        tags(Evaluator.update(any, VisitorState.make(), view(T0, "p1", "shoes", odd))),
        [],
        `${odd}`
      )
    }
  })
})
