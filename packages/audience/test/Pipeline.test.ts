import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as TestClock from "effect/TestClock"
import * as Audience from "../src/Audience.js"
import type * as Membership from "../src/Membership.js"
import { MembershipStore, layerMemory, makeMemory } from "../src/MembershipStore.js"
import * as Pipeline from "../src/Pipeline.js"
import * as Program from "../src/Program.js"
import * as Rule from "../src/Rule.js"
import type { VisitorEvent } from "../src/VisitorEvent.js"
import { cart, DAY, HOUR, page, purchase, receipt, T0, view } from "./fixtures/events.js"

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

describe("Pipeline.ingestAll", () => {
  const visitors = ["va", "vb", "vc"]
  const arbitraryEvent = fc
    .record({
      kind: fc.constantFrom("view", "cart", "purchase", "page"),
      visitor: fc.constantFrom(...visitors),
      product: fc.constantFrom("p1", "p2", "p3"),
      category: fc.constantFrom("shoes", "hats"),
      step: fc.integer({ min: 0, max: 3 * DAY }),
      personalization: fc.boolean()
    })
    .map(({ category, kind, personalization, product, step, visitor }) => {
      const o = { visitor, consent: receipt(personalization || kind === "page") }
      return (at: number): VisitorEvent =>
        kind === "view"
          ? view(at + step, product, category, 8_900, o)
          : kind === "cart"
            ? cart(at + step, product, category, 1, o)
            : kind === "purchase"
              ? purchase(at + step, [{ productId: product, unitPrice: 8_900, category }], o)
              : page(at + step, `/c/${category}`, o)
    })

  // The store's batch methods (one read and one commit per batch) and the fallback without them (per visitor).
  const withoutBatches = Layer.sync(MembershipStore, () => {
    const { commitAll: _commitAll, loadStates: _loadStates, ...rest } = makeMemory()
    return rest
  })
  for (const [name, layer] of [
    ["batched", layerMemory],
    ["one visitor at a time", withoutBatches]
  ] as const) {
    it.effect.prop(
      `leaves what ingest leaves event by event, with each visitor's changes coalesced (${name})`,
      [fc.array(fc.tuple(arbitraryEvent, fc.integer({ min: 0, max: 4 })), { minLength: 1, maxLength: 40 })],
      ([steps]) =>
        Effect.gen(function* () {
          const store = yield* MembershipStore
          // Events in time order, several of them in each batch (the batch sizes are drawn too).
          let at = T0
          const events = steps.map(([make]) => {
            const event = make(at)
            at = event.receivedAt
            return event
          })
          const sequential = new Map<string, Array<Membership.Change>>()
          for (const event of events) {
            const changes = yield* Pipeline.ingest("one", program, event)
            const list = sequential.get(event.visitor!) ?? []
            list.push(...changes)
            sequential.set(event.visitor!, list)
          }
          const batched = new Map<string, Array<Membership.Change>>()
          let from = 0
          for (const [, size] of steps) {
            if (from >= events.length) break
            const to = Math.min(events.length, from + size + 1)
            for (const [visitor, changes] of yield* Pipeline.ingestAll("all", program, events.slice(from, to))) {
              batched.set(visitor, [...(batched.get(visitor) ?? []), ...changes])
            }
            from = to
          }
          const end = at + 40 * DAY
          for (const visitor of visitors) {
            assert.deepStrictEqual(yield* store.history("all", visitor), yield* store.history("one", visitor), visitor)
            assert.deepStrictEqual(yield* store.loadState("all", visitor), yield* store.loadState("one", visitor))
            // Coalescing per batch keeps the memberships; the changes differ only in superseded updates.
            assert.deepStrictEqual(
              Pipeline.coalesce(batched.get(visitor) ?? []),
              Pipeline.coalesce(sequential.get(visitor) ?? [])
            )
          }
          assert.deepStrictEqual(yield* store.due("all", end, 100), yield* store.due("one", end, 100))
          yield* Effect.forEach(visitors, (v) => Effect.zipRight(store.forget("one", v), store.forget("all", v)))
        }).pipe(Effect.provide(layer)),
      { fastCheck: { numRuns: 200 } }
    )
  }

  it.effect.prop(
    "events that do not count, wherever they fall in a batch, leave every visitor as the batch without them",
    [
      fc.array(arbitraryEvent, { minLength: 1, maxLength: 20 }),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.constantFrom(visitors[0]!, visitors[1]!),
          fc.constantFrom(
            { receivedAt: Date.UTC(9000, 0, 1), consent: null },
            { receivedAt: Date.UTC(9999, 11, 31), consent: receipt(false) },
            { receivedAt: 1e16, consent: receipt() },
            { receivedAt: T0 + 40 * DAY, consent: { ...receipt(), decision: { ...receipt().decision, child: "no" } } }
          )
        ),
        { maxLength: 6 }
      )
    ],
    ([makes, odd]) =>
      Effect.gen(function* () {
        const store = yield* MembershipStore
        let at = T0
        const events = makes.map((make) => {
          const event = make(at)
          at = event.receivedAt
          return event
        })
        const mixed = [...events]
        for (const [position, visitor, fields] of odd) {
          mixed.splice(position % (mixed.length + 1), 0, {
            ...view(T0, "p1", "shoes", 100, { visitor }),
            ...fields
          } as never)
        }
        const plain = yield* Pipeline.ingestAll("plain", program, events)
        const withOdd = yield* Pipeline.ingestAll("mixed", program, mixed)
        assert.deepStrictEqual([...withOdd], [...plain])
        const end = at + 40 * DAY
        for (const visitor of visitors) {
          assert.deepStrictEqual(yield* store.loadState("mixed", visitor), yield* store.loadState("plain", visitor))
          assert.deepStrictEqual(yield* store.history("mixed", visitor), yield* store.history("plain", visitor))
        }
        assert.deepStrictEqual(yield* store.due("mixed", end, 100), yield* store.due("plain", end, 100))
      }).pipe(Effect.provide(layerMemory)),
    { fastCheck: { numRuns: 100 } }
  )

  it("coalesce keeps the last of consecutive updates per audience, never across an entry or exit", () => {
    const entered = (audienceId: string, at: number) =>
      ({ _tag: "Entered", audienceId, at, expiresAt: at + 10, products: [] }) as const
    const updated = (audienceId: string, at: number) =>
      ({ _tag: "Updated", audienceId, at, expiresAt: at + 10, products: [`p${at}`] }) as const
    const exited = (audienceId: string, at: number) => ({ _tag: "Exited", audienceId, at, reason: "rule" }) as const
    assert.deepStrictEqual(
      Pipeline.coalesce([
        entered("a", 1),
        updated("a", 2),
        updated("b", 3),
        updated("a", 4),
        exited("a", 5),
        updated("b", 6),
        entered("a", 7),
        updated("a", 8)
      ]),
      [entered("a", 1), updated("a", 4), updated("b", 6), exited("a", 5), entered("a", 7), updated("a", 8)]
    )
    assert.deepStrictEqual(Pipeline.coalesce([]), [])
  })
})
