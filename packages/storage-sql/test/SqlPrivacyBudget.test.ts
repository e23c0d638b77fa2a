/**
 * The SQL privacy budget on SQLite behaves like the anonymizer's in-memory one (the shared suite runs on both), and
 * two clients of one database file share one budget.
 */
import { join } from "node:path"
import { assert, describe, it, layer } from "@effect/vitest"
import { PrivacyBudget } from "@openaudience/anonymizer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { Database, SqlPrivacyBudget } from "../src/index.js"
import { sqliteLayer, tempDir, unique } from "./fixtures.js"
import { limit, limitOf, privacyBudgetSuite } from "./privacyBudgetSuite.js"

layer(PrivacyBudget.layerMemory(limitOf), { excludeTestServices: true })(
  "PrivacyBudget (memory reference)",
  privacyBudgetSuite
)

layer(SqlPrivacyBudget.layer(limitOf).pipe(Layer.provide(sqliteLayer)), { excludeTestServices: true })(
  "PrivacyBudget (SQLite)",
  privacyBudgetSuite
)

/** A budget service on a client of its own of the database at `url`, open for the current scope. */
const budgetOn = (url: string) =>
  Effect.map(Layer.build(SqlPrivacyBudget.layer(limit).pipe(Layer.provide(Database.layerFromUrl(url)))), (context) =>
    Context.get(context, PrivacyBudget.PrivacyBudget)
  )

describe("SqlPrivacyBudget (SQLite file)", () => {
  it.scoped("is one budget for every client of the database, and migrating again is a no-op", () =>
    Effect.gen(function* () {
      const url = `sqlite:${join(yield* tempDir, "ledger.db")}`
      const one = yield* budgetOn(url)
      const two = yield* budgetOn(url)
      const t = unique("t")
      yield* one.charge(t, "p", { epsilon: 0.6, delta: 0 })
      const refused = yield* Effect.either(two.charge(t, "p", { epsilon: 0.6, delta: 0 }))
      assert.isTrue(Either.isLeft(refused))
      yield* two.charge(t, "p", { epsilon: 0.4, delta: 0 })
      assert.strictEqual((yield* one.ledger(t, "p")).length, 2)
      assert.closeTo((yield* one.remaining(t, "p")).epsilon, 0, 1e-9)
      const applied = yield* SqlPrivacyBudget.migrate.pipe(Effect.provide(Database.layerFromUrl(url)))
      assert.deepStrictEqual(applied, [])
    })
  )
})
