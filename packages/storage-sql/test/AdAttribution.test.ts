/**
 * The ad attribution job: which stored events become which conversions (hostile payloads included), the plain
 * function over an in-memory `AdLog`, the job end to end on SQLite (the shared suite), and the job wired into the
 * standard workers, in this process and on their thread.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { AdLog, Campaign } from "@openaudience/ad-selector"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { join } from "node:path"
import * as AdAttribution from "../src/AdAttribution.js"
import {
  AudienceStore,
  Database,
  EventStore,
  type SequencedEvent,
  SqlAdLog,
  SqlEventLog,
  SqlMembershipStore,
  Workers
} from "../src/index.js"
import { adAttributionSuite, conversion, credited, suiteLayer, touch } from "./adAttributionSuite.js"
import { collect } from "./collect.js"
import { receipt, sqliteLayer, tempDir, unique } from "./fixtures.js"

const DAY = 86_400_000
const T = Date.UTC(2026, 11, 3, 12)

const sequenced = (event: ReturnType<typeof conversion>, seq = 1): SequencedEvent => ({ ...event, seq })

describe("AdAttribution.candidateOf", () => {
  it("reads the order id, exact value and currency from the payload and the time from receivedAt", () => {
    const event = sequenced(conversion("t", "v", T))
    const candidate = AdAttribution.candidateOf(event)
    assert.deepStrictEqual(candidate, {
      tenant: "t",
      visitor: "v",
      conversion: {
        orderId: (event.payload as { orderId: string }).orderId,
        at: T,
        value: { amount: 12999, currency: "EUR" }
      }
    })
  })

  it("uses the event id without an order id, the items' sum without a value, 0 for a lead", () => {
    const items = sequenced(
      conversion("t", "v", T, {
        orderId: "",
        conversionType: "purchase",
        currency: "JPY",
        items: [
          { productId: "a", quantity: 3, unitPrice: 1200 },
          { productId: "b", quantity: 1, unitPrice: 5 }
        ]
      })
    )
    const read = AdAttribution.candidateOf(items)
    assert.isObject(read)
    if (typeof read === "string") return
    assert.strictEqual(read.conversion.orderId, items.eventId)
    assert.deepStrictEqual(read.conversion.value, { amount: 3605, currency: "JPY" })
    const lead = AdAttribution.candidateOf(sequenced(conversion("t", "v", T, { conversionType: "lead", items: [] })))
    assert.deepStrictEqual(typeof lead === "string" ? lead : lead.conversion.value, { amount: 0, currency: "" })
  })

  it("skips other types, anonymous events, events without consent to measurement, unreadable values", () => {
    const base = receipt(false)
    const cases: ReadonlyArray<[SequencedEvent, AdAttribution.Skip]> = [
      [{ ...sequenced(conversion("t", "v", T)), type: "page_view" }, "NotConversion"],
      [sequenced(conversion("t", null, T)), "Anonymous"],
      [sequenced(conversion("t", "", T)), "Anonymous"],
      [sequenced(conversion("t", "v", T, undefined, null)), "NoMeasurementConsent"],
      [
        sequenced(conversion("t", "v", T, undefined, { ...base, decision: { ...base.decision, measurement: false } })),
        "NoMeasurementConsent"
      ],
      [sequenced(conversion("t", "v", T, { value: 19.99, currency: "EUR" })), "InvalidValue"],
      [sequenced(conversion("t", "v", T, { value: -1, currency: "EUR" })), "InvalidValue"],
      [sequenced(conversion("t", "v", T, { value: "100", currency: "EUR" })), "InvalidValue"],
      [sequenced(conversion("t", "v", T, { value: 100 })), "InvalidValue"],
      [sequenced(conversion("t", "v", T, { value: 100, currency: "XXY" })), "InvalidValue"],
      [sequenced(conversion("t", "v", T, { value: 2 ** 53, currency: "EUR" })), "InvalidValue"],
      [
        sequenced(conversion("t", "v", T, { currency: "EUR", items: [{ quantity: 2 ** 30, unitPrice: 2 ** 30 }, {}] })),
        "InvalidValue"
      ],
      [
        sequenced(conversion("t", "v", T, { currency: "EUR", items: [{ quantity: 2 ** 27, unitPrice: 2 ** 27 }] })),
        "InvalidValue"
      ]
    ]
    for (const [event, skip] of cases)
      assert.strictEqual<unknown>(AdAttribution.candidateOf(event), skip, JSON.stringify(event))
  })

  it("never throws on any payload; what it reads is exact money and a non-empty order id", () =>
    FastCheck.assert(
      FastCheck.property(FastCheck.anything({ withObjectString: true, withNullPrototype: true }), (payload) => {
        const read = AdAttribution.candidateOf(sequenced(conversion("t", "v", T, payload)))
        if (typeof read === "string") return assert.oneOf(read, ["InvalidValue"])
        assert.isTrue(Number.isSafeInteger(read.conversion.value.amount) && read.conversion.value.amount >= 0)
        assert.isAbove(read.conversion.orderId.length, 0)
        assert.strictEqual(read.conversion.at, T)
      }),
      { seed: 14, numRuns: 500 }
    ))

  it("reads touches from the longest window", () => {
    assert.strictEqual(AdAttribution.lookback(), 7 * DAY)
    const long = { click: Duration.days(2), view: Duration.days(30) }
    assert.strictEqual(AdAttribution.lookback({ campaigns: new Map([["c", long]]) }), 30 * DAY)
  })
})

describe("AdAttribution.windowsOf", () => {
  it("takes each campaign's own windows, the options' per-campaign entries over them, and their fallback", () => {
    const campaign = (id: string, attribution: Record<string, number>) =>
      Either.getOrThrow(
        Campaign.decode({
          id,
          tenant: "t",
          name: id,
          status: "active",
          tier: { kind: "remnant" },
          schedule: { start: "2026-01-01T00:00:00Z" },
          bid: { amount: 100, currency: "EUR" },
          pacing: "asap",
          creatives: [{ id: "b", width: 300, height: 250, kind: "static", landingUrl: "https://shop.example/" }],
          attribution
        })
      )
    const override = { click: Duration.days(60), view: Duration.days(2) }
    const fallback = { click: Duration.days(1), view: Duration.zero }
    const windows = AdAttribution.windowsOf([campaign("a", { clickDays: 3, viewDays: 0 }), campaign("b", {})], {
      windows: { campaigns: new Map([["b", override]]), fallback }
    })
    assert.deepStrictEqual(windows.campaigns?.get("a"), { click: Duration.days(3), view: Duration.days(0) })
    assert.deepStrictEqual(windows.campaigns?.get("b"), override)
    assert.strictEqual(windows.fallback, fallback)
    assert.strictEqual(AdAttribution.lookback(windows), 60 * DAY)
  })
})

describe("AdAttribution.attributeEvents over the in-memory AdLog", () => {
  it.effect("credits each order once however often and in whatever batches its events arrive", () =>
    Effect.gen(function* () {
      const log = yield* AdLog.AdLog
      yield* touch("t", "v1", "boots", "click", T - DAY)
      const order = { orderId: "o-1", conversionType: "purchase", value: 100, currency: "EUR", items: [] }
      const events = [
        sequenced(conversion("t", "v1", T, order), 1),
        sequenced(conversion("t", "v1", T + 5, { ...order, value: 1 }), 2),
        sequenced(conversion("t", "v2", T), 3)
      ]
      const first = yield* AdAttribution.attributeEvents(events)
      assert.deepStrictEqual(
        first.map((o) => (o.skipped === undefined ? [o.reason, o.recorded] : o.skipped)),
        [["LastClick", true], "RepeatedOrder", ["NoTouch", false]]
      )
      const again = yield* AdAttribution.attributeEvents(events)
      assert.deepStrictEqual(
        again.map((o) => (o.skipped === undefined ? o.recorded : o.skipped)),
        [false, "RepeatedOrder", false]
      )
      const [row] = yield* log.dailyStats("t", "boots", { since: AdLog.dayOf(T), until: AdLog.dayOf(T) })
      assert.deepStrictEqual([row?.conversions, row?.conversionValue], [1, 100])
    }).pipe(Effect.provide(AdLog.layerMemory))
  )

  it.effect("per-campaign windows: a campaign with a 30-day click window earns an older click", () =>
    Effect.gen(function* () {
      yield* touch("t", "v1", "long", "click", T - 20 * DAY)
      const windows = { campaigns: new Map([["long", { click: Duration.days(30), view: Duration.days(1) }]]) }
      const [outcome] = yield* AdAttribution.attributeEvents([sequenced(conversion("t", "v1", T))], { windows })
      assert.deepStrictEqual(outcome?.skipped === undefined ? [outcome?.reason, outcome?.recorded] : [], [
        "LastClick",
        true
      ])
      // With the default windows the touch is older than the 7 days read: none is found.
      const [none] = yield* AdAttribution.attributeEvents([sequenced(conversion("t", "v1", T))])
      assert.deepStrictEqual(none !== undefined && none.skipped === undefined ? [none.reason, none.recorded] : [], [
        "NoTouch",
        false
      ])
    }).pipe(Effect.provide(AdLog.layerMemory))
  )
})

layer(suiteLayer(sqliteLayer), { excludeTestServices: true })("AdAttribution job (SQLite file)", (it) =>
  adAttributionSuite(it)
)

/** Waits until the campaign shows `n` conversions (the workers run in the background). */
const creditedEventually = (tenant: string, campaignId: string, n: number) =>
  credited(tenant, campaignId).pipe(
    Effect.filterOrFail((c) => c.conversions === n),
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("20 seconds")))
  )

const stores = Layer.mergeAll(
  SqlEventLog.layer,
  EventStore.layer,
  AudienceStore.layer,
  SqlMembershipStore.layer,
  SqlAdLog.layer
)

describe("AdAttribution in the standard workers", () => {
  it.live(
    "runs in this process (Workers.layerSql) and on the workers' thread (Workers.layerThread)",
    () =>
      Effect.gen(function* () {
        const url = `sqlite:${join(yield* tempDir, "workers.db")}`
        const db = stores.pipe(Layer.provideMerge(Database.layerFromUrl(url)))
        const tenant = unique("shop")
        yield* Effect.gen(function* () {
          yield* touch(tenant, "v1", "boots", "click", T - DAY)
          yield* touch(tenant, "v2", "boots", "view", T - 1)
          yield* collect(conversion(tenant, "v1", T))
          yield* Effect.scoped(Effect.zipRight(Layer.build(Workers.layerSql), creditedEventually(tenant, "boots", 1)))
          yield* collect(conversion(tenant, "v2", T))
          const found = yield* Effect.scoped(
            Effect.zipRight(Layer.build(Workers.layerThread(url)), creditedEventually(tenant, "boots", 2))
          )
          assert.deepStrictEqual(found, { conversions: 2, value: 2 * 12999, days: [AdLog.dayOf(T)] })
        }).pipe(Effect.provide(db))
      }).pipe(Effect.scoped),
    40_000
  )
})
