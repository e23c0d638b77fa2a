/**
 * `SqlAdLog` on SQLite behaves like ad-selector's in-memory `AdLog` (the shared suite:
 * packages/ad-selector/test/adLogSuite.ts) and passes the SQL log's own tests; clients of one database file
 * counting one impression at once count it once.
 */
import { join } from "node:path"
import { assert, describe, it, layer } from "@effect/vitest"
import { AdLog } from "@openaudience/ad-selector"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { adLogSuite, decisionOf } from "../../ad-selector/test/adLogSuite.js"
import { Database, SqlAdLog } from "../src/index.js"
import { sqliteLayer, tempDir, unique } from "./fixtures.js"
import { sqlAdLogSuite } from "./sqlAdLogSuite.js"

layer(SqlAdLog.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "AdLog over SqlAdLog (SQLite file)",
  (it) => {
    adLogSuite(it)
    sqlAdLogSuite(it)
  }
)

layer(SqlAdLog.layer.pipe(Layer.provide(Database.layerFromUrl("sqlite::memory:"))), {
  excludeTestServices: true
})("AdLog over SqlAdLog (SQLite in memory)", (it) => adLogSuite(it))

/** An ad log on a client of its own of the database at `url`, open for the current scope. */
const logOn = (url: string) =>
  Effect.map(Layer.build(SqlAdLog.layer.pipe(Layer.provide(Database.layerFromUrl(url)))), (context) =>
    Context.get(context, AdLog.AdLog)
  )

describe("SqlAdLog (SQLite file, several clients)", () => {
  it.scoped("counts an impression and a click once when several clients receive them at once", () =>
    Effect.gen(function* () {
      const url = `sqlite:${join(yield* tempDir, "adlog.db")}`
      const logs = [yield* logOn(url), yield* logOn(url), yield* logOn(url)]
      const decision = decisionOf(unique("ten"), { at: Date.UTC(2026, 11, 5) })
      yield* logs[0]!.recordDecision(decision)
      const answers = yield* Effect.all(
        logs.flatMap((log) => [
          log.recordImpression(decision.id, "rendered", decision.at + 5),
          log.recordImpression(decision.id, "rendered", decision.at + 6),
          log.recordClick(decision.id, decision.at + 9)
        ]),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(answers.filter((a, i) => i % 3 !== 2 && a).length, 1)
      assert.strictEqual(answers.filter((a, i) => i % 3 === 2 && a).length, 1)
      const day = AdLog.dayOf(decision.at)
      const [row] = yield* logs[2]!.dailyStats(decision.tenant, decision.campaignId, { since: day, until: day })
      assert.strictEqual(row?.impressions, 1)
      assert.strictEqual(row?.spendMillis, decision.costMillis)
      assert.deepStrictEqual(yield* SqlAdLog.migrate.pipe(Effect.provide(Database.layerFromUrl(url))), [])
    })
  )
})
