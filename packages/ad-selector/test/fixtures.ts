/**
 * Shared test helpers of the decision core: a clock set by hand, campaigns decoded from JSON, a static creative.
 */
import { Effect, Either } from "effect"
import * as Clock from "effect/Clock"
import * as Campaign from "../src/Campaign.js"

/** A clock the test sets by hand: TestClock.setTime waits for other fibers, milliseconds a step in long runs. */
export const manualClock = () => {
  let now = 0
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    unsafeCurrentTimeNanos: () => BigInt(now) * BigInt(1_000_000),
    currentTimeMillis: Effect.sync(() => now),
    currentTimeNanos: Effect.sync(() => BigInt(now) * BigInt(1_000_000)),
    sleep: () => Effect.void
  }
  return {
    clock,
    set: (at: number) =>
      Effect.sync(() => {
        now = at
      })
  }
}

/** A campaign decoded from JSON (a test's mistake throws with the decoder's message). */
export const decode = (input: unknown): Campaign.Campaign =>
  Either.getOrElse(Campaign.decode(input), (message) => {
    throw new Error(message)
  })

/** A static 300×250 creative. */
export const creative = (id: string) => ({
  id,
  width: 300,
  height: 250,
  kind: "static",
  landingUrl: "https://shop.example/"
})
