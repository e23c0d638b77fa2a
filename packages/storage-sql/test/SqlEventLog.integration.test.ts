import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SqlEventLog } from "../src/index.js"
import { eventLogSuite } from "../../eventlog/test/eventLogSuite.js"
import { postgresSchemaLayer, postgresUrl, probePostgres, unique } from "./fixtures.js"
import { sqlEventLogSuite } from "./sqlEventLogSuite.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(SqlEventLog.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_log"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("EventLog (PostgreSQL)", (it) => {
    eventLogSuite(it)
    sqlEventLogSuite(it)

    it.effect("stores payloads as JSONB and offsets as BIGINT", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{ column_name: string; data_type: string }>`
          SELECT column_name, data_type FROM information_schema.columns
          WHERE table_name = 'event_log' AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]))
        assert.strictEqual(types.payload, "jsonb")
        assert.strictEqual(types.log_offset, "bigint")
      })
    )

    it.effect("concurrent appends get distinct offsets and a reader never skips a record", () =>
      Effect.gen(function* () {
        const log = yield* SqlEventLog.make
        const consumer = unique("race")
        yield* log.commit(consumer, yield* log.lastOffset)
        const writers = Effect.forEach(
          Array.from({ length: 20 }, (_, w) => w),
          (w) => log.append(Array.from({ length: 25 }, (_, i) => ({ tenant: "t", key: `w${w}`, payload: i }))),
          { concurrency: 8 }
        )
        const delivered: Array<number> = []
        const reader = Effect.gen(function* () {
          for (let i = 0; i < 400; i++) {
            const records = yield* log.read(consumer, 50)
            if (records.length > 0) {
              delivered.push(...records.map((r) => r.offset))
              yield* log.commit(consumer, records[records.length - 1]!.offset)
            }
          }
        })
        const [offsets] = yield* Effect.all([writers, reader], { concurrency: 2 })
        const all = offsets.flat()
        assert.strictEqual(new Set(all).size, 500)
        // Drain what the reader had not reached yet, then check nothing was skipped.
        for (;;) {
          const records = yield* log.read(consumer, 500)
          if (records.length === 0) break
          delivered.push(...records.map((r) => r.offset))
          yield* log.commit(consumer, records[records.length - 1]!.offset)
        }
        assert.deepStrictEqual(
          [...delivered].sort((a, b) => a - b),
          [...all].sort((a, b) => a - b)
        )
        assert.deepStrictEqual(
          delivered,
          [...delivered].sort((a, b) => a - b)
        )
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("EventLog (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`EventLog (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the EventLog suite on PostgreSQL", () => {})
  })
}
