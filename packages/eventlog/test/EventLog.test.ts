import { assert, describe, it, layer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { EventLog } from "../src/index.js"
import { eventLogSuite } from "./eventLogSuite.js"

layer(EventLog.layerMemory, { excludeTestServices: true })("EventLog (memory)", eventLogSuite)

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

  it.effect("with OA_EVENTLOG=sql it is the SQL log it is given", () =>
    Effect.gen(function* () {
      const sqlLog = Layer.effect(
        EventLog.EventLog,
        Effect.map(EventLog.makeMemory, (log) => ({ ...log, lastOffset: Effect.succeed(42) }))
      )
      const last = yield* Effect.flatMap(EventLog.EventLog, (log) => log.lastOffset).pipe(
        Effect.provide(EventLog.layerConfig(sqlLog)),
        withEnv({ OA_EVENTLOG: "sql" })
      )
      assert.strictEqual(last, 42)
    })
  )
})
