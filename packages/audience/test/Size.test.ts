import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Size from "../src/Size.js"

const filled = (n: number, prefix = "v", threshold?: number) => {
  const size = Size.make(threshold)
  for (let i = 0; i < n; i++) Size.add(size, `${prefix}-${i}`)
  return size
}

describe("Size", () => {
  it("counts exactly below the threshold, duplicates once", () => {
    const size = Size.make()
    for (let i = 0; i < 300; i++) Size.add(size, `v-${i % 120}`)
    assert.deepStrictEqual(Size.estimate(size), { value: 120, exact: true, low: 120, high: 120 })
  })

  it("is not targetable below the floor of 50, targetable at 50", () => {
    assert.isFalse(Size.isTargetable(filled(49)))
    assert.isTrue(Size.isTargetable(filled(50)))
    assert.isFalse(Size.isTargetable(filled(99), 100), "k is configurable")
    assert.isFalse(Size.isTargetable(0))
    assert.isTrue(Size.isTargetable(Size.exactly(50)))
  })

  it("switches to HyperLogLog past the threshold and stays within a few percent", () => {
    for (const n of [2_000, 30_000, 250_000]) {
      const e = Size.estimate(filled(n, `n${n}`))
      assert.isFalse(e.exact)
      assert.isBelow(Math.abs(e.value - n) / n, 0.03, `estimate ${e.value} for ${n}`)
      assert.isAtMost(e.low, n)
      assert.isAtLeast(e.high, n)
    }
  })

  it("judges an estimate by its lower bound, so errors never expose a small audience", () => {
    // With a tiny threshold, 60 visitors are estimated; the floor of 50 is then checked against the low bound.
    const e = Size.estimate(filled(60, "small", 10))
    assert.isFalse(e.exact)
    assert.strictEqual(Size.isTargetable(e, 50), e.low >= 50)
    assert.isFalse(Size.isTargetable({ value: 55, exact: false, low: 48, high: 62 }))
  })

  it("merges like counting the union", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_500 }), fc.integer({ min: 0, max: 1_500 }), (a, b) => {
        const left = filled(a, "x")
        const right = filled(b, "x")
        const merged = Size.estimate(Size.merge(left, right))
        const expected = Math.max(a, b)
        if (merged.exact) assert.strictEqual(merged.value, expected)
        else assert.isBelow(Math.abs(merged.value - expected) / expected, 0.05)
      }),
      { numRuns: 40 }
    )
    const big = Size.merge(filled(5_000, "a"), filled(5_000, "b"))
    assert.isBelow(Math.abs(Size.estimate(big).value - 10_000) / 10_000, 0.03)
  })
})
