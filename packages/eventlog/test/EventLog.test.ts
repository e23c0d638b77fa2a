import * as SqlClient from "@effect/sql/SqlClient"
import { assert, layer } from "@effect/vitest"
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
