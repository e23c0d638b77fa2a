import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { EventLog, SqlEventLog } from "../src/index.js"
import { eventLogSuite } from "./eventLogSuite.js"
import { sqlEventLogSuite } from "./sqlEventLogSuite.js"
import { sqliteLayer } from "./fixtures.js"

layer(EventLog.layerMemory, { excludeTestServices: true })("EventLog (memory)", eventLogSuite)

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

describe("EventLog.layerConfig", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.effect("OA_EVENTLOG selects sql by default, or NATS servers, and rejects anything else clearly", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* EventLog.selectionConfig.pipe(withEnv({})), { _tag: "Sql" })
      assert.deepStrictEqual(yield* EventLog.selectionConfig.pipe(withEnv({ OA_EVENTLOG: "SQL" })), { _tag: "Sql" })
      assert.deepStrictEqual(
        yield* EventLog.selectionConfig.pipe(withEnv({ OA_EVENTLOG: "nats://a:4222, nats://b:4222" })),
        { _tag: "Nats", servers: ["nats://a:4222", "nats://b:4222"] }
      )
      const error = yield* Effect.flip(EventLog.selectionConfig.pipe(withEnv({ OA_EVENTLOG: "kafka://x" })))
      assert.include(String(error), 'OA_EVENTLOG must be "sql" or nats://host:4222')
    })
  )

  it.effect("with OA_EVENTLOG=sql the log lives in the SqlClient's database", () =>
    Effect.gen(function* () {
      const offsets = yield* Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const sql = yield* SqlClient.SqlClient
        const appended = yield* log.append([{ tenant: "t", key: "k", payload: 1 }])
        const rows = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM event_log`
        return { appended, rows: rows[0]?.n }
      }).pipe(
        Effect.provide(EventLog.layerConfig.pipe(Layer.provideMerge(sqliteLayer))),
        withEnv({ OA_EVENTLOG: "sql" })
      )
      assert.deepStrictEqual(offsets, { appended: [1], rows: 1 })
    })
  )
})
