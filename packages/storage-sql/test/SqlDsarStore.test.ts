/**
 * `SqlDsarStore` on SQLite (a file, and in memory) behaves like the in-memory store (the shared suite:
 * packages/dsar/test/dsarStoreSuite.ts); its migrations apply once, of two concurrent updates of one request read
 * at one version exactly one wins, and the queues and lists a worker or a console reads run on their indexes.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { dsarStoreSuite } from "../../dsar/test/dsarStoreSuite.js"
import { Database, SqlDsarStore } from "../src/index.js"
import { sqliteLayer } from "./fixtures.js"
import { sqlDsarStoreSuite } from "./sqlDsarStoreSuite.js"

layer(SqlDsarStore.layer.pipe(Layer.provide(sqliteLayer)), { excludeTestServices: true })(
  "DsarStore over SqlDsarStore (SQLite file)",
  dsarStoreSuite
)

layer(SqlDsarStore.layer.pipe(Layer.provide(Database.layerFromUrl("sqlite::memory:"))), {
  excludeTestServices: true
})("DsarStore over SqlDsarStore (SQLite in memory)", dsarStoreSuite)

describe("SqlDsarStore (SQLite file)", () => {
  sqlDsarStoreSuite(sqliteLayer)

  it.effect("the due queues and the tenant lists run on their indexes, not on a scan of every tenant's rows", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* SqlDsarStore.migrate
      const plans: ReadonlyArray<readonly [string, RegExp]> = [
        [
          `SELECT document FROM dsar_requests WHERE status IN ('received', 'verifying', 'in-progress')
            AND due_at <= 5 ORDER BY due_at, id LIMIT 100`,
          /USING INDEX dsar_requests_open_due/
        ],
        [
          "SELECT document FROM dsar_requests WHERE tenant = 't' ORDER BY received_at, id",
          /USING INDEX dsar_requests_tenant_received/
        ],
        [
          "SELECT document FROM dsar_requests WHERE tenant = 't' AND status = 'refused' ORDER BY received_at, id",
          /USING INDEX dsar_requests_tenant_status/
        ],
        [
          "SELECT * FROM dsar_deliveries WHERE status = 'pending' AND next_attempt_at <= 5 ORDER BY next_attempt_at, id LIMIT 10",
          /USING INDEX dsar_deliveries_due/
        ],
        [
          "SELECT * FROM dsar_deliveries WHERE tenant = 't' ORDER BY first_attempt_at, id",
          /USING INDEX dsar_deliveries_tenant_first/
        ],
        [
          "SELECT document FROM dsar_holds WHERE tenant = 't' AND released_at IS NULL ORDER BY created_at, id",
          /USING INDEX dsar_holds_tenant_created/
        ],
        [
          "SELECT * FROM dsar_recipients WHERE tenant = 't' ORDER BY created_at, id",
          /USING INDEX dsar_recipients_tenant_created/
        ],
        [
          "SELECT 1 AS found FROM dsar_objections WHERE tenant = 't' AND visitor = 'v'",
          /USING (COVERING )?INDEX sqlite_autoindex_dsar_objections_1/
        ]
      ]
      for (const [statement, index] of plans) {
        const plan = yield* sql.unsafe<{ readonly detail: string }>(`EXPLAIN QUERY PLAN ${statement}`)
        assert.match(plan.map((row) => row.detail).join("; "), index, statement)
      }
    }).pipe(Effect.provide(sqliteLayer))
  )
})
