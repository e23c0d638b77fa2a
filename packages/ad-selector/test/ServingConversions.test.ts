/**
 * Conversions in the serving pipeline: attributed with each campaign's own windows, and fed back to the sampler as
 * delayed rewards read from the ad log (where the attribution worker of another process credits them), each once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as AdLog from "../src/AdLog.js"
import * as Campaign from "../src/Campaign.js"
import {
  adRequest,
  contextual,
  DAY,
  decode,
  expectAd,
  HOUR,
  house,
  knownVisitor,
  retargeting,
  T0,
  tokenOf,
  world
} from "./ServingFixtures.js"

/** The retargeting campaign with attribution windows of its own. */
const retargetingWith = (attribution: Record<string, number>) =>
  decode({ ...Campaign.encode(retargeting()), attribution })

/** A served, rendered retargeting ad for the known visitor. */
const servedAd = (options: Parameters<typeof world>[0] = {}) =>
  Effect.gen(function* () {
    const w = yield* world(options)
    const visitor = yield* knownVisitor(w)
    const ad = expectAd(yield* w.serving.serve(adRequest()))
    assert.strictEqual(ad.campaignId, "retarget")
    assert.isTrue(yield* w.serving.impression(tokenOf(ad.impressionUrl), "rendered"))
    return { w, visitor, ad }
  })

/** The conversion the attribution worker would credit to `ad` (written straight to the log, as from elsewhere). */
const credit = (log: AdLog.Service, ad: { decisionId: string; campaignId: string }, visitor: string, orderId: string) =>
  log.recordConversion({
    tenant: "shop",
    orderId,
    decisionId: ad.decisionId,
    campaignId: ad.campaignId,
    visitor,
    value: 5000,
    currency: "EUR",
    at: T0 + HOUR
  })

const value = { amount: 5000, currency: "EUR" }

describe("Serving.conversion with per-campaign windows", () => {
  it.effect("a campaign with viewDays 0 earns no view-through conversion; one with the defaults does", () =>
    Effect.gen(function* () {
      const { ad, visitor, w } = yield* servedAd({ campaigns: [retargetingWith({ viewDays: 0 }), contextual, house] })
      assert.isTrue(yield* w.serving.impression(tokenOf(ad.viewableUrl), "viewable"))
      const result = yield* w.serving.conversion({ tenant: "shop", visitor, orderId: "o-1", value, at: T0 + HOUR })
      assert.strictEqual(result.attribution.reason, "OutsideWindows")
      assert.isFalse(result.recorded)
      const plain = yield* servedAd()
      yield* plain.w.serving.impression(tokenOf(plain.ad.viewableUrl), "viewable")
      const credited = yield* plain.w.serving.conversion({
        tenant: "shop",
        visitor: plain.visitor,
        orderId: "o-1",
        value,
        at: T0 + HOUR
      })
      assert.strictEqual(credited.attribution.reason, "LastView")
    })
  )

  it.effect("clickDays 3 does not credit a click 4 days old; clickDays 30 credits one 20 days old", () =>
    Effect.gen(function* () {
      const short = yield* servedAd({ campaigns: [retargetingWith({ clickDays: 3 }), contextual, house] })
      yield* short.w.serving.click(tokenOf(short.ad.clickUrl))
      const late = yield* short.w.serving.conversion({
        tenant: "shop",
        visitor: short.visitor,
        orderId: "o-1",
        value,
        at: T0 + 4 * DAY
      })
      assert.isFalse(late.recorded)
      const inWindow = yield* short.w.serving.conversion({
        tenant: "shop",
        visitor: short.visitor,
        orderId: "o-2",
        value,
        at: T0 + 3 * DAY
      })
      assert.strictEqual(inWindow.attribution.reason, "LastClick")
      // A window longer than the default: the touches are read that far back.
      const long = yield* servedAd({ campaigns: [retargetingWith({ clickDays: 30 }), contextual, house] })
      yield* long.w.serving.click(tokenOf(long.ad.clickUrl))
      const old = yield* long.w.serving.conversion({
        tenant: "shop",
        visitor: long.visitor,
        orderId: "o-3",
        value,
        at: T0 + 20 * DAY
      })
      assert.strictEqual(old.attribution.reason, "LastClick")
      assert.isTrue(old.recorded)
    })
  )
})

describe("Serving.learnConversions", () => {
  it.effect(
    "rewards the decision's creative once for a conversion credited elsewhere; the click model is not told",
    () =>
      Effect.gen(function* () {
        const { ad, visitor, w } = yield* servedAd()
        const z = Float64Array.from(w.serving.model.z)
        const mean = () => {
          const p = w.serving.sampler.conversionPosterior("retarget", ad.creativeId, T0)
          return p.alpha / (p.alpha + p.beta)
        }
        const before = mean()
        assert.isTrue(yield* credit(w.log, ad, visitor, "o-1"))
        assert.strictEqual(yield* w.serving.learnConversions, 1)
        assert.strictEqual(w.serving.sampler.conversions("retarget", ad.creativeId, T0), 1)
        assert.isAbove(mean(), before)
        // Read once: neither a second call nor the refresh schedule counts it again.
        assert.strictEqual(yield* w.serving.learnConversions, 0)
        yield* TestClock.adjust(5000)
        yield* w.serving.refresh
        yield* w.serving.learnConversions
        assert.strictEqual(w.serving.sampler.conversions("retarget", ad.creativeId, T0), 1)
        assert.deepStrictEqual(w.serving.model.z, z, "the click model learns clicks only")
      })
  )

  it.effect("a conversion recorded by Serving.conversion is learned on refresh, once", () =>
    Effect.gen(function* () {
      const { ad, visitor, w } = yield* servedAd()
      yield* w.serving.click(tokenOf(ad.clickUrl))
      const result = yield* w.serving.conversion({ tenant: "shop", visitor, orderId: "o-9", value, at: T0 + HOUR })
      assert.isTrue(result.recorded)
      assert.strictEqual(w.serving.sampler.conversions("retarget", ad.creativeId, T0), 0, "not before the log is read")
      yield* w.serving.refresh
      yield* w.serving.refresh
      assert.strictEqual(w.serving.sampler.conversions("retarget", ad.creativeId, T0), 1)
    })
  )

  it.effect("starts at the log's end: conversions credited before the service existed are not learned", () =>
    Effect.gen(function* () {
      const log = AdLog.makeMemory()
      const earlier = yield* servedAd({ ports: { log } })
      yield* credit(log, earlier.ad, earlier.visitor, "o-old")
      // A new process over the same log (its sampler never saw the old decision's impression).
      const { ad, visitor, w } = yield* servedAd({ ports: { log } })
      assert.strictEqual(yield* w.serving.learnConversions, 0)
      assert.strictEqual(w.serving.sampler.conversions("retarget", earlier.ad.creativeId, T0), 0)
      yield* credit(log, ad, visitor, "o-new")
      assert.strictEqual(yield* w.serving.learnConversions, 1)
    })
  )

  it.effect("reads a backlog larger than one batch, and skips a conversion whose decision was erased", () =>
    Effect.gen(function* () {
      const { ad, visitor, w } = yield* servedAd({ serving: { conversionBatch: 2 } })
      for (let i = 0; i < 5; i++) yield* credit(w.log, ad, visitor, `o-${i}`)
      yield* credit(w.log, { decisionId: "d_gone", campaignId: "retarget" }, "v-gone", "o-gone")
      // Each conversion counts (up to the arm's impressions): one impression caps the rate at 1.
      assert.strictEqual(yield* w.serving.learnConversions, 5)
      assert.strictEqual(yield* w.serving.learnConversions, 0)
    })
  )
})
