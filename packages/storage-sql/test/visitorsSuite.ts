/**
 * The behaviour of `SqlVisitors` over real audiences, memberships and events written through this package's own
 * stores, run on SQLite and PostgreSQL: the k floor (below it an audience is neither targetable nor in a profile),
 * draft audiences, expired and exited memberships, consent and child events kept out of `history` and `lastSeen`,
 * objections, tenants apart, unknown and erased visitors. The layer serves `Visitors` with k = 3 (`kFloor`); one
 * test builds the default service to check k = `Size.defaultK`. Times are relative to the wall clock, days apart.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { assert, type Vitest } from "@effect/vitest"
import { Visitors } from "@openaudience/ad-selector"
import { Audience, type Membership, MembershipStore, Rule, Size } from "@openaudience/audience"
import type { ConsentReceipt } from "@openaudience/event-schema"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { AudienceStore, EventStore, SqlVisitors, type StoredEvent } from "../src/index.js"
import { event, receipt, unique } from "./fixtures.js"

/** The k floor of the layer the suite runs on. */
export const kFloor = 3

type Services = Visitors.Visitors | AudienceStore.AudienceStore | MembershipStore.MembershipStore
type Env = Services | EventStore.EventStore | SqlClient.SqlClient

const day = 86_400_000
const rule = Audience.make([Rule.viewed({ category: "shoes" }).within(Rule.days(14))])
const child: ConsentReceipt.ConsentReceipt = { ...receipt(), decision: { ...receipt().decision, child: true } }

const entered = (audienceId: string, at: number, expiresAt: number): Membership.Change => ({
  _tag: "Entered",
  audienceId,
  at,
  expiresAt,
  products: []
})

/** Stores an audience and `members` current members (`m0`, `m1`, …), plus `extra` visitors' memberships. */
const audience = (
  tenant: string,
  id: string,
  options: { readonly status?: "active" | "draft"; readonly members: number }
) =>
  Effect.gen(function* () {
    const audiences = yield* AudienceStore.AudienceStore
    const memberships = yield* MembershipStore.MembershipStore
    const now = Date.now()
    yield* audiences.create(tenant, id, { name: id, status: options.status ?? "active", rule }, now)
    for (let i = 0; i < options.members; i++) {
      yield* memberships.commit(tenant, `m${i}`, {
        state: null,
        nextCheckAt: null,
        changes: [entered(id, now - day, now + 30 * day)]
      })
    }
  })

const join = (tenant: string, visitor: string, audienceId: string, expiresAt = Date.now() + 30 * day) =>
  Effect.flatMap(MembershipStore.MembershipStore, (memberships) =>
    memberships.commit(tenant, visitor, {
      state: null,
      nextCheckAt: null,
      changes: [entered(audienceId, Date.now() - 2 * day, expiresAt)]
    })
  )

const append = (events: ReadonlyArray<StoredEvent>) =>
  Effect.flatMap(EventStore.EventStore, (store) => store.append(events))

const t0 = 1_700_000_000_000

/** A visitor's event at `t0 + offset` minutes, with personalization consent unless told otherwise. */
const visit = (tenant: string, visitor: string, minutes: number, overrides: Partial<StoredEvent> = {}) =>
  event(tenant, unique("e"), { visitor, receivedAt: t0 + minutes * 60_000, consent: receipt(), ...overrides })

const view = (tenant: string, visitor: string, minutes: number, productId: string, overrides = {}) =>
  visit(tenant, visitor, minutes, { type: "product_view", payload: { productId }, ...overrides })

const purchase = (tenant: string, visitor: string, minutes: number, productIds: ReadonlyArray<string>) =>
  visit(tenant, visitor, minutes, {
    type: "conversion",
    payload: { conversionType: "purchase", orderId: unique("o"), items: productIds.map((productId) => ({ productId })) }
  })

const at = (minutes: number) => t0 + minutes * 60_000

export const visitorsSuite = (it: Vitest.MethodsNonLive<Env, true>) => {
  it.effect("targets active audiences at or above k only, and a profile holds nothing else", () =>
    Effect.gen(function* () {
      const visitors = yield* Visitors.Visitors
      const tenant = unique("vis")
      yield* audience(tenant, "at-k", { members: kFloor })
      yield* audience(tenant, "below-k", { members: kFloor - 1 })
      yield* audience(tenant, "draft", { status: "draft", members: kFloor + 2 })
      yield* audience(tenant, "empty", { members: 0 })
      // Expired and exited memberships do not count towards k.
      yield* audience(tenant, "stale", { members: kFloor - 1 })
      yield* join(tenant, "gone", "stale", Date.now() - 1)
      yield* join(tenant, "left", "stale")
      yield* Effect.flatMap(MembershipStore.MembershipStore, (m) =>
        m.commit(tenant, "left", {
          state: null,
          nextCheckAt: null,
          changes: [{ _tag: "Exited", audienceId: "stale", at: Date.now() - 1, reason: "rule" }]
        })
      )
      assert.deepStrictEqual([...(yield* visitors.targetable(tenant))], ["at-k"])

      // m0 is a current member of every audience but "empty".
      const profile = yield* visitors.profile(tenant, "m0")
      assert.deepStrictEqual(
        Option.map(profile, (p) => p.audiences),
        Option.some(["at-k"])
      )
      assert.deepStrictEqual(yield* visitors.profile(tenant, "gone"), Option.none())
      // A member more takes "below-k" to k: targetable, and in the profile.
      yield* join(tenant, "new", "below-k")
      assert.deepStrictEqual([...(yield* visitors.targetable(tenant))].sort(), ["at-k", "below-k"])
      assert.deepStrictEqual(
        Option.map(yield* visitors.profile(tenant, "m0"), (p) => p.audiences),
        Option.some(["at-k", "below-k"])
      )
      // Members of another tenant's audience of the same id never count.
      const other = unique("vis")
      yield* audience(other, "below-k", { members: kFloor - 1 })
      assert.deepStrictEqual([...(yield* visitors.targetable(other))], [])
      assert.deepStrictEqual(
        Option.map(yield* visitors.profile(other, "m0"), (p) => p.audiences),
        Option.some([])
      )
      assert.strictEqual((yield* visitors.targetable(unique("vis"))).size, 0)
    })
  )

  it.effect("expired and exited memberships are not in a profile", () =>
    Effect.gen(function* () {
      const visitors = yield* Visitors.Visitors
      const tenant = unique("vis")
      yield* audience(tenant, "a", { members: kFloor + 1 })
      yield* audience(tenant, "b", { members: kFloor + 1 })
      yield* join(tenant, "v", "a", Date.now() - 1)
      yield* join(tenant, "v", "b", Date.now() + day)
      assert.deepStrictEqual(
        Option.map(yield* visitors.profile(tenant, "v"), (p) => p.audiences),
        Option.some(["b"])
      )
      yield* Effect.flatMap(MembershipStore.MembershipStore, (m) =>
        m.commit(tenant, "v", {
          state: null,
          nextCheckAt: null,
          changes: [{ _tag: "Exited", audienceId: "b", at: Date.now(), reason: "rule" }]
        })
      )
      // Only past memberships and no events: the tenant holds the visitor's history, not a current profile.
      assert.deepStrictEqual(yield* visitors.profile(tenant, "v"), Option.none())
    })
  )

  it.effect("an unknown or erased visitor is None; lastSeen is the newest visit that may personalize", () =>
    Effect.gen(function* () {
      const visitors = yield* Visitors.Visitors
      const tenant = unique("vis")
      const other = unique("vis")
      assert.deepStrictEqual(yield* visitors.profile(tenant, "nobody"), Option.none())
      yield* append([
        visit(tenant, "v", 1),
        visit(tenant, "v", 2),
        visit(tenant, "v", 3, { consent: receipt(false) }),
        visit(tenant, "v", 4, { consent: child }),
        visit(tenant, "v", 5, { consent: null }),
        visit(other, "v", 9)
      ])
      assert.deepStrictEqual(yield* visitors.profile(tenant, "v"), Option.some({ audiences: [], lastSeen: at(2) }))
      assert.deepStrictEqual(yield* visitors.profile(other, "v"), Option.some({ audiences: [], lastSeen: at(9) }))
      // Only events that may not personalize: known, but never seen.
      yield* append([visit(tenant, "w", 1, { consent: receipt(false) })])
      assert.deepStrictEqual(yield* visitors.profile(tenant, "w"), Option.some({ audiences: [], lastSeen: undefined }))
      // An objection ends the history: no visit before it is seen.
      yield* append([visit(other, "v", 10, { type: "objection", consent: null })])
      assert.deepStrictEqual(yield* visitors.profile(other, "v"), Option.some({ audiences: [], lastSeen: undefined }))
      yield* append([visit(other, "v", 11)])
      assert.deepStrictEqual(yield* visitors.profile(other, "v"), Option.some({ audiences: [], lastSeen: at(11) }))
      // Erased: events and memberships gone.
      yield* audience(tenant, "a", { members: kFloor })
      yield* join(tenant, "v", "a")
      assert.deepStrictEqual(
        Option.map(yield* visitors.profile(tenant, "v"), (p) => p.audiences),
        Option.some(["a"])
      )
      yield* Effect.flatMap(EventStore.EventStore, (store) => store.eraseVisitor(tenant, "v"))
      yield* Effect.flatMap(MembershipStore.MembershipStore, (m) => m.forget(tenant, "v"))
      assert.deepStrictEqual(yield* visitors.profile(tenant, "v"), Option.none())
      assert.isTrue(Option.isSome(yield* visitors.profile(other, "v")))
    })
  )

  it.effect("history: views and purchases since `since` that may personalize, never a child's, oldest first", () =>
    Effect.gen(function* () {
      const visitors = yield* Visitors.Visitors
      const tenant = unique("vis")
      const other = unique("vis")
      yield* append([
        view(tenant, "v", 0, "too-old"),
        view(tenant, "v", 10, "p1"),
        view(tenant, "v", 11, "no-consent", { consent: receipt(false) }),
        view(tenant, "v", 12, "no-receipt", { consent: null }),
        view(tenant, "v", 13, "child", { consent: child }),
        visit(tenant, "v", 14, { type: "page_view", payload: { url: "/p/x", productId: "page" } }),
        purchase(tenant, "v", 15, ["p1", "p2"]),
        visit(tenant, "v", 16, {
          type: "conversion",
          payload: { conversionType: "lead", items: [{ productId: "lead" }] }
        }),
        view(tenant, "v", 17, "p3"),
        view(tenant, "w", 18, "someone-else"),
        view(other, "v", 19, "other-tenant")
      ])
      assert.deepStrictEqual(yield* visitors.history(tenant, "v", at(10)), [
        { kind: "viewed", productId: "p1", at: at(10) },
        { kind: "purchased", productId: "p1", at: at(15) },
        { kind: "purchased", productId: "p2", at: at(15) },
        { kind: "viewed", productId: "p3", at: at(17) }
      ])
      assert.strictEqual((yield* visitors.history(tenant, "v", Number.NEGATIVE_INFINITY)).length, 5)
      assert.strictEqual((yield* visitors.history(tenant, "v", at(10) - 0.5)).length, 4)
      assert.strictEqual((yield* visitors.history(tenant, "v", at(10) + 0.5)).length, 3)
      for (const since of [Number.NaN, Number.POSITIVE_INFINITY, at(18), 9e15]) {
        assert.deepStrictEqual(yield* visitors.history(tenant, "v", since), [])
      }
      assert.deepStrictEqual(yield* visitors.history(other, "v", 0), [
        { kind: "viewed", productId: "other-tenant", at: at(19) }
      ])
      assert.deepStrictEqual(yield* visitors.history(unique("vis"), "v", 0), [])
      // An objection: nothing before it is history any more.
      yield* append([visit(tenant, "v", 20, { type: "objection", consent: null }), view(tenant, "v", 21, "p4")])
      assert.deepStrictEqual(yield* visitors.history(tenant, "v", 0), [{ kind: "viewed", productId: "p4", at: at(21) }])
    })
  )

  it.effect("history reads the newest `historyLimit` product events only", () =>
    Effect.gen(function* () {
      const limited = yield* SqlVisitors.makeWith({ historyLimit: 3 })
      const tenant = unique("vis")
      yield* append(Array.from({ length: 6 }, (_, i) => view(tenant, "v", i, `p${i}`)))
      assert.deepStrictEqual(
        (yield* limited.history(tenant, "v", 0)).map((e) => e.productId),
        ["p3", "p4", "p5"]
      )
    })
  )

  it.effect("the default service uses Size.defaultK", () =>
    Effect.gen(function* () {
      const visitors = yield* SqlVisitors.make
      const tenant = unique("vis")
      yield* audience(tenant, "at", { members: Size.defaultK })
      yield* audience(tenant, "below", { members: Size.defaultK - 1 })
      yield* join(tenant, "m0", "below")
      yield* join(tenant, "m0", "at")
      assert.deepStrictEqual([...(yield* visitors.targetable(tenant))], ["at"])
      assert.deepStrictEqual(
        Option.map(yield* visitors.profile(tenant, "m0"), (p) => p.audiences),
        Option.some(["at"])
      )
    })
  )

  it.effect("refuses a k or history limit that is not a positive integer", () =>
    Effect.gen(function* () {
      for (const options of [{ k: 0 }, { k: 2.5 }, { k: Number.NaN }, { historyLimit: 0 }, { historyLimit: -1 }]) {
        const exit = yield* Effect.exit(SqlVisitors.makeWith(options))
        assert.isTrue(exit._tag === "Failure", JSON.stringify(options))
      }
    })
  )
}
