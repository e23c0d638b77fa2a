import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as Ftrl from "../src/Ftrl.js"
import { murmur3 } from "../src/internal/learning-hash.js"
import * as Rng from "../src/Rng.js"

/** Any text, lone surrogates included. */
const text = fc.string({
  unit: fc.oneof(
    fc.fullUnicode(),
    fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit))
  )
})

const logLoss = (p: number, clicked: boolean): number => -Math.log(clicked ? p : 1 - p)
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x))

/** A known logistic model over site × size × creative, with a site × creative cross, at about 3% click-through. */
const world = (seed: number) => {
  const rng = Rng.seeded(seed)
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next())
  const site = Array.from({ length: 20 }, () => 0.8 * gaussian())
  const size = Array.from({ length: 5 }, () => 0.5 * gaussian())
  const creative = Array.from({ length: 10 }, () => 0.6 * gaussian())
  const crossed = new Map<string, number>()
  const pick = (n: number) => Math.floor(rng.next() * n)
  const example = () => {
    const [s, z, c] = [pick(20), pick(5), pick(10)]
    const key = `${s}&${c}`
    if (!crossed.has(key)) crossed.set(key, 0.4 * gaussian())
    const p = sigmoid(-3.6 + site[s]! + size[z]! + creative[c]! + crossed.get(key)!)
    const features = [`site=${s}`, `size=${z}`, `creative=${c}`, Ftrl.cross(`site=${s}`, `creative=${c}`)]
    return { features, p, clicked: rng.next() < p }
  }
  return example
}

describe("MurmurHash3", () => {
  it("matches the reference vectors (x86_32, UTF-8)", () => {
    const vectors: ReadonlyArray<readonly [string, number, number]> = [
      ["", 0, 0],
      ["", 1, 0x514e28b7],
      ["", 0xffffffff, 0x81f16f39],
      ["test", 0, 0xba6bd213],
      ["a", 0x9747b28c, 0x7fa09ea6],
      ["ab", 0x9747b28c, 0x74875592],
      ["abc", 0x9747b28c, 0xc84a62dd],
      ["aaaa", 0x9747b28c, 0x5a97808a],
      ["Hello, world!", 0x9747b28c, 0x24884cba],
      ["The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2fa826cd]
    ]
    for (const [text, seed, expected] of vectors) assert.strictEqual(murmur3(text, seed), expected, text)
  })

  it("hashes the UTF-8 bytes: a lone surrogate hashes as U+FFFD, and long strings after short ones are not mixed up", () => {
    assert.strictEqual(murmur3("\ud800"), murmur3("\ufffd"))
    assert.notStrictEqual(murmur3("é"), murmur3("e"))
    const long = "x".repeat(5000)
    const first = murmur3(long)
    murmur3("short")
    assert.strictEqual(murmur3(long), first)
  })

  it("is a 32-bit unsigned integer and every bucket is inside the model", () => {
    const model = Ftrl.make({ bits: 10 })
    fc.assert(
      fc.property(text, (text) => {
        const h = murmur3(text)
        assert.isTrue(Number.isInteger(h) && h >= 0 && h < 2 ** 32)
        const b = Ftrl.bucket(model, text)
        assert.isTrue(b >= 0 && b < 1024)
        assert.strictEqual(b, Ftrl.bucket(model, text))
      })
    )
  })
})

describe("Ftrl: learning", () => {
  it("an untrained model predicts its base rate, whatever the features", () => {
    assert.closeTo(Ftrl.predict(Ftrl.make(), ["site=a"]), 0.5, 1e-12)
    const model = Ftrl.make({ baseRate: 0.02 })
    assert.closeTo(Ftrl.predict(model, []), 0.02, 1e-12)
    assert.closeTo(Ftrl.predict(model, ["site=a", "size=300x250"]), 0.02, 1e-12)
  })

  it("converges on a known logistic model: beats the best constant and nears the true model's log loss", () => {
    for (const seed of [1, 2, 3]) {
      const example = world(seed)
      const model = Ftrl.make({ baseRate: 0.03 })
      for (let i = 0; i < 60_000; i++) {
        const e = example()
        Ftrl.update(model, e.features, e.clicked)
      }
      const test = Array.from({ length: 20_000 }, example)
      const rate = test.filter((e) => e.clicked).length / test.length
      const mean = (f: (e: (typeof test)[number]) => number) => test.reduce((s, e) => s + f(e), 0) / test.length
      const learned = mean((e) => logLoss(Ftrl.predict(model, e.features), e.clicked))
      const constant = mean((e) => logLoss(rate, e.clicked))
      const truth = mean((e) => logLoss(e.p, e.clicked))
      const gain = (constant - learned) / (constant - truth)
      assert.isTrue(learned < constant * 0.95, `seed ${seed}: ${learned} vs constant ${constant}`)
      assert.isTrue(gain > 0.75, `seed ${seed}: learned ${learned}, constant ${constant}, truth ${truth}`)
    }
  })

  it("learns online: the progressive log loss of the second half is lower than the first's", () => {
    const example = world(7)
    const model = Ftrl.make({ baseRate: 0.03 })
    let first = 0
    let second = 0
    for (let i = 0; i < 40_000; i++) {
      const e = example()
      const loss = logLoss(Ftrl.update(model, e.features, e.clicked), e.clicked)
      if (i < 2_000) first += loss / 2_000
      if (i >= 38_000) second += loss / 2_000
    }
    assert.isTrue(second < first, `${second} vs ${first}`)
  })

  it("L1 keeps features seen once out of the model (exact zeros), without L1 they all get weights", () => {
    const run = (l1: number) => {
      const example = world(11)
      const model = Ftrl.make({ baseRate: 0.03, l1 })
      for (let i = 0; i < 20_000; i++) {
        const e = example()
        Ftrl.update(model, [...e.features, `noise=${i}`], e.clicked)
      }
      return model
    }
    const sparse = run(1)
    const dense = run(0)
    assert.isBelow(Ftrl.nonZeroWeights(sparse), 600)
    assert.isAbove(Ftrl.nonZeroWeights(dense), 15_000)
    let zeros = 0
    for (let i = 0; i < 1000; i++) if (Ftrl.weight(sparse, `noise=${i}`) === 0) zeros++
    assert.isAbove(zeros, 950)
    assert.notStrictEqual(Ftrl.weight(sparse, "site=3"), 0, "a frequent feature keeps its weight")
  })

  it("a feature repeated in one example counts twice, like a collision", () => {
    const once = Ftrl.make({ l1: 0 })
    const twice = Ftrl.make({ l1: 0 })
    for (let i = 0; i < 50; i++) {
      Ftrl.update(once, ["a"], true)
      Ftrl.update(twice, ["a", "a"], true)
    }
    assert.isAbove(Ftrl.predict(twice, ["a", "a"]), Ftrl.predict(once, ["a"]))
    assert.isAbove(Ftrl.predict(twice, ["a", "a"]), Ftrl.predict(twice, ["a"]))
  })

  it("stays strictly inside (0, 1) and finite for hostile input", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            features: fc.array(fc.oneof(text, fc.constant(""), fc.constant("x")), {
              maxLength: 40
            }),
            clicked: fc.boolean(),
            repeat: fc.integer({ min: 1, max: 200 })
          }),
          { maxLength: 30 }
        ),
        fc.record({ l1: fc.constantFrom(0, 1, 1e6), alpha: fc.constantFrom(1e-6, 0.1, 1e6), bias: fc.boolean() }),
        (steps, options) => {
          const model = Ftrl.make({ bits: 8, ...options })
          for (const { clicked, features, repeat } of steps) {
            for (let r = 0; r < repeat; r++) {
              const before = Ftrl.update(model, features, clicked)
              assert.isTrue(before > 0 && before < 1, `${before}`)
            }
            const p = Ftrl.predict(model, features)
            assert.isTrue(p > 0 && p < 1, `${p}`)
          }
        }
      ),
      { numRuns: 60 }
    )
  })

  it("a hundred thousand identical clicks, or a huge example, cannot reach 0, 1 or NaN", () => {
    const model = Ftrl.make({ bits: 6, alpha: 100, l1: 0, l2: 0 })
    for (let i = 0; i < 100_000; i++) Ftrl.update(model, ["same"], true)
    const high = Ftrl.predict(model, ["same"])
    assert.isTrue(high > 0.99 && high < 1)
    const huge = Array.from({ length: 100_000 }, () => "same")
    const p = Ftrl.predict(model, huge)
    assert.isTrue(p > 0 && p < 1)
    Ftrl.update(model, huge, false)
    const after = Ftrl.predict(model, huge)
    assert.isTrue(after > 0 && after < 1 && Number.isFinite(after))
    for (let i = 0; i < model.z.length; i++) assert.isTrue(Number.isFinite(model.z[i]!) && model.n[i]! >= 0)
  })

  it("a restored state with accumulated z but no squared gradients (beta = l2 = 0) predicts, not NaN", () => {
    const model = Ftrl.make({ bits: 4, beta: 0, l2: 0, l1: 0, bias: false })
    model.z[Ftrl.bucket(model, "a")] = 5
    model.z[Ftrl.bucket(model, "b")] = -5
    const back = Either.getOrThrow(Ftrl.decode(Ftrl.encode(model)))
    for (const features of [["a"], ["b"], ["a", "b"]]) {
      const p = Ftrl.predict(back, features)
      assert.isTrue(p > 0 && p < 1, `${features}: ${p}`)
      const q = Ftrl.update(back, features, true)
      assert.isTrue(q > 0 && q < 1, `${features}: ${q}`)
    }
  })
})

describe("Ftrl: options and persistence", () => {
  it("refuses out-of-range options with a typed error", () => {
    for (const bad of [{ bits: 3 }, { bits: 25 }, { bits: 10.5 }, { alpha: 0 }, { l1: -1 }, { l2: Number.NaN }]) {
      const made = Ftrl.validate(bad)
      assert.isTrue(Either.isLeft(made) && made.left.reason === "InvalidOptions", JSON.stringify(bad))
    }
    for (const baseRate of [0, 1, Number.NaN]) assert.isTrue(Either.isLeft(Ftrl.validate({ baseRate })))
    assert.throws(() => Ftrl.make({ alpha: -1 }))
  })

  const trained = (seed: number, count: number, options: Partial<Ftrl.Options> = {}) => {
    const example = world(seed)
    const model = Ftrl.make({ bits: 12, ...options })
    for (let i = 0; i < count; i++) {
      const e = example()
      Ftrl.update(model, e.features, e.clicked)
    }
    return model
  }

  it("round-trips through bytes and JSON: same predictions, same bytes, and it keeps learning the same way", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 300 }),
        fc.record({
          l1: fc.constantFrom(0, 0.5),
          bias: fc.boolean(),
          baseRate: fc.double({ min: 0.001, max: 0.999, noNaN: true })
        }),
        (seed, count, options) => {
          const model = trained(seed, count, options)
          const bytes = Ftrl.encode(model)
          const back = Either.getOrThrow(Ftrl.decode(bytes))
          assert.deepStrictEqual(back.options, model.options)
          assert.deepStrictEqual(Ftrl.encode(back), bytes)
          const json = JSON.parse(JSON.stringify(Ftrl.toJSON(model)))
          const fromJson = Either.getOrThrow(Ftrl.fromJSON(json))
          assert.deepStrictEqual(Ftrl.encode(fromJson), bytes)
          const probe = world(seed + 1)
          for (let i = 0; i < 20; i++) {
            const e = probe()
            assert.strictEqual(Ftrl.predict(back, e.features), Ftrl.predict(model, e.features))
            Ftrl.update(model, e.features, e.clicked)
            Ftrl.update(back, e.features, e.clicked)
          }
          assert.deepStrictEqual(Ftrl.encode(back), Ftrl.encode(model))
        }
      ),
      { numRuns: 40 }
    )
  })

  it("stores only the buckets that learned something", () => {
    assert.strictEqual(Ftrl.encode(Ftrl.make()).length, 52)
    const model = Ftrl.make({ bias: false })
    Ftrl.update(model, ["a", "b"], true)
    assert.strictEqual(Ftrl.encode(model).length, 52 + 2 * 20)
  })

  it("refuses corrupt bytes and JSON with CorruptState, never throws", () => {
    const good = Ftrl.encode(trained(5, 200))
    const isCorrupt = (result: Either.Either<Ftrl.Ftrl, Ftrl.FtrlError>) =>
      Either.isLeft(result) && result.left.reason === "CorruptState"
    assert.isTrue(isCorrupt(Ftrl.decode(good.subarray(0, good.length - 1))))
    assert.isTrue(isCorrupt(Ftrl.decode(new Uint8Array(10))))
    const patch = (at: number, value: number) => {
      const copy = good.slice()
      copy[at] = value
      return copy
    }
    assert.isTrue(isCorrupt(Ftrl.decode(patch(0, 0))), "magic")
    assert.isTrue(isCorrupt(Ftrl.decode(patch(4, 2))), "version")
    assert.isTrue(isCorrupt(Ftrl.decode(patch(5, 40))), "bits")
    const nan = good.slice()
    new DataView(nan.buffer).setFloat64(52 + 4, Number.NaN, true)
    assert.isTrue(isCorrupt(Ftrl.decode(nan)), "NaN state")
    const unordered = good.slice()
    new DataView(unordered.buffer).setUint32(52 + 20, 0, true)
    assert.isTrue(isCorrupt(Ftrl.decode(unordered)), "indexes out of order")
    for (const json of [null, 1, {}, { format: "ftrl-proximal/1", data: "!!" }, { format: "other", data: "" }]) {
      assert.isTrue(isCorrupt(Ftrl.fromJSON(json)), JSON.stringify(json))
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (noise, at) => {
        const mixed = good.length > 0 ? good.slice() : good
        mixed.set(noise.subarray(0, Math.max(0, mixed.length - (at % mixed.length))), at % mixed.length)
        const result = Ftrl.decode(mixed)
        if (Either.isRight(result)) {
          const p = Ftrl.predict(result.right, ["site=1"])
          assert.isTrue(p > 0 && p < 1)
        }
        assert.isTrue(Either.isLeft(Ftrl.decode(noise)) || noise.length >= 52)
      })
    )
  })
})

describe("Ftrl.prepare / predictPrepared", () => {
  const feature = fc.constantFrom("site=a", "site=b", "size=300x250", "cat=news", "hour=9", "device=mobile", "cr=x")
  it.prop(
    "predict the same number as predict, before and while the model learns, repeats and all",
    [fc.array(fc.array(feature, { maxLength: 12 }), { minLength: 1, maxLength: 6 }), fc.array(fc.boolean())],
    ([featureSets, outcomes]) => {
      const model = Ftrl.make({ bits: 10, baseRate: 0.01 })
      const prepared = featureSets.map((features) => Ftrl.prepare(model, features))
      for (let step = 0; step <= outcomes.length; step++) {
        for (const [i, features] of featureSets.entries()) {
          assert.strictEqual(Ftrl.predictPrepared(model, prepared[i]!), Ftrl.predict(model, features))
        }
        if (step < outcomes.length) Ftrl.update(model, featureSets[step % featureSets.length]!, outcomes[step]!)
      }
    }
  )

  it("hashes again for a model with other options", () => {
    const small = Ftrl.make({ bits: 4 })
    const large = Ftrl.make({ bits: 12 })
    for (let i = 0; i < 50; i++) Ftrl.update(large, ["site=a", "cat=news"], i % 3 === 0)
    const prepared = Ftrl.prepare(small, ["site=a", "cat=news"])
    assert.strictEqual(Ftrl.predictPrepared(large, prepared), Ftrl.predict(large, ["site=a", "cat=news"]))
  })
})
