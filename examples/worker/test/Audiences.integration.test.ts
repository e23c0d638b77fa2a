/**
 * The audience job's suite on PostgreSQL, in a schema of its own dropped afterwards. Fails in CI when PostgreSQL
 * is unreachable.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { AudienceStore, Database, EventStore, SqlEventLog, SqlMembershipStore } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { randomUUID } from "node:crypto"
import { audiencesSuite } from "./audiencesSuite.js"

const postgresUrl = process.env.OA_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
const admin = <A>(statement: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.flatMap(SqlClient.SqlClient, statement).pipe(Effect.provide(Database.layerFromUrl(postgresUrl)))

const reachable = await Effect.runPromise(
  admin((sql) => sql`SELECT 1`).pipe(
    Effect.timeout("5 seconds"),
    Effect.as(undefined),
    Effect.catchAll((error) => Effect.succeed(String(error)))
  )
)

/** A database connection whose search_path is a fresh schema, dropped when the layer is released. */
const schemaDatabase = Layer.unwrapScoped(
  Effect.gen(function* () {
    const schema = `oa_test_worker_${randomUUID().replaceAll("-", "").slice(0, 12)}`
    yield* Effect.acquireRelease(Effect.orDie(admin((sql) => sql`CREATE SCHEMA ${sql(schema)}`)), () =>
      Effect.orDie(admin((sql) => sql`DROP SCHEMA ${sql(schema)} CASCADE`))
    )
    return Database.layerFromUrl(`${postgresUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`)
  })
)

const stores = Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)

if (reachable === undefined) {
  layer(stores.pipe(Layer.provideMerge(schemaDatabase)), { timeout: "60 seconds" })(
    "audience job (PostgreSQL)",
    audiencesSuite
  )
} else if (process.env.CI === "true") {
  describe("audience job (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${reachable}`)
    })
  })
} else {
  describe.skip(`audience job (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${reachable})`, () => {
    it("runs the audience job suite on PostgreSQL", () => {})
  })
}
