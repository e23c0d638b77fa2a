import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Audience from "../src/Audience.js"
import * as AudienceRule from "../src/AudienceRule.js"
import * as Program from "../src/Program.js"
import * as Rule from "../src/Rule.js"
import { rule as arbitraryRule } from "./fixtures/arbitraries.js"

const { days, hours, daysAgo } = Rule

const errorOf = (input: unknown, limits?: AudienceRule.Limits) => {
  const result = AudienceRule.decodeEither(input, limits)
  if (Either.isRight(result)) return assert.fail(`expected ${JSON.stringify(input)} to be rejected`)
  return result.left
}

const viewed = { kind: "event", event: "product_view" }

describe("AudienceRule.decodeEither on hostile JSON", () => {
  it.prop(
    "refuses, without throwing, a valid rule with any value replaced by an object that cannot become text",
    [arbitraryRule, fc.nat(), fc.constantFrom('{"toString":false}', '{"valueOf":{},"toString":1}')],
    ([rule, n, hostile]) => {
      const text = AudienceRule.toJson(rule)
      let values = 0
      JSON.parse(text, (_, value) => {
        values++
        return value
      })
      // The reviver visits every value (the root last): the chosen one becomes the hostile object.
      let seen = 0
      const document = JSON.parse(text, (_, value) => (seen++ === n % values ? JSON.parse(hostile) : value))
      assert.isTrue(Either.isLeft(AudienceRule.decodeEither(document)), `value #${n % values} of ${text}`)
    }
  )
})

describe("AudienceRule.decode", () => {
  it("rejects bad documents with the path to the problem", () => {
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [
        { version: 1, conditions: [viewed, { ...viewed, window: { days: 0 } }] },
        "conditions[1].window.days: expected a whole number of days from 1 to 540, got 0"
      ],
      [
        { version: 1, conditions: [{ ...viewed, window: { days: 541 } }] },
        "conditions[0].window.days: expected a whole number of days from 1 to 540, got 541"
      ],
      [
        { version: 1, conditions: [{ ...viewed, window: { fromDaysAgo: 7, toDaysAgo: 7 } }] },
        "conditions[0].window.fromDaysAgo: must be more days ago than toDaysAgo (7), got 7"
      ],
      [
        { version: 1, conditions: [{ ...viewed, window: { days: 3, toDaysAgo: 1 } }] },
        "conditions[0].window.days: give either days or fromDaysAgo and toDaysAgo, not both"
      ],
      [
        { version: 1, conditions: [{ kind: "event", event: "product_veiw" }] },
        'conditions[0].event: expected an event type (page_view, product_view, add_to_cart, conversion, engagement), got "product_veiw"'
      ],
      [
        { version: 1, conditions: [{ ...viewed, where: { categroy: "shoes" } }] },
        "conditions[0].where.categroy: is not a known field"
      ],
      [
        { version: 1, conditions: [{ ...viewed, where: { unitPrice: { gte: -1 } } }] },
        "conditions[0].where.unitPrice.gte: expected a whole number from 0 to 4294967295, got -1"
      ],
      [
        { version: 1, conditions: [{ ...viewed, aggregate: { fn: "sum", field: "category" } }] },
        'conditions[0].aggregate.field: sum needs a numeric field (unitPrice, quantity, value, scrollDepth, timeOnPage), got "category"'
      ],
      [
        { version: 1, conditions: [{ ...viewed, aggregate: { fn: "max" } }] },
        "conditions[0].aggregate.field: is required for max"
      ],
      [
        { version: 1, conditions: [{ kind: "any", conditions: [viewed, { kind: "nor", conditions: [] }] }] },
        'conditions[0].conditions[1].kind: Expected "event" | "sequence" | "all" | "any" | "not", actual "nor"'
      ],
      [
        { version: 1, conditions: [{ kind: "sequence", steps: [{ event: "product_view" }], within: { hours: 1 } }] },
        "conditions[0].steps: expected 2 to 4 steps, got 1"
      ],
      [
        { version: 1, conditions: [{ kind: "all", bind: "sku", conditions: [viewed] }] },
        'conditions[0].bind: expected productId or category, got "sku"'
      ],
      [{ version: 2, conditions: [viewed] }, "version: expected 1 (the only version), got 2"],
      [{ version: 1 }, "conditions: is required"],
      [{ version: 1, conditions: [] }, "conditions: expected 1 to 32 conditions, got 0"],
      [
        { version: 1, conditions: [viewed], expiry: { days: 541 } },
        "expiry.days: expected a whole number of days from 1 to 540, got 541"
      ],
      [{ version: 1, conditions: [viewed], owner: "x" }, "owner: is not a known field"],
      ["viewed shoes", 'rule: expected a rule document (an object), got "viewed shoes"']
    ]
    for (const [input, message] of cases) {
      const error = errorOf(input)
      assert.strictEqual(error._tag, "RuleError")
      assert.strictEqual(error.reason, "invalid")
      assert.strictEqual(error.message, message)
    }
  })

  it("rejects rules that cannot mean anything", () => {
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [
        { version: 1, conditions: [{ kind: "not", condition: viewed }] },
        "conditions: needs at least one condition on something the visitor did (not negated)"
      ],
      [
        {
          version: 1,
          bind: "productId",
          conditions: [viewed, { kind: "not", condition: { kind: "all", bind: "category", conditions: [viewed] } }]
        },
        "conditions[1].condition.bind: a bound group cannot contain another bind"
      ],
      [
        {
          version: 1,
          conditions: [viewed, { kind: "all", bind: "productId", conditions: [{ kind: "not", condition: viewed }] }]
        },
        "conditions[1].bind: a bound group needs a condition that is not negated"
      ],
      [
        {
          version: 1,
          bind: "productId",
          conditions: [{ ...viewed, aggregate: { fn: "distinct", field: "category" } }]
        },
        "conditions[0].aggregate: distinct cannot be used inside a bound group"
      ],
      [
        {
          version: 1,
          conditions: [
            { ...viewed, aggregate: { fn: "distinct", field: "productId" }, compare: { op: "gte", value: 16 } }
          ]
        },
        "conditions[0].compare.value: distinct counts compare with at most 15, got 16"
      ]
    ]
    for (const [input, message] of cases) assert.strictEqual(errorOf(input).message, message)
  })

  it("rejects rules over the complexity limits, naming the limit", () => {
    let deep: unknown = viewed
    for (let i = 0; i < 6; i++) deep = { kind: "all", conditions: [deep] }
    const depth = errorOf({ version: 1, conditions: [deep] })
    assert.strictEqual(depth.reason, "too-complex")
    assert.strictEqual(depth.limit, "maxDepth")
    assert.match(depth.message, /^conditions\[0\](\.conditions\[0\])+: nesting deeper than 5 \(limit maxDepth\)$/)

    const leaves = errorOf({ version: 1, conditions: Array.from({ length: 25 }, () => viewed) })
    assert.strictEqual(leaves.limit, "maxLeaves")
    assert.strictEqual(
      leaves.message,
      "conditions: 25 event conditions and sequence steps, more than 24 (limit maxLeaves)"
    )

    const windows = errorOf({
      version: 1,
      conditions: Array.from({ length: 9 }, (_, i) => ({ ...viewed, window: { days: i + 1 } }))
    })
    assert.strictEqual(windows.limit, "maxWindows")

    const values = errorOf({
      version: 1,
      conditions: Array.from({ length: 6 }, () => ({
        ...viewed,
        where: { productId: { in: Array.from({ length: 100 }, (_, i) => `p${i}`) } }
      }))
    })
    assert.strictEqual(values.limit, "maxInValues")

    // Limits are the caller's to set.
    const strict = { ...AudienceRule.defaultLimits, maxLeaves: 2 }
    assert.strictEqual(errorOf({ version: 1, conditions: [viewed, viewed, viewed] }, strict).limit, "maxLeaves")
  })

  it.effect("decodes as an Effect, failing with the RuleError", () =>
    Effect.gen(function* () {
      const ok = yield* AudienceRule.decode({ version: 1, conditions: [viewed] })
      assert.deepStrictEqual(ok, { version: 1, conditions: [{ kind: "event", event: "product_view" }] })
      const error = yield* Effect.flip(AudienceRule.decode({ version: 1, conditions: [{ ...viewed, window: {} }] }))
      assert.strictEqual(error.message, "conditions[0].window.fromDaysAgo: is required (or give days)")
    })
  )

  it("round-trips every generated rule through JSON", () => {
    fc.assert(
      fc.property(arbitraryRule, (rule) => {
        const decoded = AudienceRule.decodeEither(JSON.parse(AudienceRule.toJson(rule)))
        assert.deepStrictEqual(Either.getOrThrow(decoded), rule)
      }),
      { numRuns: 300 }
    )
  })

  it("rejects audience sets with a repeated id", () => {
    const rule = Audience.make([Rule.viewed()])
    const result = Program.makeEither([
      { id: "a", rule },
      { id: "a", rule }
    ])
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.strictEqual(result.left.message, 'audiences: audience id "a" appears twice')
  })
})

describe("the builder", () => {
  it("produces the documents written by hand", () => {
    const cases: ReadonlyArray<readonly [AudienceRule.AudienceRule, unknown]> = [
      [
        // Viewed a product in category shoes at least twice in the last 14 days and did not buy it.
        Audience.make(
          [Rule.viewed({ category: "shoes" }).atLeast(2).within(days(14)), Rule.not(Rule.purchased().within(days(14)))],
          { bind: "productId" }
        ),
        {
          version: 1,
          bind: "productId",
          conditions: [
            {
              kind: "event",
              event: "product_view",
              where: { category: "shoes" },
              compare: { op: "gte", value: 2 },
              window: { days: 14 }
            },
            {
              kind: "not",
              condition: {
                kind: "event",
                event: "conversion",
                where: { conversionType: "purchase" },
                window: { days: 14 }
              }
            }
          ]
        }
      ],
      [
        // Added to cart in the last 3 days, excluding buyers of the last 30.
        Audience.make([Rule.addedToCart().within(days(3)), Rule.not(Rule.purchased().within(days(30)))], {
          expiry: days(7)
        }),
        {
          version: 1,
          expiry: { days: 7 },
          conditions: [
            { kind: "event", event: "add_to_cart", window: { days: 3 } },
            {
              kind: "not",
              condition: {
                kind: "event",
                event: "conversion",
                where: { conversionType: "purchase" },
                window: { days: 30 }
              }
            }
          ]
        }
      ],
      [
        // Spent over 200 EUR in the last 90 days.
        Audience.make([Rule.purchased({ currency: "EUR" }).sum("value").moreThan(20_000).within(days(90))]),
        {
          version: 1,
          conditions: [
            {
              kind: "event",
              event: "conversion",
              where: { conversionType: "purchase", currency: "EUR" },
              aggregate: { fn: "sum", field: "value" },
              compare: { op: "gt", value: 20_000 },
              window: { days: 90 }
            }
          ]
        }
      ],
      [
        // Visited /pricing but never reached /signup/complete.
        Audience.make([
          Rule.visited("/pricing").within(days(30)),
          Rule.not(Rule.visited("/signup/complete").within(days(540)))
        ]),
        {
          version: 1,
          conditions: [
            { kind: "event", event: "page_view", where: { url: "/pricing" }, window: { days: 30 } },
            {
              kind: "not",
              condition: {
                kind: "event",
                event: "page_view",
                where: { url: "/signup/complete" },
                window: { days: 540 }
              }
            }
          ]
        }
      ],
      [
        Audience.make([
          Rule.sequence(Rule.viewed({ category: "shoes" }), Rule.addedToCart())
            .within(hours(1))
            .within(days(7)),
          Rule.any(Rule.purchased().between(daysAgo(30), daysAgo(60)), Rule.viewed().distinct("category").atLeast(3)),
          Rule.all(Rule.viewed().atLeast(2), Rule.not(Rule.addedToCart())).bind("category")
        ]),
        {
          version: 1,
          conditions: [
            {
              kind: "sequence",
              steps: [{ event: "product_view", where: { category: "shoes" } }, { event: "add_to_cart" }],
              within: { hours: 1 },
              window: { days: 7 }
            },
            {
              kind: "any",
              conditions: [
                {
                  kind: "event",
                  event: "conversion",
                  where: { conversionType: "purchase" },
                  window: { fromDaysAgo: 60, toDaysAgo: 30 }
                },
                {
                  kind: "event",
                  event: "product_view",
                  aggregate: { fn: "distinct", field: "category" },
                  compare: { op: "gte", value: 3 }
                }
              ]
            },
            {
              kind: "all",
              bind: "category",
              conditions: [
                { kind: "event", event: "product_view", compare: { op: "gte", value: 2 } },
                { kind: "not", condition: { kind: "event", event: "add_to_cart" } }
              ]
            }
          ]
        }
      ]
    ]
    for (const [built, json] of cases) {
      assert.deepStrictEqual(built, json)
      // The builder's documents are valid, and survive JSON unchanged.
      assert.deepStrictEqual(Either.getOrThrow(AudienceRule.decodeEither(JSON.parse(JSON.stringify(built)))), built)
    }
  })
})
