/**
 * `SqlVisitors` on PostgreSQL, in a schema of the test's own: the visitors suite over audiences, memberships and
 * events written through this package's stores (JSONB payloads and receipts, BIGINT times), and idempotent
 * migrations of the tables it reads.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AudienceStore, EventStore, SqlMembershipStore, SqlVisitors } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"
import { kFloor, visitorsSuite } from "./visitorsSuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  const stores = Layer.mergeAll(
    SqlVisitors.layerWith({ k: kFloor }),
    AudienceStore.layer,
    SqlMembershipStore.layer,
    EventStore.layer
  ).pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_visitors")))

  layer(stores, { excludeTestServices: true, timeout: "30 seconds" })(
    "Visitors over SqlVisitors (PostgreSQL)",
    (it) => {
      visitorsSuite(it)

      it.effect("migrations of the tables it reads are idempotent, also when run at once", () =>
        Effect.gen(function* () {
          assert.deepStrictEqual(yield* SqlVisitors.migrate, [])
          const concurrent = yield* Effect.all([SqlVisitors.migrate, SqlVisitors.migrate], { concurrency: "unbounded" })
          assert.deepStrictEqual(concurrent, [[], []])
        })
      )
    }
  )
} else if (process.env.CI === "true") {
  describe("SqlVisitors (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlVisitors (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the visitors suite on PostgreSQL", () => {})
  })
}
