/**
 * Frequency caps and recency blocks, kept server-side per tenant and pseudonymous visitor. A visitor's counters
 * count impressions per key (a creative, a campaign, the advertiser) in calendar windows (UTC hour, UTC day,
 * Monday-based week) and in all, with the time of the last one. `CapStore` is the port the selector reads them
 * through and records impressions with; `layerMemory` keeps them in memory. Caps fail closed: when a visitor's
 * counters cannot be read, the selector skips every capped campaign of that tenant.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Campaign from "./Campaign.js"
import { dayIndex, hourIndex, weekIndex } from "./internal/calendar.js"

/**
 * The counters of one key for one visitor. `hour`, `day` and `week` name the window their count belongs to (an
 * older window's count is read as zero); `last` is the epoch ms of the last impression.
 *
 * @since 0.1.0
 * @category models
 */
export interface Counter {
  readonly hour: number
  readonly hourCount: number
  readonly day: number
  readonly dayCount: number
  readonly week: number
  readonly weekCount: number
  readonly total: number
  readonly last: number
}

/**
 * A visitor's counters by key (see `campaignKey`, `creativeKey`, `advertiserKey`).
 *
 * @since 0.1.0
 * @category models
 */
export type Counters = ReadonlyMap<string, Counter>

/**
 * The key counting every impression of the tenant (the advertiser) for a visitor.
 *
 * @since 0.1.0
 * @category keys
 */
export const advertiserKey = "advertiser"

/**
 * The key counting a campaign's impressions.
 *
 * @since 0.1.0
 * @category keys
 */
export const campaignKey = (campaignId: string): string => `campaign:${campaignId}`

/**
 * The key counting one creative's impressions.
 *
 * @since 0.1.0
 * @category keys
 */
export const creativeKey = (campaignId: string, creativeId: string): string => `creative:${campaignId}/${creativeId}`

/**
 * The number of impressions `counter` holds in `window` at `now` (a window that has rolled over counts zero).
 *
 * @since 0.1.0
 * @category combinators
 */
export const count = (counter: Counter | undefined, window: Campaign.CapWindow, now: number): number => {
  if (counter === undefined) return 0
  switch (window) {
    case "hour":
      return counter.hour === hourIndex(now) ? counter.hourCount : 0
    case "day":
      return counter.day === dayIndex(now) ? counter.dayCount : 0
    case "week":
      return counter.week === weekIndex(now) ? counter.weekCount : 0
    case "lifetime":
      return counter.total
  }
}

/**
 * The counter after one more impression at `now`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const increment = (counter: Counter | undefined, now: number): Counter => {
  const hour = hourIndex(now)
  const day = dayIndex(now)
  const week = weekIndex(now)
  return {
    hour,
    hourCount: (counter !== undefined && counter.hour === hour ? counter.hourCount : 0) + 1,
    day,
    dayCount: (counter !== undefined && counter.day === day ? counter.dayCount : 0) + 1,
    week,
    weekCount: (counter !== undefined && counter.week === week ? counter.weekCount : 0) + 1,
    total: (counter?.total ?? 0) + 1,
    last: Math.max(now, counter?.last ?? now)
  }
}

/**
 * Whether one more impression would stay within every cap of `scope` in `caps`, given the counter of that scope.
 *
 * @since 0.1.0
 * @category combinators
 */
export const allows = (
  caps: ReadonlyArray<Campaign.Cap>,
  scope: Campaign.Cap["scope"],
  counter: Counter | undefined,
  now: number
): boolean => {
  for (const cap of caps) {
    if (cap.scope === scope && count(counter, cap.window, now) >= cap.max) return false
  }
  return true
}

/**
 * The cap store could not be read or written.
 *
 * @since 0.1.0
 * @category errors
 */
export class CapStoreError extends Schema.TaggedError<CapStoreError>("@openaudience/ad-selector/CapStoreError")(
  "CapStoreError",
  { message: Schema.String }
) {}

/**
 * The port. `visitor` is the tenant's pseudonym of the browser, never a raw identifier.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Every counter of a visitor under a tenant (an empty map for a visitor never counted). */
  readonly read: (tenant: string, visitor: string) => Effect.Effect<Counters, CapStoreError>
  /** Counts one impression at `now` under each of `keys`. */
  readonly record: (
    tenant: string,
    visitor: string,
    keys: ReadonlyArray<string>,
    now: number
  ) => Effect.Effect<void, CapStoreError>
  /** Deletes a visitor's counters (erasure). */
  readonly forget: (tenant: string, visitor: string) => Effect.Effect<void, CapStoreError>
}

/**
 * The cap store service.
 *
 * @since 0.1.0
 * @category services
 */
export class CapStore extends Context.Tag("@openaudience/ad-selector/CapStore")<CapStore, Service>() {}

/**
 * An in-memory store (one per call). Counters live as long as the process.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const visitors = new Map<string, Map<string, Counter>>()
  const id = (tenant: string, visitor: string) => `${tenant}\u0000${visitor}`
  const empty: Counters = new Map()
  return {
    read: (tenant, visitor) => Effect.sync(() => visitors.get(id(tenant, visitor)) ?? empty),
    record: (tenant, visitor, keys, now) =>
      Effect.sync(() => {
        const key = id(tenant, visitor)
        const old = visitors.get(key)
        // A new map each time: a reader holding the previous one sees a consistent snapshot.
        const next = new Map(old)
        for (const k of keys) next.set(k, increment(old?.get(k), now))
        visitors.set(key, next)
      }),
    forget: (tenant, visitor) =>
      Effect.sync(() => {
        visitors.delete(id(tenant, visitor))
      })
  }
}

/**
 * The in-memory store as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<CapStore> = Layer.sync(CapStore, makeMemory)
