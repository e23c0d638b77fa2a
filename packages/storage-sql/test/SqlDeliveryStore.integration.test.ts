/**
 * `SqlDeliveryStore` on PostgreSQL, in a schema of the test's own: the delivery store suite (concurrent charges over a
 * real connection pool queue on the campaign's row), several clients with pools of their own charging one campaign
 * at once, the column types and idempotent migrations.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { Budget } from "@openaudience/ad-selector"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Database, SqlDeliveryStore } from "../src/index.js"
import { deliveryStoreSuite, morning } from "./deliveryStoreSuite.js"
import { postgresSchemaLayer, postgresUrl, probePostgres, unique } from "./fixtures.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlDeliveryStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_delivery"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("DeliveryStore over SqlDeliveryStore (PostgreSQL)", (it) => {
    deliveryStoreSuite(it)

    it.effect("uses BIGINT spend in the test's own schema, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{ column_name: string; data_type: string; table_schema: string }>`
          SELECT column_name, data_type, table_schema FROM information_schema.columns
          WHERE table_name = 'ad_delivery' AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]))
        assert.strictEqual(types.total, "bigint")
        assert.strictEqual(types.today, "bigint")
        assert.match(columns[0]!.table_schema, /^oa_test_delivery_/)
        assert.deepStrictEqual(yield* SqlDeliveryStore.migrate, [])
        const concurrent = yield* Effect.all(
          [SqlDeliveryStore.migrate, SqlDeliveryStore.migrate, SqlDeliveryStore.migrate],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })

  describe("SqlDeliveryStore (PostgreSQL, several clients)", () => {
    it.scoped(
      "never overspends when several clients, each with its own pool, charge one campaign at once",
      () =>
        Effect.gen(function* () {
          // One schema, and a client (a pool of its own) per store, as separate processes would have.
          const schema = `oa_test_delivery_${unique("m").slice(2).replaceAll("-", "")}`
          const admin = Database.layerFromUrl(postgresUrl)
          yield* Effect.acquireRelease(
            Effect.orDie(
              Effect.provide(
                Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE SCHEMA ${sql(schema)}`),
                admin
              )
            ),
            () =>
              Effect.orDie(
                Effect.provide(
                  Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP SCHEMA ${sql(schema)} CASCADE`),
                  admin
                )
              )
          )
          const url = `${postgresUrl}${postgresUrl.includes("?") ? "&" : "?"}options=${encodeURIComponent(
            `-c search_path=${schema}`
          )}`
          const storeOn = Effect.map(
            Layer.build(SqlDeliveryStore.layer.pipe(Layer.provide(Database.layerFromUrl(url)))),
            (context) => Context.get(context, Budget.DeliveryStore)
          )
          const clients = [yield* storeOn, yield* storeOn, yield* storeOn]
          const campaign = unique("c")
          const accepted = yield* Effect.all(
            clients.map((store) =>
              Effect.all(
                Array.from({ length: 50 }, () => store.charge(campaign, 13, { daily: 700, total: 1_000 }, morning)),
                { concurrency: "unbounded" }
              )
            ),
            { concurrency: "unbounded" }
          )
          // The daily limit binds: 700 / 13 → 53 of 150 tried.
          assert.strictEqual(accepted.flat().filter(Boolean).length, 53)
          assert.deepStrictEqual((yield* clients[0]!.read(campaign)).spend, {
            day: Math.floor(morning / 86_400_000),
            today: 53 * 13,
            total: 53 * 13
          })
        }),
      60_000
    )
  })
} else if (process.env.CI === "true") {
  describe("SqlDeliveryStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlDeliveryStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the delivery store suite on PostgreSQL", () => {})
  })
}
