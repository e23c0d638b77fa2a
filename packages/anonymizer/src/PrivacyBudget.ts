/**
 * The privacy budget of each (tenant, partner) pair: every differentially private release to a partner spends
 * some ε (and δ) of a fixed total, and a release that would exceed it is refused with `BudgetExhausted` before
 * any data is touched. Costs add up (basic sequential composition: k releases of (εᵢ, δᵢ) are (Σεᵢ, Σδᵢ)-DP
 * together), which is conservative and needs no assumption about how releases relate.
 *
 * The budget never renews by itself: a renewing budget would let a partner average its way to the true numbers
 * over time. Charges are atomic, so concurrent requests cannot overspend.
 *
 * `layerMemory` keeps the budget in memory (tests, one short-lived process); @openaudience/storage-sql's
 * `SqlPrivacyBudget` keeps it in a database, shared by every process and kept across restarts.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { type Cost, type InvalidPrivacyParameter, validateCost } from "./Noise.js"

/**
 * A release refused because it would exceed the pair's budget.
 *
 * @since 0.1.0
 * @category errors
 */
export class BudgetExhausted extends Schema.TaggedError<BudgetExhausted>()("BudgetExhausted", {
  tenant: Schema.String,
  partner: Schema.String,
  requested: Schema.Struct({ epsilon: Schema.Number, delta: Schema.Number }),
  remaining: Schema.Struct({ epsilon: Schema.Number, delta: Schema.Number })
}) {
  override get message(): string {
    return (
      `privacy budget of partner ${this.partner} (tenant ${this.tenant}) exhausted: ` +
      `requested ε=${this.requested.epsilon} δ=${this.requested.delta}, ` +
      `remaining ε=${this.remaining.epsilon} δ=${this.remaining.delta}`
    )
  }
}

/**
 * One accepted charge.
 *
 * @since 0.1.0
 * @category models
 */
export interface Charge {
  readonly at: number
  readonly epsilon: number
  readonly delta: number
}

/**
 * The privacy budget service.
 *
 * @since 0.1.0
 * @category services
 */
export class PrivacyBudget extends Context.Tag("@openaudience/anonymizer/PrivacyBudget")<
  PrivacyBudget,
  {
    /** Spends `cost` of the pair's budget, or fails without spending anything. Returns what remains. */
    readonly charge: (
      tenant: string,
      partner: string,
      cost: Cost
    ) => Effect.Effect<Cost, BudgetExhausted | InvalidPrivacyParameter>
    /** What the pair may still spend. */
    readonly remaining: (tenant: string, partner: string) => Effect.Effect<Cost>
    /** Every accepted charge of the pair, oldest first (time from `Clock`). */
    readonly ledger: (tenant: string, partner: string) => Effect.Effect<ReadonlyArray<Charge>>
  }
>() {}

/**
 * Slack for floating-point sums (ten charges of 0.1 fit a total of 1).
 *
 * @since 0.1.0
 * @category constants
 */
export const Tolerance = 1e-9

const pairKey = (tenant: string, partner: string): string => JSON.stringify([tenant, partner])

/**
 * A budget service in memory. `limit` is the total per pair: one for all pairs, or a function of the pair.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (
  limit: Cost | ((tenant: string, partner: string) => Cost)
): Effect.Effect<PrivacyBudget["Type"]> =>
  Effect.map(Ref.make(new Map<string, ReadonlyArray<Charge>>()), (ledgers) => {
    const limitOf = typeof limit === "function" ? limit : () => limit
    // Unclamped: a pair overspent within `Tolerance` has a negative remainder, which the tolerance must not
    // turn back into room for more charges.
    const unclamped = (tenant: string, partner: string, charges: ReadonlyArray<Charge> | undefined): Cost => {
      const total = limitOf(tenant, partner)
      let epsilon = total.epsilon
      let delta = total.delta
      for (const charge of charges ?? []) {
        epsilon -= charge.epsilon
        delta -= charge.delta
      }
      return { epsilon, delta }
    }
    const left = (tenant: string, partner: string, charges: ReadonlyArray<Charge> | undefined): Cost => {
      const raw = unclamped(tenant, partner, charges)
      return { epsilon: Math.max(0, raw.epsilon), delta: Math.max(0, raw.delta) }
    }
    return {
      charge: (tenant, partner, cost) =>
        Effect.gen(function* () {
          yield* validateCost(cost)
          const at = yield* Clock.currentTimeMillis
          const outcome = yield* Ref.modify(
            ledgers,
            (map): readonly [Either.Either<Cost, BudgetExhausted>, Map<string, ReadonlyArray<Charge>>] => {
              const key = pairKey(tenant, partner)
              const charges = map.get(key)
              const raw = unclamped(tenant, partner, charges)
              if (cost.epsilon > raw.epsilon + Tolerance || cost.delta > raw.delta + 1e-15) {
                const remaining = left(tenant, partner, charges)
                return [Either.left(new BudgetExhausted({ tenant, partner, requested: cost, remaining })), map]
              }
              const updated = [...(charges ?? []), { at, epsilon: cost.epsilon, delta: cost.delta }]
              return [Either.right(left(tenant, partner, updated)), new Map(map).set(key, updated)]
            }
          )
          return yield* outcome
        }),
      remaining: (tenant, partner) =>
        Effect.map(Ref.get(ledgers), (map) => left(tenant, partner, map.get(pairKey(tenant, partner)))),
      ledger: (tenant, partner) => Effect.map(Ref.get(ledgers), (map) => map.get(pairKey(tenant, partner)) ?? [])
    }
  })

/**
 * The in-memory budget layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (limit: Cost | ((tenant: string, partner: string) => Cost)): Layer.Layer<PrivacyBudget> =>
  Layer.effect(PrivacyBudget, makeMemory(limit))
