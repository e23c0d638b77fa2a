import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as Campaign from "../src/Campaign.js"

const valid = {
  id: "spring-sale",
  tenant: "shop-1",
  name: "Spring sale",
  status: "active",
  tier: { kind: "contract", priority: 2 },
  schedule: { start: "2026-03-01T00:00:00Z", end: "2026-04-01T00:00:00Z", hours: [8, 9, 10], days: [1, 2, 3, 4, 5] },
  budget: { daily: { amount: 5_000, currency: "EUR" }, total: { amount: 100_000, currency: "EUR" } },
  bid: { amount: 250, currency: "EUR" },
  targeting: {
    audiences: { include: ["cart-abandoners"], exclude: ["buyers-30d"] },
    recencyDays: 14,
    sites: { include: ["news-site"] },
    categories: ["sport"],
    devices: ["mobile", "tablet"]
  },
  caps: [
    { scope: "campaign", window: "day", max: 3 },
    { scope: "advertiser", window: "week", max: 10 }
  ],
  recencyBlockSeconds: 300,
  pacing: "even",
  creatives: [
    { id: "banner", width: 300, height: 250, kind: "static", landingUrl: "https://shop.example/sale" },
    { id: "products", width: 728, height: 90, kind: "product", landingUrl: "https://shop.example/" }
  ]
}

const error = (over: Record<string, unknown>): string => {
  const result = Campaign.decode({ ...valid, ...over })
  assert.isTrue(Either.isLeft(result), JSON.stringify(over))
  return Either.isLeft(result) ? result.left : ""
}

describe("Campaign.decode", () => {
  it("decodes a full campaign and encodes it back to the same JSON", () => {
    const decoded = Either.getOrThrow(Campaign.decode(valid))
    assert.deepStrictEqual(
      JSON.parse(JSON.stringify(Campaign.encode(decoded))),
      JSON.parse(
        JSON.stringify({
          ...valid,
          schedule: { ...valid.schedule, start: "2026-03-01T00:00:00.000Z", end: "2026-04-01T00:00:00.000Z" }
        })
      )
    )
    assert.isTrue(Campaign.isPersonalized(decoded))
    assert.isTrue(Campaign.isCapped(decoded))
    assert.strictEqual(Campaign.tierRank(decoded.tier), 2)
  })

  it("names the broken rule in plain words", () => {
    assert.match(error({ tier: { kind: "contract" } }), /priority/)
    assert.match(error({ tier: { kind: "contract", priority: 11 } }), /priority is an integer 1–10/)
    assert.match(error({ bid: { amount: 1.5, currency: "EUR" } }), /minor units/)
    assert.match(
      error({ budget: { daily: { amount: 10, currency: "USD" } } }),
      /budget.daily is in USD, the bid in EUR/
    )
    assert.match(error({ bid: { amount: 0, currency: "EUR" } }), /bid must be above zero/)
    assert.match(error({ creatives: [] }), /creatives/)
    assert.match(error({ creatives: [valid.creatives[0], valid.creatives[0]] }), /creative id banner appears twice/)
    assert.match(error({ schedule: { start: "2026-03-01T00:00:00Z", end: "2026-02-01T00:00:00Z" } }), /not after start/)
    assert.match(error({ schedule: { start: "2026-03-01T00:00:00Z", hours: [] } }), /could never serve/)
    assert.match(error({ schedule: { start: "2026-03-01T00:00:00Z", hours: [24] } }), /0–23/)
    assert.match(error({ pacing: "even", budget: {} }), /even pacing needs a daily budget/)
    assert.match(error({ caps: [{ scope: "campaign", window: "month", max: 1 }] }), /window/)
    assert.match(error({ caps: [{ scope: "campaign", window: "day", max: 0 }] }), /max is an integer/)
    assert.match(error({ id: "has space" }), /id of letters/)
    assert.match(error({ surprise: true }), /surprise/)
  })

  it("refuses landing URLs that are not http(s): no javascript:, data: or relative links", () => {
    for (const landingUrl of ["javascript:alert(1)", "data:text/html,x", "/relative", "ftp://x.example/", ""]) {
      const creatives = [{ ...valid.creatives[0], landingUrl }]
      assert.match(error({ creatives }), /landing URL/, landingUrl)
    }
  })

  it("a paid tier refuses a zero bid, a house campaign may bid zero", () => {
    assert.isTrue(
      Either.isRight(
        Campaign.decode({ ...valid, tier: { kind: "house" }, bid: { amount: 0, currency: "EUR" }, pacing: "asap" })
      )
    )
  })

  it.prop("never throws on hostile input: a message or a campaign", [fc.anything()], ([input]) => {
    const result = Campaign.decode(input)
    if (Either.isLeft(result)) assert.isString(result.left)
  })

  it.prop(
    "never throws when one field of a valid campaign is replaced by anything",
    [fc.constantFrom(...Object.keys(valid)), fc.anything()],
    ([key, value]) => {
      const result = Campaign.decode({ ...valid, [key]: value })
      if (Either.isLeft(result)) assert.isAbove(result.left.length, 0)
    }
  )
})

describe("Campaign.decode on hostile JSON", () => {
  const text = JSON.stringify(valid)
  let values = 0
  JSON.parse(text, (_, value) => {
    values++
    return value
  })

  it.prop(
    "refuses, without throwing, a campaign with any value replaced by an object that cannot become text",
    [fc.nat({ max: values - 1 }), fc.constantFrom('{"toString":false}', '{"valueOf":{},"toString":1}')],
    ([index, hostile]) => {
      // The reviver visits every value (the root last): the `index`th one becomes the hostile object.
      let seen = 0
      const document = JSON.parse(text, (_, value) => (seen++ === index ? JSON.parse(hostile) : value))
      assert.isTrue(Either.isLeft(Campaign.decode(document)), `value #${index}`)
    }
  )
})

describe("Campaign attribution windows", () => {
  const { attribution: _none, ...old } = valid as typeof valid & { attribution?: unknown }

  it("a campaign stored before windows existed decodes to the defaults and encodes back unchanged", () => {
    const decoded = Either.getOrThrow(Campaign.decode(old))
    assert.deepStrictEqual(Campaign.attributionOf(decoded), { clickDays: 7, viewDays: 1 })
    assert.notProperty(Campaign.encode(decoded), "attribution")
  })

  it("fills a missing clickDays or viewDays with its default and keeps given ones", () => {
    const windows = (attribution: unknown) =>
      Campaign.attributionOf(Either.getOrThrow(Campaign.decode({ ...old, attribution })))
    assert.deepStrictEqual(windows({}), { clickDays: 7, viewDays: 1 })
    assert.deepStrictEqual(windows({ viewDays: 0 }), { clickDays: 7, viewDays: 0 })
    assert.deepStrictEqual(windows({ clickDays: 90, viewDays: 30 }), { clickDays: 90, viewDays: 30 })
  })

  it("refuses windows out of range, fractional or of another type, naming the field", () => {
    for (const clickDays of [0, 91, 2.5, "7", -1]) {
      assert.include(error({ attribution: { clickDays } }), "clickDays")
    }
    for (const viewDays of [-1, 31, 0.5, null]) {
      assert.include(error({ attribution: { viewDays } }), "viewDays")
    }
    assert.include(error({ attribution: { clickDays: 7, lookback: 3 } }), "lookback")
  })

  it("round-trips any valid windows through encode and decode", () =>
    fc.assert(
      fc.property(
        fc.record(
          { clickDays: fc.integer({ min: 1, max: 90 }), viewDays: fc.integer({ min: 0, max: 30 }) },
          { requiredKeys: [] }
        ),
        (attribution) => {
          const decoded = Either.getOrThrow(Campaign.decode({ ...old, attribution }))
          const expected = { clickDays: 7, viewDays: 1, ...attribution }
          assert.deepStrictEqual(Campaign.attributionOf(decoded), expected)
          const again = Either.getOrThrow(Campaign.decode(JSON.parse(JSON.stringify(Campaign.encode(decoded)))))
          assert.deepStrictEqual(Campaign.attributionOf(again), expected)
        }
      )
    ))
})
