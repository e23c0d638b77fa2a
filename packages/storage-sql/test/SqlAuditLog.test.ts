/**
 * The SQL audit log on SQLite behaves like the in-memory reference (the shared suite runs on both), two clients of
 * one database file appending at once still make one chain, and a log without its head row is reported broken.
 */
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { AuditLog } from "@openaudience/audit"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Database, SqlAuditLog } from "../src/index.js"
import { sqliteLayer, tempDir } from "./fixtures.js"
import { auditLogSuite, memoryHarness, sqlTamper } from "./sqlAuditLogSuite.js"

/** A new log on the client `client` builds, with the client itself. */
const openOn = <E>(client: Layer.Layer<SqlClient.SqlClient, E>) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(SqlAuditLog.layer.pipe(Layer.provideMerge(client)))
    return {
      log: Context.get(context, AuditLog.AuditLog),
      tamper: yield* Effect.provide(sqlTamper, context),
      sql: Context.get(context, SqlClient.SqlClient)
    }
  })

auditLogSuite("AuditLog (memory reference)", memoryHarness)

auditLogSuite("AuditLog (SQLite)", openOn(sqliteLayer))

describe("SqlAuditLog (SQLite file)", () => {
  it.scopedLive("makes one chain of two clients' concurrent appends, and migrating again is a no-op", () =>
    Effect.gen(function* () {
      const url = `sqlite:${join(yield* tempDir, "audit.db")}`
      const one = yield* openOn(Database.layerFromUrl(url))
      const two = yield* openOn(Database.layerFromUrl(url))
      const append = (n: number) =>
        (n % 2 === 0 ? one : two).log.append({
          at: n,
          tenant: "t1",
          actor: { kind: "system", id: "job" },
          action: "events.read",
          target: `batch:${n}`,
          outcome: "success"
        })
      const appended = yield* Effect.forEach(
        Array.from({ length: 60 }, (_, i) => i),
        append,
        { concurrency: 60 }
      )
      assert.strictEqual(new Set(appended.map((e) => e.seq)).size, 60)
      const result = yield* two.log.verify
      assert.deepStrictEqual(result.ok && result.entries, 60)
      assert.deepStrictEqual(yield* SqlAuditLog.migrate.pipe(Effect.provide(Database.layerFromUrl(url))), [])
    })
  )

  it.scopedLive("reports a log whose head row was removed, and refuses to append to it", () =>
    Effect.gen(function* () {
      const { log, sql } = yield* openOn(sqliteLayer)
      yield* log.append({
        tenant: null,
        actor: { kind: "operator", id: "cli" },
        action: "tenant.create",
        target: "tenant:t1",
        outcome: "success"
      })
      yield* sql`DELETE FROM audit_head`
      const result = yield* log.verify
      assert.deepStrictEqual(result.ok ? result : result.reason, "HeadMismatch")
      const refused = yield* Effect.flip(
        log.append({
          tenant: null,
          actor: { kind: "operator", id: "cli" },
          action: "tenant.create",
          target: "tenant:t2",
          outcome: "success"
        })
      )
      assert.strictEqual(refused.reason, "Corrupt")
    })
  )

  it.scopedLive("answers Corrupt for a listed entry that cannot be read back, and verify names it", () =>
    Effect.gen(function* () {
      const { log, sql } = yield* openOn(sqliteLayer)
      const entry = yield* log.append({
        tenant: "t1",
        actor: { kind: "user", id: "usr_1" },
        action: "audience.update",
        target: "audience:a1",
        outcome: "success"
      })
      yield* sql`UPDATE audit_log SET details = 'not json' WHERE seq = ${entry.seq}`
      const listed = yield* Effect.flip(log.list({ tenant: "t1", limit: 10 }))
      assert.strictEqual(listed.reason, "Corrupt")
      const result = yield* log.verify
      assert.deepStrictEqual(result.ok ? result : [result.seq, result.reason], [1, "Undecodable"])
    })
  )
})
