/** Behaviour specific to the SQL event log: transactions shared with other writes, and migrations. */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { EventLog } from "@openaudience/eventlog"
import { SqlEventLog } from "../src/index.js"
import { unique } from "./fixtures.js"

export const sqlEventLogSuite = (it: Vitest.MethodsNonLive<EventLog.EventLog | SqlClient.SqlClient, true>) => {
  it.effect("an append inside a surrounding transaction commits and rolls back with it", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const log = yield* EventLog.EventLog
      const consumer = unique("tx")
      yield* log.commit(consumer, yield* log.lastOffset)
      yield* sql`CREATE TABLE IF NOT EXISTS tx_probe (id TEXT PRIMARY KEY)`
      const failed = yield* Effect.flip(
        sql.withTransaction(
          Effect.gen(function* () {
            yield* sql`INSERT INTO tx_probe (id) VALUES (${consumer})`
            yield* log.append([{ tenant: "t", key: "rolled-back", payload: {} }])
            return yield* Effect.fail("crash after both writes" as const)
          })
        )
      )
      assert.strictEqual(failed, "crash after both writes")
      assert.deepStrictEqual(yield* log.read(consumer, 10), [])
      assert.deepStrictEqual(yield* sql`SELECT id FROM tx_probe WHERE id = ${consumer}`, [])

      const offsets = yield* sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`INSERT INTO tx_probe (id) VALUES (${consumer})`
          return yield* SqlEventLog.appendInTransaction([{ tenant: "t", key: "kept", payload: { n: 1 } }])
        })
      )
      const read = yield* log.read(consumer, 10)
      assert.deepStrictEqual(
        read.map((r) => [r.offset, r.key]),
        [[offsets[0], "kept"]]
      )
      assert.strictEqual((yield* sql`SELECT id FROM tx_probe WHERE id = ${consumer}`).length, 1)
    })
  )

  it.effect("migrations are recorded once and running them again changes nothing", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      assert.deepStrictEqual(yield* SqlEventLog.migrate, [])
      const rows = yield* sql<{ id: number | string }>`SELECT id FROM ${sql(SqlEventLog.migrationsTable)}`
      assert.deepStrictEqual(rows.map((r) => Number(r.id)).sort(), [1, 2])
    })
  )

  it.effect("appends larger than one statement keep input order", () =>
    Effect.gen(function* () {
      const log = yield* EventLog.EventLog
      const consumer = unique("big")
      yield* log.commit(consumer, yield* log.lastOffset)
      const n = SqlEventLog.rowsPerStatement * 2 + 17
      const offsets = yield* log.append(
        Array.from({ length: n }, (_, i) => ({ tenant: "t", key: `k${i}`, payload: i }))
      )
      assert.strictEqual(offsets.length, n)
      const read = yield* log.read(consumer, n)
      assert.deepStrictEqual(
        read.map((r) => r.offset),
        offsets
      )
      assert.isTrue(read.every((r, i) => r.key === `k${i}` && r.payload === i))
    })
  )
}
