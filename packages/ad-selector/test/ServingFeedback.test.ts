/**
 * What comes back from a served ad: clicks and impressions through signed tokens only (tampered, expired, foreign
 * or cross-kind tokens refused; the landing page never from the request), each counted once and fed to the
 * sampler, and the shop's conversions attributed end to end into the campaign's statistics.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Option, Redacted, TestClock } from "effect"
import { hkdfSync } from "node:crypto"
import * as ClickToken from "../src/ClickToken.js"
import * as Ftrl from "../src/Ftrl.js"
import * as Serving from "../src/Serving.js"
import {
  adRequest,
  DAY,
  expectAd,
  HOUR,
  house,
  knownVisitor,
  product,
  retargeting,
  secret,
  T0,
  tokenOf,
  world
} from "./ServingFixtures.js"

/** The current key of the ads' purpose-bound tokens in the fixtures (key id 1). */
const purposeKey = ClickToken.derivePurposeKey(secret, 1)
/** A version 1 impression key, as the previous version derived it. */
const legacyImpressionKey = (kind: "rendered" | "viewable"): ClickToken.SigningKey => ({
  id: 1,
  secret: Redacted.make(
    new Uint8Array(
      hkdfSync("sha256", Redacted.value(secret), "openaudience/v1", `ad-selector/impression-token:${kind}:1`, 32)
    )
  )
})

/** What the tokens of `ad` name, valid for a day from T0. */
const claimsOf = (ad: Serving.Ad): ClickToken.Claims => ({
  decisionId: ad.decisionId,
  campaignId: ad.campaignId,
  creativeId: ad.creativeId,
  tenant: ad.tenant,
  expiresAt: T0 + DAY
})

const failure = <A>(result: Either.Either<A, Serving.ServingError>): Serving.ServingError => {
  if (Either.isRight(result)) throw new Error("expected a failure")
  return result.left
}

/** A personalized product ad for the known visitor, with products P1 and P2. */
const productAd = Effect.gen(function* () {
  const w = yield* world()
  const visitor = yield* knownVisitor(w)
  yield* w.catalog.replace("shop", [product("P1"), product("P2")])
  w.visitorsMemory.addHistory("shop", visitor, [
    { kind: "viewed", productId: "P1", at: T0 - HOUR },
    { kind: "viewed", productId: "P2", at: T0 - 2 * HOUR }
  ])
  const ad = expectAd(yield* w.serving.serve(adRequest()))
  assert.strictEqual(ad.campaignId, "retarget")
  const productLinks = [...ad.html.matchAll(/href="https:\/\/ads\.example\/click\/([A-Za-z0-9_-]+)"/g)].map(
    (m) => m[1]!
  )
  return { w, visitor, ad, productLinks }
})

describe("Serving.click", () => {
  it.effect("lands on the product's catalog link or the creative's landing URL, and counts one click", () =>
    Effect.gen(function* () {
      const { ad, productLinks, w } = yield* productAd
      assert.strictEqual(productLinks.length, 2)
      // The sampler counts a click only after the impression it belongs to.
      yield* w.serving.impression(tokenOf(ad.impressionUrl), "rendered")
      const first = yield* w.serving.click(productLinks[0]!)
      assert.strictEqual(first.location, "https://shop.example/p/P1")
      assert.strictEqual(first.productId, "P1")
      assert.isTrue(first.counted)
      const again = yield* w.serving.click(productLinks[1]!)
      assert.strictEqual(again.location, "https://shop.example/p/P2")
      assert.isFalse(again.counted)
      const main = yield* w.serving.click(tokenOf(ad.clickUrl))
      assert.strictEqual(main.location, "https://shop.example/")
      assert.strictEqual(w.serving.sampler.counts("retarget", "products", T0).clicks, 1)
    })
  )

  it.effect("falls back to the creative's landing URL when the product left the catalog", () =>
    Effect.gen(function* () {
      const { productLinks, w } = yield* productAd
      yield* w.catalog.replace("shop", [product("P2")])
      assert.strictEqual((yield* w.serving.click(productLinks[0]!)).location, "https://shop.example/")
    })
  )

  it.effect("refuses tampered, expired, foreign and impression tokens", () =>
    Effect.gen(function* () {
      const { ad, w } = yield* productAd
      const token = tokenOf(ad.clickUrl)
      for (let i = 0; i < token.length; i += 7) {
        const flipped = token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1)
        const error = failure(yield* Effect.either(w.serving.click(flipped)))
        assert.strictEqual(error.reason, "InvalidToken")
      }
      for (const other of [tokenOf(ad.impressionUrl), tokenOf(ad.viewableUrl)]) {
        assert.strictEqual(failure(yield* Effect.either(w.serving.click(other))).reason, "InvalidToken")
      }
      // Signed with another secret's key of the same id.
      const foreign = Either.getOrThrow(
        ClickToken.sign(claimsOf(ad), ClickToken.deriveKey(Redacted.make(new Uint8Array(32).fill(8)), 1))
      )
      assert.strictEqual(failure(yield* Effect.either(w.serving.click(foreign))).reason, "InvalidToken")
      yield* TestClock.adjust(24 * HOUR)
      assert.strictEqual(failure(yield* Effect.either(w.serving.click(token))).reason, "Expired")
    })
  )

  it.effect("a validly signed token naming an unknown or mismatched decision is refused", () =>
    Effect.gen(function* () {
      const { ad, w } = yield* productAd
      const key = ClickToken.deriveKey(Redacted.make(new Uint8Array(32).fill(7)), 1)
      const claims = claimsOf(ad)
      for (const bad of [
        { ...claims, decisionId: "d_unknown" },
        { ...claims, tenant: "other" },
        { ...claims, creativeId: "banner" },
        { ...claims, productId: "Z" }
      ]) {
        const token = Either.getOrThrow(ClickToken.sign(bad, key))
        assert.strictEqual(failure(yield* Effect.either(w.serving.click(token))).reason, "UnknownDecision")
        const current = Either.getOrThrow(ClickToken.signPurpose(bad, "click", purposeKey))
        assert.strictEqual(failure(yield* Effect.either(w.serving.click(current))).reason, "UnknownDecision")
      }
    })
  )

  it.effect("still takes the version 1 tokens ads carried before purpose-bound tokens, each for its kind", () =>
    Effect.gen(function* () {
      const { ad, w } = yield* productAd
      const claims = claimsOf(ad)
      // What the previous version signed: a click key and a key per impression kind, all of key id 1.
      const v1Click = Either.getOrThrow(ClickToken.sign(claims, ClickToken.deriveKey(secret, 1)))
      const v1Rendered = Either.getOrThrow(ClickToken.sign(claims, legacyImpressionKey("rendered")))
      assert.strictEqual(
        failure(yield* Effect.either(w.serving.impression(v1Click, "rendered"))).reason,
        "InvalidToken"
      )
      assert.strictEqual(failure(yield* Effect.either(w.serving.click(v1Rendered))).reason, "InvalidToken")
      assert.isTrue(yield* w.serving.impression(v1Rendered, "rendered"))
      assert.isTrue((yield* w.serving.click(v1Click)).counted)
      // Until they expire, like any token.
      yield* TestClock.adjust(DAY)
      assert.strictEqual(failure(yield* Effect.either(w.serving.click(v1Click))).reason, "Expired")
    })
  )

  it.effect("never redirects anywhere for arbitrary input", () =>
    Effect.gen(function* () {
      const { w } = yield* productAd
      const inputs = fc.sample(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .base64String({ maxLength: 400 })
            .map((s) => s.replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "")),
          fc.webUrl()
        ),
        { seed: 7, numRuns: 300 }
      )
      for (const input of inputs) {
        const result = yield* Effect.either(w.serving.click(input))
        assert.isTrue(Either.isLeft(result), input)
        assert.include(["InvalidToken", "Expired"], failure(result).reason)
      }
    })
  )
})

describe("Serving.impression", () => {
  it.effect("counts each kind once, only with its own token, and feeds the sampler one impression", () =>
    Effect.gen(function* () {
      const { ad, w } = yield* productAd
      const rendered = tokenOf(ad.impressionUrl)
      const viewable = tokenOf(ad.viewableUrl)
      assert.include(ad.html, ad.impressionUrl)
      assert.include(ad.html, JSON.stringify(ad.viewableUrl))
      assert.strictEqual(
        failure(yield* Effect.either(w.serving.impression(rendered, "viewable"))).reason,
        "InvalidToken"
      )
      assert.strictEqual(
        failure(yield* Effect.either(w.serving.impression(viewable, "rendered"))).reason,
        "InvalidToken"
      )
      assert.strictEqual(
        failure(yield* Effect.either(w.serving.impression(tokenOf(ad.clickUrl), "rendered"))).reason,
        "InvalidToken"
      )
      assert.isTrue(yield* w.serving.impression(rendered, "rendered"))
      assert.isFalse(yield* w.serving.impression(rendered, "rendered"))
      assert.isTrue(yield* w.serving.impression(viewable, "viewable"))
      assert.isFalse(yield* w.serving.impression(viewable, "viewable"))
      assert.strictEqual(w.serving.sampler.counts("retarget", "products", T0).impressions, 1)
      const stats = yield* w.serving.campaignStats("shop", "retarget", 1)
      assert.strictEqual(stats.total.impressions, 1)
      assert.strictEqual(stats.total.viewable, 1)
      assert.strictEqual(stats.total.spend, 1)
    })
  )
})

describe("Serving.conversion", () => {
  it.effect("attributes a purchase to the last click end to end, once per order, into the stats", () =>
    Effect.gen(function* () {
      const { ad, productLinks, visitor, w } = yield* productAd
      yield* w.serving.impression(tokenOf(ad.impressionUrl), "rendered")
      yield* TestClock.adjust(2000)
      yield* w.serving.impression(tokenOf(ad.viewableUrl), "viewable")
      yield* TestClock.adjust(HOUR)
      yield* w.serving.click(productLinks[0]!)
      yield* TestClock.adjust(2 * DAY)
      const value = { amount: 12900, currency: "EUR" }
      const result = yield* w.serving.conversion({
        tenant: "shop",
        visitor,
        orderId: "o-1",
        value,
        at: T0 + 2 * DAY + HOUR
      })
      assert.strictEqual(result.attribution.reason, "LastClick")
      assert.strictEqual(result.attribution.touch?.decisionId, ad.decisionId)
      assert.isTrue(result.recorded)
      const repeat = yield* w.serving.conversion({
        tenant: "shop",
        visitor,
        orderId: "o-1",
        value,
        at: T0 + 2 * DAY + HOUR
      })
      assert.isFalse(repeat.recorded)
      // Another tenant's visitor of the same name has no touch here.
      const other = yield* w.serving.conversion({ tenant: "beta", visitor, orderId: "o-1", value, at: T0 + 2 * DAY })
      assert.strictEqual(other.attribution.reason, "NoTouch")
      assert.isFalse(other.recorded)
      const stats = yield* w.serving.campaignStats("shop", "retarget", 7)
      assert.strictEqual(stats.total.clicks, 1)
      assert.strictEqual(stats.total.conversions, 1)
      assert.strictEqual(stats.total.conversionValue, 12900)
      assert.strictEqual(stats.days.length, 7)
      assert.strictEqual(
        failure(yield* Effect.either(w.serving.campaignStats("shop", "retarget", 0))).reason,
        "InvalidRange"
      )
    })
  )

  it.effect("a view counts for a day only; after the click window nothing is recorded", () =>
    Effect.gen(function* () {
      const { ad, visitor, w } = yield* productAd
      yield* w.serving.impression(tokenOf(ad.viewableUrl), "viewable")
      const value = { amount: 500, currency: "EUR" }
      const inDay = yield* w.serving.conversion({ tenant: "shop", visitor, orderId: "o-2", value, at: T0 + 20 * HOUR })
      assert.strictEqual(inDay.attribution.reason, "LastView")
      const late = yield* w.serving.conversion({ tenant: "shop", visitor, orderId: "o-3", value, at: T0 + 2 * DAY })
      assert.notStrictEqual(late.attribution.reason, "LastView")
      assert.isFalse(late.recorded)
    })
  )
})

describe("Serving: browser links and erasure", () => {
  it.effect("unlinking a browser or erasing a visitor ends personalization and removes the visitor's rows", () =>
    Effect.gen(function* () {
      const w = yield* world({ campaigns: [retargeting(), house] })
      const visitor = yield* knownVisitor(w)
      const ad = expectAd(yield* w.serving.serve(adRequest()))
      assert.isTrue(ad.personalized)
      assert.strictEqual(yield* w.serving.unlinkBrowser({ tenant: "shop", browser: "xid-1" }), 1)
      assert.strictEqual(expectAd(yield* w.serving.serve(adRequest())).campaignId, "house")
      yield* w.serving.linkBrowser({ tenant: "shop", browser: "xid-1", visitor })
      yield* w.serving.linkBrowser({ tenant: "shop", browser: "xid-2", visitor })
      const erased = yield* w.serving.eraseVisitor("shop", visitor)
      assert.strictEqual(erased.links, 2)
      assert.isAtLeast(erased.log, 1)
      assert.isTrue(Option.isNone(yield* w.log.decision(ad.decisionId)))
      assert.strictEqual(expectAd(yield* w.serving.serve(adRequest({ browser: "xid-2" }))).campaignId, "house")
      assert.strictEqual(
        failure(yield* Effect.either(w.serving.linkBrowser({ tenant: "shop", browser: "", visitor }))).reason,
        "InvalidInput"
      )
    })
  )
})

describe("Serving: learning", () => {
  it.effect(
    "clicks raise the model's prediction for the creative on that site, impressions without clicks lower it",
    () =>
      Effect.gen(function* () {
        const { w } = yield* productAd
        const context = { site: "news", width: 300, height: 250, device: "desktop" as const, hour: 12 }
        const before = Ftrl.predict(w.serving.model, Serving.features(context, "retarget", "products"))
        for (let i = 0; i < 30; i++) {
          const ad = expectAd(yield* w.serving.serve(adRequest()))
          yield* w.serving.impression(tokenOf(ad.impressionUrl), "rendered")
          yield* w.serving.click(tokenOf(ad.clickUrl))
        }
        const after = Ftrl.predict(w.serving.model, Serving.features(context, "retarget", "products"))
        assert.isAbove(after, before)
        const sports = { ...context, site: "sports" }
        const quiet = Ftrl.predict(w.serving.model, Serving.features(sports, "context", "banner"))
        for (let i = 0; i < 30; i++) {
          const ad = expectAd(
            yield* w.serving.serve(
              adRequest({ publisher: { siteKey: "sports", tenant: "pub", childDirected: false }, browser: undefined })
            )
          )
          assert.strictEqual(ad.campaignId, "context")
          yield* w.serving.impression(tokenOf(ad.impressionUrl), "rendered")
        }
        assert.isBelow(Ftrl.predict(w.serving.model, Serving.features(sports, "context", "banner")), quiet)
        assert.strictEqual(w.serving.sampler.counts("context", "banner", T0).impressions, 30)
      })
  )
})
