/**
 * What `SqlDsarStore` adds to the shared `DsarStore` suite, run on SQLite and PostgreSQL: its migrations apply once
 * (a second run, and a second `layer` over the same database, change nothing and keep the rows), and of two writers
 * updating one request read at one version exactly one wins, the other getting `Conflict`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, it } from "@effect/vitest"
import { DsarStore, Request } from "@openaudience/dsar"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { request, tenantId } from "../../dsar/test/dsarStoreSuite.js"
import { SqlDsarStore, type StorageError } from "../src/index.js"

const tables = [
  "dsar_requests",
  "dsar_holds",
  "dsar_reports",
  "dsar_recipients",
  "dsar_deliveries",
  "dsar_objections"
] as const

const refuse = (r: Request.Request, reason: string) =>
  Either.getOrThrow(Request.transition(r, { _tag: "Refuse", reason }, r.receivedAt + 1, "user:op"))

const start = (r: Request.Request) =>
  Either.getOrThrow(Request.transition(r, { _tag: "Start" }, r.receivedAt + 1, "user:op"))

/** The SQL-specific tests over a database layer that gives each test a fresh database (or schema). */
export const sqlDsarStoreSuite = (database: Layer.Layer<SqlClient.SqlClient, StorageError>) => {
  it.effect("migrations apply once: a second run and a second layer change nothing and keep the rows", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      assert.deepStrictEqual(yield* SqlDsarStore.migrate, [1, 2])
      assert.deepStrictEqual(yield* SqlDsarStore.migrate, [])
      const applied = yield* sql<{ readonly id: number | string }>`SELECT id FROM ${sql(SqlDsarStore.table)}`
      assert.deepStrictEqual(applied.map((row) => Number(row.id)).sort(), [1, 2])

      const tenant = tenantId()
      const stored = yield* Effect.flatMap(DsarStore.DsarStore, (store) => store.requests.insert(request(tenant))).pipe(
        Effect.provide(SqlDsarStore.layer)
      )
      // Building the layer again over the same database runs the migrations again: nothing to do, nothing lost.
      const read = yield* Effect.flatMap(DsarStore.DsarStore, (store) => store.requests.get(tenant, stored.id)).pipe(
        Effect.provide(SqlDsarStore.layer)
      )
      assert.deepStrictEqual(read, stored)
      assert.deepStrictEqual(yield* SqlDsarStore.migrate, [])
      for (const name of tables) {
        const rows = yield* sql<{ readonly n: number | string }>`SELECT COUNT(*) AS n FROM ${sql(name)}`
        assert.strictEqual(Number(rows[0]?.n), name === "dsar_requests" ? 1 : 0, name)
      }
    }).pipe(Effect.provide(database))
  )

  it.effect("two concurrent updates of one request: exactly one wins, the other is a Conflict", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const tenant = tenantId()
      const received = yield* Effect.forEach(Array.from({ length: 8 }), () => store.requests.insert(request(tenant)))
      // Every pair races on its own request, all pairs at once.
      const outcomes = yield* Effect.forEach(
        received,
        (r) =>
          Effect.all(
            [Effect.either(store.requests.update(start(r))), Effect.either(store.requests.update(refuse(r, "race")))],
            {
              concurrency: 2
            }
          ),
        { concurrency: "unbounded" }
      )
      for (const [index, pair] of outcomes.entries()) {
        const winners = pair.filter(Either.isRight)
        const losers = pair.filter(Either.isLeft)
        assert.strictEqual(winners.length, 1, `request ${index}: one writer wins`)
        assert.deepStrictEqual(
          losers.map((loser) => [loser.left._tag, loser.left.reason]),
          [["DsarStoreError", "Conflict"]]
        )
        const stored = yield* store.requests.get(tenant, received[index]!.id)
        assert.deepStrictEqual(stored, winners[0]!.right)
        assert.strictEqual(stored.version, 1)
      }
    }).pipe(Effect.provide(SqlDsarStore.layer.pipe(Layer.provide(database))))
  )
}
