/**
 * The behaviour of `SqlErasedVisitors`, run on SQLite and PostgreSQL: a recorded tombstone is read back by `all`
 * and `since` (at or after the time, oldest first), recording it again keeps the first row, tenants are apart, the
 * rows loaded into the collector's erased set rotate the erased visitor's pseudonym, and a time that is not an
 * integer is refused. Every test uses tenants of its own, so the suites share a database.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { assert, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import { createHash } from "node:crypto"
import * as Erased from "../../collector/src/Erased.js"
import { SqlErasedVisitors } from "../src/index.js"
import { unique } from "./fixtures.js"

type Env = SqlErasedVisitors.ErasedVisitors | SqlClient.SqlClient

const t0 = Date.UTC(2026, 11, 5, 12)

const mine = (rows: ReadonlyArray<SqlErasedVisitors.ErasedVisitor>, tenants: ReadonlyArray<string>) =>
  rows.filter((row) => tenants.includes(row.tenant))

/** A tombstone-shaped string (base64url SHA-256) for `seed`. */
const tomb = (seed: string) => createHash("sha256").update(seed).digest("base64url")

export const erasedVisitorsSuite = (it: Vitest.MethodsNonLive<Env, true>) => {
  it.effect("reads back what was recorded; recording again keeps the first time; tenants are apart", () =>
    Effect.gen(function* () {
      const store = yield* SqlErasedVisitors.ErasedVisitors
      const a = unique("erased")
      const b = unique("erased")
      yield* store.record(a, tomb("1"), t0 + 5)
      yield* store.record(a, tomb("1"), t0 + 9)
      yield* store.record(a, tomb("2"), t0 + 1)
      yield* store.record(b, tomb("1"), t0 + 3)
      assert.deepStrictEqual(mine(yield* store.all(), [a, b]), [
        { tenant: a, tombstone: tomb("2"), erasedAt: t0 + 1 },
        { tenant: b, tombstone: tomb("1"), erasedAt: t0 + 3 },
        { tenant: a, tombstone: tomb("1"), erasedAt: t0 + 5 }
      ])
    })
  )

  it.effect("since(at): the erasures at or after at, oldest first", () =>
    Effect.gen(function* () {
      const store = yield* SqlErasedVisitors.ErasedVisitors
      const tenant = unique("erased")
      const late = t0 + 1_000_000_000
      for (const [i, at] of [late + 30, late + 10, late + 20].entries()) yield* store.record(tenant, tomb(`s${i}`), at)
      assert.deepStrictEqual(
        mine(yield* store.since(late + 20), [tenant]).map((row) => [row.tenant, row.erasedAt]),
        [
          [tenant, late + 20],
          [tenant, late + 30]
        ]
      )
      assert.lengthOf(mine(yield* store.since(late + 31), [tenant]), 0)
      assert.lengthOf(mine(yield* store.since(0), [tenant]), 3)
    })
  )

  it.effect("any tombstones and times: all() holds each (tenant, tombstone) once, since(at) those at or after", () =>
    Effect.gen(function* () {
      const store = yield* SqlErasedVisitors.ErasedVisitors
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(fc.tuple(fc.nat({ max: 2 }), fc.string({ maxLength: 60 }), fc.integer({ min: 0, max: 2 ** 50 })), {
              maxLength: 12
            }),
            fc.integer({ min: 0, max: 2 ** 50 }),
            async (records, cut) => {
              const tenants = [unique("p"), unique("p"), unique("p")]
              const first = new Map<string, number>()
              for (const [t, tombstone, at] of records) {
                await Effect.runPromise(store.record(tenants[t]!, tombstone, at))
                const key = `${tenants[t]}\u0000${tombstone}`
                if (!first.has(key)) first.set(key, at)
              }
              const all = mine(await Effect.runPromise(store.all()), tenants)
              const expected = [...first].map(([key, at]) => {
                const [tenant, tombstone] = key.split("\u0000") as [string, string]
                return { tenant, tombstone, erasedAt: at }
              })
              const order = (rows: ReadonlyArray<SqlErasedVisitors.ErasedVisitor>) =>
                [...rows].sort(
                  (x, y) => x.erasedAt - y.erasedAt || (x.tenant + x.tombstone < y.tenant + y.tombstone ? -1 : 1)
                )
              assert.deepStrictEqual(order(all), order(expected))
              assert.isTrue(
                all.every((row, i) => i === 0 || all[i - 1]!.erasedAt <= row.erasedAt),
                "oldest first"
              )
              const recent = mine(await Effect.runPromise(store.since(cut)), tenants)
              assert.deepStrictEqual(order(recent), order(expected.filter((row) => row.erasedAt >= cut)))
            }
          ),
          { numRuns: 25 }
        )
      )
    })
  )

  it.effect("loaded into the collector's erased set, a recorded erasure gives the visitor a new pseudonym", () =>
    Effect.gen(function* () {
      const store = yield* SqlErasedVisitors.ErasedVisitors
      const tenant = { id: unique("erased"), pseudonym: (id: string) => `p:${id}` }
      yield* store.record(tenant.id, Erased.tombstone(tenant.pseudonym("vid")), t0)
      const set = Erased.makeSet()
      for (const row of yield* store.all()) set.add(row.tenant, row.tombstone)
      assert.strictEqual(Erased.pseudonymOf(tenant, "vid", set), "p:vid#1")
      assert.strictEqual(Erased.pseudonymOf(tenant, "other", set), "p:other")
    })
  )

  it.effect("a time that is not an integer is refused (InvalidInput) and records nothing", () =>
    Effect.gen(function* () {
      const store = yield* SqlErasedVisitors.ErasedVisitors
      const tenant = unique("erased")
      for (const at of [Number.NaN, 1.5, Number.POSITIVE_INFINITY, 2 ** 60]) {
        const recorded = yield* Effect.either(store.record(tenant, tomb("x"), at))
        assert.isTrue(Either.isLeft(recorded) && recorded.left.reason === "InvalidInput", `record at ${at}`)
        const read = yield* Effect.either(store.since(at))
        assert.isTrue(Either.isLeft(read) && read.left.reason === "InvalidInput", `since ${at}`)
      }
      assert.lengthOf(mine(yield* store.all(), [tenant]), 0)
    })
  )

  it.effect("tombstones are data, not SQL", () =>
    Effect.gen(function* () {
      const store = yield* SqlErasedVisitors.ErasedVisitors
      const tenant = unique("erased'; DROP TABLE erased_visitors; --")
      yield* store.record(tenant, "'); DELETE FROM erased_visitors; --", t0)
      assert.deepStrictEqual(mine(yield* store.all(), [tenant]), [
        { tenant, tombstone: "'); DELETE FROM erased_visitors; --", erasedAt: t0 }
      ])
    })
  )
}
