import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, TestClock } from "effect"
import * as PrivacyBudget from "../src/PrivacyBudget.js"
import * as Report from "../src/Report.js"
import * as SecureRandom from "../src/SecureRandom.js"

const layer = PrivacyBudget.layerMemory({ epsilon: 1, delta: 1e-5 })

const cells: ReadonlyArray<Report.Cell> = [{ dimensions: { day: "d1" }, count: 50_000, visitors: 9_000 }]
const bounds = { maxContribution: 2, maxCells: 3 }

describe("PrivacyBudget", () => {
  it.effect("spends ε per (tenant, partner) and refuses the query that would exceed it, spending nothing", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      assert.deepStrictEqual(yield* budget.charge("t1", "p1", { epsilon: 0.4, delta: 0 }), {
        epsilon: 0.6,
        delta: 1e-5
      })
      assert.closeTo((yield* budget.charge("t1", "p1", { epsilon: 0.5, delta: 0 })).epsilon, 0.1, 1e-12)
      const refused = yield* Effect.flip(budget.charge("t1", "p1", { epsilon: 0.2, delta: 0 }))
      assert.strictEqual(refused._tag, "BudgetExhausted")
      if (refused._tag === "BudgetExhausted") {
        assert.strictEqual(refused.partner, "p1")
        assert.closeTo(refused.remaining.epsilon, 0.1, 1e-12)
        assert.include(refused.message, "exhausted")
      }
      assert.closeTo((yield* budget.remaining("t1", "p1")).epsilon, 0.1, 1e-12)
      // What is left can still be spent.
      yield* budget.charge("t1", "p1", { epsilon: 0.1, delta: 0 })
      assert.strictEqual((yield* budget.remaining("t1", "p1")).epsilon, 0)
      // Other pairs have their own budgets.
      assert.strictEqual((yield* budget.remaining("t1", "p2")).epsilon, 1)
      assert.strictEqual((yield* budget.remaining("t2", "p1")).epsilon, 1)
    }).pipe(Effect.provide(layer))
  )

  it.effect("adds up many small charges exactly to the limit (basic composition)", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      for (let i = 0; i < 10; i++) yield* budget.charge("t", "p", { epsilon: 0.1, delta: 0 })
      const refused = yield* Effect.exit(budget.charge("t", "p", { epsilon: 1e-6, delta: 0 }))
      assert.isTrue(Exit.isFailure(refused))
      assert.strictEqual((yield* budget.ledger("t", "p")).length, 10)
    }).pipe(Effect.provide(layer))
  )

  it.effect("once spent, refuses every further charge, however small (the tolerance is not fresh budget)", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      // Overspends within the floating-point tolerance, which is accepted once.
      yield* budget.charge("t", "p", { epsilon: 1 + 8e-10, delta: 0 })
      let accepted = 0
      for (let i = 0; i < 100; i++) {
        if (Exit.isSuccess(yield* Effect.exit(budget.charge("t", "p", { epsilon: 8e-10, delta: 0 })))) accepted++
      }
      assert.strictEqual(accepted, 0)
      assert.strictEqual((yield* budget.ledger("t", "p")).length, 1)
    }).pipe(Effect.provide(layer))
  )

  it.effect("accounts δ as well as ε", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      yield* budget.charge("t", "p", { epsilon: 0.1, delta: 6e-6 })
      const refused = yield* Effect.flip(budget.charge("t", "p", { epsilon: 0.1, delta: 6e-6 }))
      assert.strictEqual(refused._tag, "BudgetExhausted")
      yield* budget.charge("t", "p", { epsilon: 0.1, delta: 4e-6 })
    }).pipe(Effect.provide(layer))
  )

  it.effect("refuses invalid costs without spending", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      for (const cost of [
        { epsilon: 0, delta: 0 },
        { epsilon: -0.5, delta: 0 },
        { epsilon: Number.NaN, delta: 0 },
        { epsilon: 0.1, delta: -1 },
        { epsilon: 0.1, delta: 1 }
      ]) {
        const error = yield* Effect.flip(budget.charge("t", "p", cost))
        assert.strictEqual(error._tag, "InvalidPrivacyParameter")
      }
      assert.strictEqual((yield* budget.remaining("t", "p")).epsilon, 1)
    }).pipe(Effect.provide(layer))
  )

  it.effect("concurrent charges never overspend", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      const results = yield* Effect.all(
        Array.from({ length: 100 }, () => Effect.exit(budget.charge("t", "p", { epsilon: 0.1, delta: 0 }))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.filter(Exit.isSuccess).length, 10)
    }).pipe(Effect.provide(layer))
  )

  it.effect("records each charge with the time from Clock, and takes per-pair limits", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_000_000)
      const budget = yield* PrivacyBudget.PrivacyBudget
      yield* budget.charge("t", "big", { epsilon: 2, delta: 0 })
      assert.deepStrictEqual(yield* budget.ledger("t", "big"), [{ at: 1_000_000, epsilon: 2, delta: 0 }])
      assert.strictEqual((yield* budget.remaining("t", "small")).epsilon, 0.5)
    }).pipe(
      Effect.provide(
        PrivacyBudget.layerMemory((_, partner) =>
          partner === "big" ? { epsilon: 3, delta: 0 } : { epsilon: 0.5, delta: 0 }
        )
      )
    )
  )
})

describe("Report.release", () => {
  const options: Report.PrivateOptions = { mechanism: { _tag: "Laplace", epsilon: 0.4 }, bounds, k: 50 }

  it.effect("charges the budget per release, and refuses once it is spent", () =>
    Effect.gen(function* () {
      const first = yield* Report.release({ tenant: "t", partner: "p", cells, options })
      assert.strictEqual(first.length, 1)
      assert.isAtMost(Math.abs(first[0]!.count - 50_000), 500)
      yield* Report.release({ tenant: "t", partner: "p", cells, options })
      const refused = yield* Effect.flip(Report.release({ tenant: "t", partner: "p", cells, options }))
      assert.strictEqual(refused._tag, "BudgetExhausted")
      const budget = yield* PrivacyBudget.PrivacyBudget
      assert.closeTo((yield* budget.remaining("t", "p")).epsilon, 0.2, 1e-12)
    }).pipe(Effect.provide(Layer.merge(layer, SecureRandom.layerTest("release"))))
  )

  it.effect("spends nothing on invalid options", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Report.release({
          tenant: "t",
          partner: "p",
          cells,
          options: { ...options, bounds: { maxContribution: 0, maxCells: 1 } }
        })
      )
      assert.strictEqual(error._tag, "InvalidPrivacyParameter")
      const budget = yield* PrivacyBudget.PrivacyBudget
      assert.strictEqual((yield* budget.remaining("t", "p")).epsilon, 1)
    }).pipe(Effect.provide(layer))
  )
})
