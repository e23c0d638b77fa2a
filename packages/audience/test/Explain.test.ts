import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Audience from "../src/Audience.js"
import * as Evaluator from "../src/Evaluator.js"
import * as Explain from "../src/Explain.js"
import * as Program from "../src/Program.js"
import * as Rule from "../src/Rule.js"
import * as VisitorState from "../src/VisitorState.js"
import { DAY, HOUR, purchase, T0, view } from "./fixtures/events.js"

const { days } = Rule

describe("Explain", () => {
  const program = Either.getOrThrow(
    Program.makeEither([
      {
        id: "shoes",
        rule: Audience.make(
          [Rule.viewed({ category: "shoes" }).atLeast(2).within(days(14)), Rule.not(Rule.purchased().within(days(30)))],
          { bind: "productId" }
        )
      },
      { id: "spenders", rule: Audience.make([Rule.purchased().sum("value").moreThan(20_000).within(days(90))]) }
    ])
  )
  const state = VisitorState.make()
  for (const e of [
    view(T0, "p1"),
    view(T0 + HOUR, "p1"),
    view(T0 + DAY, "p2"),
    view(T0 + DAY, "p2"),
    purchase(T0 + DAY + HOUR, [{ productId: "p2", unitPrice: 9_000 }])
  ]) {
    Evaluator.update(program, state, e)
  }
  const now = T0 + 2 * DAY

  it("gives the per-condition tree with the values compared, per bound value", () => {
    const explanation = Option.getOrThrow(Explain.explain(program, "shoes", state, now))
    assert.isTrue(explanation.member)
    assert.deepStrictEqual(explanation.products, ["p1"])
    assert.strictEqual(explanation.lastActivity, "2026-03-03")
    assert.strictEqual(explanation.expiresAt, Date.UTC(2026, 3, 2))
    const root = explanation.conditions
    assert.strictEqual(root.kind, "bound")
    if (root.kind !== "bound") return
    assert.strictEqual(root.field, "productId")
    assert.deepStrictEqual(
      root.values.map((v) => [v.value, v.holds]),
      [
        ["p1", true],
        ["p2", false]
      ]
    )
    const p2 = root.values.find((v) => v.value === "p2")!
    const [viewed, notBought] = p2.children
    assert.deepStrictEqual(viewed, {
      kind: "event",
      path: "conditions[0]",
      holds: true,
      events: ["product_view"],
      where: { category: "shoes" },
      aggregate: "count",
      field: undefined,
      window: { from: "2026-02-19", to: "2026-03-04" },
      value: 2,
      op: "gte",
      threshold: 2
    })
    assert.strictEqual(notBought?.kind, "not")
    if (notBought?.kind === "not") {
      assert.isFalse(notBought.holds)
      assert.strictEqual(notBought.child.kind === "event" && notBought.child.value, 1)
    }
  })

  it("describes it in sentences", () => {
    const lines = Explain.describe(Option.getOrThrow(Explain.explain(program, "spenders", state, now)))
    assert.deepStrictEqual(lines, [
      "Not in audience spenders",
      "  ✗ all of:",
      '    ✗ conversion where conversionType = "purchase": sum of value from 2025-12-05 to 2026-03-04 = 9000 (needed more than 20000)'
    ])
    const shoes = Explain.describe(Option.getOrThrow(Explain.explain(program, "shoes", state, now)))
    assert.strictEqual(shoes[0], "In audience shoes until 2026-04-02; products: p1")
    assert.include(shoes, "    ✓ productId p1:")
    assert.include(
      shoes,
      '      ✓ product_view where category = "shoes": count from 2026-02-19 to 2026-03-04 = 2 (needed at least 2)'
    )
  })

  it("is None for an unknown audience, and explains an empty state", () => {
    assert.isTrue(Option.isNone(Explain.explain(program, "nope", state, now)))
    const empty = Option.getOrThrow(Explain.explain(program, "spenders", VisitorState.make(), now))
    assert.isFalse(empty.member)
    assert.strictEqual(empty.conditions.kind, "all")
  })
})
