/**
 * What the SQL ad log must do beyond the port's shared suite, on SQLite and PostgreSQL: impressions and clicks
 * received at once count once; statistics over any range strings (malformed, reversed, with years far out) answer
 * as the in-memory log does; touches come in the in-memory log's order; values a BIGINT cannot hold are refused;
 * erasure leaves no row of the visitor in either table.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, type Vitest } from "@effect/vitest"
import { AdLog } from "@openaudience/ad-selector"
import { Effect, FastCheck as fc, Option } from "effect"
import { decisionOf } from "../../ad-selector/test/adLogSuite.js"
import { unique } from "./fixtures.js"

const DAY = 86_400_000
const t0 = Date.UTC(2026, 11, 30, 20)

/** Range bounds: real days near the data, prefixes, junk and far years. */
const bound = fc.oneof(
  fc.integer({ min: -3, max: 5 }).map((n) => AdLog.dayOf(t0 + n * DAY)),
  fc.constantFrom("", "2026", "2026-12", "2026-12-3", "2026-12-31T", "2027", "2027-01-01 ", "9999-12-31", "0000-01-01"),
  fc.constantFrom("1970-01-01", "2026-13-01", "2026-12-32", "~", "+275760-09-13", "-000001-01-01", "２０２６")
)

export const sqlAdLogSuite = (it: Vitest.MethodsNonLive<AdLog.AdLog | SqlClient.SqlClient, true>) => {
  it.effect("counts an impression of each kind and a click once when they arrive at once", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const decision = decisionOf(unique("ten"), { at: t0 })
      yield* log.recordDecision(decision)
      const answers = yield* Effect.all(
        Array.from({ length: 30 }, (_, i) =>
          i % 3 === 0
            ? log.recordImpression(decision.id, "rendered", t0 + i)
            : i % 3 === 1
              ? log.recordImpression(decision.id, "viewable", t0 + i)
              : log.recordClick(decision.id, t0 + i)
        ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(answers.filter(Boolean).length, 3)
      const stats = yield* log.dailyStats(decision.tenant, decision.campaignId, {
        since: AdLog.dayOf(t0),
        until: AdLog.dayOf(t0)
      })
      assert.deepStrictEqual(
        stats.map((r) => [r.impressions, r.viewable, r.clicks]),
        [[1, 1, 1]]
      )
    })
  )

  it.effect("gives conversions credited at once distinct positions, read back in order with none skipped", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const tenant = unique("ten")
      const decision = decisionOf(tenant, { at: t0 })
      yield* log.recordDecision(decision)
      const start = yield* log.conversionCursor
      const orders = Array.from({ length: 24 }, (_, i) => `order-${i}`)
      const fresh = yield* Effect.all(
        // Every order twice: each is credited once.
        [...orders, ...orders].map((orderId, i) =>
          log.recordConversion({
            tenant,
            orderId,
            decisionId: decision.id,
            campaignId: decision.campaignId,
            visitor: decision.visitor!,
            value: i,
            currency: "EUR",
            at: t0 + i
          })
        ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(fresh.filter(Boolean).length, orders.length)
      const read = (yield* log.conversionsSince(start, 1000)).filter((e) => e.conversion.tenant === tenant)
      assert.deepStrictEqual(read.map((e) => e.conversion.orderId).sort(), [...orders].sort())
      for (let i = 1; i < read.length; i++) assert.isAbove(read[i]!.seq, read[i - 1]!.seq)
      assert.isAtLeast(yield* log.conversionCursor, read[read.length - 1]!.seq)
    })
  )

  it.effect("answers statistics over any range strings, touches and erasure as the in-memory log does", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const reference = AdLog.makeMemory()
      const tenant = unique("ten")
      const both = <A>(f: (l: AdLog.Service) => Effect.Effect<A, AdLog.AdLogError>) =>
        Effect.flatMap(f(log), (a) => Effect.map(f(reference), (b) => [a, b] as const))
      // Decisions around the turn of the year, times on day boundaries included, one at the epoch.
      const offsets = [-2 * DAY, -1, 0, 1, 4 * 3_600_000 - 1, 4 * 3_600_000, DAY, 2 * DAY + 17, 3 * DAY - 1]
      for (const [i, offset] of offsets.entries()) {
        const d = decisionOf(tenant, {
          at: t0 + offset,
          visitor: `v${i % 3}`,
          costMillis: 1000 + i,
          productIds: i % 2 === 0 ? [`p${i}`, "x"] : []
        })
        yield* both((l) => l.recordDecision(d))
        yield* both((l) => l.recordImpression(d.id, "rendered", d.at + (i % 2) * DAY))
        if (i % 3 !== 0) yield* both((l) => l.recordImpression(d.id, "viewable", d.at + 1000))
        if (i % 2 === 0) yield* both((l) => l.recordClick(d.id, d.at + 1000))
        yield* both((l) =>
          l.recordConversion({
            tenant,
            orderId: `o${i}`,
            decisionId: d.id,
            campaignId: d.campaignId,
            visitor: d.visitor!,
            value: 100 * i + 0.25,
            currency: "EUR",
            at: d.at + 2 * DAY
          })
        )
      }
      const epoch = decisionOf(tenant, { at: 0, visitor: "v0" })
      yield* both((l) => l.recordDecision(epoch))
      yield* both((l) => l.recordImpression(epoch.id, "rendered", 0))
      const ranges = fc.sample(fc.tuple(bound, bound), { seed: 97, numRuns: 150 })
      for (const [since, until] of [...ranges, ["1970-01-01", "1970-01-01"] as const]) {
        const [got, want] = yield* both((l) => l.dailyStats(tenant, "cmp-1", { since, until }))
        assert.deepStrictEqual(got, want, `${since} to ${until}`)
      }
      for (const visitor of ["v0", "v1", "v2", "v3"]) {
        for (const since of [0, t0, t0 + 1000, t0 + DAY]) {
          const [got, want] = yield* both((l) => l.touches(tenant, visitor, since))
          assert.deepStrictEqual(got, want, `${visitor} since ${since}`)
        }
      }
      const [erased, erasedToo] = yield* both((l) => l.eraseVisitor(tenant, "v1"))
      assert.strictEqual(erased, erasedToo)
      const sql = yield* SqlClient.SqlClient
      assert.deepStrictEqual(yield* sql`SELECT id FROM ad_decisions WHERE tenant = ${tenant} AND visitor = ${"v1"}`, [])
      assert.deepStrictEqual(
        yield* sql`SELECT order_id FROM ad_conversions WHERE tenant = ${tenant} AND visitor = ${"v1"}`,
        []
      )
      const range = { since: "2026", until: "2027-12" }
      const [got, want] = yield* both((l) => l.dailyStats(tenant, "cmp-1", range))
      assert.deepStrictEqual(got, want)
    })
  )

  it.effect("refuses times and costs a BIGINT cannot hold, and a kind of impression it does not know", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const tenant = unique("ten")
      for (const fields of [{ costMillis: 0.5 }, { at: Number.NaN }, { costMillis: 2 ** 60 }]) {
        const error = yield* Effect.flip(log.recordDecision(decisionOf(tenant, fields)))
        assert.strictEqual(error.reason, "InvalidInput")
        // In a group, late: nothing of the group is stored.
        const fine = decisionOf(tenant)
        const refused = yield* Effect.flip(log.recordDecisions([fine, decisionOf(tenant), decisionOf(tenant, fields)]))
        assert.strictEqual(refused.reason, "InvalidInput")
        assert.isTrue(Option.isNone(yield* log.decision(fine.id)))
      }
      const d = decisionOf(tenant)
      yield* log.recordDecision(d)
      assert.strictEqual((yield* Effect.flip(log.recordClick(d.id, 1.5))).reason, "InvalidInput")
      const odd = "clicked" as unknown as AdLog.ImpressionKind
      assert.strictEqual((yield* Effect.flip(log.recordImpression(d.id, odd, t0))).reason, "InvalidInput")
      assert.isTrue(yield* log.recordClick(d.id, t0))
    })
  )
}
