import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { EventLog } from "@openaudience/eventlog"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { eventLogSuite } from "../../eventlog/test/eventLogSuite.js"
import { SqlEventLog } from "../src/index.js"
import { sqliteLayer } from "./fixtures.js"
import { sqlEventLogSuite } from "./sqlEventLogSuite.js"

layer(SqlEventLog.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "EventLog (SQLite)",
  (it) => {
    eventLogSuite(it)
    sqlEventLogSuite(it)
    it.effect("stores payloads as TEXT on SQLite", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{ name: string; type: string }>`PRAGMA table_info(event_log)`
        assert.strictEqual(columns.find((c) => c.name === "payload")?.type, "TEXT")
      })
    )
  }
)

describe("SqlEventLog.layerConfig", () => {
  it.effect("with OA_EVENTLOG=sql the log lives in the SqlClient's database", () =>
    Effect.gen(function* () {
      const offsets = yield* Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const sql = yield* SqlClient.SqlClient
        const appended = yield* log.append([{ tenant: "t", key: "k", payload: 1 }])
        const rows = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM event_log`
        return { appended, rows: rows[0]?.n }
      }).pipe(
        Effect.provide(SqlEventLog.layerConfig.pipe(Layer.provideMerge(sqliteLayer))),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OA_EVENTLOG", "sql"]])))
      )
      assert.deepStrictEqual(offsets, { appended: [1], rows: 1 })
    })
  )
})
