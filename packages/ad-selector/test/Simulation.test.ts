import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import type { Arm, Chooser } from "../src/Chooser.js"
import { uniform } from "../src/Chooser.js"
import * as Ftrl from "../src/Ftrl.js"
import * as Rng from "../src/Rng.js"
import * as Thompson from "../src/Thompson.js"

/**
 * Bandit simulations with known click rates. Regret is the pseudo-regret Σ (best rate − chosen arm's rate), so the
 * comparison measures the policies' choices, not the luck of the clicks.
 */

interface Learner {
  readonly chooser: Chooser
  readonly feedback: (armId: string, at: number, clicked: boolean) => void
}

const scope = "campaign"

const thompson = (options: Partial<Thompson.Options> = {}): Learner => {
  // The propensity is not used here: one extra round keeps the simulation fast.
  const sampler = Thompson.make({ propensityDraws: 1, ...options })
  return {
    chooser: sampler,
    feedback: (armId, at, clicked) => {
      sampler.observe(scope, armId, at, clicked)
    }
  }
}

/** ε-greedy on empirical rates (untried arms first), the classic baseline. */
const epsilonGreedy = (epsilon: number): Learner => {
  const shown = new Map<string, number>()
  const clicks = new Map<string, number>()
  return {
    chooser: {
      choose: (_scope, arms, rng) => {
        if (rng.next() < epsilon) return uniform.choose(_scope, arms, rng)
        let best = arms[0]!
        let bestRate = -1
        for (const arm of arms) {
          const n = shown.get(arm.id) ?? 0
          const rate = n === 0 ? Number.POSITIVE_INFINITY : (clicks.get(arm.id) ?? 0) / n
          if (rate > bestRate) {
            best = arm
            bestRate = rate
          }
        }
        return { id: best.id, propensity: 1 - epsilon + epsilon / arms.length }
      }
    },
    feedback: (armId, _at, clicked) => {
      shown.set(armId, (shown.get(armId) ?? 0) + 1)
      if (clicked) clicks.set(armId, (clicks.get(armId) ?? 0) + 1)
    }
  }
}

const passive = (chooser: Chooser): Learner => ({ chooser, feedback: () => {} })

/** Runs `rounds` decisions (one per ms); `ratesAt(t)` gives the true rates. Returns the regret and the choices. */
const simulate = (
  learner: Learner,
  arms: ReadonlyArray<Arm>,
  ratesAt: (t: number) => ReadonlyArray<number>,
  rounds: number,
  seed: number
) => {
  const decisions = Rng.seeded(seed)
  const world = Rng.seeded(seed ^ 0x5eed)
  const index = new Map(arms.map((arm, i) => [arm.id, i]))
  let regret = 0
  const choices: Array<number> = []
  for (let t = 0; t < rounds; t++) {
    const rates = ratesAt(t)
    const choice = learner.chooser.choose(scope, arms, decisions)
    const i = index.get(choice.id)!
    choices.push(i)
    regret += Math.max(...rates) - rates[i]!
    learner.feedback(choice.id, t, world.next() < rates[i]!)
  }
  return { regret, choices }
}

const rates = [0.01, 0.02, 0.03, 0.04, 0.05]
const flat: ReadonlyArray<Arm> = rates.map((_, i) => ({ id: `creative-${i}`, prior: 0.03 }))
const seeds = [1, 2, 3, 4, 5, 6]
const rounds = 20_000
const mean = (values: ReadonlyArray<number>) => values.reduce((s, v) => s + v, 0) / values.length

describe("Simulation: known click rates", () => {
  it("Thompson sampling's cumulative regret is below ε-greedy's, which is below uniform's", () => {
    const run = (make: () => Learner) => seeds.map((seed) => simulate(make(), flat, () => rates, rounds, seed).regret)
    const ts = run(() => thompson())
    const greedy = run(() => epsilonGreedy(0.1))
    const random = run(() => passive(uniform))
    assert.isBelow(mean(ts), mean(greedy), `Thompson ${ts} vs ε-greedy ${greedy}`)
    assert.isBelow(mean(greedy), mean(random), `ε-greedy ${greedy} vs uniform ${random}`)
    assert.closeTo(mean(random), rounds * 0.02, rounds * 0.002, "uniform loses 0.02 a round on average")
    for (let s = 0; s < seeds.length; s++) assert.isBelow(ts[s]!, random[s]! / 2, `seed ${seeds[s]}`)
  })

  it("is deterministic: the same seed gives the same choices, another seed others", () => {
    const a = simulate(thompson(), flat, () => rates, 3000, 42)
    const b = simulate(thompson(), flat, () => rates, 3000, 42)
    const c = simulate(thompson(), flat, () => rates, 3000, 43)
    assert.deepStrictEqual(a, b)
    assert.notDeepEqual(a.choices, c.choices)
  })

  it("a good prior (the click model's prediction) lowers the regret of the cold start", () => {
    const informed: ReadonlyArray<Arm> = rates.map((rate, i) => ({ id: `creative-${i}`, prior: rate }))
    const short = 3000
    const withPrior = seeds.map((seed) => simulate(thompson({ priorWeight: 200 }), informed, () => rates, short, seed))
    const without = seeds.map((seed) => simulate(thompson({ priorWeight: 200 }), flat, () => rates, short, seed))
    assert.isBelow(mean(withPrior.map((r) => r.regret)), 0.7 * mean(without.map((r) => r.regret)))
  })

  it("the click model learned online is a prior that transfers to new creatives", () => {
    // The rate depends on the format; the new campaign's creatives have never been shown.
    const formatRate = { video: 0.05, rich: 0.03, banner: 0.01 } as const
    const formats = Object.keys(formatRate) as ReadonlyArray<keyof typeof formatRate>
    const featuresOf = (format: string, id: string) => [`format=${format}`, `creative=${id}`]
    const history = Rng.seeded(99)
    const model = Ftrl.make({ baseRate: 0.03 })
    for (let i = 0; i < 30_000; i++) {
      const format = formats[Math.floor(history.next() * 3)]!
      Ftrl.update(model, featuresOf(format, `old-${i % 40}`), history.next() < formatRate[format])
    }
    const creatives = [
      { id: "new-0", format: "banner" },
      { id: "new-1", format: "banner" },
      { id: "new-2", format: "rich" },
      { id: "new-3", format: "video" }
    ] as const
    const newRates = creatives.map((c) => formatRate[c.format])
    const run = (seed: number, informed: boolean) => {
      const learned = Either.getOrThrow(Ftrl.decode(Ftrl.encode(model)))
      const sampler = Thompson.make({ propensityDraws: 1, priorWeight: 100 })
      const decisions = Rng.seeded(seed)
      const world = Rng.seeded(seed ^ 0x5eed)
      let regret = 0
      for (let t = 0; t < 3000; t++) {
        const arms = creatives.map((c) => ({
          id: c.id,
          prior: informed ? Ftrl.predict(learned, featuresOf(c.format, c.id)) : 0.03
        }))
        const i = Number(sampler.choose(scope, arms, decisions).id.slice(4))
        const clicked = world.next() < newRates[i]!
        regret += 0.05 - newRates[i]!
        sampler.observe(scope, creatives[i]!.id, t, clicked)
        Ftrl.update(learned, featuresOf(creatives[i]!.format, creatives[i]!.id), clicked)
      }
      return regret
    }
    const informed = mean(seeds.map((seed) => run(seed, true)))
    const flatPrior = mean(seeds.map((seed) => run(seed, false)))
    assert.isBelow(informed, 0.5 * flatPrior, `with the model ${informed}, without ${flatPrior}`)
    assert.closeTo(Ftrl.predict(model, featuresOf("video", "never-seen")), 0.05, 0.015)
  })

  it("the sliding window follows a change of rates that a long memory misses", () => {
    const swap = (t: number) => (t < 10_000 ? rates : [...rates].reverse())
    const total = 20_000
    const secondHalf = (learner: () => Learner) =>
      mean(
        seeds.slice(0, 4).map((seed) => {
          const { choices } = simulate(learner(), flat, swap, total, seed)
          return choices.slice(10_000).reduce((s, i) => s + (0.05 - [...rates].reverse()[i]!), 0)
        })
      )
    const windowed = secondHalf(() => thompson({ window: 3000, buckets: 6 }))
    const forever = secondHalf(() => thompson({ window: 1e9, buckets: 1 }))
    assert.isBelow(windowed, 0.7 * forever, `windowed ${windowed} vs unwindowed ${forever}`)
  })
})
