/**
 * `SqlVisitors` on SQLite: the visitors suite over audiences, memberships and events written through this package's
 * stores, and the query plans (the member counts search the memberships' active index, the profile the visitor
 * index, the history the events' visitor index, none a scan).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AudienceStore, EventStore, SqlMembershipStore, SqlVisitors } from "../src/index.js"
import { sqliteLayer } from "./fixtures.js"
import { kFloor, visitorsSuite } from "./visitorsSuite.js"

/** The stores the suite writes through and `SqlVisitors` (k = `kFloor`) over one SQLite file. */
const stores = Layer.mergeAll(
  SqlVisitors.layerWith({ k: kFloor }),
  AudienceStore.layer,
  SqlMembershipStore.layer,
  EventStore.layer
).pipe(Layer.provideMerge(sqliteLayer))

layer(stores, { excludeTestServices: true })("Visitors over SqlVisitors (SQLite)", (it) => {
  visitorsSuite(it)

  it.effect("every read is a search of an index, never a scan", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const plan = (statement: Effect.Effect<ReadonlyArray<{ readonly detail: string }>, unknown>) =>
        Effect.map(Effect.orDie(statement), (rows) => rows.map((row) => row.detail))
      const counts = yield* plan(sql`EXPLAIN QUERY PLAN SELECT a.id,
        (SELECT COUNT(*) FROM (SELECT 1 FROM audience_memberships c
          WHERE c.tenant = a.tenant AND c.audience_id = a.id AND c.exited_at IS NULL AND c.expires_at > ${1}
          LIMIT ${3}) AS counted) AS members
        FROM audiences a WHERE a.tenant = ${"t"} AND a.status = 'active' ORDER BY a.id`)
      const history = yield* plan(sql`EXPLAIN QUERY PLAN SELECT type, received_at, payload, consent FROM events
        WHERE tenant = ${"t"} AND visitor = ${"v"} AND type IN (${"product_view"}, ${"conversion"})
        AND received_at >= ${0} ORDER BY seq DESC LIMIT ${500}`)
      const profile = yield* plan(sql`EXPLAIN QUERY PLAN SELECT a.id FROM audience_memberships m
        JOIN audiences a ON a.tenant = m.tenant AND a.id = m.audience_id
        WHERE m.tenant = ${"t"} AND m.visitor = ${"v"} AND m.exited_at IS NULL AND m.expires_at > ${1}
        AND a.status = 'active'`)
      for (const detail of [...counts, ...history, ...profile])
        assert.notMatch(detail, /^SCAN (a|c|m|events|audiences|audience_memberships)\b/)
      assert.isTrue(
        counts.some((d) => d.includes("audience_memberships_active")),
        counts.join("\n")
      )
      assert.isTrue(
        history.some((d) => d.includes("events_tenant_visitor")),
        history.join("\n")
      )
      assert.isFalse(
        history.some((d) => d.includes("TEMP B-TREE")),
        history.join("\n")
      )
      assert.isTrue(
        profile.some((d) => /audience_memberships_(visitor|open)/.test(d)),
        profile.join("\n")
      )
    })
  )
})
