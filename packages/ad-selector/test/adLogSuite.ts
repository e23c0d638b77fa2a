/**
 * The behaviour of every `AdLog`, run here over `AdLog.layerMemory` and by @openaudience/storage-sql over its SQL
 * log on SQLite and PostgreSQL: exact round trips, impressions and clicks counted once per decision, conversions
 * once per order, touches of one visitor of one tenant only, statistics that equal a count made independently from
 * random histories, and erasure of a visitor that leaves everyone else's rows. Every test uses tenants of its own.
 */
import { randomUUID } from "node:crypto"
import { assert, type Vitest } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Option } from "effect"
import * as AdLog from "../src/AdLog.js"

const tenantId = (prefix = "adlog"): string => `${prefix}-${randomUUID().slice(0, 8)}`

const day = 86_400_000
const t0 = Date.UTC(2026, 10, 30, 22, 0, 0)

/** A decision of `tenant` with fresh ids. */
export const decisionOf = (tenant: string, fields: Partial<AdLog.DecisionRecord> = {}): AdLog.DecisionRecord => ({
  id: `dec_${randomUUID().replaceAll("-", "")}`,
  tenant,
  campaignId: "cmp-1",
  creativeId: "cr-1",
  productIds: [],
  publisher: "news",
  slot: "top",
  visitor: `v-${randomUUID().slice(0, 8)}`,
  personalized: true,
  propensity: 0.5,
  costMillis: 2500,
  currency: "EUR",
  at: t0,
  ...fields
})

interface Step {
  readonly campaign: number
  readonly visitor: number
  readonly decidedAfter: number
  readonly rendered: number | null
  readonly viewable: number | null
  readonly clicked: number | null
  readonly repeat: boolean
  readonly cost: number
}

const step: fc.Arbitrary<Step> = fc.record({
  campaign: fc.integer({ min: 0, max: 2 }),
  visitor: fc.integer({ min: 0, max: 3 }),
  decidedAfter: fc.integer({ min: 0, max: 4 * day }),
  rendered: fc.option(fc.integer({ min: 0, max: 60_000 })),
  viewable: fc.option(fc.integer({ min: 1000, max: 2 * day })),
  clicked: fc.option(fc.integer({ min: 0, max: 3 * day })),
  repeat: fc.boolean(),
  cost: fc.integer({ min: 0, max: 1_000_000 })
})

export const adLogSuite = (it: Vitest.MethodsNonLive<AdLog.AdLog, true>) => {
  it.effect("round-trips a decision exactly and refuses its id twice", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const tenant = tenantId()
      const decision = decisionOf(tenant, {
        productIds: ["sku-1", "skü/2 ✓", ""],
        visitor: null,
        personalized: false,
        propensity: 0.123456789,
        costMillis: 9_007_199_254_740,
        slot: "slot with spaces"
      })
      yield* log.recordDecision(decision)
      assert.deepStrictEqual(yield* log.decision(decision.id), Option.some(decision))
      assert.isTrue(Option.isNone(yield* log.decision(`${decision.id}x`)))
      const again = yield* Effect.either(log.recordDecision(decision))
      assert.isTrue(Either.isLeft(again) && again.left.reason === "InvalidInput")
    })
  )

  it.effect("records a group of decisions as one write, all or none", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const tenant = tenantId()
      // More than one statement's worth of rows in a SQL log.
      const group = Array.from({ length: 437 }, (_, i) =>
        decisionOf(tenant, { productIds: i % 3 === 0 ? [] : [`p-${i}`, "ü"], costMillis: i, at: t0 + i })
      )
      yield* log.recordDecisions(group)
      for (const decision of [group[0]!, group[199]!, group[200]!, group[436]!]) {
        assert.deepStrictEqual(yield* log.decision(decision.id), Option.some(decision))
      }
      yield* log.recordDecisions([])
      const refusedNone = (refused: ReadonlyArray<AdLog.DecisionRecord>, fresh: ReadonlyArray<AdLog.DecisionRecord>) =>
        Effect.gen(function* () {
          const result = yield* Effect.either(log.recordDecisions(refused))
          assert.isTrue(Either.isLeft(result) && result.left.reason === "InvalidInput")
          for (const decision of fresh) assert.isTrue(Option.isNone(yield* log.decision(decision.id)))
        })
      // An id recorded before, late in a group of more than one statement: nothing of the group is kept.
      const early = Array.from({ length: 250 }, () => decisionOf(tenant))
      yield* refusedNone([...early, group[5]!], early)
      // An id twice in one group.
      const twice = decisionOf(tenant)
      yield* refusedNone([twice, decisionOf(tenant), twice], [twice])
    })
  )

  it.effect("counts an impression once per kind and a click once, and nothing for an unknown decision", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const decision = decisionOf(tenantId())
      yield* log.recordDecision(decision)
      assert.isTrue(yield* log.recordImpression(decision.id, "rendered", t0 + 10))
      assert.isFalse(yield* log.recordImpression(decision.id, "rendered", t0 + 20))
      assert.isTrue(yield* log.recordImpression(decision.id, "viewable", t0 + 1500))
      assert.isFalse(yield* log.recordImpression(decision.id, "viewable", t0 + 1600))
      assert.isTrue(yield* log.recordClick(decision.id, t0 + 5000))
      assert.isFalse(yield* log.recordClick(decision.id, t0 + 6000))
      assert.isFalse(yield* log.recordImpression("dec_unknown", "rendered", t0))
      assert.isFalse(yield* log.recordClick("dec_unknown", t0))
      const [row] = yield* log.dailyStats(decision.tenant, decision.campaignId, {
        since: AdLog.dayOf(t0),
        until: AdLog.dayOf(t0)
      })
      assert.deepStrictEqual(row, {
        day: AdLog.dayOf(t0),
        impressions: 1,
        viewable: 1,
        clicks: 1,
        conversions: 0,
        conversionValue: 0,
        spendMillis: decision.costMillis
      })
    })
  )

  it.effect("gives one visitor's clicks and viewable impressions with one tenant, from a time on", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const tenant = tenantId()
      const other = tenantId()
      const mine = decisionOf(tenant, { visitor: "v-1", productIds: ["boots"], creativeId: "cr-9" })
      const rendered = decisionOf(tenant, { visitor: "v-1" })
      const stranger = decisionOf(tenant, { visitor: "v-2" })
      const otherTenant = decisionOf(other, { visitor: "v-1" })
      for (const d of [mine, rendered, stranger, otherTenant]) yield* log.recordDecision(d)
      yield* log.recordImpression(mine.id, "viewable", t0 + 2000)
      yield* log.recordClick(mine.id, t0 + 9000)
      yield* log.recordImpression(rendered.id, "rendered", t0 + 100)
      for (const d of [stranger, otherTenant]) {
        yield* log.recordImpression(d.id, "viewable", t0 + 3000)
        yield* log.recordClick(d.id, t0 + 4000)
      }
      const touches = yield* log.touches(tenant, "v-1", t0)
      assert.deepStrictEqual(touches, [
        {
          kind: "view",
          decisionId: mine.id,
          campaignId: mine.campaignId,
          creativeId: "cr-9",
          productId: "boots",
          at: t0 + 2000
        },
        {
          kind: "click",
          decisionId: mine.id,
          campaignId: mine.campaignId,
          creativeId: "cr-9",
          productId: "boots",
          at: t0 + 9000
        }
      ])
      assert.deepStrictEqual(
        (yield* log.touches(tenant, "v-1", t0 + 5000)).map((t) => t.kind),
        ["click"]
      )
      assert.deepStrictEqual(yield* log.touches(tenant, "v-3", 0), [])
    })
  )

  it.effect("credits an order once per tenant", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const tenant = tenantId()
      const d = decisionOf(tenant)
      yield* log.recordDecision(d)
      const conversion: AdLog.ConversionRecord = {
        tenant,
        orderId: "order-1",
        decisionId: d.id,
        campaignId: d.campaignId,
        visitor: d.visitor!,
        value: 12_900,
        currency: "EUR",
        at: t0 + day
      }
      assert.isTrue(yield* log.recordConversion(conversion))
      assert.isFalse(yield* log.recordConversion({ ...conversion, value: 1, at: t0 + 2 * day }))
      assert.isTrue(yield* log.recordConversion({ ...conversion, tenant: tenantId() }))
      const rows = yield* log.dailyStats(tenant, d.campaignId, { since: "2026-01-01", until: "2027-12-31" })
      assert.deepStrictEqual(
        rows.map((r) => [r.day, r.conversions, r.conversionValue]),
        [[AdLog.dayOf(t0 + day), 1, 12_900]]
      )
    })
  )

  it.effect("counts per day what an independent count of random histories finds", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.array(step, { maxLength: 25 }), async (steps) => {
            const tenant = tenantId("stats")
            const expected = new Map<string, Map<string, [number, number, number, number]>>()
            const add = (campaign: string, at: number, field: 0 | 1 | 2 | 3, by = 1) => {
              const byDay = expected.get(campaign) ?? new Map()
              expected.set(campaign, byDay)
              const row = byDay.get(AdLog.dayOf(at)) ?? [0, 0, 0, 0]
              row[field] += by
              byDay.set(AdLog.dayOf(at), row)
            }
            await Effect.runPromise(
              Effect.forEach(steps, (s) =>
                Effect.gen(function* () {
                  const at = t0 + s.decidedAfter
                  const d = decisionOf(tenant, {
                    campaignId: `c${s.campaign}`,
                    visitor: `v${s.visitor}`,
                    at,
                    costMillis: s.cost
                  })
                  yield* log.recordDecision(d)
                  const times = (s.repeat ? [1, 2] : [1]).map((n) => n)
                  for (const _ of times) {
                    if (s.rendered !== null) yield* log.recordImpression(d.id, "rendered", at + s.rendered)
                    if (s.viewable !== null) yield* log.recordImpression(d.id, "viewable", at + s.viewable)
                    if (s.clicked !== null) yield* log.recordClick(d.id, at + s.clicked)
                  }
                  if (s.rendered !== null) {
                    add(d.campaignId, at + s.rendered, 0)
                    add(d.campaignId, at + s.rendered, 3, s.cost)
                  }
                  if (s.viewable !== null) add(d.campaignId, at + s.viewable, 1)
                  if (s.clicked !== null) add(d.campaignId, at + s.clicked, 2)
                })
              )
            )
            for (const campaign of ["c0", "c1", "c2"]) {
              const range = { since: AdLog.dayOf(t0 + day), until: AdLog.dayOf(t0 + 4 * day) }
              const rows = await Effect.runPromise(log.dailyStats(tenant, campaign, range))
              const want = [...(expected.get(campaign) ?? new Map()).entries()]
                .filter(([d]) => d >= range.since && d <= range.until)
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .map(([d, [impressions, viewable, clicks, spendMillis]]) => ({
                  day: d,
                  impressions,
                  viewable,
                  clicks,
                  conversions: 0,
                  conversionValue: 0,
                  spendMillis
                }))
              assert.deepStrictEqual(rows, want, campaign)
            }
          }),
          { numRuns: 15, seed: 20261205 }
        )
      )
    })
  )

  it.effect("erases one visitor of one tenant and nothing else", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const tenant = tenantId()
      const other = tenantId()
      const gone = [decisionOf(tenant, { visitor: "v-x" }), decisionOf(tenant, { visitor: "v-x" })]
      const kept = [
        decisionOf(tenant, { visitor: "v-y" }),
        decisionOf(other, { visitor: "v-x" }),
        decisionOf(tenant, { visitor: null })
      ]
      for (const d of [...gone, ...kept]) {
        yield* log.recordDecision(d)
        yield* log.recordClick(d.id, t0 + 10)
      }
      yield* log.recordConversion({
        tenant,
        orderId: "o-x",
        decisionId: gone[0]!.id,
        campaignId: "cmp-1",
        visitor: "v-x",
        value: 100,
        currency: "EUR",
        at: t0 + 20
      })
      assert.strictEqual(yield* log.eraseVisitor(tenant, "v-x"), 3)
      for (const d of gone) assert.isTrue(Option.isNone(yield* log.decision(d.id)))
      for (const d of kept) assert.isTrue(Option.isSome(yield* log.decision(d.id)))
      assert.deepStrictEqual(yield* log.touches(tenant, "v-x", 0), [])
      assert.strictEqual((yield* log.touches(other, "v-x", 0)).length, 1)
      const rows = yield* log.dailyStats(tenant, "cmp-1", { since: AdLog.dayOf(t0), until: AdLog.dayOf(t0) })
      assert.deepStrictEqual(
        rows.map((r) => [r.clicks, r.conversions]),
        [[2, 0]]
      )
      assert.strictEqual(yield* log.eraseVisitor(tenant, "v-x"), 0)
    })
  )

  it.effect("reads credited conversions back once each, in the order credited, page by page from any cursor", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      const tenant = tenantId("since")
      const start = yield* log.conversionCursor
      const d = decisionOf(tenant)
      const gone = decisionOf(tenant)
      yield* log.recordDecision(d)
      yield* log.recordDecision(gone)
      const record = (orderId: string, at: number, decision = d): AdLog.ConversionRecord => ({
        tenant,
        orderId,
        decisionId: decision.id,
        campaignId: decision.campaignId,
        visitor: decision.visitor!,
        value: 100,
        currency: "EUR",
        at
      })
      // Credited out of time order: positions follow the order of crediting, not the conversions' times.
      const credited = [record("o-3", t0 + 3 * day), record("o-1", t0 + day), record("o-erased", t0, gone)]
      for (const c of credited) assert.isTrue(yield* log.recordConversion(c))
      assert.isFalse(yield* log.recordConversion({ ...credited[0]!, value: 5 }), "a repeated order is not new")
      const mine = (entries: ReadonlyArray<AdLog.ConversionEntry>) =>
        entries.filter((e) => e.conversion.tenant === tenant)
      const all = mine(yield* log.conversionsSince(start, 1000))
      assert.deepStrictEqual(
        all.map((e) => e.conversion),
        credited
      )
      for (let i = 1; i < all.length; i++) assert.isAbove(all[i]!.seq, all[i - 1]!.seq)
      assert.isAtLeast(yield* log.conversionCursor, all[2]!.seq)
      // One at a time, each page's last position the next cursor: the same entries, none twice.
      const paged: Array<AdLog.ConversionEntry> = []
      let cursor = start
      for (;;) {
        const page = yield* log.conversionsSince(cursor, 1)
        if (page.length === 0) break
        assert.strictEqual(page.length, 1)
        cursor = page[0]!.seq
        paged.push(...page)
      }
      assert.deepStrictEqual(mine(paged), all)
      assert.deepStrictEqual(mine(yield* log.conversionsSince(all[0]!.seq, 1000)), all.slice(1))
      assert.deepStrictEqual(yield* log.conversionsSince(start, 0), [])
      // Erased conversions are not read back, and their positions are not given again.
      assert.strictEqual(yield* log.eraseVisitor(tenant, gone.visitor!), 2)
      assert.isTrue(yield* log.recordConversion(record("o-4", t0 + 4 * day)))
      const after = mine(yield* log.conversionsSince(start, 1000))
      assert.deepStrictEqual(
        after.map((e) => e.conversion.orderId),
        ["o-3", "o-1", "o-4"]
      )
      assert.isAbove(after[2]!.seq, all[2]!.seq)
    })
  )
}
