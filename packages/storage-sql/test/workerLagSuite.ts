/** `WorkerLag.read` against a live SQL event log: records and seconds behind, back to zero once committed. */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { SqlEventLog, WorkerLag, Workers } from "../src/index.js"
import { unique } from "./fixtures.js"

export const workerLagSuite = (it: Vitest.MethodsNonLive<SqlClient.SqlClient, true>) => {
  it.effect("reads each consumer's records and seconds behind the log, and zero once it has committed all", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const log = yield* SqlEventLog.make
      const [behind, caughtUp] = [unique("lag-behind"), unique("lag-caught-up")]
      const byConsumer = Effect.map(WorkerLag.read([behind, caughtUp]), (lags) =>
        Object.fromEntries(lags.map((lag) => [lag.consumer, lag]))
      )
      yield* log.append([{ tenant: "t", key: "k", payload: "before" }])
      yield* log.commit(behind, yield* log.lastOffset)
      yield* log.commit(caughtUp, yield* log.lastOffset)
      assert.deepStrictEqual(yield* byConsumer, {
        [behind]: { consumer: behind, records: 0, seconds: 0 },
        [caughtUp]: { consumer: caughtUp, records: 0, seconds: 0 }
      })

      const offsets = yield* log.append([1, 2, 3].map((n) => ({ tenant: "t", key: "k", payload: n })))
      // The oldest pending record was appended two minutes ago; the others just now.
      yield* sql`UPDATE event_log SET appended_at = appended_at - 120000 WHERE log_offset = ${offsets[0]!}`
      yield* log.commit(caughtUp, offsets[2]!)
      let lag = yield* byConsumer
      assert.strictEqual(lag[behind]!.records, 3)
      assert.isAtLeast(lag[behind]!.seconds, 120)
      assert.isBelow(lag[behind]!.seconds, 600)
      assert.deepStrictEqual(lag[caughtUp], { consumer: caughtUp, records: 0, seconds: 0 })

      yield* log.commit(behind, offsets[0]!)
      lag = yield* byConsumer
      assert.strictEqual(lag[behind]!.records, 2)
      assert.isBelow(lag[behind]!.seconds, 60)

      yield* log.commit(behind, offsets[2]!)
      assert.deepStrictEqual((yield* byConsumer)[behind], { consumer: behind, records: 0, seconds: 0 })
    })
  )

  it.effect("a consumer that never committed is behind by the whole log", () =>
    Effect.gen(function* () {
      const log = yield* SqlEventLog.make
      yield* log.append([{ tenant: "t", key: "k", payload: "x" }])
      const [lag] = yield* WorkerLag.read([unique("lag-new")])
      assert.strictEqual(lag?.records, yield* log.lastOffset)
      assert.isAtLeast(lag?.seconds ?? -1, 0)
    })
  )

  it.effect("the standard consumers are the standard workers' jobs", () =>
    Effect.sync(() =>
      assert.deepStrictEqual(
        WorkerLag.standardConsumers,
        Workers.jobs.map((job) => job.name)
      )
    )
  )
}
