/**
 * The ad attribution job end to end, on SQLite and PostgreSQL: decisions with clicks and viewable impressions in the
 * `SqlAdLog`, conversion events stored the way the collector stores them (event store and log record in one
 * transaction), one round of `Workers.adJobs`, then the campaign's `dailyStats`. Campaigns with attribution windows of
 * their own are stored in the `SqlCampaignStore` the job reads them from.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, type Vitest } from "@effect/vitest"
import { AdLog, Campaign, CampaignStore } from "@openaudience/ad-selector"
import type { ConsentReceipt } from "@openaudience/event-schema"
import { Consumer, EventLog, StoredEvents } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { decisionOf } from "../../ad-selector/test/adLogSuite.js"
import * as AdAttribution from "../src/AdAttribution.js"
import { EventStore, SqlEventLog, type StorageError, type StoredEvent, Workers } from "../src/index.js"
import { collect } from "./collect.js"
import { receipt, unique } from "./fixtures.js"

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** A conversion's time: noon UTC, so a few hours either side stay on its day. */
const T = Date.UTC(2026, 11, 3, 12)

/** The stores the job runs over on the database of `database`, with the job's own ports (`SqlAdLog`, campaigns). */
export const suiteLayer = (database: Layer.Layer<SqlClient.SqlClient, StorageError>) =>
  Workers.layerAdJobs.pipe(
    Layer.provideMerge(Layer.mergeAll(SqlEventLog.layer, EventStore.layer)),
    Layer.provideMerge(database)
  )

type Context =
  | AdLog.AdLog
  | CampaignStore.CampaignStore
  | EventLog.EventLog
  | EventStore.EventStore
  | SqlClient.SqlClient

/** A decision of `campaignId` shown to `visitor`, clicked or viewable at `at` (rendered an hour before). */
export const touch = (tenant: string, visitor: string, campaignId: string, kind: "click" | "view", at: number) =>
  Effect.gen(function* () {
    const log = yield* AdLog.AdLog
    const decision = decisionOf(tenant, { visitor, campaignId, at: at - HOUR })
    yield* log.recordDecision(decision)
    yield* log.recordImpression(decision.id, "rendered", at - HOUR)
    assert.isTrue(
      kind === "click"
        ? yield* log.recordClick(decision.id, at)
        : yield* log.recordImpression(decision.id, "viewable", at)
    )
    return decision.id
  })

/** A stored conversion event (a purchase of 129.99 EUR unless `payload` says otherwise). */
export const conversion = (
  tenant: string,
  visitor: string | null,
  receivedAt: number,
  payload: unknown = { orderId: unique("order"), conversionType: "purchase", value: 12999, currency: "EUR", items: [] },
  consent: ConsentReceipt.ConsentReceipt | null = receipt(false)
): StoredEvent => ({
  tenant,
  eventId: unique("evt"),
  type: "conversion",
  site: "shop",
  receivedAt,
  clientTs: receivedAt - 5 * DAY,
  visitor,
  payload,
  consent
})

/** A campaign's conversions and conversion value over the week around `T`, and the days they fell on. */
export const credited = (tenant: string, campaignId: string) =>
  Effect.flatMap(AdLog.AdLog, (log) =>
    Effect.map(
      log.dailyStats(tenant, campaignId, { since: AdLog.dayOf(T - 10 * DAY), until: AdLog.dayOf(T + 3 * DAY) }),
      (rows) => {
        const days = rows.filter((r) => r.conversions > 0)
        return {
          conversions: days.reduce((n, r) => n + r.conversions, 0),
          value: days.reduce((n, r) => n + r.conversionValue, 0),
          days: days.map((r) => r.day)
        }
      }
    )
  )

const none = { conversions: 0, value: 0, days: [] }

/** Stores a campaign `id` of `tenant` with the attribution windows given (none: the defaults). */
export const storeCampaign = (tenant: string, id: string, attribution?: Record<string, number>) =>
  Effect.flatMap(CampaignStore.CampaignStore, (store) => {
    const decoded = Campaign.decode({
      id,
      tenant,
      name: id,
      status: "active",
      tier: { kind: "remnant" },
      schedule: { start: "2026-01-01T00:00:00Z" },
      bid: { amount: 100, currency: "EUR" },
      pacing: "asap",
      creatives: [{ id: "banner", width: 300, height: 250, kind: "static", landingUrl: "https://shop.example/" }],
      ...(attribution === undefined ? {} : { attribution })
    })
    if (decoded._tag === "Left") return Effect.die(new Error(decoded.left))
    return store.put(decoded.right)
  })

/** One round of the attribution job, to the end of the log. */
export const round = Effect.gen(function* () {
  yield* Consumer.step(Workers.adJobs)
  const log = yield* EventLog.EventLog
  assert.strictEqual(yield* log.committed(AdAttribution.consumer), yield* log.lastOffset)
})

export const adAttributionSuite = (it: Vitest.MethodsNonLive<Context, true>) => {
  it.effect("credits a conversion to the clicked campaign on the conversion's day, with its exact value", () =>
    Effect.gen(function* () {
      const tenant = unique("shop")
      yield* touch(tenant, "v1", "boots", "view", T - 3 * DAY)
      yield* touch(tenant, "v1", "boots", "click", T - 2 * DAY)
      yield* collect(
        { ...conversion(tenant, "v1", T), type: "page_view", payload: { orderId: "not-an-order", value: 5 } },
        conversion(tenant, "v1", T)
      )
      yield* round
      assert.deepStrictEqual(yield* credited(tenant, "boots"), {
        conversions: 1,
        value: 12999,
        days: [AdLog.dayOf(T)]
      })
    })
  )

  it.effect("the last click beats a later viewable impression of another campaign", () =>
    Effect.gen(function* () {
      const tenant = unique("shop")
      yield* touch(tenant, "v1", "clicked", "click", T - 3 * DAY)
      yield* touch(tenant, "v1", "viewed", "view", T - HOUR)
      // A click after the conversion never counts.
      yield* touch(tenant, "v1", "late", "click", T + HOUR)
      yield* collect(conversion(tenant, "v1", T))
      yield* round
      assert.strictEqual((yield* credited(tenant, "clicked")).conversions, 1)
      assert.deepStrictEqual(yield* credited(tenant, "viewed"), none)
      assert.deepStrictEqual(yield* credited(tenant, "late"), none)
    })
  )

  it.effect("a view older than a day and a click older than 7 days earn nothing; the windows' ends do", () =>
    Effect.gen(function* () {
      const tenant = unique("shop")
      yield* touch(tenant, "old", "view-old", "view", T - DAY - 1)
      yield* touch(tenant, "old", "click-old", "click", T - 7 * DAY - 1)
      yield* touch(tenant, "edge-view", "view-edge", "view", T - DAY)
      yield* touch(tenant, "edge-click", "click-edge", "click", T - 7 * DAY)
      yield* collect(
        conversion(tenant, "old", T),
        conversion(tenant, "edge-view", T),
        conversion(tenant, "edge-click", T),
        conversion(tenant, "untouched", T)
      )
      yield* round
      assert.deepStrictEqual(yield* credited(tenant, "view-old"), none)
      assert.deepStrictEqual(yield* credited(tenant, "click-old"), none)
      assert.strictEqual((yield* credited(tenant, "view-edge")).conversions, 1)
      assert.strictEqual((yield* credited(tenant, "click-edge")).conversions, 1)
    })
  )

  it.effect("each campaign's windows: viewDays 0 earns no view, clickDays 3 no click 4 days old", () =>
    Effect.gen(function* () {
      const tenant = unique("shop")
      const noView = unique("noview")
      const short = unique("short")
      yield* storeCampaign(tenant, noView, { viewDays: 0 })
      yield* storeCampaign(tenant, short, { clickDays: 3 })
      yield* touch(tenant, "fresh-view", noView, "view", T - HOUR)
      yield* touch(tenant, "old-click", short, "click", T - 4 * DAY)
      yield* touch(tenant, "edge-click", short, "click", T - 3 * DAY)
      // A visitor with an old click of the short campaign and an older one of a campaign with the defaults.
      yield* touch(tenant, "both", short, "click", T - 4 * DAY)
      yield* touch(tenant, "both", "plain", "click", T - 5 * DAY)
      yield* collect(
        conversion(tenant, "fresh-view", T),
        conversion(tenant, "old-click", T),
        conversion(tenant, "edge-click", T),
        conversion(tenant, "both", T)
      )
      yield* round
      assert.deepStrictEqual(yield* credited(tenant, noView), none)
      assert.strictEqual((yield* credited(tenant, short)).conversions, 1, "only the click 3 days old")
      assert.strictEqual((yield* credited(tenant, "plain")).conversions, 1)
    })
  )

  it.effect(
    "reads touches with the longest window of the tenant's campaigns: clickDays 30 earns a click 20 days old",
    () =>
      Effect.gen(function* () {
        const tenant = unique("shop")
        const long = unique("long")
        yield* storeCampaign(tenant, long, { clickDays: 30 })
        yield* touch(tenant, "v1", long, "click", T - 20 * DAY)
        yield* touch(tenant, "v2", "plain", "click", T - 20 * DAY)
        yield* collect(conversion(tenant, "v1", T), conversion(tenant, "v2", T))
        yield* round
        assert.strictEqual((yield* credited(tenant, long)).conversions, 1)
        assert.deepStrictEqual(yield* credited(tenant, "plain"), none)
      })
  )

  it.effect("replaying the log, or an order sent again, never counts it twice", () =>
    Effect.gen(function* () {
      const tenant = unique("shop")
      yield* touch(tenant, "v1", "boots", "click", T - DAY)
      const order = { orderId: "order-7", conversionType: "purchase", value: 5000, currency: "EUR", items: [] }
      // The pixel and the conversions API both report the order, in one commit and in a later one.
      yield* collect(conversion(tenant, "v1", T, order), conversion(tenant, "v1", T + 1, { ...order, value: 9 }))
      yield* round
      yield* collect(conversion(tenant, "v1", T + HOUR, { ...order, value: 7 }))
      yield* round
      assert.deepStrictEqual(yield* credited(tenant, "boots"), { conversions: 1, value: 5000, days: [AdLog.dayOf(T)] })
      // The whole log delivered again to a job that lost its position.
      const log = yield* EventLog.EventLog
      const records = yield* log.read(unique("replay"), 100_000)
      const { items } = StoredEvents.take(records, Number.MAX_SAFE_INTEGER)
      assert.isAbove(items.length, 1)
      yield* resetPosition
      yield* AdAttribution.job.apply(items)
      yield* AdAttribution.job.apply(items)
      assert.deepStrictEqual(yield* credited(tenant, "boots"), { conversions: 1, value: 5000, days: [AdLog.dayOf(T)] })
    })
  )

  it.effect("another tenant's touches of the same pseudonym never count", () =>
    Effect.gen(function* () {
      const tenant = unique("shop")
      const other = unique("other")
      yield* touch(other, "v1", "theirs", "click", T - HOUR)
      yield* collect(conversion(tenant, "v1", T))
      yield* round
      assert.deepStrictEqual(yield* credited(tenant, "theirs"), none)
      assert.deepStrictEqual(yield* credited(other, "theirs"), none)
    })
  )

  it.effect("without consent to measurement, or without a visitor, a conversion is not attributed", () =>
    Effect.gen(function* () {
      const tenant = unique("shop")
      const base = receipt(false)
      const refused: ConsentReceipt.ConsentReceipt = { ...base, decision: { ...base.decision, measurement: false } }
      for (const visitor of ["refused", "none"]) yield* touch(tenant, visitor, "boots", "click", T - HOUR)
      yield* collect(
        conversion(tenant, "refused", T, undefined, refused),
        conversion(tenant, "none", T, undefined, null),
        conversion(tenant, null, T)
      )
      yield* round
      assert.deepStrictEqual(yield* credited(tenant, "boots"), none)
    })
  )
}

/** Forgets the job's position, as a database restored without its `worker_positions` row would. */
const resetPosition = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql`DELETE FROM worker_positions WHERE consumer = ${AdAttribution.consumer}`
)
