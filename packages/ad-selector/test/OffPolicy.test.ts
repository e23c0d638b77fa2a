import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import type { Arm } from "../src/Chooser.js"
import * as OffPolicy from "../src/OffPolicy.js"
import * as Rng from "../src/Rng.js"
import * as Thompson from "../src/Thompson.js"

const evaluate = (records: ReadonlyArray<OffPolicy.LoggedDecision>, options?: Partial<OffPolicy.Options>) =>
  Either.getOrThrow(OffPolicy.evaluate(records, options))

const covers = (interval: OffPolicy.Interval | undefined, value: number) =>
  interval !== undefined && interval.lower <= value && value <= interval.upper

/** Draws an index from a probability vector. */
const sample = (rng: Rng.Rng, probabilities: ReadonlyArray<number>): number => {
  let u = rng.next()
  for (let i = 0; i < probabilities.length - 1; i++) {
    u -= probabilities[i]!
    if (u < 0) return i
  }
  return probabilities.length - 1
}

describe("OffPolicy.evaluate: the estimators", () => {
  it("computes IPS, SNIPS, their errors and the effective sample size", () => {
    const e = evaluate([
      { propensity: 0.5, target: 1, reward: 1 },
      { propensity: 0.25, target: 0.5, reward: 0 },
      { propensity: 1, target: 0, reward: 1 }
    ])
    // weights 2, 2, 0; weighted rewards 2, 0, 0
    assert.strictEqual(e.n, 3)
    assert.closeTo(e.ips.estimate, 2 / 3, 1e-12)
    assert.closeTo(e.ips.standardError, Math.sqrt(((4 / 3) ** 2 + 2 * (2 / 3) ** 2) / 2 / 3), 1e-12)
    assert.closeTo(e.ips.upper - e.ips.estimate, 1.959964 * e.ips.standardError, 1e-6)
    assert.closeTo(e.snips!.estimate, 0.5, 1e-12)
    assert.closeTo(e.snips!.standardError, Math.sqrt(4 * 0.25 + 4 * 0.25) / 4, 1e-12)
    assert.closeTo(e.effectiveSampleSize, 16 / 8, 1e-12)
    assert.strictEqual(e.maxWeight, 2)
    assert.strictEqual(e.clipped, 0)
  })

  it("on-policy logs (target = propensity) give the plain mean with weights 1", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            propensity: fc.double({ min: 0.01, max: 1, noNaN: true }),
            reward: fc.integer({ min: 0, max: 1 })
          }),
          {
            minLength: 2,
            maxLength: 50
          }
        ),
        (logs) => {
          const e = evaluate(logs.map((r) => ({ ...r, target: r.propensity })))
          const mean = logs.reduce((s, r) => s + r.reward, 0) / logs.length
          assert.closeTo(e.ips.estimate, mean, 1e-9)
          assert.closeTo(e.snips!.estimate, mean, 1e-9)
          assert.closeTo(e.effectiveSampleSize, logs.length, 1e-6)
        }
      )
    )
  })

  it("SNIPS stays within the rewards' range, the effective sample size within [0, n], intervals around estimates", () => {
    const record = fc.record({
      propensity: fc.double({ min: 1e-6, max: 1, noNaN: true }),
      target: fc.double({ min: 0, max: 1, noNaN: true }),
      reward: fc.double({ min: -5, max: 5, noNaN: true })
    })
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 40 }),
        fc.option(fc.double({ min: 0.5, max: 100, noNaN: true })),
        (logs, clip) => {
          const e = evaluate(logs, clip === null ? {} : { clip })
          assert.isTrue(e.effectiveSampleSize >= 0 && e.effectiveSampleSize <= e.n * (1 + 1e-9))
          assert.isTrue(e.ips.lower <= e.ips.estimate && e.ips.estimate <= e.ips.upper)
          if (clip !== null) assert.isAtMost(e.maxWeight, clip)
          if (e.snips !== undefined) {
            const weighted = logs.filter((r) => r.target > 0)
            const low = Math.min(...weighted.map((r) => r.reward))
            const high = Math.max(...weighted.map((r) => r.reward))
            assert.isTrue(e.snips.estimate >= low - 1e-9 && e.snips.estimate <= high + 1e-9)
          } else {
            assert.isTrue(logs.every((r) => r.target === 0))
          }
        }
      )
    )
  })

  it("weights too small to multiply (subnormal) still give SNIPS inside the rewards' range", () => {
    const tiny = Number.MIN_VALUE
    const one = evaluate([{ propensity: 1e-6, target: tiny, reward: -1.0000000000000003e-9 }])
    assert.strictEqual(one.snips?.estimate, -1.0000000000000003e-9)
    assert.strictEqual(one.effectiveSampleSize, 1)
    const two = evaluate([
      { propensity: 0.5, target: 1e-310, reward: 2 },
      { propensity: 0.5, target: 1e-310, reward: 4 },
      { propensity: 1, target: 0, reward: 100 }
    ])
    assert.closeTo(two.snips!.estimate, 3, 1e-12)
    assert.closeTo(two.effectiveSampleSize, 2, 1e-12)
  })

  it("clipping caps the weights and counts the clipped records", () => {
    const logs = [
      { propensity: 0.01, target: 1, reward: 1 },
      { propensity: 0.5, target: 1, reward: 0 }
    ]
    const e = evaluate(logs, { clip: 10 })
    assert.strictEqual(e.clipped, 1)
    assert.strictEqual(e.maxWeight, 10)
    assert.closeTo(e.ips.estimate, 5, 1e-12)
    assert.closeTo(evaluate(logs).ips.estimate, 50, 1e-12)
  })

  it("a higher confidence gives a wider interval; one record an infinite one", () => {
    const logs = [
      { propensity: 0.5, target: 1, reward: 1 },
      { propensity: 0.5, target: 1, reward: 0 },
      { propensity: 0.2, target: 0.4, reward: 1 }
    ]
    const narrow = evaluate(logs, { confidence: 0.9 })
    const wide = evaluate(logs, { confidence: 0.99 })
    assert.isBelow(wide.ips.lower, narrow.ips.lower)
    assert.isAbove(wide.snips!.upper, narrow.snips!.upper)
    assert.strictEqual(evaluate([logs[0]!]).ips.upper, Number.POSITIVE_INFINITY)
  })

  it("refuses empty logs, invalid records and options, naming the record", () => {
    const reason = (result: Either.Either<OffPolicy.Evaluation, OffPolicy.OffPolicyError>) =>
      Either.isLeft(result) ? result.left.reason : "ok"
    assert.strictEqual(reason(OffPolicy.evaluate([])), "NoRecords")
    const good = { propensity: 0.5, target: 1, reward: 1 }
    for (const bad of [
      { propensity: 0, target: 1, reward: 1 },
      { propensity: 1.5, target: 1, reward: 1 },
      { propensity: Number.NaN, target: 1, reward: 1 },
      { propensity: 0.5, target: -0.1, reward: 1 },
      { propensity: 0.5, target: Number.NaN, reward: 1 },
      { propensity: 0.5, target: 1, reward: Number.POSITIVE_INFINITY }
    ]) {
      const result = OffPolicy.evaluate([good, bad])
      assert.strictEqual(reason(result), "InvalidRecord", JSON.stringify(bad))
      assert.include(Either.isLeft(result) ? result.left.message : "", "record 1")
    }
    assert.strictEqual(reason(OffPolicy.evaluate([good], { confidence: 1 })), "InvalidOptions")
    assert.strictEqual(reason(OffPolicy.evaluate([good], { clip: 0 })), "InvalidOptions")
  })
})

describe("OffPolicy.evaluate: coverage on simulated logs", () => {
  const rates = [0.02, 0.04, 0.06, 0.08, 0.1]

  it("from uniform logs, the 95% intervals of IPS and SNIPS cover a known policy's true value for ≥ 90 of 100 seeds", () => {
    const target = [0.05, 0.05, 0.1, 0.2, 0.6]
    const truth = target.reduce((s, p, i) => s + p * rates[i]!, 0)
    let ipsCovers = 0
    let snipsCovers = 0
    let halfWidth = 0
    for (let seed = 0; seed < 100; seed++) {
      const rng = Rng.seeded(1000 + seed)
      const logs: Array<OffPolicy.LoggedDecision> = []
      for (let i = 0; i < 4000; i++) {
        const arm = Math.floor(rng.next() * rates.length)
        logs.push({ propensity: 1 / rates.length, target: target[arm]!, reward: rng.next() < rates[arm]! ? 1 : 0 })
      }
      const e = evaluate(logs)
      if (covers(e.ips, truth)) ipsCovers++
      if (covers(e.snips, truth)) snipsCovers++
      halfWidth += (e.ips.upper - e.ips.estimate) / 100
    }
    assert.isAtLeast(ipsCovers, 90)
    assert.isAtLeast(snipsCovers, 90)
    assert.isBelow(halfWidth, 0.02, "informative intervals, not just wide ones")
  })

  it("from Thompson logs (with their Monte Carlo propensities), IPS and SNIPS cover uniform's true value", () => {
    const arms: ReadonlyArray<Arm> = rates.slice(0, 3).map((_, i) => ({ id: `c${i}`, prior: 0.05 }))
    const truth = (rates[0]! + rates[1]! + rates[2]!) / 3
    let ipsCovers = 0
    let snipsCovers = 0
    const seeds = 12
    for (let seed = 0; seed < seeds; seed++) {
      const rng = Rng.seeded(77 + seed)
      const sampler = Thompson.make({ propensityDraws: 40, exploration: 0.2, priorWeight: 20 })
      const logs: Array<OffPolicy.LoggedDecision> = []
      for (let t = 0; t < 1200; t++) {
        const choice = sampler.at(t).choose("campaign", arms, rng)
        const arm = Number(choice.id.slice(1))
        const clicked = rng.next() < rates[arm]!
        sampler.observe("campaign", choice.id, t, clicked)
        logs.push({ propensity: choice.propensity, target: 1 / 3, reward: clicked ? 1 : 0 })
      }
      const e = evaluate(logs)
      if (covers(e.ips, truth)) ipsCovers++
      if (covers(e.snips, truth)) snipsCovers++
    }
    assert.isAtLeast(ipsCovers, 10)
    assert.isAtLeast(snipsCovers, 10)
  })

  it("a policy that never takes the logged actions has no SNIPS estimate and an IPS of 0", () => {
    const rng = Rng.seeded(4)
    const logs = Array.from({ length: 100 }, () => ({ propensity: 0.5, target: 0, reward: rng.next() < 0.5 ? 1 : 0 }))
    const e = evaluate(logs)
    assert.isUndefined(e.snips)
    assert.strictEqual(e.ips.estimate, 0)
    assert.strictEqual(e.effectiveSampleSize, 0)
  })

  it("sample draws an index with the given probabilities (the simulation's helper)", () => {
    const rng = Rng.seeded(8)
    const counts = [0, 0, 0]
    for (let i = 0; i < 30_000; i++) counts[sample(rng, [0.2, 0.3, 0.5])]!++
    assert.closeTo(counts[0]! / 30_000, 0.2, 0.015)
    assert.closeTo(counts[2]! / 30_000, 0.5, 0.015)
  })
})
