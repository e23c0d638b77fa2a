/**
 * `SqlAdLog.layerWriteBehindFromUrl` on a SQLite file: the decision log still behaves as every ad log (the shared
 * suite), its decisions are inserted by the writer thread (no INSERT into `ad_decisions` runs on the caller's
 * connection) and read by other clients, a duplicate id is refused as invalid input without losing the rest of the
 * group, releasing the layer stores what waited, and a thread that cannot open the database leaves the writes to the
 * caller's connection. Budget charges go to the thread with the decisions, in the same transaction: a flush that
 * fails stores neither, and the charges are stored once by the next.
 */
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Statement from "@effect/sql/Statement"
import { assert, describe, it, layer } from "@effect/vitest"
import { AdLog, Budget, WriteBehind } from "@openaudience/ad-selector"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { adLogSuite, decisionOf } from "../../ad-selector/test/adLogSuite.js"
import * as AdDecisionWriter from "../src/internal/adDecisionWriter.js"
import { Database, SqlAdLog, SqlDeliveryStore } from "../src/index.js"
import { tempDir, unique } from "./fixtures.js"

/** The write-behind over a new SQLite file, with a client of its own on the same file. */
const threaded = (interval: Duration.DurationInput) =>
  Layer.unwrapScoped(
    Effect.map(tempDir, (dir) => {
      const url = `sqlite:${join(dir, "ads.db")}`
      return SqlAdLog.layerWriteBehindFromUrl(url, { interval }).pipe(Layer.provideMerge(Database.layerFromUrl(url)))
    })
  )

layer(threaded("10 millis"), { excludeTestServices: true })("AdLog behind the threaded write-behind", adLogSuite)

/** The statements `effect` runs on the caller's connection, compiled. */
const statementsOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const texts: Array<string> = []
    const record: Statement.Statement.Transformer = (self) =>
      Effect.sync(() => {
        texts.push(self.compile()[0])
        return self
      })
    return Effect.map(Statement.withTransformer(effect, record), (result) => ({ result, texts }))
  })

/**
 * The threaded write-behind on a new SQLite file, flushing only when told (an hour between its own flushes), and the
 * file's URL.
 */
const builtOnFile = Effect.gen(function* () {
  const dir = yield* tempDir
  const url = `sqlite:${join(dir, "ads.db")}`
  const context = yield* Layer.build(
    SqlAdLog.layerWriteBehindFromUrl(url, { interval: "1 hour" }).pipe(Layer.provideMerge(Database.layerFromUrl(url)))
  )
  return {
    url,
    log: Context.get(context, AdLog.AdLog),
    delivery: Context.get(context, Budget.DeliveryStore),
    writeBehind: Context.get(context, WriteBehind.WriteBehind)
  }
})

describe("SqlAdLog.layerWriteBehindFromUrl (SQLite file)", () => {
  it.scoped("inserts decisions on its thread, readable by another client, and refuses a duplicate id alone", () =>
    Effect.gen(function* () {
      const { url, log, writeBehind } = yield* builtOnFile
      const tenant = unique("thr")
      const decisions = Array.from({ length: 257 }, (_, i) =>
        decisionOf(tenant, { id: `${tenant}-d${i}`, at: Date.UTC(2026, 11, 7, 9) + i })
      )
      yield* log.recordDecisions(decisions)
      const { texts } = yield* statementsOf(writeBehind.flush)
      const inserts = texts.filter((text) => /INSERT\s+INTO\s+ad_decisions/i.test(text))
      assert.strictEqual(inserts.length, 0, `the caller's connection inserted decisions: ${inserts[0]?.slice(0, 80)}…`)
      // Another client of the file reads them.
      const other = yield* Effect.map(
        Layer.build(SqlAdLog.layer.pipe(Layer.provide(Database.layerFromUrl(url)))),
        (built) => Context.get(built, AdLog.AdLog)
      )
      for (const decision of [decisions[0]!, decisions[128]!, decisions[256]!]) {
        assert.deepStrictEqual(yield* other.decision(decision.id), Option.some(decision))
      }
      // A group holding an id stored already: that one is dropped, the others stored.
      const fresh = decisionOf(tenant, { id: `${tenant}-fresh`, at: Date.UTC(2026, 11, 7, 10) })
      yield* other.recordDecision(decisionOf(tenant, { id: `${tenant}-taken`, at: Date.UTC(2026, 11, 7, 10) }))
      yield* log.recordDecisions([fresh, decisionOf(tenant, { id: `${tenant}-taken`, at: Date.UTC(2026, 11, 7, 11) })])
      // The group fails (the flush says so), then goes one by one.
      const flushed = yield* Effect.either(writeBehind.flush)
      assert.isTrue(flushed._tag === "Left" && /the id exists/.test(flushed.left.message))
      assert.deepStrictEqual(yield* other.decision(fresh.id), Option.some(fresh))
      const taken = yield* other.decision(`${tenant}-taken`)
      assert.strictEqual(Option.getOrThrow(taken).at, Date.UTC(2026, 11, 7, 10))
      assert.strictEqual(writeBehind.pending().decisions, 0)
    })
  )

  it.scoped("adds a flush's charges on the thread in the decisions' transaction, all or nothing, never twice", () =>
    Effect.gen(function* () {
      const { url, log, delivery, writeBehind } = yield* builtOnFile
      // Another client's view of the same file.
      const other = yield* Effect.map(
        Layer.build(
          Layer.merge(SqlAdLog.layer, SqlDeliveryStore.layer).pipe(Layer.provide(Database.layerFromUrl(url)))
        ),
        (built) => ({ log: Context.get(built, AdLog.AdLog), delivery: Context.get(built, Budget.DeliveryStore) })
      )
      const tenant = unique("chg")
      const noLimit = { daily: undefined, total: undefined }
      const monday = Date.UTC(2026, 11, 7, 9)
      const tuesday = Date.UTC(2026, 11, 8, 9)
      const day = (at: number) => Budget.add(Budget.zero, 0, at).day

      // A campaign with no row yet, charged twice on one day and once the next; another once.
      assert.isTrue(yield* delivery.charge(`${tenant}-a`, 1_250, noLimit, monday))
      assert.isTrue(yield* delivery.charge(`${tenant}-a`, 750, noLimit, monday + 1))
      assert.isTrue(yield* delivery.charge(`${tenant}-b`, 40, noLimit, monday))
      yield* log.recordDecision(decisionOf(tenant, { id: `${tenant}-d1`, at: monday }))
      const { texts } = yield* statementsOf(writeBehind.flush)
      // Nor read the spend back: the thread's reply carries the charged campaigns' rows.
      const onCaller = texts.filter((text) =>
        /UPDATE\s+ad_delivery|INSERT\s+INTO\s+ad_(delivery|decisions)|FROM\s+ad_delivery/i.test(text)
      )
      assert.deepStrictEqual(onCaller, [], "the caller's connection wrote the flush or read it back")
      assert.deepStrictEqual(yield* delivery.read(`${tenant}-a`), yield* other.delivery.read(`${tenant}-a`))
      assert.deepStrictEqual((yield* other.delivery.read(`${tenant}-a`)).spend, {
        day: day(monday),
        today: 2_000,
        total: 2_000
      })
      assert.deepStrictEqual((yield* other.delivery.read(`${tenant}-b`)).spend, {
        day: day(monday),
        today: 40,
        total: 40
      })
      assert.isTrue(Option.isSome(yield* other.log.decision(`${tenant}-d1`)))

      // The next day: today's spend starts again, the total goes on.
      assert.isTrue(yield* delivery.charge(`${tenant}-a`, 300, noLimit, tuesday))
      yield* writeBehind.flush
      assert.deepStrictEqual((yield* other.delivery.read(`${tenant}-a`)).spend, {
        day: day(tuesday),
        today: 300,
        total: 2_300
      })

      // A flush whose decisions cannot all be stored (a duplicate id) stores none of its charges...
      yield* other.log.recordDecision(decisionOf(tenant, { id: `${tenant}-taken`, at: tuesday }))
      assert.isTrue(yield* delivery.charge(`${tenant}-a`, 5, noLimit, tuesday + 1))
      yield* log.recordDecision(decisionOf(tenant, { id: `${tenant}-taken`, at: tuesday + 2 }))
      const failed = yield* Effect.either(writeBehind.flush)
      assert.isTrue(failed._tag === "Left")
      assert.deepStrictEqual((yield* other.delivery.read(`${tenant}-a`)).spend, {
        day: day(tuesday),
        today: 300,
        total: 2_300
      })
      // ... which the ledger still counts, and the next flush stores once.
      assert.deepStrictEqual((yield* delivery.read(`${tenant}-a`)).spend, {
        day: day(tuesday),
        today: 305,
        total: 2_305
      })
      yield* writeBehind.flush
      yield* writeBehind.flush
      assert.deepStrictEqual((yield* other.delivery.read(`${tenant}-a`)).spend, {
        day: day(tuesday),
        today: 305,
        total: 2_305
      })
      assert.deepStrictEqual(writeBehind.pending(), { decisions: 0, charges: 0 })
    })
  )

  it.scoped("stores what waited when the layer is released", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const url = `sqlite:${join(dir, "ads.db")}`
      const tenant = unique("rel")
      const decision = decisionOf(tenant, { id: `${tenant}-d1`, at: Date.UTC(2026, 11, 7, 9) })
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        SqlAdLog.layerWriteBehindFromUrl(url, { interval: "1 hour" }).pipe(
          Layer.provideMerge(Database.layerFromUrl(url))
        ),
        scope
      )
      yield* Context.get(context, AdLog.AdLog).recordDecision(decision)
      yield* Scope.close(scope, { _tag: "Success", value: undefined } as never)
      const sql = yield* Effect.map(Layer.build(Database.layerFromUrl(url)), (built) =>
        Context.get(built, SqlClient.SqlClient)
      )
      const rows = yield* sql<{ readonly id: string }>`SELECT id FROM ad_decisions WHERE tenant = ${tenant}`
      assert.deepStrictEqual(
        rows.map((row) => row.id),
        [decision.id]
      )
    })
  )

  it.scoped("a thread that cannot open the database hands the writes back to the caller", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const warnings: Array<string> = []
      // No such file: the thread opens with `fileMustExist` and fails.
      const writer = yield* AdDecisionWriter.make(join(dir, "missing.db"), (message) => warnings.push(message))
      assert.isUndefined(writer.write([]))
      assert.strictEqual(warnings.length, 1)
      assert.match(warnings[0]!, /could not open/)
    })
  )
})
