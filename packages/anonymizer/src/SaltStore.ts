/**
 * Daily random salts for cookieless pseudonyms. Each UTC day gets 32 fresh bytes from the secure random source;
 * a salt is destroyed 48 hours after its day began (removed from the store and its bytes overwritten with zeros),
 * so at most two exist at any time and a cookieless key older than that can never be recomputed, by us or by
 * anyone who later obtains the store.
 *
 * Time comes from `Clock` and bytes from `SecureRandom`, so rotation is deterministic under `TestClock` with a
 * seeded source. The memory layer keeps salts in the process only: a restart starts a new salt (keys from before
 * cannot be linked to keys after, which only adds privacy); several collector processes that must agree on keys
 * need a shared store implementing the same service.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as SynchronizedRef from "effect/SynchronizedRef"
import { createHmac } from "node:crypto"
import { SecureRandom } from "./SecureRandom.js"

/**
 * Bytes of a salt.
 *
 * @since 0.1.0
 * @category constants
 */
export const SaltBytes = 32

/**
 * How long after the start of its UTC day a salt is destroyed.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxAge: Duration.Duration = Duration.hours(48)

const DAY_MS = 86_400_000

/**
 * A UTC day as `YYYY-MM-DD`.
 *
 * @since 0.1.0
 * @category models
 */
export const Day = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}$/),
  Schema.brand("@openaudience/anonymizer/Day")
)

/**
 * @since 0.1.0
 * @category models
 */
export type Day = typeof Day.Type

/**
 * The UTC day of an instant (epoch milliseconds).
 *
 * @since 0.1.0
 * @category models
 */
export const dayOf = (epochMillis: number): Day => new Date(epochMillis).toISOString().slice(0, 10) as Day

/**
 * Epoch milliseconds at which a day began.
 *
 * @since 0.1.0
 * @category models
 */
export const startOf = (day: Day): number => Date.parse(`${day}T00:00:00.000Z`)

/**
 * One day's salt. The bytes never leave the object (a private field: not printed, not serialized); `mac`
 * computes an HMAC under them until `destroy` zeroes them.
 *
 * @since 0.1.0
 * @category models
 */
export class Salt {
  readonly #bytes: Uint8Array
  #destroyed = false

  constructor(
    /** The UTC day the salt is for. */
    readonly day: Day,
    bytes: Uint8Array
  ) {
    this.#bytes = bytes
  }

  /** Whether the salt has been destroyed. */
  get destroyed(): boolean {
    return this.#destroyed
  }

  /** HMAC-SHA256 of `message` under the salt, or `undefined` once it is destroyed. */
  mac(message: string): Buffer | undefined {
    return this.#destroyed ? undefined : createHmac("sha256", this.#bytes).update(message).digest()
  }

  /** Overwrites the bytes with zeros; the salt computes nothing afterwards. */
  destroy(): void {
    this.#bytes.fill(0)
    this.#destroyed = true
  }

  /** Whether every byte is zero (true once destroyed); for tests and audits. */
  isZeroed(): boolean {
    return this.#bytes.every((b) => b === 0)
  }

  toJSON(): unknown {
    return { _id: "Salt", day: this.day, destroyed: this.#destroyed }
  }

  toString(): string {
    return `Salt(${this.day}${this.#destroyed ? ", destroyed" : ""})`
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString()
  }
}

/**
 * What one rotation did.
 *
 * @since 0.1.0
 * @category models
 */
export interface Rotation {
  /** The current day, whose salt exists after the rotation. */
  readonly current: Day
  /** Days whose salts were destroyed by this rotation. */
  readonly destroyed: ReadonlyArray<Day>
}

/**
 * The salt store.
 *
 * @since 0.1.0
 * @category services
 */
export class SaltStore extends Context.Tag("@openaudience/anonymizer/SaltStore")<
  SaltStore,
  {
    /** The salt of the current UTC day (by `Clock`), created when missing; expired salts are destroyed first. */
    readonly current: Effect.Effect<Salt>
    /** The salt of a given day, if it exists and has not expired; never creates one. */
    readonly forDay: (day: Day) => Effect.Effect<Option.Option<Salt>>
    /** Destroys every salt whose day began `MaxAge` ago or more, and creates today's. */
    readonly rotate: Effect.Effect<Rotation>
    /** The days that have a salt, oldest first. */
    readonly days: Effect.Effect<ReadonlyArray<Day>>
  }
>() {}

const expired = (day: Day, now: number): boolean => now >= startOf(day) + Duration.toMillis(MaxAge)

/**
 * A salt store in memory, drawing bytes from the `SecureRandom` it is built with.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<SaltStore["Type"]> = Effect.gen(function* () {
  const random = yield* SecureRandom
  const salts = yield* SynchronizedRef.make(new Map<Day, Salt>())

  const rotateAt = (now: number) =>
    SynchronizedRef.modify(salts, (map): [Rotation & { readonly salt: Salt }, Map<Day, Salt>] => {
      const next = new Map(map)
      const destroyed: Array<Day> = []
      for (const [day, salt] of map) {
        if (expired(day, now)) {
          salt.destroy()
          next.delete(day)
          destroyed.push(day)
        }
      }
      const today = dayOf(now)
      let salt = next.get(today)
      if (salt === undefined) {
        salt = new Salt(today, random.bytes(SaltBytes))
        next.set(today, salt)
      }
      return [{ current: today, destroyed, salt }, next]
    })

  const rotate = Effect.map(Effect.flatMap(Clock.currentTimeMillis, rotateAt), ({ current, destroyed }) => ({
    current,
    destroyed
  }))

  const current = Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.flatMap(SynchronizedRef.get(salts), (map) => {
      const salt = map.get(dayOf(now))
      // The fast path: today's salt exists and nothing in the store has expired.
      for (const day of map.keys()) if (expired(day, now)) return Effect.map(rotateAt(now), (r) => r.salt)
      return salt === undefined ? Effect.map(rotateAt(now), (r) => r.salt) : Effect.succeed(salt)
    })
  )

  const forDay = (day: Day) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(SynchronizedRef.get(salts), (map) => {
        const salt = map.get(day)
        return salt === undefined || salt.destroyed || expired(day, now) ? Option.none() : Option.some(salt)
      })
    )

  const days = Effect.map(SynchronizedRef.get(salts), (map) => [...map.keys()].sort())

  return { current, forDay, rotate, days }
})

/**
 * The in-memory salt store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<SaltStore> = Layer.effect(SaltStore, makeMemory)

/**
 * Rotates forever: now, then just after every UTC midnight (by `Clock`), so expired salts are destroyed on time
 * even when no traffic asks for a salt. Fork it for the life of the collector.
 *
 * @since 0.1.0
 * @category combinators
 */
export const rotation: Effect.Effect<never, never, SaltStore> = Effect.flatMap(SaltStore, (store) =>
  Effect.forever(
    Effect.zipRight(
      store.rotate,
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Duration.millis(DAY_MS - (now % DAY_MS) + 1_000)))
    )
  )
)
