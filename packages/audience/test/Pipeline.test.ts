import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as TestClock from "effect/TestClock"
import * as Audience from "../src/Audience.js"
import { MembershipStore, layerMemory } from "../src/MembershipStore.js"
import * as Pipeline from "../src/Pipeline.js"
import * as Program from "../src/Program.js"
import * as Rule from "../src/Rule.js"
import type { VisitorEvent } from "../src/VisitorEvent.js"
import { cart, DAY, HOUR, purchase, receipt, T0, view } from "./fixtures/events.js"

const { days } = Rule

const program = Either.getOrThrow(
  Program.makeEither([
    {
      id: "shoes",
      rule: Audience.make(
        [Rule.viewed({ category: "shoes" }).atLeast(2).within(days(14)), Rule.not(Rule.purchased().within(days(14)))],
        { bind: "productId" }
      )
    },
    {
      id: "abandoners",
      rule: Audience.make([Rule.addedToCart().within(days(3)), Rule.not(Rule.purchased().within(days(30)))], {
        expiry: days(2)
      })
    }
  ])
)

/** Ingests an event made at the clock's current time. */
const now = (tenant: string, make: (t: number) => VisitorEvent) =>
  Effect.flatMap(TestClock.currentTimeMillis, (t) => Pipeline.ingest(tenant, program, make(t)))

describe("Pipeline with the in-memory MembershipStore", () => {
  it.layer(layerMemory)((it) => {
    it.effect("keeps memberships with products, exits them on time, and forgets a visitor", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(T0)
        const store = yield* MembershipStore
        yield* now("t1", (t) => view(t, "p1"))
        yield* now("t1", (t) => view(t + HOUR, "p1"))
        yield* now("t1", (t) => cart(t + 2 * HOUR, "p1"))
        yield* now("t2", (t) => view(t, "p1"))
        yield* TestClock.adjust(3 * HOUR)

        const active = yield* Pipeline.memberships("t1", "visitor-a")
        assert.deepStrictEqual(
          active.map((m) => [m.audienceId, m.products, m.enteredAt, m.exitedAt]),
          [
            ["shoes", ["p1"], T0 + HOUR, null],
            ["abandoners", [], T0 + 2 * HOUR, null]
          ]
        )
        assert.deepStrictEqual(yield* Pipeline.memberships("t2", "visitor-a"), [], "tenants are apart")
        assert.strictEqual(yield* store.count("t1", "shoes", T0 + 3 * HOUR), 1)

        // Nothing is due before midnight; at the cart's expiry (2 days), the abandoner membership ends.
        assert.strictEqual((yield* Pipeline.sweep("t1", program)).size, 0)
        yield* TestClock.setTime(Date.UTC(2026, 2, 4))
        const swept = yield* Pipeline.sweep("t1", program)
        assert.deepStrictEqual(swept.get("visitor-a"), [
          { _tag: "Exited", audienceId: "abandoners", at: Date.UTC(2026, 2, 4), reason: "expired" }
        ])
        assert.deepStrictEqual(
          (yield* Pipeline.memberships("t1", "visitor-a")).map((m) => m.audienceId),
          ["shoes"]
        )
        const history = yield* store.history("t1", "visitor-a")
        assert.deepStrictEqual(
          history.map((m) => [m.audienceId, m.exitedAt]),
          [
            ["shoes", null],
            ["abandoners", Date.UTC(2026, 2, 4)]
          ]
        )

        // Buying the product ends the bound membership.
        yield* now("t1", (t) => purchase(t, [{ productId: "p1", unitPrice: 8_900 }]))
        assert.deepStrictEqual(yield* Pipeline.memberships("t1", "visitor-a"), [])

        yield* store.forget("t1", "visitor-a")
        assert.deepStrictEqual(yield* store.history("t1", "visitor-a"), [])
        assert.isTrue((yield* store.loadState("t1", "visitor-a"))._tag === "None")
        assert.deepStrictEqual(yield* store.visitors("t2", undefined, 10), ["visitor-a"])
      })
    )

    it.effect("windows slide at midnight: a sweep at the due time exits the member", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(T0)
        const store = yield* MembershipStore
        yield* now("t3", (t) => view(t, "p7", "shoes", 100, { visitor: "v7" }))
        yield* now("t3", (t) => view(t, "p7", "shoes", 100, { visitor: "v7" }))
        assert.deepStrictEqual(yield* store.due("t3", Date.UTC(2026, 2, 15), 10), [])
        assert.deepStrictEqual(yield* store.due("t3", Date.UTC(2026, 2, 16), 10), ["v7"])
        yield* TestClock.setTime(Date.UTC(2026, 2, 16))
        const swept = yield* Pipeline.sweep("t3", program)
        assert.deepStrictEqual(
          swept.get("v7")?.map((c) => c._tag),
          ["Exited"]
        )
        assert.strictEqual(yield* store.count("t3", "shoes", Date.UTC(2026, 2, 16)), 0)
        assert.isTrue((yield* store.loadState("t3", "v7"))._tag === "None", "an empty state is not kept")
      })
    )

    it.effect("ignores events that may not personalize, and refuses a state of another program", () =>
      Effect.gen(function* () {
        yield* TestClock.setTime(T0)
        const store = yield* MembershipStore
        const changes = yield* now("t4", (t) => view(t, "p1", "shoes", 100, { consent: receipt(false) }))
        assert.deepStrictEqual(changes, [])
        assert.deepStrictEqual(yield* store.visitors("t4", undefined, 10), [])

        yield* now("t4", (t) => view(t, "p1"))
        const edited = Either.getOrThrow(
          Program.makeEither([{ id: "any", rule: Audience.make([Rule.viewed().within(days(7))]) }])
        )
        const error = yield* Effect.flip(Pipeline.ingest("t4", edited, view(T0 + DAY, "p2")))
        assert.strictEqual(error._tag, "StaleStateError")
      })
    )
  })
})
