/**
 * A per-client rate limit for a public contact form: an in-memory token bucket per address key, by default 5
 * inquiries per 10 minutes (a burst of 5, then one more every 2 minutes). The key is whatever the server passes,
 * for example a truncated IP address (`/24` of IPv4, `/48` of IPv6): it is used only in this process's memory, to
 * count, and never reaches an inquiry or a store. Each process counts on its own (several processes behind a load
 * balancer allow that many times more); a bucket that has filled up again is the same as a new one, and at most
 * `maxKeys` buckets are kept (the least recently used go first, in constant time), so memory and the time per request
 * stay bounded under a flood of addresses. Time comes from
 * `Clock` (`TestClock` in tests).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { LRUCache } from "lru-cache"
import { InquiryError } from "./Inquiry.js"

/**
 * The limit: `capacity` inquiries per `window` per key (default 5 per 10 minutes), and at most `maxKeys` keys
 * remembered (default 100,000).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly capacity?: number | undefined
  readonly window?: Duration.DurationInput | undefined
  readonly maxKeys?: number | undefined
}

/**
 * A rate limiter: `take(key)` spends one token of the key's bucket, or fails with reason `RateLimited` and
 * `retryAfterMs` when the bucket is empty.
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimiter {
  readonly take: (key: string) => Effect.Effect<void, InquiryError>
}

interface Bucket {
  tokens: number
  at: number
}

/**
 * A new rate limiter, with buckets of its own. Options that are not positive (a programming error, not input) throw
 * a `RangeError` at construction, never later.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): RateLimiter => {
  const capacity = options.capacity ?? 5
  const windowMs = Duration.toMillis(Duration.decode(options.window ?? "10 minutes"))
  const maxKeys = options.maxKeys ?? 100_000
  if (
    !(Number.isSafeInteger(capacity) && capacity >= 1 && windowMs > 0 && Number.isSafeInteger(maxKeys) && maxKeys >= 1)
  ) {
    throw new RangeError("RateLimit.make: capacity and maxKeys must be positive integers and window positive")
  }
  const perMs = capacity / windowMs
  // An LRU (`get` makes a key the most recent): a Map trimmed from its oldest key walks over every deleted entry
  // V8 still keeps at its start, which under a flood of new addresses made each request cost more and more.
  const buckets = new LRUCache<string, Bucket>({ max: maxKeys })

  const level = (bucket: Bucket, now: number) => Math.min(capacity, bucket.tokens + (now - bucket.at) * perMs)

  return {
    take: (key) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const bucket = buckets.get(key)
        const tokens = bucket === undefined ? capacity : level(bucket, now)
        if (bucket !== undefined && tokens < 1) {
          // A refused key is now the most recent (`get`): flooding with other addresses does not reset it.
          return Effect.fail(
            new InquiryError({
              reason: "RateLimited",
              retryAfterMs: Math.ceil((1 - tokens) / perMs),
              message: "Too many inquiries from this address: try again later"
            })
          )
        }
        buckets.set(key, { tokens: tokens - 1, at: now })
        return Effect.void
      })
  }
}
