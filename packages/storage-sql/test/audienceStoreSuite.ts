/**
 * The behaviour of the audience store, run on SQLite and PostgreSQL.
 */
import { Audience, Rule } from "@openaudience/audience"
import { assert, type Vitest } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { AudienceStore } from "../src/index.js"
import { unique } from "./fixtures.js"

const shoes = Audience.make([Rule.viewed({ category: "shoes" }).atLeast(2).within(Rule.days(14))])
const carts = Audience.make([Rule.addedToCart().within(Rule.days(3))], { expiry: { days: 7 } })

export const audienceStoreSuite = (
  it: Vitest.MethodsNonLive<AudienceStore.AudienceStore | SqlClient.SqlClient, true>
) => {
  it.effect("create, get, list, update and remove; every change bumps the tenant's revision once", () =>
    Effect.gen(function* () {
      const store = yield* AudienceStore.AudienceStore
      const tenant = unique("t")
      assert.strictEqual(yield* store.revision(tenant), 0)
      const a = yield* store.create(tenant, "aud-a", { name: "Shoe lovers", status: "active", rule: shoes }, 1_000)
      assert.deepStrictEqual(a, {
        id: "aud-a",
        name: "Shoe lovers",
        status: "active",
        rule: shoes,
        version: 1,
        createdAt: 1_000,
        updatedAt: 1_000
      })
      yield* store.create(tenant, "aud-b", { name: "Carts", status: "draft", rule: carts }, 2_000)
      assert.strictEqual(yield* store.revision(tenant), 2)
      assert.deepStrictEqual(yield* store.get(tenant, "aud-a"), Option.some(a))
      assert.deepStrictEqual(
        (yield* store.list(tenant)).map((x) => [x.id, x.status, x.version]),
        [
          ["aud-a", "active", 1],
          ["aud-b", "draft", 1]
        ]
      )
      const edited = yield* store.update(tenant, "aud-a", { name: "Shoes", status: "draft", rule: carts }, 3_000)
      assert.deepStrictEqual(
        edited,
        Option.some({ ...a, name: "Shoes", status: "draft" as const, rule: carts, version: 2, updatedAt: 3_000 })
      )
      assert.strictEqual(yield* store.revision(tenant), 3)
      assert.deepStrictEqual(
        yield* store.update(tenant, "nope", { name: "x", status: "active", rule: shoes }, 4_000),
        Option.none()
      )
      assert.strictEqual(yield* store.revision(tenant), 3)
      assert.isTrue(yield* store.remove(tenant, "aud-b"))
      assert.isFalse(yield* store.remove(tenant, "aud-b"))
      assert.strictEqual(yield* store.revision(tenant), 4)
      assert.deepStrictEqual(
        (yield* store.list(tenant)).map((x) => x.id),
        ["aud-a"]
      )
      assert.deepStrictEqual(yield* store.get(tenant, "aud-b"), Option.none())
      const revisions = yield* store.revisions
      assert.deepStrictEqual(
        revisions.find((r) => r.tenant === tenant),
        { tenant, revision: 4 }
      )
    })
  )

  it.effect("an id is unique within a tenant, not across tenants, and tenants never see each other", () =>
    Effect.gen(function* () {
      const store = yield* AudienceStore.AudienceStore
      const t1 = unique("t")
      const t2 = unique("t")
      yield* store.create(t1, "same", { name: "one", status: "active", rule: shoes }, 1)
      const again = yield* Effect.exit(store.create(t1, "same", { name: "two", status: "active", rule: carts }, 2))
      assert.isTrue(Exit.isFailure(again))
      if (Exit.isFailure(again)) assert.match(String(again.cause), /already exists/)
      assert.strictEqual(yield* store.revision(t1), 1)
      yield* store.create(t2, "same", { name: "other", status: "draft", rule: carts }, 3)
      assert.strictEqual(
        (yield* store.get(t1, "same")).pipe(
          Option.map((x) => x.name),
          Option.getOrNull
        ),
        "one"
      )
      assert.strictEqual(
        (yield* store.get(t2, "same")).pipe(
          Option.map((x) => x.name),
          Option.getOrNull
        ),
        "other"
      )
      assert.isFalse(yield* store.remove(t2, "missing"))
      assert.deepStrictEqual(
        yield* store.update(t2, "x", { name: "x", status: "draft", rule: carts }, 4),
        Option.none()
      )
      assert.strictEqual((yield* store.list(t1)).length, 1)
    })
  )

  it.effect("a corrupted stored rule is reported as CorruptData, never returned", () =>
    Effect.gen(function* () {
      const store = yield* AudienceStore.AudienceStore
      const sql = yield* SqlClient.SqlClient
      const tenant = unique("t")
      yield* store.create(tenant, "bad", { name: "bad", status: "active", rule: shoes }, 1)
      yield* sql`UPDATE audiences SET rule = ${'{"version":1,"conditions":[{"event":"teleport"}]}'} WHERE tenant = ${tenant}`
      const read = yield* Effect.flip(store.list(tenant))
      assert.strictEqual(read.reason, "CorruptData")
      assert.match(read.message, /Stored audience bad has an invalid rule/)
    })
  )
}
