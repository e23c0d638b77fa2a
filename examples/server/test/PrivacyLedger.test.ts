/**
 * The SQL privacy budget behaves like the anonymizer's in-memory one: charges add up to the limit and no further,
 * a refused charge spends nothing, pairs are independent, every accepted charge is in the ledger with its time,
 * and two clients on one database file share one budget.
 */
import { assert, describe, it } from "@effect/vitest"
import { PrivacyBudget } from "@openaudience/anonymizer"
import { Database } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as PrivacyLedger from "../src/PrivacyLedger.js"

const limit = { epsilon: 1, delta: 1e-6 }

/** Runs `use` with a fresh database file; clients it opens (in its scope) are closed before the file is removed. */
const withDatabase = <A, E>(use: (url: string) => Effect.Effect<A, E, Scope.Scope>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "oa-ledger-"))),
    (dir) => Effect.scoped(use(`sqlite:${join(dir, "ledger.db")}`)),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/** A budget service on its own client of the database at `url`, open for the current scope. */
const budget = (url: string) =>
  Effect.gen(function* () {
    const database = yield* Layer.build(Database.layerFromUrl(url))
    return yield* Effect.zipRight(PrivacyLedger.migrate, PrivacyLedger.make(limit)).pipe(Effect.provide(database))
  })

describe("PrivacyLedger", () => {
  it.effect("spends up to the limit, refuses beyond it without spending, keeps a ledger", () =>
    withDatabase((url) =>
      Effect.gen(function* () {
        const ledger = yield* budget(url)
        yield* TestClock.setTime(1_000)
        for (let i = 0; i < 10; i++) yield* ledger.charge("t", "p", { epsilon: 0.1, delta: 0 })
        const refused = yield* Effect.either(ledger.charge("t", "p", { epsilon: 0.01, delta: 0 }))
        assert.isTrue(Either.isLeft(refused))
        if (Either.isLeft(refused)) {
          assert.strictEqual(refused.left._tag, "BudgetExhausted")
          if (refused.left._tag === "BudgetExhausted") assert.closeTo(refused.left.remaining.epsilon, 0, 1e-9)
        }
        const remaining = yield* ledger.remaining("t", "p")
        assert.closeTo(remaining.epsilon, 0, 1e-9)
        const charges = yield* ledger.ledger("t", "p")
        assert.strictEqual(charges.length, 10)
        assert.deepStrictEqual(charges[0], { at: 1_000, epsilon: 0.1, delta: 0 })
        // Another partner of the tenant, and the same partner of another tenant, have their own budgets.
        assert.deepStrictEqual(yield* ledger.remaining("t", "q"), limit)
        assert.deepStrictEqual(yield* ledger.charge("u", "p", { epsilon: 0.25, delta: 1e-7 }), {
          epsilon: 0.75,
          delta: 1e-6 - 1e-7
        })
        // δ is a budget too.
        const tooMuchDelta = yield* Effect.either(ledger.charge("u", "p", { epsilon: 0.1, delta: 1e-6 }))
        assert.isTrue(Either.isLeft(tooMuchDelta))
        assert.deepStrictEqual(yield* ledger.remaining("u", "p"), { epsilon: 0.75, delta: 1e-6 - 1e-7 })
      })
    )
  )

  it.effect("refuses invalid costs before touching the database", () =>
    withDatabase((url) =>
      Effect.gen(function* () {
        const ledger = yield* budget(url)
        for (const cost of [
          { epsilon: 0, delta: 0 },
          { epsilon: -1, delta: 0 },
          { epsilon: Number.NaN, delta: 0 },
          { epsilon: 0.1, delta: 1 }
        ]) {
          const result = yield* Effect.either(ledger.charge("t", "p", cost))
          assert.isTrue(Either.isLeft(result) && result.left._tag === "InvalidPrivacyParameter")
        }
        assert.deepStrictEqual(yield* ledger.ledger("t", "p"), [])
      })
    )
  )

  it.effect("is one budget for every client of the database, and migrating again is a no-op", () =>
    withDatabase((url) =>
      Effect.gen(function* () {
        const one = yield* budget(url)
        const two = yield* budget(url)
        yield* one.charge("t", "p", { epsilon: 0.6, delta: 0 })
        const refused = yield* Effect.either(two.charge("t", "p", { epsilon: 0.6, delta: 0 }))
        assert.isTrue(Either.isLeft(refused))
        yield* two.charge("t", "p", { epsilon: 0.4, delta: 0 })
        assert.strictEqual((yield* one.ledger("t", "p")).length, 2)
        const applied = yield* PrivacyLedger.migrate.pipe(Effect.provide(Database.layerFromUrl(url)))
        assert.deepStrictEqual(applied, [])
      })
    )
  )

  it.effect("matches the in-memory budget's answers", () =>
    Effect.gen(function* () {
      const memory = yield* PrivacyBudget.makeMemory(limit)
      const costs = [0.3, 0.3, 0.5, 0.2, 0.2, 0.05]
      const sqlAnswers = yield* withDatabase((url) =>
        Effect.gen(function* () {
          const ledger = yield* budget(url)
          return yield* Effect.forEach(costs, (epsilon) =>
            Effect.either(ledger.charge("t", "p", { epsilon, delta: 0 })).pipe(Effect.map(Either.isRight))
          )
        })
      )
      const memoryAnswers = yield* Effect.forEach(costs, (epsilon) =>
        Effect.either(memory.charge("t", "p", { epsilon, delta: 0 })).pipe(Effect.map(Either.isRight))
      )
      assert.deepStrictEqual(sqlAnswers, memoryAnswers)
      assert.deepStrictEqual(sqlAnswers, [true, true, false, true, true, false])
    })
  )
})
