/**
 * `SqlDeliveryStore` on SQLite answers as ad-selector's in-memory `DeliveryStore` (the suite runs on both); processes
 * charging one campaign in one database file at once never overspend; amounts that are not integers and pacing
 * states JSON cannot hold are refused, changing nothing.
 */
import { join } from "node:path"
import { assert, describe, it, layer } from "@effect/vitest"
import { Budget } from "@openaudience/ad-selector"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Database, SqlDeliveryStore } from "../src/index.js"
import { deliveryStoreSuite, morning, pacingState } from "./deliveryStoreSuite.js"
import { contend } from "./contenders.js"
import { sqliteLayer, tempDir, unique } from "./fixtures.js"

layer(Budget.layerMemory, { excludeTestServices: true })("DeliveryStore (memory reference)", deliveryStoreSuite)

layer(SqlDeliveryStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "DeliveryStore over SqlDeliveryStore (SQLite file)",
  (it) => {
    deliveryStoreSuite(it)

    it.effect("refuses a cost or time that is not an integer and a pacing state with NaN, changing nothing", () =>
      Effect.gen(function* () {
        const store = yield* Budget.DeliveryStore
        const campaign = unique("c")
        const none = { daily: undefined, total: undefined }
        yield* store.setPacing(campaign, pacingState())
        for (const [cost, now] of [
          [0.5, morning],
          [Number.NaN, morning],
          [2 ** 53, morning],
          [1, morning + 0.5],
          [1, Number.POSITIVE_INFINITY]
        ] as const) {
          const error = yield* Effect.flip(store.charge(campaign, cost, none, now))
          assert.strictEqual(error._tag, "DeliveryStoreError")
        }
        for (const p of [Number.NaN, Number.POSITIVE_INFINITY]) {
          const error = yield* Effect.flip(store.setPacing(campaign, pacingState(p)))
          assert.strictEqual(error._tag, "DeliveryStoreError")
        }
        assert.deepStrictEqual(yield* store.read(campaign), { spend: Budget.zero, pacing: pacingState() })
      })
    )
  }
)

layer(SqlDeliveryStore.layer.pipe(Layer.provide(Database.layerFromUrl("sqlite::memory:"))), {
  excludeTestServices: true
})("DeliveryStore over SqlDeliveryStore (SQLite in memory)", deliveryStoreSuite)

/** A delivery store on a client of its own of the database at `url`, open for the current scope. */
const storeOn = (url: string) =>
  Effect.map(Layer.build(SqlDeliveryStore.layer.pipe(Layer.provide(Database.layerFromUrl(url)))), (context) =>
    Context.get(context, Budget.DeliveryStore)
  )

describe("SqlDeliveryStore (SQLite file, several processes)", () => {
  it.scoped(
    "never overspends when several processes charge one campaign at once",
    () =>
      Effect.gen(function* () {
        const url = `sqlite:${join(yield* tempDir, "delivery.db")}`
        yield* SqlDeliveryStore.migrate.pipe(Effect.provide(Database.layerFromUrl(url)))
        // 3 × 80 charges of 13 tried, 13 × 150 + 12 allowed: exactly 150 fit.
        const accepted = yield* contend({ kind: "delivery", url, processes: 3, count: 80, limit: 13 * 150 + 12 })
        assert.strictEqual(
          accepted.reduce((a, b) => a + b, 0),
          150
        )
        const store = yield* storeOn(url)
        assert.strictEqual((yield* store.read("c")).spend.total, 150 * 13)
        assert.deepStrictEqual(yield* SqlDeliveryStore.migrate.pipe(Effect.provide(Database.layerFromUrl(url))), [])
      }),
    120_000
  )
})
