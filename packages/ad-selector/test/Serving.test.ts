/**
 * The ad-serving pipeline end to end over in-memory ports: who gets a personalized ad (and only then products from
 * their history), what the ad's HTML carries, clicks and impressions through signed tokens only, conversions
 * attributed and counted in the stats, and the isolation of tenants.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Option, TestClock } from "effect"
import * as Serving from "../src/Serving.js"
import * as Visitors from "../src/Visitors.js"
import {
  adRequest,
  contextual,
  DAY,
  expectAd,
  HOUR,
  house,
  knownVisitor,
  product,
  retargeting,
  T0,
  world
} from "./ServingFixtures.js"

describe("Serving.serve", () => {
  it.effect("shows a known visitor the products last viewed, in stock, not bought since, most recent first", () =>
    Effect.gen(function* () {
      const w = yield* world()
      const visitor = yield* knownVisitor(w)
      yield* w.catalog.replace("shop", [
        product("A"),
        product("B"),
        product("C", { availability: "out_of_stock" }),
        product("D"),
        product("E"),
        product("F"),
        product("Z")
      ])
      w.visitorsMemory.addHistory("shop", visitor, [
        { kind: "viewed", productId: "A", at: T0 - 3 * DAY },
        { kind: "viewed", productId: "B", at: T0 - 2 * DAY },
        { kind: "viewed", productId: "C", at: T0 - DAY },
        { kind: "viewed", productId: "D", at: T0 - 5 * HOUR },
        { kind: "purchased", productId: "D", at: T0 - 4 * HOUR },
        { kind: "viewed", productId: "E", at: T0 - 40 * DAY },
        { kind: "viewed", productId: "F", at: T0 - 4 * DAY },
        { kind: "viewed", productId: "missing", at: T0 - HOUR }
      ])
      const ad = expectAd(yield* w.serving.serve(adRequest()))
      assert.strictEqual(ad.campaignId, "retarget")
      assert.isTrue(ad.personalized)
      assert.deepStrictEqual(
        ad.products.map((p) => p.id),
        ["B", "A", "F"]
      )
      assert.include(ad.html, 'data-oa-personalized="true"')
      for (const id of ["B", "A", "F"]) assert.include(ad.html, `data-oa-product-id="${id}"`)
      for (const id of ["C", "D", "E", "Z"]) assert.notInclude(ad.html, `data-oa-product-id="${id}"`)
      assert.match(ad.html, /^<!doctype html>/)
      assert.include(ad.html, 'href="/privacy"')
      const recorded = yield* w.log.decision(ad.decisionId)
      assert.deepStrictEqual(Option.getOrThrow(recorded).productIds, ["B", "A", "F"])
      assert.strictEqual(Option.getOrThrow(recorded).visitor, visitor)
      const json = Serving.toJson(yield* w.serving.serve(adRequest({ format: "json" })))
      assert.deepStrictEqual(
        json.products.map((p) => [p.id, p.price.amount]),
        [
          ["B", 4999],
          ["A", 4999],
          ["F", 4999]
        ]
      )
      assert.isTrue(json.personalized)
      assert.include(json.html, 'data-oa-personalized="true"')
      assert.notInclude(json.html, "<script")
    })
  )

  it.effect("personalized only when consent, no child, no child-directed site, a browser and a link all allow it", () =>
    Effect.gen(function* () {
      const cases = fc.sample(
        fc.record({
          personalization: fc.boolean(),
          child: fc.boolean(),
          childDirected: fc.boolean(),
          browser: fc.boolean(),
          linked: fc.boolean(),
          targetable: fc.boolean(),
          format: fc.constantFrom("html" as const, "json" as const)
        }),
        { seed: 14, numRuns: 80 }
      )
      let personalizedSeen = 0
      for (const c of cases) {
        const w = yield* world()
        if (c.linked) yield* knownVisitor(w)
        if (!c.targetable) w.visitorsMemory.setTargetable("shop", [])
        // Featured products (a-*) sort before the visitor's (h-*): a non-personal ad can only show a-*.
        yield* w.catalog.replace("shop", [
          product("a-1"),
          product("a-2"),
          product("a-3"),
          product("h-1"),
          product("h-2")
        ])
        w.visitorsMemory.addHistory("shop", "v-shop", [
          { kind: "viewed", productId: "h-1", at: T0 - DAY },
          { kind: "viewed", productId: "h-2", at: T0 - 2 * DAY }
        ])
        const answer = yield* w.serving.serve(
          adRequest({
            personalization: c.personalization,
            child: c.child,
            publisher: { siteKey: "news", tenant: "pub", childDirected: c.childDirected },
            browser: c.browser ? "xid-1" : undefined,
            format: c.format
          })
        )
        const ad = expectAd(answer)
        const allowed = c.personalization && !c.child && !c.childDirected && c.browser && c.linked && c.targetable
        assert.strictEqual(ad.personalized, allowed, JSON.stringify(c))
        assert.strictEqual(ad.campaignId, allowed ? "retarget" : "context", JSON.stringify(c))
        assert.include(ad.html, `data-oa-personalized="${allowed}"`)
        if (!allowed) {
          assert.notInclude(ad.html, 'data-oa-product-id="h-', JSON.stringify(c))
          const recorded = Option.getOrThrow(yield* w.log.decision(ad.decisionId))
          assert.isFalse(recorded.personalized)
          assert.isFalse(recorded.productIds.some((id) => id.startsWith("h-")))
        } else {
          personalizedSeen++
          assert.deepStrictEqual(
            ad.products.map((p) => p.id),
            ["h-1", "h-2"]
          )
        }
      }
      assert.isAbove(personalizedSeen, 0)
    })
  )

  it.effect("a visitor in an audience below the k floor never gets a personalized ad", () =>
    Effect.gen(function* () {
      const w = yield* world()
      yield* knownVisitor(w)
      // The visitor's profile says `viewers`, but the tenant's targetable audiences do not include it.
      w.visitorsMemory.setTargetable("shop", ["buyers"])
      for (let i = 0; i < 20; i++) {
        const ad = expectAd(yield* w.serving.serve(adRequest()))
        assert.isFalse(ad.personalized)
        assert.strictEqual(ad.campaignId, "context")
      }
    })
  )

  it.effect("caches targetable audiences for a few seconds only", () =>
    Effect.gen(function* () {
      const w = yield* world({ serving: { targetableTtlMs: 5000 } })
      yield* knownVisitor(w)
      assert.isTrue(expectAd(yield* w.serving.serve(adRequest())).personalized)
      // The audience falls below the floor: still cached for a moment, then gone.
      w.visitorsMemory.setTargetable("shop", [])
      yield* TestClock.adjust(6000)
      assert.isFalse(expectAd(yield* w.serving.serve(adRequest())).personalized)
    })
  )

  it.effect("a contextual product creative shows the featured products, never the visitor's history", () =>
    Effect.gen(function* () {
      const contextualProducts = contextual.creatives.map((c) => ({ ...c, kind: "product" as const }))
      const w = yield* world({ campaigns: [{ ...contextual, creatives: [contextualProducts[0]!] }, house] })
      const visitor = yield* knownVisitor(w)
      yield* w.catalog.replace("shop", [
        product("a-1", { availability: "out_of_stock" }),
        product("a-2"),
        product("a-3"),
        product("a-4"),
        product("a-5"),
        product("h-1")
      ])
      w.visitorsMemory.addHistory("shop", visitor, [{ kind: "viewed", productId: "h-1", at: T0 - DAY }])
      const ad = expectAd(yield* w.serving.serve(adRequest()))
      assert.isFalse(ad.personalized)
      assert.deepStrictEqual(
        ad.products.map((p) => p.id),
        ["a-2", "a-3", "a-4"]
      )
      assert.include(ad.html, 'data-oa-personalized="false"')
    })
  )

  it.effect("escapes hostile catalog and campaign text; the only script is the viewability one, with the nonce", () =>
    Effect.gen(function* () {
      const hostile = `"><script>alert(1)</script><img src=x onerror=alert(2)>'&`
      const w = yield* world({
        campaigns: [
          retargeting(),
          {
            ...house,
            creatives: [{ ...house.creatives[0]!, alt: hostile }]
          }
        ]
      })
      const visitor = yield* knownVisitor(w)
      yield* w.catalog.replace("shop", [product("X", { title: hostile, brand: hostile, description: hostile })])
      w.visitorsMemory.addHistory("shop", visitor, [{ kind: "viewed", productId: "X", at: T0 - HOUR }])
      const ads = [
        expectAd(yield* w.serving.serve(adRequest())),
        expectAd(yield* w.serving.serve(adRequest({ browser: undefined, personalization: false })))
      ]
      assert.strictEqual(ads[0]!.campaignId, "retarget")
      assert.strictEqual(ads[1]!.campaignId, "house")
      for (const ad of ads) {
        assert.notInclude(ad.html, "<script>alert")
        assert.notInclude(ad.html, "<img src=x")
        assert.include(ad.html, "&quot;&gt;&lt;script&gt;")
        assert.include(ad.html, "&lt;script&gt;alert(1)&lt;/script&gt;")
        assert.strictEqual(ad.html.split("<script").length, 2)
        assert.include(ad.html, '<script nonce="n0nce">')
        // No event handler attribute in any tag (values are double-quoted with quotes escaped: strip them first).
        const markup = ad.html.split("<script")[0]!.replace(/"[^"]*"/g, '""')
        assert.isNull(markup.match(/<[^>]*\son[a-z]+\s*=/i))
      }
      assert.strictEqual(ads[0]!.products[0]!.title, hostile)
    })
  )

  it.effect("renders a product creative with its own template; an options override wins", () =>
    Effect.gen(function* () {
      const own = retargeting()
      const creative = {
        ...own.creatives[0]!,
        template: `<div class="own">{{#products}}<a class="own-card" href="{{product.clickUrl}}">{{product.title}}</a>{{/products}}</div>`
      }
      for (const override of [
        undefined,
        `<p>{{#products}}<b class="override">{{product.brand}}</b>{{/products}}</p>`
      ]) {
        const w = yield* world({
          campaigns: [{ ...own, creatives: [creative] }, house],
          serving: { templates: () => override }
        })
        const visitor = yield* knownVisitor(w)
        yield* w.catalog.replace("shop", [product("A", { brand: "Acme" })])
        w.visitorsMemory.addHistory("shop", visitor, [{ kind: "viewed", productId: "A", at: T0 - HOUR }])
        const ad = expectAd(yield* w.serving.serve(adRequest()))
        if (override === undefined) {
          assert.include(
            ad.html,
            '<div class="own"><a data-oa-product-id="A" class="own-card" href="https://ads.example/click/'
          )
          assert.include(ad.html, ">Product A</a></div>")
          assert.notInclude(ad.html, 'class="oa-products"')
        } else {
          assert.include(ad.html, '<b data-oa-product-id="A" class="override">Acme</b>')
          assert.notInclude(ad.html, "own-card")
        }
      }
    })
  )

  it.effect("uses a new index only after the campaign store's revision is checked, not per request", () =>
    Effect.gen(function* () {
      const w = yield* world({ campaigns: [house] })
      assert.strictEqual(expectAd(yield* w.serving.serve(adRequest())).campaignId, "house")
      yield* w.campaigns.put(contextual)
      assert.strictEqual(expectAd(yield* w.serving.serve(adRequest())).campaignId, "house")
      yield* w.serving.refresh
      assert.strictEqual(expectAd(yield* w.serving.serve(adRequest())).campaignId, "context")
    })
  )

  it.effect("checks the revision in the background at most every refreshMs", () =>
    Effect.gen(function* () {
      const w = yield* world({ campaigns: [house] })
      let reads = 0
      const counting = {
        ...w.campaigns,
        revision: Effect.suspend(() => {
          reads++
          return w.campaigns.revision
        })
      }
      const w2 = yield* world({ campaigns: [], ports: { campaigns: counting } })
      yield* w2.serving.serve(adRequest())
      const afterFirst = reads
      for (let i = 0; i < 10; i++) yield* w2.serving.serve(adRequest())
      assert.strictEqual(reads, afterFirst)
      yield* w.campaigns.put(contextual)
      yield* TestClock.adjust(1000)
      // This request starts the check and is answered from the index it has.
      assert.strictEqual(expectAd(yield* w2.serving.serve(adRequest())).campaignId, "house")
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
      assert.strictEqual(reads, afterFirst + 1)
      assert.strictEqual(expectAd(yield* w2.serving.serve(adRequest())).campaignId, "context")
    })
  )

  it.effect("answers no ad when nothing of the size exists", () =>
    Effect.gen(function* () {
      const w = yield* world()
      const answer = yield* w.serving.serve(adRequest({ width: 728, height: 90 }))
      assert.strictEqual(answer._tag, "NoAd")
      assert.deepStrictEqual(Serving.toJson(answer).products, [])
    })
  )
})

describe("Serving: the ad's fragment, made once per creative and written per ad", () => {
  it.effect(
    "every ad's html and JSON text are what they would be written out in full, whatever the creative's text",
    () =>
      Effect.gen(function* () {
        // Alt texts with what HTML and JSON escape, a lone surrogate, and the text the server marks its templates with.
        const alts = [
          `"><img src=x onerror=alert(1)> & 'quoted' \\ \u2028 \u0001`,
          "caf\u00e9 \ud83d\ude00 \ud800 lone",
          "oaFragmentDecisionMark7c1e and oaFragmentTokenMark7c1e"
        ]
        for (const alt of alts) {
          const w = yield* world({ campaigns: [{ ...house, creatives: [{ ...house.creatives[0]!, alt }] }] })
          for (const over of [
            { format: "json" as const },
            { format: "json" as const, personalization: false, browser: undefined },
            { format: "json" as const, links: { click: 'https://ads.example/c?x=1&y="2"/', impression: "/i/" } },
            { format: "html" as const }
          ]) {
            for (let i = 0; i < 3; i++) {
              const ad = expectAd(yield* w.serving.serve(adRequest(over)))
              assert.strictEqual(Serving.toJsonText(ad), JSON.stringify(Serving.toJson(ad)))
              const escapedAlt = alt
                .replace(/&/g, "&amp;")
                .replace(/</g, "&lt;")
                .replace(/>/g, "&gt;")
                .replace(/"/g, "&quot;")
                .replace(/'/g, "&#39;")
              const escapedClick = ad.clickUrl.replace(/&/g, "&amp;").replace(/"/g, "&quot;")
              assert.include(ad.html, `data-oa-decision="${ad.decisionId}"`)
              assert.include(ad.html, `<a class="oa-creative" href="${escapedClick}" target="_blank" rel="noopener">`)
              assert.include(ad.html, `alt="${escapedAlt}"`)
              assert.strictEqual(ad.html.split(ad.decisionId).length, 2)
            }
          }
        }
      })
  )
})

describe("Serving: tenants", () => {
  it.effect("a decision for one tenant never reads another tenant's visitor", () =>
    Effect.gen(function* () {
      const calls: Array<{ readonly tenant: string; readonly visitor: string; readonly what: string }> = []
      const memory = Visitors.makeMemory()
      const spy: Visitors.Service = {
        targetable: memory.targetable,
        profile: (tenant, visitor) =>
          Effect.suspend(() => {
            calls.push({ tenant, visitor, what: "profile" })
            return memory.profile(tenant, visitor)
          }),
        history: (tenant, visitor, since) =>
          Effect.suspend(() => {
            calls.push({ tenant, visitor, what: "history" })
            return memory.history(tenant, visitor, since)
          })
      }
      const w = yield* world({
        campaigns: [retargeting("alpha", "r-alpha"), retargeting("beta", "r-beta"), house],
        ports: { visitors: spy }
      })
      const ww = { ...w, visitorsMemory: memory }
      yield* knownVisitor(ww, "alpha", "xid-1", "va")
      yield* knownVisitor(ww, "beta", "xid-1", "vb")
      memory.addHistory("alpha", "va", [{ kind: "viewed", productId: "alpha-1", at: T0 - HOUR }])
      memory.addHistory("beta", "vb", [{ kind: "viewed", productId: "beta-1", at: T0 - HOUR }])
      yield* w.catalog.replace("alpha", [product("alpha-1")])
      yield* w.catalog.replace("beta", [product("beta-1")])
      for (let i = 0; i < 6; i++) {
        const ad = expectAd(yield* w.serving.serve(adRequest()))
        assert.isTrue(ad.personalized)
        assert.deepStrictEqual(
          ad.products.map((p) => p.id),
          [`${ad.tenant}-1`]
        )
        const recorded = Option.getOrThrow(yield* w.log.decision(ad.decisionId))
        assert.strictEqual(recorded.visitor, ad.tenant === "alpha" ? "va" : "vb")
      }
      const own: Record<string, string> = { alpha: "va", beta: "vb" }
      assert.isAbove(calls.length, 0)
      for (const call of calls) assert.strictEqual(call.visitor, own[call.tenant], JSON.stringify(call))
      // Each tenant sees the browser under a pseudonym of its own.
      assert.strictEqual(Option.getOrNull(yield* w.links.visitorOf("alpha", "xid-1")), null)
    })
  )
})

describe("Serving.contentSecurityPolicy", () => {
  it("allows only the nonced script, beacons to the impression origin, and no plugins, forms or base", () => {
    const csp = Serving.contentSecurityPolicy({ nonce: "abc123", impressionBase: "https://ads.example/imp/" })
    assert.include(csp, "script-src 'nonce-abc123'")
    assert.include(csp, "connect-src 'self' https://ads.example")
    assert.include(csp, "default-src 'none'")
    assert.include(csp, "base-uri 'none'")
    // A nonce that could break out of the header value is not used.
    for (const nonce of ["a'; script-src *", "x y", ""]) {
      assert.include(Serving.contentSecurityPolicy({ nonce }), "script-src 'none'")
    }
    assert.include(Serving.contentSecurityPolicy({ impressionBase: "/imp/" }), "connect-src 'self';")
  })
})

describe("Serving: frequency caps", () => {
  it.effect("counts caps under the tenant's visitor; no capped campaign without a recognized browser", () =>
    Effect.gen(function* () {
      const capped = { ...retargeting(), caps: [{ scope: "campaign" as const, window: "day" as const, max: 2 }] }
      const w = yield* world({ campaigns: [capped, contextual, house] })
      const visitor = yield* knownVisitor(w)
      const served = []
      for (let i = 0; i < 4; i++) served.push(expectAd(yield* w.serving.serve(adRequest())).campaignId)
      assert.deepStrictEqual(served, ["retarget", "retarget", "context", "context"])
      const counters = yield* w.caps.read("shop", visitor)
      assert.isTrue(counters.size > 0)
      // Another browser of nobody, or no consent: never the capped campaign.
      assert.strictEqual(expectAd(yield* w.serving.serve(adRequest({ browser: "xid-9" }))).campaignId, "context")
      assert.strictEqual(
        expectAd(yield* w.serving.serve(adRequest({ personalization: false, browser: undefined }))).campaignId,
        "context"
      )
      yield* TestClock.adjust(DAY)
      assert.strictEqual(expectAd(yield* w.serving.serve(adRequest())).campaignId, "retarget")
    })
  )
})

describe("Serving.toJsonText", () => {
  const text = fc.string({ unit: "binary", maxLength: 40 })
  it.prop(
    "is JSON.stringify(toJson(answer)) exactly, whatever the strings hold (quotes, controls, lone surrogates)",
    [
      fc.record({
        decisionId: text,
        tenant: text,
        campaignId: text,
        creativeId: text,
        personalized: fc.boolean(),
        fallback: fc.boolean(),
        reason: text,
        products: fc.array(
          fc.record({
            id: text,
            title: text,
            price: fc.record({ amount: fc.integer(), currency: text }) as fc.Arbitrary<never>
          }),
          { maxLength: 3 }
        ),
        html: fc.string({ unit: "binary", maxLength: 400 }),
        clickUrl: text,
        impressionUrl: text,
        viewableUrl: text
      }),
      text
    ],
    ([ad, reason]) => {
      const answer: Serving.Ad = { _tag: "Ad", ...ad }
      assert.strictEqual(Serving.toJsonText(answer), JSON.stringify(Serving.toJson(answer)))
      const none: Serving.NoAd = { _tag: "NoAd", reason }
      assert.strictEqual(Serving.toJsonText(none), JSON.stringify(Serving.toJson(none)))
    },
    { fastCheck: { numRuns: 500 } }
  )
})
