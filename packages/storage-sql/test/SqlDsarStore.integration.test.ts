/**
 * `SqlDsarStore` on PostgreSQL (a schema of its own, dropped after) behaves like the in-memory store (the shared
 * suite: packages/dsar/test/dsarStoreSuite.ts); its migrations apply once, and of two concurrent updates of one
 * request read at one version exactly one wins; a statement the server cancels is `Unavailable`, not a defect. Fails,
 * not skips, in CI when PostgreSQL is unreachable.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { DsarStore, Request } from "@openaudience/dsar"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { dsarStoreSuite, request, tenantId } from "../../dsar/test/dsarStoreSuite.js"
import { Database, SqlDsarStore } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { sqlDsarStoreSuite } from "./sqlDsarStoreSuite.js"

const postgres = await probePostgres()

const start = (r: Request.Request) =>
  Either.getOrThrow(Request.transition(r, { _tag: "Start" }, r.receivedAt + 1, "user:op"))

if (postgres.ok) {
  layer(SqlDsarStore.layer.pipe(Layer.provide(postgresSchemaLayer("oa_test_dsar"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("DsarStore over SqlDsarStore (PostgreSQL)", dsarStoreSuite)

  describe("SqlDsarStore (PostgreSQL)", () => {
    sqlDsarStoreSuite(postgresSchemaLayer("oa_test_dsar"))
  })

  describe("SqlDsarStore (PostgreSQL) when the database gives up", () => {
    it.effect("a statement the database cancels is Unavailable (worth retrying), and the retry applies", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const store = yield* DsarStore.DsarStore
        const stored = yield* store.requests.insert(request(tenantId()))
        const schemas = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`
        const separator = postgresUrl.includes("?") ? "&" : "?"
        // A second client on the same schema whose statements the server cancels after 200 ms (57014).
        const impatient = Database.layerFromUrl(
          `${postgresUrl}${separator}options=${encodeURIComponent(
            `-c search_path=${schemas[0]?.schema} -c statement_timeout=200`
          )}`
        )
        const update = Effect.flatMap(SqlDsarStore.make, (other) => other.requests.update(start(stored))).pipe(
          Effect.provide(impatient)
        )
        // While another transaction holds the request's row, the update waits until it is cancelled. (The update runs
        // outside that transaction's fiber: inside it, any SqlClient would use the transaction's connection.)
        const locked = yield* Deferred.make<void>()
        const done = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(
          sql.withTransaction(
            Effect.zipRight(
              sql`SELECT id FROM dsar_requests WHERE id = ${stored.id} FOR UPDATE`,
              Effect.zipRight(Deferred.succeed(locked, undefined), Deferred.await(done))
            )
          )
        )
        yield* Deferred.await(locked)
        const error = yield* Effect.flip(update).pipe(Effect.ensuring(Deferred.succeed(done, undefined)))
        yield* Fiber.join(holder)
        assert.deepStrictEqual([error._tag, error.reason], ["DsarStoreError", "Unavailable"])
        assert.strictEqual((yield* store.requests.get(stored.tenant, stored.id)).version, 0)
        assert.strictEqual((yield* update).version, 1)
      }).pipe(
        Effect.provide(SqlDsarStore.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_dsar")))),
        Effect.orDie
      )
    )
  })
} else if (process.env.CI === "true") {
  describe("SqlDsarStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlDsarStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the DSAR store suite on PostgreSQL", () => {})
  })
}
