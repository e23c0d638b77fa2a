/**
 * `SqlErasedVisitors` on SQLite: the shared suite, reads by time through the `erased_at` index, and idempotent
 * migrations.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SqlErasedVisitors } from "../src/index.js"
import { erasedVisitorsSuite } from "./erasedVisitorsSuite.js"
import { sqliteLayer } from "./fixtures.js"

layer(SqlErasedVisitors.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "SqlErasedVisitors (SQLite file)",
  (it) => {
    erasedVisitorsSuite(it)

    it.effect("reads recent erasures through the erased_at index; migrations run once", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const plan = yield* sql<{ readonly detail: string }>`EXPLAIN QUERY PLAN
          SELECT tenant, tombstone, erased_at FROM erased_visitors WHERE erased_at >= ${1} ORDER BY erased_at`
        assert.match(plan[0]!.detail, /^SEARCH erased_visitors USING INDEX erased_visitors_erased_at \(erased_at>\?\)/)
        assert.deepStrictEqual(yield* SqlErasedVisitors.migrate, [])
      })
    )
  }
)
