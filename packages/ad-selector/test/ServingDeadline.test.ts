/**
 * The deadline: whatever a store does (never answer, fail, die), `serve` answers within `deadlineMs` of TestClock
 * time with a house ad of the slot's size, or no ad, and never fails.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Fiber, Option, TestClock } from "effect"
import * as AdLog from "../src/AdLog.js"
import * as BrowserLinks from "../src/BrowserLinks.js"
import * as Caps from "../src/Caps.js"
import type * as Serving from "../src/Serving.js"
import { adRequest, contextual, expectAd, house, knownVisitor, retargeting, world } from "./ServingFixtures.js"

/** Serves in a fiber and moves TestClock by `ms`: the answer must be there by then. */
const serveWithin = (serving: Serving.Service, ms: number, request = adRequest()) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(serving.serve(request))
    yield* TestClock.adjust(ms)
    const answer = yield* Fiber.poll(fiber)
    assert.isTrue(Option.isSome(answer), `no answer after ${ms} ms`)
    return yield* Fiber.join(fiber)
  })

describe("Serving deadline", () => {
  it.effect("a browser-link store that never answers: the house ad, recorded, within the deadline", () =>
    Effect.gen(function* () {
      const links = BrowserLinks.makeMemory()
      const w = yield* world({ ports: { links: { ...links, visitorOf: () => Effect.never } } })
      yield* knownVisitor(w)
      const ad = expectAd(yield* serveWithin(w.serving, 50))
      assert.strictEqual(ad.campaignId, "house")
      assert.isTrue(ad.fallback)
      assert.isFalse(ad.personalized)
      assert.include(ad.html, 'data-oa-personalized="false"')
      assert.isTrue(Option.isSome(yield* w.log.decision(ad.decisionId)))
      // Its click still lands on the house ad's registered page.
      const click = yield* w.serving.click(ad.clickUrl.slice(ad.clickUrl.lastIndexOf("/") + 1))
      assert.strictEqual(click.location, "https://pub.example/subscribe")
    })
  )

  it.effect("a store that answers after a wait within the deadline: the decision's own ad", () =>
    Effect.gen(function* () {
      const links = BrowserLinks.makeMemory()
      let interrupted = 0
      /** The link store answering after `wait` of TestClock time, counting the reads interrupted meanwhile. */
      const slowLinks = (wait: Duration.DurationInput): BrowserLinks.Service => ({
        ...links,
        visitorOf: (tenant, key) =>
          Effect.zipRight(Effect.sleep(wait), links.visitorOf(tenant, key)).pipe(
            Effect.onInterrupt(() => Effect.sync(() => interrupted++))
          )
      })
      const w = yield* world({ ports: { links: slowLinks("30 millis") } })
      yield* knownVisitor(w)
      const ad = expectAd(yield* serveWithin(w.serving, 30))
      assert.strictEqual(ad.campaignId, "retarget")
      assert.isTrue(ad.personalized)
      assert.isFalse(ad.fallback)
      // Slower than the deadline: the house ad, and the waiting decision is interrupted.
      const slow = yield* world({ ports: { links: slowLinks("80 millis") } })
      yield* knownVisitor(slow)
      const late = expectAd(yield* serveWithin(slow.serving, 50))
      assert.strictEqual(late.campaignId, "house")
      yield* TestClock.adjust(1)
      yield* Effect.yieldNow()
      assert.strictEqual(interrupted, 1)
    })
  )

  it.effect("honours a configured deadline and answers no ad without a house ad of the size", () =>
    Effect.gen(function* () {
      const caps = Caps.makeMemory()
      const w = yield* world({
        campaigns: [retargeting(), contextual],
        ports: { caps: { ...caps, read: () => Effect.never } },
        serving: { deadlineMs: 20 }
      })
      yield* knownVisitor(w)
      // The retargeting campaign is not capped: a cap store that hangs does not matter to it.
      assert.strictEqual(expectAd(yield* serveWithin(w.serving, 0)).campaignId, "retarget")
      const capped = { ...retargeting(), caps: [{ scope: "campaign" as const, window: "day" as const, max: 3 }] }
      yield* w.campaigns.put(capped)
      yield* w.serving.refresh
      const answer = yield* serveWithin(w.serving, 20)
      assert.strictEqual(answer._tag, "NoAd")
    })
  )

  it.effect("a log that fails or dies: no ad, never an error", () =>
    Effect.gen(function* () {
      for (const broken of [
        Effect.fail(new AdLog.AdLogError({ reason: "Unavailable", message: "down" })),
        Effect.die("boom")
      ]) {
        const log = AdLog.makeMemory()
        const w = yield* world({ ports: { log: { ...log, recordDecision: () => broken } } })
        const answer = yield* serveWithin(w.serving, 0)
        assert.strictEqual(answer._tag, "NoAd")
      }
    })
  )

  it.effect("a log that hangs: even the fallback gives up within its own time", () =>
    Effect.gen(function* () {
      const log = AdLog.makeMemory()
      const w = yield* world({ ports: { log: { ...log, recordDecision: () => Effect.never } } })
      const answer = yield* serveWithin(w.serving, 60)
      assert.strictEqual(answer._tag, "NoAd")
    })
  )

  it.effect("campaigns that cannot be read at start: no ad; once readable, ads", () =>
    Effect.gen(function* () {
      const w0 = yield* world({ campaigns: [house] })
      let down = true
      const w = yield* world({
        campaigns: [],
        ports: {
          campaigns: {
            ...w0.campaigns,
            revision: Effect.suspend(() => (down ? Effect.never : w0.campaigns.revision))
          }
        }
      })
      assert.strictEqual((yield* serveWithin(w.serving, 50))._tag, "NoAd")
      down = false
      // The hanging first load gives up after 10 s; the next request loads again.
      assert.strictEqual((yield* serveWithin(w.serving, 10_000))._tag, "NoAd")
      assert.strictEqual(expectAd(yield* serveWithin(w.serving, 0)).campaignId, "house")
    })
  )
})
