/**
 * The behaviour every `PrivacyBudget` implementation must have. The same suite runs against the anonymizer's
 * in-memory reference (`PrivacyBudget.layerMemory`), SQLite and PostgreSQL: charges add up to the limit and no
 * further, a refused charge spends nothing, pairs are independent, every accepted charge is in the ledger with its
 * time, and concurrent charges never overspend. Each test uses tenants of its own, so the suite can share one store.
 */
import { assert, type Vitest } from "@effect/vitest"
import { type Noise, PrivacyBudget } from "@openaudience/anonymizer"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { unique } from "./fixtures.js"

/** The limit of every pair, except partner `big`'s. */
export const limit: Noise.Cost = { epsilon: 1, delta: 1e-6 }

/** Partner `big` may spend twice as much: implementations take a limit per pair. */
export const limitOf = (_tenant: string, partner: string): Noise.Cost =>
  partner === "big" ? { epsilon: 2, delta: 2e-6 } : limit

export const privacyBudgetSuite = (it: Vitest.MethodsNonLive<PrivacyBudget.PrivacyBudget, true>) => {
  it.effect("spends up to the limit, refuses beyond it without spending, keeps a ledger", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      const t = unique("t")
      const u = unique("u")
      // The ledger's times come from `Clock`.
      yield* Effect.gen(function* () {
        yield* TestClock.setTime(1_000)
        for (let i = 0; i < 10; i++) yield* budget.charge(t, "p", { epsilon: 0.1, delta: 0 })
      }).pipe(Effect.provide(TestContext.TestContext))
      const refused = yield* Effect.either(budget.charge(t, "p", { epsilon: 0.01, delta: 0 }))
      assert.isTrue(Either.isLeft(refused))
      if (Either.isLeft(refused)) {
        assert.strictEqual(refused.left._tag, "BudgetExhausted")
        if (refused.left._tag === "BudgetExhausted") {
          assert.strictEqual(refused.left.tenant, t)
          assert.strictEqual(refused.left.partner, "p")
          assert.closeTo(refused.left.remaining.epsilon, 0, 1e-9)
        }
      }
      assert.closeTo((yield* budget.remaining(t, "p")).epsilon, 0, 1e-9)
      const charges = yield* budget.ledger(t, "p")
      assert.strictEqual(charges.length, 10)
      assert.deepStrictEqual(charges[0], { at: 1_000, epsilon: 0.1, delta: 0 })
      // Another partner of the tenant, and the same partner of another tenant, have their own budgets.
      assert.deepStrictEqual(yield* budget.remaining(t, "q"), limit)
      assert.deepStrictEqual(yield* budget.charge(u, "p", { epsilon: 0.25, delta: 1e-7 }), {
        epsilon: 0.75,
        delta: 1e-6 - 1e-7
      })
      // δ is a budget too.
      const tooMuchDelta = yield* Effect.either(budget.charge(u, "p", { epsilon: 0.1, delta: 1e-6 }))
      assert.isTrue(Either.isLeft(tooMuchDelta))
      assert.deepStrictEqual(yield* budget.remaining(u, "p"), { epsilon: 0.75, delta: 1e-6 - 1e-7 })
      assert.strictEqual((yield* budget.ledger(u, "p")).length, 1)
    })
  )

  it.effect("refuses invalid costs before spending anything", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      const t = unique("t")
      for (const cost of [
        { epsilon: 0, delta: 0 },
        { epsilon: -1, delta: 0 },
        { epsilon: Number.NaN, delta: 0 },
        { epsilon: 0.1, delta: -1 },
        { epsilon: 0.1, delta: 1 }
      ]) {
        const result = yield* Effect.either(budget.charge(t, "p", cost))
        assert.isTrue(Either.isLeft(result) && result.left._tag === "InvalidPrivacyParameter", JSON.stringify(cost))
      }
      assert.deepStrictEqual(yield* budget.ledger(t, "p"), [])
      assert.deepStrictEqual(yield* budget.remaining(t, "p"), limit)
    })
  )

  it.effect("answers a sequence of charges as the basic composition of their costs", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      const t = unique("t")
      const answers = yield* Effect.forEach([0.3, 0.3, 0.5, 0.2, 0.2, 0.05], (epsilon) =>
        Effect.either(budget.charge(t, "p", { epsilon, delta: 0 })).pipe(Effect.map(Either.isRight))
      )
      assert.deepStrictEqual(answers, [true, true, false, true, true, false])
      assert.deepStrictEqual(
        (yield* budget.ledger(t, "p")).map((charge) => charge.epsilon),
        [0.3, 0.3, 0.2, 0.2]
      )
    })
  )

  it.effect("takes a limit per pair", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      const t = unique("t")
      assert.deepStrictEqual(yield* budget.remaining(t, "big"), { epsilon: 2, delta: 2e-6 })
      yield* budget.charge(t, "big", { epsilon: 1.5, delta: 0 })
      assert.closeTo((yield* budget.remaining(t, "big")).epsilon, 0.5, 1e-9)
      assert.isTrue(Either.isLeft(yield* Effect.either(budget.charge(t, "p", { epsilon: 1.5, delta: 0 }))))
    })
  )

  it.effect("never overspends under concurrent charges", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      const t = unique("t")
      const answers = yield* Effect.all(
        Array.from({ length: 25 }, () => Effect.either(budget.charge(t, "p", { epsilon: 0.1, delta: 0 }))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(answers.filter(Either.isRight).length, 10)
      assert.strictEqual(answers.filter(Either.isLeft).length, 15)
      for (const answer of answers) {
        if (Either.isLeft(answer)) assert.strictEqual(answer.left._tag, "BudgetExhausted")
      }
      assert.strictEqual((yield* budget.ledger(t, "p")).length, 10)
      assert.closeTo((yield* budget.remaining(t, "p")).epsilon, 0, 1e-9)
    })
  )
  it.effect("once spent, refuses any further charge however small (tolerance is not fresh budget)", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      const t = unique("t")
      // Within the floating-point tolerance: accepted, and the pair is now (slightly) overspent.
      yield* budget.charge(t, "p", { epsilon: 1 + 6e-10, delta: 1e-6 + 6e-16 })
      let accepted = 0
      for (let i = 0; i < 50; i++) {
        const epsilonOnly = yield* Effect.either(budget.charge(t, "p", { epsilon: 6e-10, delta: 0 }))
        const deltaOnly = yield* Effect.either(budget.charge(t, "p", { epsilon: 0, delta: 6e-16 }))
        accepted += (Either.isRight(epsilonOnly) ? 1 : 0) + (Either.isRight(deltaOnly) ? 1 : 0)
      }
      assert.strictEqual(accepted, 0)
      assert.strictEqual((yield* budget.ledger(t, "p")).length, 1)
      assert.deepStrictEqual(yield* budget.remaining(t, "p"), { epsilon: 0, delta: 0 })
    })
  )
}
