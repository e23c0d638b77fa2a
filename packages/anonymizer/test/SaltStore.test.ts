import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, TestClock } from "effect"
import { inspect } from "node:util"
import * as Ip from "../src/Ip.js"
import * as Pseudonym from "../src/Pseudonym.js"
import * as SaltStore from "../src/SaltStore.js"
import * as SecureRandom from "../src/SecureRandom.js"
import * as UserAgent from "../src/UserAgent.js"

const layer = SaltStore.layerMemory.pipe(Layer.provide(SecureRandom.layerTest("salts")))

const ua = UserAgent.generalize(
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"
)
const ip = Ip.truncate("198.51.100.23")

// 2026-03-01T10:00:00Z
const start = Date.UTC(2026, 2, 1, 10)

describe("SaltStore", () => {
  it.effect("makes one 32-byte salt per UTC day", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const store = yield* SaltStore.SaltStore
      const a = yield* store.current
      assert.strictEqual(a.day, "2026-03-01")
      assert.strictEqual(yield* store.current, a)
      yield* TestClock.adjust(Duration.hours(15))
      const b = yield* store.current
      assert.strictEqual(b.day, "2026-03-02")
      assert.notStrictEqual(b, a)
      assert.deepStrictEqual<ReadonlyArray<string>>(yield* store.days, ["2026-03-01", "2026-03-02"])
      assert.isFalse(a.isZeroed())
    }).pipe(Effect.provide(layer))
  )

  it.effect("after 48 hours a visitor's cookieless key cannot be linked to the earlier one", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const store = yield* SaltStore.SaltStore
      const first = yield* store.current
      const before = Pseudonym.cookielessKey(first, ip, ua, "shop")!
      assert.isDefined(before)

      // Still recomputable the next day (yesterday's salt is kept for late events).
      yield* TestClock.adjust(Duration.hours(24))
      assert.strictEqual(Pseudonym.cookielessKey(first, ip, ua, "shop"), before)
      assert.isTrue(Option.isSome(yield* store.forDay(first.day)))

      // 48 hours after its day began, the rotation destroys it.
      yield* TestClock.setTime(SaltStore.startOf(first.day) + Duration.toMillis(SaltStore.MaxAge))
      const rotation = yield* store.rotate
      assert.deepStrictEqual(rotation.destroyed, [first.day])
      assert.isTrue(first.destroyed)
      assert.isTrue(first.isZeroed())
      assert.isTrue(Option.isNone(yield* store.forDay(first.day)))
      assert.notInclude(yield* store.days, first.day)

      // The same visitor now gets a different key, and the old one can no longer be computed by anyone.
      const now = yield* store.current
      const after = Pseudonym.cookielessKey(now, ip, ua, "shop")
      assert.isDefined(after)
      assert.notStrictEqual(after, before)
      assert.isUndefined(Pseudonym.cookielessKey(first, ip, ua, "shop"))
      for (const day of yield* store.days) {
        const salt = Option.getOrThrow(yield* store.forDay(day))
        assert.notStrictEqual(Pseudonym.cookielessKey(salt, ip, ua, "shop"), before)
      }
    }).pipe(Effect.provide(layer))
  )

  it.effect("destroys expired salts even when only `current` is asked for", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const store = yield* SaltStore.SaltStore
      const first = yield* store.current
      yield* TestClock.adjust(Duration.days(5))
      yield* store.current
      assert.isTrue(first.destroyed)
      assert.strictEqual((yield* store.days).length, 1)
    }).pipe(Effect.provide(layer))
  )

  it.effect("the rotation fiber destroys salts on time without traffic; never more than two salts exist", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const store = yield* SaltStore.SaltStore
      const fiber = yield* Effect.fork(SaltStore.rotation)
      yield* TestClock.adjust(Duration.millis(1))
      const first = Option.getOrThrow(yield* store.forDay(SaltStore.dayOf(start)))
      for (let hour = 1; hour <= 24 * 4; hour++) {
        yield* TestClock.adjust(Duration.hours(1))
        const days = yield* store.days
        assert.isAtMost(days.length, 2)
        const now = start + hour * 3_600_000
        if (now >= SaltStore.startOf(first.day) + Duration.toMillis(SaltStore.MaxAge) + 1_000) {
          assert.isTrue(first.destroyed, `hour ${hour}`)
        } else assert.isFalse(first.destroyed, `hour ${hour}`)
      }
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(layer))
  )

  it.effect("salts draw their bytes from SecureRandom: a seeded source makes them reproducible", () =>
    Effect.gen(function* () {
      const keyWith = (seed: string) =>
        Effect.gen(function* () {
          yield* TestClock.setTime(start)
          const store = yield* SaltStore.SaltStore
          return Pseudonym.cookielessKey(yield* store.current, ip, ua, "shop")
        }).pipe(Effect.provide(SaltStore.layerMemory.pipe(Layer.provide(SecureRandom.layerTest(seed)))))
      assert.strictEqual(yield* keyWith("a"), yield* keyWith("a"))
      assert.notStrictEqual(yield* keyWith("a"), yield* keyWith("b"))
    })
  )

  it.effect("never prints or serializes salt bytes", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const store = yield* SaltStore.SaltStore
      const salt = yield* store.current
      assert.strictEqual(JSON.stringify(salt), '{"_id":"Salt","day":"2026-03-01","destroyed":false}')
      assert.strictEqual(inspect(salt), "Salt(2026-03-01)")
      assert.strictEqual(Object.keys(salt).join(), "day")
    }).pipe(Effect.provide(layer))
  )
})
