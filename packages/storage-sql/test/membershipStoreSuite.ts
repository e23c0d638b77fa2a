/**
 * The behaviour every `MembershipStore` implementation must have. The same suite runs against the
 * audience package's in-memory reference (`MembershipStore.layerMemory`), SQLite and PostgreSQL.
 */
import { type Membership, MembershipStore } from "@openaudience/audience"
import { assert, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import { unique } from "./fixtures.js"

const bytes = (...values: Array<number>) => new Uint8Array(values)

const entered = (
  audienceId: string,
  at: number,
  expiresAt: number,
  products: Array<string> = []
): Membership.Change => ({
  _tag: "Entered",
  audienceId,
  at,
  expiresAt,
  products
})

const updated = (
  audienceId: string,
  at: number,
  expiresAt: number,
  products: Array<string> = []
): Membership.Change => ({
  _tag: "Updated",
  audienceId,
  at,
  expiresAt,
  products
})

const exited = (audienceId: string, at: number, reason: "rule" | "expired" = "rule"): Membership.Change => ({
  _tag: "Exited",
  audienceId,
  at,
  reason
})

const step = (
  state: Uint8Array | null,
  nextCheckAt: number | null,
  changes: ReadonlyArray<Membership.Change> = []
): MembershipStore.Commit => ({ state, nextCheckAt, changes })

/** A random membership change (see `toChange`). */
const arbitraryChange = fc.record({
  tag: fc.constantFrom("Entered", "Updated", "Exited"),
  audienceId: fc.constantFrom("a", "b"),
  at: fc.integer({ min: 0, max: 1_000 }),
  expiresAt: fc.integer({ min: 0, max: 2_000 }),
  products: fc.array(fc.constantFrom("p1", "p2", "p3"), { maxLength: 3 })
})

/** A step's fields, the same for every store: the visitor's state, next check and changes. */
const arbitraryStep = {
  state: fc.option(fc.uint8Array({ maxLength: 6 }), { nil: null }),
  nextCheckAt: fc.option(fc.integer({ min: 0, max: 1_000 }), { nil: null }),
  changes: fc.array(arbitraryChange, { maxLength: 3 })
}

const toChange = (c: typeof arbitraryChange extends fc.Arbitrary<infer A> ? A : never): Membership.Change =>
  c.tag === "Exited"
    ? exited(c.audienceId, c.at)
    : c.tag === "Entered"
      ? entered(c.audienceId, c.at, c.expiresAt, c.products)
      : updated(c.audienceId, c.at, c.expiresAt, c.products)

/** A visitor's stored state as plain numbers (null when none), for comparing stores. */
const stateOf = (target: MembershipStore.Service, tenant: string, visitor: string) =>
  Effect.map(target.loadState(tenant, visitor), (state) => Option.getOrNull(Option.map(state, (b) => Array.from(b))))

const audiences = (memberships: ReadonlyArray<Membership.Membership>) => memberships.map((m) => m.audienceId)

export const membershipStoreSuite = (it: Vitest.MethodsNonLive<MembershipStore.MembershipStore, true>) => {
  it.effect("a committed state loads back byte for byte; an unknown visitor has none", () =>
    Effect.gen(function* () {
      const store = yield* MembershipStore.MembershipStore
      const tenant = unique("t")
      const state = bytes(0, 1, 127, 128, 255, 0)
      yield* store.commit(tenant, "v1", step(state, 1_000))
      const loaded = yield* store.loadState(tenant, "v1")
      assert.isTrue(Option.isSome(loaded))
      assert.deepStrictEqual(Array.from(Option.getOrThrow(loaded)), Array.from(state))
      assert.instanceOf(Option.getOrThrow(loaded), Uint8Array)
      assert.isTrue(Option.isNone(yield* store.loadState(tenant, "nobody")))

      yield* store.commit(tenant, "v1", step(bytes(9), null))
      assert.deepStrictEqual(Array.from(Option.getOrThrow(yield* store.loadState(tenant, "v1"))), [9])
      assert.deepStrictEqual(yield* store.due(tenant, 10_000, 10), [])

      yield* store.commit(tenant, "v1", step(null, null))
      assert.isTrue(Option.isNone(yield* store.loadState(tenant, "v1")))
      assert.deepStrictEqual(yield* store.visitors(tenant, undefined, 10), [])
    })
  )

  it.effect("due lists visitors whose next check passed, earliest first, up to the limit", () =>
    Effect.gen(function* () {
      const store = yield* MembershipStore.MembershipStore
      const tenant = unique("t")
      yield* store.commit(tenant, "late", step(bytes(1), 3_000))
      yield* store.commit(tenant, "early", step(bytes(1), 1_000))
      yield* store.commit(tenant, "b-mid", step(bytes(1), 2_000))
      yield* store.commit(tenant, "a-mid", step(bytes(1), 2_000))
      yield* store.commit(tenant, "never", step(bytes(1), null))
      assert.deepStrictEqual(yield* store.due(tenant, 999, 10), [])
      assert.deepStrictEqual(yield* store.due(tenant, 1_000, 10), ["early"])
      assert.deepStrictEqual(yield* store.due(tenant, 2_500, 10), ["early", "a-mid", "b-mid"])
      assert.deepStrictEqual(yield* store.due(tenant, 5_000, 2), ["early", "a-mid"])
      assert.deepStrictEqual(yield* store.due(tenant, 5_000, 10), ["early", "a-mid", "b-mid", "late"])
      // Advancing a visitor moves it out of (or later in) the due list.
      yield* store.commit(tenant, "early", step(bytes(2), 4_000))
      assert.deepStrictEqual(yield* store.due(tenant, 3_000, 10), ["a-mid", "b-mid", "late"])
    })
  )

  it.effect("visitors pages through stored states in key order", () =>
    Effect.gen(function* () {
      const store = yield* MembershipStore.MembershipStore
      const tenant = unique("t")
      for (const visitor of ["d", "B", "a", "c", "b"]) yield* store.commit(tenant, visitor, step(bytes(1), null))
      yield* store.commit(tenant, "gone", step(null, null, [entered("x", 1, 10)]))
      assert.deepStrictEqual(yield* store.visitors(tenant, undefined, 2), ["B", "a"])
      assert.deepStrictEqual(yield* store.visitors(tenant, "a", 2), ["b", "c"])
      assert.deepStrictEqual(yield* store.visitors(tenant, "c", 10), ["d"])
      assert.deepStrictEqual(yield* store.visitors(tenant, "d", 10), [])
    })
  )

  it.effect("memberships and counts follow enter, update, exit and expiry", () =>
    Effect.gen(function* () {
      const store = yield* MembershipStore.MembershipStore
      const tenant = unique("t")
      yield* store.commit(tenant, "v1", step(bytes(1), 5_000, [entered("cart", 1_000, 5_000, ["p1"])]))
      yield* store.commit(tenant, "v2", step(bytes(2), 8_000, [entered("cart", 1_500, 8_000)]))
      yield* store.commit(tenant, "v1", step(bytes(3), 5_000, [entered("viewers", 1_200, 9_000)]))

      assert.strictEqual(yield* store.count(tenant, "cart", 2_000), 2)
      assert.deepStrictEqual(yield* store.memberships(tenant, "v1", 2_000), [
        { audienceId: "cart", visitor: "v1", enteredAt: 1_000, expiresAt: 5_000, exitedAt: null, products: ["p1"] },
        { audienceId: "viewers", visitor: "v1", enteredAt: 1_200, expiresAt: 9_000, exitedAt: null, products: [] }
      ])
      // Expired at expiresAt (not after it).
      assert.deepStrictEqual(audiences(yield* store.memberships(tenant, "v1", 5_000)), ["viewers"])
      assert.strictEqual(yield* store.count(tenant, "cart", 5_000), 1)

      // An update pushes the expiry and replaces the products.
      yield* store.commit(tenant, "v1", step(bytes(4), 7_000, [updated("cart", 4_000, 7_000, ["p2", "p1"])]))
      const [cart] = yield* store.memberships(tenant, "v1", 6_000)
      assert.deepStrictEqual(cart, {
        audienceId: "cart",
        visitor: "v1",
        enteredAt: 1_000,
        expiresAt: 7_000,
        exitedAt: null,
        products: ["p2", "p1"]
      })
      assert.strictEqual(yield* store.count(tenant, "cart", 6_000), 2)

      // An exit closes the membership at once, whatever its expiry.
      yield* store.commit(tenant, "v2", step(bytes(5), null, [exited("cart", 3_000)]))
      assert.deepStrictEqual(yield* store.memberships(tenant, "v2", 3_000), [])
      assert.strictEqual(yield* store.count(tenant, "cart", 3_500), 1)
      assert.strictEqual(yield* store.count(tenant, "nothing", 3_500), 0)

      // An update or exit of an audience the visitor is not in changes nothing.
      yield* store.commit(
        tenant,
        "v2",
        step(bytes(6), null, [updated("cart", 3_600, 99_000), exited("viewers", 3_600)])
      )
      assert.deepStrictEqual(yield* store.memberships(tenant, "v2", 3_700), [])
      assert.strictEqual((yield* store.history(tenant, "v2")).length, 1)
    })
  )

  it.effect("history keeps past memberships in order; re-entering opens a new one", () =>
    Effect.gen(function* () {
      const store = yield* MembershipStore.MembershipStore
      const tenant = unique("t")
      yield* store.commit(tenant, "v", step(bytes(1), null, [entered("a", 100, 1_000, ["x"]), entered("b", 100, 500)]))
      yield* store.commit(tenant, "v", step(bytes(2), null, [exited("a", 200, "expired")]))
      yield* store.commit(tenant, "v", step(bytes(3), null, [entered("a", 300, 1_300, ["y"])]))
      // Entering while a membership is open closes the open one at the new entry.
      yield* store.commit(tenant, "v", step(bytes(4), null, [entered("b", 400, 900)]))
      assert.deepStrictEqual(yield* store.history(tenant, "v"), [
        { audienceId: "a", visitor: "v", enteredAt: 100, expiresAt: 1_000, exitedAt: 200, products: ["x"] },
        { audienceId: "b", visitor: "v", enteredAt: 100, expiresAt: 500, exitedAt: 400, products: [] },
        { audienceId: "a", visitor: "v", enteredAt: 300, expiresAt: 1_300, exitedAt: null, products: ["y"] },
        { audienceId: "b", visitor: "v", enteredAt: 400, expiresAt: 900, exitedAt: null, products: [] }
      ])
      assert.strictEqual(yield* store.count(tenant, "b", 450), 1)
      assert.deepStrictEqual(yield* store.history(tenant, "stranger"), [])
    })
  )

  it.effect("a visitor without state keeps its memberships until they are forgotten", () =>
    Effect.gen(function* () {
      const store = yield* MembershipStore.MembershipStore
      const tenant = unique("t")
      yield* store.commit(tenant, "v", step(bytes(1), 100, [entered("a", 10, 1_000)]))
      yield* store.commit(tenant, "v", step(null, null, [exited("a", 50)]))
      assert.isTrue(Option.isNone(yield* store.loadState(tenant, "v")))
      assert.deepStrictEqual(yield* store.due(tenant, 10_000, 10), [])
      assert.strictEqual((yield* store.history(tenant, "v")).length, 1)
    })
  )

  it.effect("forget erases a visitor everywhere and leaves others alone", () =>
    Effect.gen(function* () {
      const store = yield* MembershipStore.MembershipStore
      const tenant = unique("t")
      yield* store.commit(tenant, "v1", step(bytes(1), 100, [entered("a", 10, 1_000), entered("b", 10, 1_000)]))
      yield* store.commit(tenant, "v1", step(bytes(2), 100, [exited("b", 20)]))
      yield* store.commit(tenant, "v2", step(bytes(3), 100, [entered("a", 10, 1_000)]))
      yield* store.forget(tenant, "v1")
      assert.isTrue(Option.isNone(yield* store.loadState(tenant, "v1")))
      assert.deepStrictEqual(yield* store.history(tenant, "v1"), [])
      assert.deepStrictEqual(yield* store.memberships(tenant, "v1", 50), [])
      assert.deepStrictEqual(yield* store.due(tenant, 1_000, 10), ["v2"])
      assert.deepStrictEqual(yield* store.visitors(tenant, undefined, 10), ["v2"])
      assert.strictEqual(yield* store.count(tenant, "a", 50), 1)
      assert.deepStrictEqual(Array.from(Option.getOrThrow(yield* store.loadState(tenant, "v2"))), [3])
      // Forgetting twice, or someone never seen, is fine.
      yield* store.forget(tenant, "v1")
      yield* store.forget(tenant, "nobody")
    })
  )

  it.effect("dropAudience deletes the audience's memberships, past and present, and nothing else", () =>
    Effect.gen(function* () {
      const store = yield* MembershipStore.MembershipStore
      const tenant = unique("t")
      yield* store.commit(tenant, "v1", step(bytes(1), 100, [entered("gone", 10, 1_000), entered("kept", 10, 1_000)]))
      yield* store.commit(tenant, "v2", step(bytes(2), 200, [entered("gone", 10, 1_000)]))
      yield* store.commit(tenant, "v2", step(bytes(2), 200, [exited("gone", 20)]))
      yield* store.dropAudience(tenant, "gone")
      assert.strictEqual(yield* store.count(tenant, "gone", 50), 0)
      assert.deepStrictEqual(audiences(yield* store.history(tenant, "v1")), ["kept"])
      assert.deepStrictEqual(yield* store.history(tenant, "v2"), [])
      assert.strictEqual(yield* store.count(tenant, "kept", 50), 1)
      assert.deepStrictEqual(yield* store.due(tenant, 1_000, 10), ["v1", "v2"])
      assert.isTrue(Option.isSome(yield* store.loadState(tenant, "v2")))
    })
  )

  it.effect("tenants never see each other's visitors, memberships or counts", () =>
    Effect.gen(function* () {
      const store = yield* MembershipStore.MembershipStore
      const one = unique("t")
      const two = unique("t")
      yield* store.commit(one, "v", step(bytes(1), 100, [entered("a", 10, 1_000, ["p"])]))
      yield* store.commit(two, "v", step(bytes(2), 200, [entered("a", 20, 2_000)]))
      yield* store.commit(two, "w", step(bytes(3), 300, [entered("a", 20, 2_000)]))
      assert.deepStrictEqual(Array.from(Option.getOrThrow(yield* store.loadState(one, "v"))), [1])
      assert.deepStrictEqual(Array.from(Option.getOrThrow(yield* store.loadState(two, "v"))), [2])
      assert.isTrue(Option.isNone(yield* store.loadState(one, "w")))
      assert.deepStrictEqual(yield* store.due(one, 1_000, 10), ["v"])
      assert.deepStrictEqual(yield* store.visitors(two, undefined, 10), ["v", "w"])
      assert.strictEqual(yield* store.count(one, "a", 50), 1)
      assert.strictEqual(yield* store.count(two, "a", 50), 2)
      assert.deepStrictEqual(yield* store.history(one, "v"), [
        { audienceId: "a", visitor: "v", enteredAt: 10, expiresAt: 1_000, exitedAt: null, products: ["p"] }
      ])
      yield* store.forget(one, "v")
      yield* store.dropAudience(one, "a")
      assert.isTrue(Option.isSome(yield* store.loadState(two, "v")))
      assert.strictEqual(yield* store.count(two, "a", 50), 2)
      assert.strictEqual((yield* store.history(two, "v")).length, 1)
    })
  )

  it.effect.prop(
    "for any sequence of steps the store answers like the in-memory reference",
    [
      fc.array(
        fc.record({
          visitor: fc.constantFrom("v1", "v2", "v3"),
          ...arbitraryStep,
          forget: fc.boolean(),
          drop: fc.option(fc.constantFrom("a", "b"), { nil: null })
        }),
        { maxLength: 12 }
      ),
      fc.integer({ min: 0, max: 2_000 })
    ],
    ([steps, now]) =>
      Effect.gen(function* () {
        const store = yield* MembershipStore.MembershipStore
        const reference = MembershipStore.makeMemory()
        const tenant = unique("p")
        for (const s of steps) {
          const changes = s.changes.map(toChange)
          for (const target of [store, reference]) {
            yield* target.commit(tenant, s.visitor, step(s.state, s.nextCheckAt, changes))
            if (s.forget) yield* target.forget(tenant, s.visitor)
            if (s.drop !== null) yield* target.dropAudience(tenant, s.drop)
          }
        }
        const answers = (target: MembershipStore.Service) =>
          Effect.gen(function* () {
            const perVisitor = []
            for (const visitor of ["v1", "v2", "v3"]) {
              perVisitor.push({
                state: yield* stateOf(target, tenant, visitor),
                memberships: yield* target.memberships(tenant, visitor, now),
                history: yield* target.history(tenant, visitor)
              })
            }
            return {
              perVisitor,
              due: yield* target.due(tenant, now, 10),
              visitors: yield* target.visitors(tenant, undefined, 10),
              counts: [yield* target.count(tenant, "a", now), yield* target.count(tenant, "b", now)]
            }
          })
        assert.deepStrictEqual(yield* answers(store), yield* answers(reference))
      }),
    { timeout: 60_000, fastCheck: { numRuns: 40 } }
  )

  it.effect.prop(
    "commitAll leaves what the same commits one by one leave, and loadStates reads what loadState reads",
    [
      fc.array(
        fc.array(
          fc.record({
            visitor: fc.constantFrom("v1", "v2", "v3", "v4"),
            ...arbitraryStep
          }),
          { maxLength: 6 }
        ),
        { maxLength: 5 }
      ),
      fc.integer({ min: 0, max: 2_000 })
    ],
    ([batches, now]) =>
      Effect.gen(function* () {
        const store = yield* MembershipStore.MembershipStore
        const reference = MembershipStore.makeMemory()
        const tenant = unique("b")
        const visitors = ["v1", "v2", "v3", "v4", "nobody"]
        assert.isDefined(store.commitAll)
        assert.isDefined(store.loadStates)
        for (const batch of batches) {
          const commits = batch.map((c) => ({
            visitor: c.visitor,
            commit: step(c.state, c.nextCheckAt, c.changes.map(toChange))
          }))
          yield* store.commitAll!(tenant, commits)
          for (const { commit, visitor } of commits) yield* reference.commit(tenant, visitor, commit)
          const states = yield* store.loadStates!(tenant, visitors)
          for (const visitor of visitors) {
            const one = yield* stateOf(store, tenant, visitor)
            assert.deepStrictEqual(states.has(visitor) ? Array.from(states.get(visitor)!) : null, one)
            assert.deepStrictEqual(one, yield* stateOf(reference, tenant, visitor))
            assert.deepStrictEqual(yield* store.history(tenant, visitor), yield* reference.history(tenant, visitor))
          }
          assert.deepStrictEqual(yield* store.due(tenant, now, 10), yield* reference.due(tenant, now, 10))
          assert.deepStrictEqual(
            yield* store.visitors(tenant, undefined, 10),
            yield* reference.visitors(tenant, undefined, 10)
          )
        }
      }),
    { timeout: 60_000, fastCheck: { numRuns: 30 } }
  )

  it.effect("loadStates reads more visitors than one statement takes, and nothing of another tenant", () =>
    Effect.gen(function* () {
      const store = yield* MembershipStore.MembershipStore
      const tenant = unique("many")
      const other = unique("other")
      const visitors = Array.from({ length: 1_234 }, (_, i) => `v${i}`)
      yield* store.commitAll!(
        tenant,
        visitors.map((visitor, i) => ({ visitor, commit: step(i % 7 === 0 ? null : bytes(i % 256, 1), null) }))
      )
      yield* store.commit(other, "v1", step(bytes(9), null))
      const states = yield* store.loadStates!(tenant, [...visitors, "absent"])
      assert.strictEqual(states.size, visitors.filter((_, i) => i % 7 !== 0).length)
      assert.deepStrictEqual(Array.from(states.get("v1")!), [1, 1])
      assert.isFalse(states.has("v0"))
      assert.isFalse(states.has("absent"))
      assert.strictEqual((yield* store.loadStates!(other, ["v1", "v2"])).size, 1)
    })
  )
}
