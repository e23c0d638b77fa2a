/**
 * Budgets and spend in exact money. A CPM bid of `n` minor units costs `n / 1000` minor units per impression, so
 * spend is kept as an integer number of thousandths of a minor unit ("millis"): an impression costs exactly the
 * bid's amount in millis, and a budget of `m` minor units is `m * 1000` millis. No floating point touches money.
 * `DeliveryStore` is the port for a campaign's spend (today's and in all) and its pacing state; `charge` checks the
 * limits and adds the cost in one step, so a budget is never overspent. `layerMemory` keeps it in memory.
 *
 * @since 0.1.0
 */
import type { Money } from "@openaudience/event-schema"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { dayIndex } from "./internal/calendar.js"
import type * as Pacing from "./Pacing.js"

/**
 * Thousandths of a minor unit in one minor unit.
 *
 * @since 0.1.0
 * @category constants
 */
export const millisPerMinor = 1000

/**
 * The cost of one impression at a CPM `bid`, in millis (exactly the bid's amount).
 *
 * @since 0.1.0
 * @category money
 */
export const impressionCost = (bid: Money.Money): number => bid.amount

/**
 * An amount of money in millis.
 *
 * @since 0.1.0
 * @category money
 */
export const toMillis = (money: Money.Money): number => money.amount * millisPerMinor

/**
 * Millis as money: whole minor units (rounded down) and the millis left over, never lost.
 *
 * @since 0.1.0
 * @category money
 */
export const fromMillis = (
  millis: number,
  currency: string
): { readonly money: Money.Money; readonly remainderMillis: number } => ({
  money: { amount: Math.floor(millis / millisPerMinor), currency },
  remainderMillis: millis % millisPerMinor
})

/**
 * A campaign's limits in millis.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly daily: number | undefined
  readonly total: number | undefined
}

/**
 * A campaign's spend in millis: `today` belongs to UTC day `day` (read it with `spentOn`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Spend {
  readonly day: number
  readonly today: number
  readonly total: number
}

/**
 * Nothing spent.
 *
 * @since 0.1.0
 * @category constants
 */
export const zero: Spend = { day: 0, today: 0, total: 0 }

/**
 * What was spent on the UTC day of `now` (zero when the stored day is an earlier one).
 *
 * @since 0.1.0
 * @category money
 */
export const spentToday = (spend: Spend, now: number): number => (spend.day === dayIndex(now) ? spend.today : 0)

/**
 * Whether spending `cost` more at `now` stays within both limits.
 *
 * @since 0.1.0
 * @category money
 */
export const fits = (spend: Spend, cost: number, limits: Limits, now: number): boolean =>
  (limits.daily === undefined || spentToday(spend, now) + cost <= limits.daily) &&
  (limits.total === undefined || spend.total + cost <= limits.total)

/**
 * The spend after `cost` more at `now`.
 *
 * @since 0.1.0
 * @category money
 */
export const add = (spend: Spend, cost: number, now: number): Spend => ({
  day: dayIndex(now),
  today: spentToday(spend, now) + cost,
  total: spend.total + cost
})

/**
 * A campaign's delivery state: its spend, and its pacing controller's state once it has one.
 *
 * @since 0.1.0
 * @category models
 */
export interface Delivery {
  readonly spend: Spend
  readonly pacing: Pacing.State | undefined
}

/**
 * The delivery store could not be read or written.
 *
 * @since 0.1.0
 * @category errors
 */
export class DeliveryStoreError extends Schema.TaggedError<DeliveryStoreError>(
  "@openaudience/ad-selector/DeliveryStoreError"
)("DeliveryStoreError", { message: Schema.String }) {}

/**
 * The port.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** A campaign's delivery state (nothing spent, no pacing state, for a campaign never seen). */
  readonly read: (campaignId: string) => Effect.Effect<Delivery, DeliveryStoreError>
  /**
   * Adds `cost` millis to the campaign's spend at `now` if that stays within `limits`, in one atomic step;
   * `false` (nothing changed) when it would not.
   */
  readonly charge: (
    campaignId: string,
    cost: number,
    limits: Limits,
    now: number
  ) => Effect.Effect<boolean, DeliveryStoreError>
  /** Stores the campaign's pacing state. */
  readonly setPacing: (campaignId: string, state: Pacing.State) => Effect.Effect<void, DeliveryStoreError>
  /**
   * Optional, for a store that holds campaigns in memory: `read` done now, or `undefined` when it cannot answer
   * without an effect (the campaign is not loaded). `Selector.unsafeDecide` uses it on a server's hot path.
   */
  readonly unsafeRead?: ((campaignId: string) => Delivery | undefined) | undefined
  /** Optional, beside `unsafeRead`: `charge` done now, or `undefined` (nothing charged) when it cannot be. */
  readonly unsafeCharge?:
    | ((campaignId: string, cost: number, limits: Limits, now: number) => boolean | undefined)
    | undefined
}

/**
 * The delivery store service.
 *
 * @since 0.1.0
 * @category services
 */
export class DeliveryStore extends Context.Tag("@openaudience/ad-selector/DeliveryStore")<DeliveryStore, Service>() {}

const fresh: Delivery = { spend: zero, pacing: undefined }

/**
 * An in-memory store (one per call).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const campaigns = new Map<string, Delivery>()
  const read = (id: string) => campaigns.get(id) ?? fresh
  const charge = (id: string, cost: number, limits: Limits, now: number) => {
    const current = campaigns.get(id) ?? fresh
    if (!fits(current.spend, cost, limits, now)) return false
    campaigns.set(id, { spend: add(current.spend, cost, now), pacing: current.pacing })
    return true
  }
  return {
    read: (id) => Effect.sync(() => read(id)),
    charge: (id, cost, limits, now) => Effect.sync(() => charge(id, cost, limits, now)),
    unsafeRead: read,
    unsafeCharge: charge,
    setPacing: (id, state) =>
      Effect.sync(() => {
        campaigns.set(id, { spend: (campaigns.get(id) ?? fresh).spend, pacing: state })
      })
  }
}

/**
 * The in-memory store as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<DeliveryStore> = Layer.sync(DeliveryStore, makeMemory)
