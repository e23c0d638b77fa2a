import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as Noise from "../src/Noise.js"
import * as Report from "../src/Report.js"
import * as SecureRandom from "../src/SecureRandom.js"

const DRAWS = 20_000

const moments = (xs: ReadonlyArray<number>) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)
  return { mean, variance }
}

/** |observed - expected| within 5 standard deviations of the estimator: wrong about once in 1.7 million runs. */
const within5Sigma = (observed: number, expected: number, sd: number, what: string) =>
  assert.isAtMost(Math.abs(observed - expected), 5 * sd, `${what}: ${observed} vs ${expected} (sd ${sd})`)

const fraction = (xs: ReadonlyArray<number>, p: (x: number) => boolean) => xs.filter(p).length / xs.length

describe("SecureRandom", () => {
  it("draws uniforms strictly inside (0, 1) from the secure source, with mean 1/2 and variance 1/12", () => {
    const xs = Array.from({ length: DRAWS }, SecureRandom.secure.uniform)
    for (const x of xs) assert.isTrue(x > 0 && x < 1)
    const { mean, variance } = moments(xs)
    within5Sigma(mean, 0.5, Math.sqrt(1 / 12 / DRAWS), "mean")
    // Var(s²) for the uniform: (μ4 − σ⁴)/n with μ4 = 1/80.
    within5Sigma(variance, 1 / 12, Math.sqrt((1 / 80 - 1 / 144) / DRAWS), "variance")
  })

  it("gives fresh bytes from the secure source, and reproducible ones from a seed", () => {
    assert.notDeepEqual(SecureRandom.secure.bytes(32), SecureRandom.secure.bytes(32))
    assert.strictEqual(SecureRandom.secure.bytes(100_000).length, 100_000)
    assert.deepStrictEqual(SecureRandom.seeded(1).bytes(40), SecureRandom.seeded(1).bytes(40))
    assert.notDeepEqual(SecureRandom.seeded(1).bytes(40), SecureRandom.seeded(2).bytes(40))
    const a = SecureRandom.seeded("x")
    const b = SecureRandom.seeded("x")
    for (let i = 0; i < 2_000; i++) assert.strictEqual(a.uniform(), b.uniform())
  })
})

describe("Noise.laplace", () => {
  for (const scale of [0.5, 2, 40]) {
    it(`Laplace(${scale}) over ${DRAWS} secure draws: mean 0, variance 2b², P(|X| ≤ b) = 1 − 1/e`, () => {
      const xs = Array.from({ length: DRAWS }, () => Noise.laplace(scale, SecureRandom.secure.uniform))
      const { mean, variance } = moments(xs)
      within5Sigma(mean, 0, Math.sqrt((2 * scale ** 2) / DRAWS), "mean")
      // Var(s²) ≈ (μ4 − σ⁴)/n; for Laplace μ4 = 24b⁴ and σ⁴ = 4b⁴.
      within5Sigma(variance, 2 * scale ** 2, scale ** 2 * Math.sqrt(20 / DRAWS), "variance")
      const p = 1 - Math.exp(-1)
      within5Sigma(
        fraction(xs, (x) => Math.abs(x) <= scale),
        p,
        Math.sqrt((p * (1 - p)) / DRAWS),
        "P(|X| ≤ b)"
      )
      within5Sigma(
        fraction(xs, (x) => x > 0),
        0.5,
        Math.sqrt(0.25 / DRAWS),
        "P(X > 0)"
      )
    })
  }
})

describe("Noise.gaussian", () => {
  for (const sigma of [1, 7.5]) {
    it(`Normal(0, ${sigma}²) over ${DRAWS} secure draws: mean 0, variance σ², P(|X| ≤ σ) = 0.6827`, () => {
      const xs = Array.from({ length: DRAWS }, () => Noise.gaussian(sigma, SecureRandom.secure.uniform))
      const { mean, variance } = moments(xs)
      within5Sigma(mean, 0, sigma / Math.sqrt(DRAWS), "mean")
      // Var(s²) ≈ 2σ⁴/n for the normal distribution.
      within5Sigma(variance, sigma ** 2, sigma ** 2 * Math.sqrt(2 / DRAWS), "variance")
      const p = 0.682_689_492
      within5Sigma(
        fraction(xs, (x) => Math.abs(x) <= sigma),
        p,
        Math.sqrt((p * (1 - p)) / DRAWS),
        "P(|X| ≤ σ)"
      )
    })
  }
})

describe("Noise calibration", () => {
  it("Laplace b = Δ₁/ε and Gaussian σ = Δ₂·√(2 ln(1.25/δ))/ε", () => {
    assert.strictEqual(Noise.laplaceScale(1, 0.5), 2)
    assert.strictEqual(Noise.laplaceScale(10, 1), 10)
    assert.closeTo(Noise.gaussianSigma(1, 0.5, 1e-5), Math.sqrt(2 * Math.log(1.25e5)) / 0.5, 1e-12)
  })

  it("refuses parameters outside their ranges with a typed error", () => {
    const bad: ReadonlyArray<Noise.Mechanism> = [
      { _tag: "Laplace", epsilon: 0 },
      { _tag: "Laplace", epsilon: -1 },
      { _tag: "Laplace", epsilon: Number.NaN },
      { _tag: "Laplace", epsilon: Number.POSITIVE_INFINITY },
      { _tag: "Gaussian", epsilon: 1.5, delta: 1e-6 },
      { _tag: "Gaussian", epsilon: 0.5, delta: 0 },
      { _tag: "Gaussian", epsilon: 0.5, delta: 1 }
    ]
    for (const mechanism of bad) {
      const result = Noise.validate(mechanism)
      assert.isTrue(Either.isLeft(result), JSON.stringify(mechanism))
      if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "InvalidPrivacyParameter")
    }
    assert.isTrue(Either.isRight(Noise.validate({ _tag: "Gaussian", epsilon: 0.9, delta: 1e-6 })))
  })
})

describe("Report.privatize", () => {
  const cell: Report.Cell = { dimensions: { day: "d1" }, count: 10_000, visitors: 2_000 }
  const bounds = { maxContribution: 3, maxCells: 4 }

  it("adds Laplace noise of scale 2·C·L/ε to counts and 2·L/ε to visitors (half the budget each)", () => {
    const epsilon = 1
    const random = SecureRandom.secure
    const counts: Array<number> = []
    const visitors: Array<number> = []
    for (let i = 0; i < DRAWS; i++) {
      const out = Either.getOrThrow(
        Report.privatize([cell], { mechanism: { _tag: "Laplace", epsilon }, bounds, k: 1 }, random.uniform)
      )
      counts.push(out[0]!.count - cell.count)
      visitors.push(out[0]!.visitors - cell.visitors)
    }
    const bCount = (2 * bounds.maxContribution * bounds.maxCells) / epsilon
    const bVisitors = (2 * bounds.maxCells) / epsilon
    // Rounding to integers adds variance 1/12 at most.
    const c = moments(counts)
    within5Sigma(c.mean, 0, Math.sqrt((2 * bCount ** 2) / DRAWS), "count mean")
    within5Sigma(c.variance, 2 * bCount ** 2 + 1 / 12, bCount ** 2 * Math.sqrt(20 / DRAWS) + 0.1, "count variance")
    const v = moments(visitors)
    within5Sigma(v.variance, 2 * bVisitors ** 2 + 1 / 12, bVisitors ** 2 * Math.sqrt(20 / DRAWS) + 0.1, "visitors")
    for (const x of [...counts, ...visitors]) assert.isTrue(Number.isInteger(x))
  })

  it("withholds cells whose noisy visitor count is below k, and never publishes negative numbers", () => {
    const cells: Array<Report.Cell> = [
      { dimensions: { c: "big" }, count: 50_000, visitors: 10_000 },
      { dimensions: { c: "small" }, count: 4, visitors: 2 },
      { dimensions: { c: "empty" }, count: 0, visitors: 0 }
    ]
    for (let i = 0; i < 200; i++) {
      const out = Either.getOrThrow(
        Report.privatize(
          cells,
          // Visitor noise of scale 2·L/ε = 0.5: a 2-visitor cell reaches 50 with probability e^-96.
          { mechanism: { _tag: "Laplace", epsilon: 4 }, bounds: { maxContribution: 1, maxCells: 1 } },
          SecureRandom.secure.uniform
        )
      )
      assert.deepStrictEqual(
        out.map((c) => c.dimensions.c),
        ["big"]
      )
      for (const c of out) assert.isTrue(c.count >= 0 && c.visitors >= 50)
    }
  })

  it("is reproducible with a seeded source and differs between seeds", () => {
    const run = (seed: number) =>
      Either.getOrThrow(
        Report.privatize(
          [cell],
          { mechanism: { _tag: "Gaussian", epsilon: 0.5, delta: 1e-6 }, bounds },
          SecureRandom.seeded(seed).uniform
        )
      )
    assert.deepStrictEqual(run(1), run(1))
    assert.notDeepEqual(run(1), run(2))
  })

  it.prop(
    "refuses bounds that are not positive integers",
    [fc.oneof(fc.constant(0), fc.constant(-1), fc.constant(1.5), fc.constant(Number.NaN))],
    ([bad]) => {
      const result = Report.privatize(
        [cell],
        { mechanism: { _tag: "Laplace", epsilon: 1 }, bounds: { maxContribution: bad, maxCells: 1 } },
        SecureRandom.secure.uniform
      )
      assert.isTrue(Either.isLeft(result))
    }
  )
})
