/**
 * `unsafeServe`, the server's hot path: a decision made from memory is the answer itself (no effect to run), logged
 * and charged as `serve`'s; a request that needs a store's effect gets the effect that finishes it; and over random
 * request mixes the two entry points keep the same rules (no personal ad without a recognized browser, a logged
 * decision behind every ad, clicks that land where the creative says).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Option, TestClock } from "effect"
import * as AdLog from "../src/AdLog.js"
import * as Budget from "../src/Budget.js"
import type * as Serving from "../src/Serving.js"
import * as WriteBehind from "../src/WriteBehind.js"
import { adRequest, campaign, contextual, house, knownVisitor, retargeting, tokenOf, world } from "./ServingFixtures.js"

/** The world with the write-behind the reference server puts in front of its stores (it answers from memory). */
const memoryWorld = (options: Parameters<typeof world>[0] = {}) =>
  Effect.gen(function* () {
    const wrapped = yield* WriteBehind.make(AdLog.makeMemory(), Budget.makeMemory())
    return yield* world({ ...options, ports: { log: wrapped.log, delivery: wrapped.delivery, ...options.ports } })
  })

/** Runs what `unsafeServe` gives: the answer, or its effect's. */
const answerOf = (served: Serving.Answer | Effect.Effect<Serving.Answer>) =>
  Effect.isEffect(served) ? served : Effect.succeed(served)

const budgeted = campaign("budgeted", {
  bid: { amount: 300, currency: "EUR" },
  budget: { daily: { amount: 100, currency: "EUR" } }
})

describe("Serving.unsafeServe", () => {
  it.effect("answers a request decided from memory at once, logged and charged as serve's", () =>
    Effect.gen(function* () {
      const w = yield* memoryWorld({ campaigns: [budgeted, contextual, house] })
      // The first request loads the campaigns (an effect); later ones are decided from memory.
      const first = w.serving.unsafeServe(adRequest({ browser: undefined }))
      assert.isTrue(Effect.isEffect(first))
      yield* answerOf(first)
      // The budget's first read is the store's (an effect); once in the write-behind's ledger, from memory.
      yield* answerOf(w.serving.unsafeServe(adRequest({ browser: undefined })))
      const served = w.serving.unsafeServe(adRequest({ browser: undefined }))
      assert.isFalse(Effect.isEffect(served), "decided from memory")
      const ad = served as Serving.Ad
      assert.strictEqual(ad._tag, "Ad")
      assert.strictEqual(ad.campaignId, "budgeted")
      assert.isFalse(ad.personalized)
      const logged = yield* w.log.decision(ad.decisionId)
      assert.isTrue(Option.isSome(logged))
      assert.strictEqual(Option.getOrThrow(logged).costMillis, 300)
      // 1.00 EUR at a CPM of 3.00: 333 impressions, then the contextual campaign; the spend never passes the budget.
      const campaigns = new Map<string, number>()
      for (let i = 0; i < 400; i++) {
        const answer = yield* answerOf(w.serving.unsafeServe(adRequest({ browser: undefined })))
        if (answer._tag === "Ad") campaigns.set(answer.campaignId, (campaigns.get(answer.campaignId) ?? 0) + 1)
      }
      assert.strictEqual(campaigns.get("budgeted"), 333 - 3)
      assert.strictEqual(campaigns.get("context"), 400 - 330)
      const spend = yield* w.delivery.read("budgeted")
      assert.isAtMost(spend.spend.today, 100_000)
      // Its links work: the click lands on the creative's page.
      const click = yield* w.serving.click(tokenOf(ad.clickUrl))
      assert.strictEqual(click.decisionId, ad.decisionId)
    })
  )

  it.effect("a browser a tenant may recognize is looked up: an effect, and the personal ad", () =>
    Effect.gen(function* () {
      const w = yield* memoryWorld()
      yield* answerOf(w.serving.unsafeServe(adRequest({ browser: undefined })))
      yield* knownVisitor(w)
      const served = w.serving.unsafeServe(adRequest())
      assert.isTrue(Effect.isEffect(served))
      const answer = yield* answerOf(served)
      assert.strictEqual(answer._tag === "Ad" ? answer.campaignId : answer._tag, "retarget")
      // The same browser without consent is not looked up: decided from memory, never personal.
      const refused = w.serving.unsafeServe(adRequest({ personalization: false }))
      assert.isFalse(Effect.isEffect(refused))
      assert.isFalse((refused as Serving.Ad).personalized)
    })
  )

  it.effect.prop(
    "over random mixes of requests, as serve: personal only for the recognized browser, every ad logged",
    [
      fc.array(
        fc.record({
          browser: fc.constantFrom(undefined, "xid-1", "xid-2"),
          personalization: fc.boolean(),
          child: fc.boolean(),
          childDirected: fc.boolean(),
          size: fc.constantFrom([300, 250], [728, 90]),
          unsafe: fc.boolean(),
          advance: fc.integer({ min: 0, max: 3_000 })
        }),
        { minLength: 1, maxLength: 40 }
      )
    ],
    ([requests]) =>
      Effect.gen(function* () {
        const w = yield* memoryWorld({ campaigns: [retargeting(), contextual, house, budgeted] })
        yield* knownVisitor(w)
        for (const r of requests) {
          yield* TestClock.adjust(r.advance)
          const request = adRequest({
            browser: r.browser,
            personalization: r.personalization,
            child: r.child,
            publisher: { siteKey: "news", tenant: "pub", childDirected: r.childDirected },
            width: r.size[0]!,
            height: r.size[1]!
          })
          const answer = yield* r.unsafe ? answerOf(w.serving.unsafeServe(request)) : w.serving.serve(request)
          if (answer._tag === "NoAd") continue
          const recognized = r.browser === "xid-1" && r.personalization && !r.child && !r.childDirected
          if (answer.personalized) assert.isTrue(recognized, "a personal ad without a recognized browser")
          assert.isTrue(Option.isSome(yield* w.log.decision(answer.decisionId)), "an ad without its decision")
          assert.include(answer.html, `data-oa-personalized="${answer.personalized}"`)
        }
      }),
    { fastCheck: { numRuns: 60 } }
  )
})
