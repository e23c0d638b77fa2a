/**
 * `SqlSubjectStores` on SQLite (a database in memory with every storage-sql migration applied): the shared suite,
 * the SQLite catalogue read as the live schema, erasures on the subject indexes, and `StoreUnavailable` naming the
 * store when its table cannot be read.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { Registry, Subject } from "@openaudience/dsar"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Database, SqlSubjectStores } from "../src/index.js"
import { migrateAll, subjectStoresSuite } from "./subjectStoresSuite.js"

const memory = Database.layerFromUrl("sqlite::memory:")

layer(Layer.effectDiscard(migrateAll).pipe(Layer.provideMerge(memory)), {
  excludeTestServices: true,
  timeout: "60 seconds"
})("SqlSubjectStores (SQLite)", (it) => {
  subjectStoresSuite(it)

  it.effect("reads the live schema from sqlite_master and pragma_table_info", () =>
    Effect.gen(function* () {
      const live = yield* SqlSubjectStores.liveColumns
      const events = live.filter((column) => column.table === "events").map((column) => column.column)
      assert.deepStrictEqual(events, [
        "seq",
        "tenant",
        "event_id",
        "type",
        "site",
        "received_at",
        "client_ts",
        "visitor",
        "payload",
        "consent"
      ])
      assert.isFalse(live.some((column) => column.table.startsWith("sqlite_")))
    })
  )

  it.effect("erases through the indexes that start with the subject's columns", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const plans: ReadonlyArray<readonly [string, RegExp]> = [
        ["DELETE FROM events WHERE tenant = 't' AND visitor = 'v'", /USING INDEX events_tenant_visitor/],
        ["DELETE FROM event_log WHERE tenant = 't' AND partition_key = 'v'", /USING INDEX event_log_tenant_key/],
        [
          "DELETE FROM audience_visitors WHERE tenant = 't' AND visitor = 'v'",
          /USING (PRIMARY KEY|INDEX sqlite_autoindex)/
        ],
        ["DELETE FROM audience_memberships WHERE tenant = 't' AND visitor = 'v'", /USING INDEX audience_memberships_/],
        ["DELETE FROM ad_decisions WHERE tenant = 't' AND visitor = 'v'", /USING INDEX ad_decisions_visitor/],
        ["DELETE FROM ad_conversions WHERE tenant = 't' AND visitor = 'v'", /USING INDEX ad_conversions_visitor/],
        ["DELETE FROM ad_caps WHERE tenant = 't' AND visitor = 'v'", /USING INDEX sqlite_autoindex_ad_caps_1/],
        ["DELETE FROM ad_browser_links WHERE tenant = 't' AND visitor = 'v'", /USING INDEX ad_browser_links_visitor/],
        [
          "DELETE FROM ad_browser_links WHERE tenant = 't' AND browser_key = 'b'",
          /USING INDEX sqlite_autoindex_ad_browser_links_1/
        ],
        ["DELETE FROM users WHERE tenant = 't' AND id = 'u'", /USING INDEX sqlite_autoindex_users_/],
        ["DELETE FROM user_sessions WHERE tenant = 't' AND user_id = 'u'", /USING INDEX user_sessions_user/],
        ["DELETE FROM user_invitations WHERE tenant = 't' AND user_id = 'u'", /USING INDEX user_invitations_user/],
        ["DELETE FROM user_resets WHERE tenant = 't' AND user_id = 'u'", /USING INDEX user_resets_user/],
        ["DELETE FROM payment_methods WHERE tenant = 't' AND user_id = 'u'", /USING INDEX payment_methods_user/],
        [
          "DELETE FROM user_login_failures WHERE key IN ('email:x', 'reset:x')",
          /USING (COVERING )?INDEX user_login_failures_key/
        ],
        [
          "DELETE FROM vault_data_keys WHERE tenant = 't' AND subject = 'u'",
          /USING INDEX sqlite_autoindex_vault_data_keys_1/
        ]
      ]
      for (const [statement, index] of plans) {
        const plan = yield* sql.unsafe<{ readonly detail: string }>(`EXPLAIN QUERY PLAN ${statement}`)
        assert.match(plan.map((row) => row.detail).join("; "), index, statement)
      }
    })
  )
})

describe("SqlSubjectStores without its tables", () => {
  it.effect("a store whose table cannot be read fails with StoreUnavailable naming it", () =>
    Effect.gen(function* () {
      const stores = yield* SqlSubjectStores.stores
      const visitor = new Subject.Visitor({ tenant: "t", visitor: "v" })
      for (const store of stores.filter((s) => s.retained.length === 0 && s.kinds.includes("Visitor"))) {
        const failure = yield* Effect.flip(store.erase(visitor))
        assert.instanceOf(failure, Registry.StoreUnavailable)
        assert.strictEqual(failure.store, store.name)
        assert.match(failure.message, /no such table/)
      }
    }).pipe(Effect.provide(memory))
  )
})
