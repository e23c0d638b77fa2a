import { assert, describe, it } from "@effect/vitest"
import { Duration, FastCheck as fc } from "effect"
import * as Attribution from "../src/Attribution.js"
import type * as Campaign from "../src/Campaign.js"
import { creative, decode } from "./fixtures.js"

const hour = 3_600_000
const day = 24 * hour
const t0 = Date.UTC(2026, 11, 1)

const touch = (
  kind: Attribution.TouchKind,
  at: number,
  decisionId = `d-${kind}-${at}`,
  campaignId = "c1",
  creativeId = "cr1",
  productId?: string
): Attribution.Touch => ({
  kind,
  at,
  decisionId,
  campaignId,
  creativeId,
  ...(productId === undefined ? {} : { productId })
})

const conversion = (at: number, orderId = "o-1", amount = 1999): Attribution.Conversion => ({
  orderId,
  at,
  value: { amount, currency: "EUR" }
})

/** The rules read literally: filter, sort the survivors by a tuple, take the last. */
const reference = (
  touches: ReadonlyArray<Attribution.Touch>,
  c: Attribution.Conversion,
  windows: Attribution.WindowsByCampaign | undefined
): { reason: string; touch?: Attribution.Touch } => {
  const windowOf = (t: Attribution.Touch) => {
    const w = windows?.campaigns?.get(t.campaignId) ??
      windows?.fallback ?? { click: Duration.days(7), view: Duration.days(1) }
    return Duration.toMillis(t.kind === "click" ? w.click : w.view)
  }
  const key = (t: Attribution.Touch) =>
    [t.at, t.decisionId, t.campaignId, t.creativeId, t.productId === undefined ? 0 : 1, t.productId ?? ""] as const
  const byKey = (a: Attribution.Touch, b: Attribution.Touch) => {
    const ka = key(a)
    const kb = key(b)
    for (let i = 0; i < ka.length; i++) {
      if (ka[i]! < kb[i]!) return -1
      if (ka[i]! > kb[i]!) return 1
    }
    return 0
  }
  const before = touches.filter((t) => t.at <= c.at)
  // A window of zero credits nothing.
  const counted = before.filter((t) => windowOf(t) > 0 && c.at - t.at <= windowOf(t))
  const clicks = counted.filter((t) => t.kind === "click").sort(byKey)
  const views = counted.filter((t) => t.kind === "view").sort(byKey)
  if (clicks.length > 0) return { reason: "LastClick", touch: clicks.at(-1)! }
  if (views.length > 0) return { reason: "LastView", touch: views.at(-1)! }
  return { reason: before.length > 0 ? "OutsideWindows" : "NoTouch" }
}

// Times cluster on window boundaries and repeat, so ties and edges are common.
const conversionAt = t0 + 10 * day
const arbAt = fc.oneof(
  fc.integer({ min: t0, max: t0 + 12 * day }),
  fc.constantFrom(
    conversionAt,
    conversionAt + 1,
    conversionAt - 1,
    conversionAt - day,
    conversionAt - day - 1,
    conversionAt - 7 * day,
    conversionAt - 7 * day - 1,
    conversionAt - 2 * hour
  )
)
const arbTouch: fc.Arbitrary<Attribution.Touch> = fc.record(
  {
    kind: fc.constantFrom<Attribution.TouchKind>("click", "view"),
    at: arbAt,
    decisionId: fc.constantFrom("d1", "d2", "d3"),
    campaignId: fc.constantFrom("c1", "c2", "short"),
    creativeId: fc.constantFrom("a", "b"),
    productId: fc.constantFrom("p1", "p2")
  },
  { requiredKeys: ["kind", "at", "decisionId", "campaignId", "creativeId"] }
)
const arbWindows: fc.Arbitrary<Attribution.WindowsByCampaign | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant({ campaigns: new Map([["short", { click: Duration.hours(2), view: Duration.zero }]]) }),
  fc.constant({ fallback: { click: Duration.days(30), view: Duration.days(7) } })
)

describe("Attribution.attribute", () => {
  it("prefers the last click within 7 days over any viewable impression", () => {
    const touches = [
      touch("click", conversionAt - 6 * day),
      touch("click", conversionAt - 3 * day),
      touch("view", conversionAt - hour)
    ]
    assert.deepStrictEqual(Attribution.attribute(touches, conversion(conversionAt)), {
      reason: "LastClick",
      touch: touches[1]!
    })
  })

  it("falls back to the last viewable impression within 1 day", () => {
    const touches = [
      touch("click", conversionAt - 8 * day),
      touch("view", conversionAt - 2 * hour),
      touch("view", conversionAt - 20 * hour)
    ]
    assert.deepStrictEqual(Attribution.attribute(touches, conversion(conversionAt)), {
      reason: "LastView",
      touch: touches[1]!
    })
  })

  it("includes the end of each window and not one millisecond more", () => {
    const c = conversion(conversionAt)
    assert.strictEqual(Attribution.attribute([touch("click", conversionAt - 7 * day)], c).reason, "LastClick")
    assert.strictEqual(Attribution.attribute([touch("click", conversionAt - 7 * day - 1)], c).reason, "OutsideWindows")
    assert.strictEqual(Attribution.attribute([touch("view", conversionAt - day)], c).reason, "LastView")
    assert.strictEqual(Attribution.attribute([touch("view", conversionAt - day - 1)], c).reason, "OutsideWindows")
  })

  it("never counts a touch after the conversion; one at the same millisecond counts", () => {
    const c = conversion(conversionAt)
    assert.deepStrictEqual(Attribution.attribute([touch("click", conversionAt + 1)], c), { reason: "NoTouch" })
    assert.strictEqual(Attribution.attribute([touch("click", conversionAt)], c).reason, "LastClick")
    const later = [touch("view", conversionAt - hour), touch("click", conversionAt + 1)]
    assert.deepStrictEqual(Attribution.attribute(later, c), { reason: "LastView", touch: later[0]! })
    assert.deepStrictEqual(Attribution.attribute([], c), { reason: "NoTouch" })
  })

  it("judges each touch by its own campaign's windows", () => {
    const windows: Attribution.WindowsByCampaign = {
      campaigns: new Map([["brand", { click: Duration.days(30), view: Duration.zero }]])
    }
    const old = touch("click", conversionAt - 20 * day, "d-old", "brand")
    const view = touch("view", conversionAt - 1, "d-view", "brand")
    const c = conversion(conversionAt)
    assert.deepStrictEqual(Attribution.attribute([old, view], c, windows), { reason: "LastClick", touch: old })
    assert.strictEqual(
      Attribution.attribute([touch("click", conversionAt - 20 * day)], c, windows).reason,
      "OutsideWindows"
    )
    assert.strictEqual(Attribution.attribute([view], c, windows).reason, "OutsideWindows")
    // A zero view window credits no view, not even one at the conversion's millisecond.
    assert.strictEqual(
      Attribution.attribute([touch("view", conversionAt, "d", "brand")], c, windows).reason,
      "OutsideWindows"
    )
    const fallback = { fallback: { click: Duration.hours(1), view: Duration.hours(1) } }
    assert.strictEqual(
      Attribution.attribute([touch("click", conversionAt - 2 * hour)], c, fallback).reason,
      "OutsideWindows"
    )
  })

  it("breaks ties at the same millisecond by decision, campaign, creative, product, whatever the input order", () => {
    const at = conversionAt - hour
    const tied = [
      touch("click", at, "d1", "c9", "z"),
      touch("click", at, "d2", "c0", "z", "p9"),
      touch("click", at, "d2", "c1", "", "p9"),
      touch("click", at, "d2", "c1", "a"),
      touch("click", at, "d2", "c1", "a", "p1"),
      touch("click", at, "d2", "c1", "a", "p0")
    ]
    const expected: Attribution.Attribution = { reason: "LastClick", touch: tied[4]! }
    assert.deepStrictEqual(Attribution.attribute(tied, conversion(conversionAt)), expected)
    assert.deepStrictEqual(Attribution.attribute([...tied].reverse(), conversion(conversionAt)), expected)
  })

  it.prop(
    "agrees with a brute-force reading of the rules",
    [fc.array(arbTouch, { maxLength: 12 }), arbWindows],
    ([touches, windows]) => {
      assert.deepStrictEqual(
        Attribution.attribute(touches, conversion(conversionAt), windows),
        reference(touches, conversion(conversionAt), windows) as Attribution.Attribution
      )
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "does not depend on the order of touches, nor on touches after the conversion",
    [fc.array(arbTouch, { maxLength: 12 }), fc.array(arbTouch, { maxLength: 5 }), arbWindows],
    ([touches, extra, windows]) => {
      const c = conversion(conversionAt)
      const answer = Attribution.attribute(touches, c, windows)
      assert.deepStrictEqual(Attribution.attribute([...touches].reverse(), c, windows), answer)
      const after = extra.map((t) => ({ ...t, at: conversionAt + 1 + (t.at % day) }))
      const mixed = [...after, ...touches]
      const withAfter = Attribution.attribute(mixed, c, windows)
      if (touches.length === 0) assert.deepStrictEqual(withAfter, { reason: "NoTouch" })
      else assert.deepStrictEqual(withAfter, answer)
      if (answer.touch !== undefined) {
        assert.include(touches, answer.touch)
        assert.isAtMost(answer.touch.at, conversionAt)
      }
    }
  )
})

describe("Attribution.dedupe and attributeAll", () => {
  it("counts an order once: the earliest of its conversions", () => {
    const first = conversion(t0 + hour, "o-1", 1999)
    const reload = conversion(t0 + 2 * hour, "o-1", 1999)
    const s2s = conversion(t0 + hour, "o-1", 2500)
    const other = conversion(t0, "o-2", 500)
    assert.deepStrictEqual(Attribution.dedupe([reload, s2s, first, other]), [other, first])
    assert.deepStrictEqual(Attribution.dedupe([]), [])
  })

  it("attributes each distinct order once, each against its own time", () => {
    const click = touch("click", t0)
    const results = Attribution.attributeAll(
      [click],
      [conversion(t0 + 8 * day, "late"), conversion(t0 + day, "early"), conversion(t0 + 2 * day, "early")]
    )
    assert.deepStrictEqual(results, [
      { conversion: conversion(t0 + day, "early"), attribution: { reason: "LastClick", touch: click } },
      { conversion: conversion(t0 + 8 * day, "late"), attribution: { reason: "OutsideWindows" } }
    ])
  })

  const arbConversion = fc.record({
    orderId: fc.constantFrom("o1", "o2", "o3", "o4"),
    at: fc.integer({ min: t0, max: t0 + 3 }),
    value: fc.record({ amount: fc.integer({ min: 0, max: 3 }), currency: fc.constantFrom("EUR", "USD") })
  })

  it.prop(
    "keeps exactly one minimal conversion per order, whatever the input order",
    [fc.array(arbConversion, { maxLength: 20 })],
    ([conversions]) => {
      const kept = Attribution.dedupe(conversions)
      assert.deepStrictEqual(kept.map((c) => c.orderId).sort(), [...new Set(conversions.map((c) => c.orderId))].sort())
      for (const k of kept) {
        assert.include(conversions, k)
        for (const c of conversions.filter((c) => c.orderId === k.orderId)) {
          const earlier =
            c.at < k.at ||
            (c.at === k.at &&
              (c.value.amount < k.value.amount ||
                (c.value.amount === k.value.amount && c.value.currency < k.value.currency)))
          assert.isFalse(earlier)
        }
      }
      assert.deepStrictEqual(Attribution.dedupe([...conversions].reverse()), kept)
      for (let i = 1; i < kept.length; i++) assert.isAtMost(kept[i - 1]!.at, kept[i]!.at)
    }
  )
})

describe("Attribution windows from campaigns", () => {
  const campaign = (id: string, attribution?: unknown): Campaign.Campaign =>
    decode({
      id,
      tenant: "shop",
      name: id,
      status: "active",
      tier: { kind: "remnant" },
      schedule: { start: "2026-01-01T00:00:00Z" },
      bid: { amount: 100, currency: "EUR" },
      pacing: "asap",
      creatives: [creative("cr1")],
      ...(attribution === undefined ? {} : { attribution })
    })

  it("a campaign with viewDays 0 never earns a view, however recent; its clicks still count", () => {
    const windows = Attribution.fromCampaigns([campaign("noview", { viewDays: 0 }), campaign("plain")])
    for (const age of [0, 1, hour, day - 1]) {
      const view = touch("view", t0 - age, `d-${age}`, "noview")
      assert.deepStrictEqual(Attribution.attribute([view], conversion(t0), windows), { reason: "OutsideWindows" })
    }
    // The same view of a campaign with the default windows earns it.
    const plain = touch("view", t0 - hour, "d-plain", "plain")
    assert.strictEqual(Attribution.attribute([plain], conversion(t0), windows).reason, "LastView")
    // A view of the campaign without views never beats an older view of another campaign.
    const noview = touch("view", t0 - 1, "d-late", "noview")
    assert.deepStrictEqual(Attribution.attribute([noview, plain], conversion(t0), windows), {
      reason: "LastView",
      touch: plain
    })
    const click = touch("click", t0 - 6 * day, "d-click", "noview")
    assert.strictEqual(Attribution.attribute([click, noview], conversion(t0), windows).reason, "LastClick")
  })

  it("clickDays 3 does not credit a click 4 days old, but credits one exactly 3 days old; others keep 7", () => {
    const windows = Attribution.fromCampaigns([campaign("short", { clickDays: 3 }), campaign("plain")])
    const old = touch("click", t0 - 4 * day, "d-old", "short")
    assert.strictEqual(Attribution.attribute([old], conversion(t0), windows).reason, "OutsideWindows")
    const edge = touch("click", t0 - 3 * day, "d-edge", "short")
    assert.strictEqual(Attribution.attribute([edge], conversion(t0), windows).reason, "LastClick")
    assert.strictEqual(Attribution.attribute([edge], conversion(t0 + 1), windows).reason, "OutsideWindows")
    // An older click of a campaign with the default 7 days wins over the short campaign's click out of its window.
    const plain = touch("click", t0 - 6 * day, "d-plain", "plain")
    assert.deepStrictEqual(Attribution.attribute([plain, old], conversion(t0), windows), {
      reason: "LastClick",
      touch: plain
    })
  })

  it("reads touches with the longest window of any campaign; a deleted campaign gets the fallback", () => {
    const windows = Attribution.fromCampaigns([campaign("a", { clickDays: 3 }), campaign("b", { clickDays: 45 })])
    assert.strictEqual(Attribution.lookback(windows), 45 * day)
    assert.strictEqual(Attribution.lookback(Attribution.fromCampaigns([campaign("a", { clickDays: 3 })])), 7 * day)
    assert.strictEqual(Attribution.lookback(Attribution.fromCampaigns([])), 7 * day)
    const gone = touch("click", t0 - 5 * day, "d-gone", "deleted")
    assert.strictEqual(Attribution.attribute([gone], conversion(t0), windows).reason, "LastClick")
    assert.deepStrictEqual(Attribution.windowsOf(campaign("plain")), Attribution.defaultWindows)
    assert.strictEqual(Duration.toMillis(Attribution.windowsOf(campaign("v", { viewDays: 30 })).view), 30 * day)
  })
})
