import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as TestClock from "effect/TestClock"
import { RateLimit } from "../src/index.js"

const allowed = (limiter: RateLimit.RateLimiter, key: string) =>
  Effect.map(Effect.either(limiter.take(key)), Either.isRight)

describe("RateLimit", () => {
  it.effect("allows 5 inquiries per 10 minutes per key, then one more every 2 minutes", () =>
    Effect.gen(function* () {
      const limiter = RateLimit.make()
      for (let i = 0; i < 5; i++) assert.isTrue(yield* allowed(limiter, "203.0.113.0"), `inquiry ${i + 1}`)
      const refused = yield* Effect.flip(limiter.take("203.0.113.0"))
      assert.strictEqual(refused.reason, "RateLimited")
      assert.strictEqual(refused.retryAfterMs, 120_000)
      // Another address is counted on its own.
      assert.isTrue(yield* allowed(limiter, "198.51.100.0"))

      yield* TestClock.adjust("119 seconds")
      assert.isFalse(yield* allowed(limiter, "203.0.113.0"))
      yield* TestClock.adjust("1 second")
      assert.isTrue(yield* allowed(limiter, "203.0.113.0"))
      assert.isFalse(yield* allowed(limiter, "203.0.113.0"))

      // A full window later the bucket is full again, never more than full.
      yield* TestClock.adjust("1 hour")
      for (let i = 0; i < 5; i++) assert.isTrue(yield* allowed(limiter, "203.0.113.0"))
      assert.isFalse(yield* allowed(limiter, "203.0.113.0"))
    })
  )

  it.effect("takes its capacity and window from options", () =>
    Effect.gen(function* () {
      const limiter = RateLimit.make({ capacity: 2, window: "1 minute" })
      assert.isTrue(yield* allowed(limiter, "k"))
      assert.isTrue(yield* allowed(limiter, "k"))
      assert.strictEqual((yield* Effect.flip(limiter.take("k"))).retryAfterMs, 30_000)
    })
  )

  it.effect("keeps at most maxKeys buckets, forgetting the least recently used first", () =>
    Effect.gen(function* () {
      const limiter = RateLimit.make({ capacity: 1, window: "1 hour", maxKeys: 2 })
      assert.isTrue(yield* allowed(limiter, "a"))
      assert.isTrue(yield* allowed(limiter, "b"))
      assert.isFalse(yield* allowed(limiter, "a")) // a is now the most recently seen
      assert.isTrue(yield* allowed(limiter, "c")) // b goes
      assert.isFalse(yield* allowed(limiter, "a"))
      assert.isTrue(yield* allowed(limiter, "b"), "b was kept beyond maxKeys")
    })
  )
})
