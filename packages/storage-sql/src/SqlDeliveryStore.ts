/**
 * @openaudience/ad-selector's `DeliveryStore` over SQL (SQLite and PostgreSQL through `SqlClient`): one table,
 * `ad_delivery`, one row per campaign with its spend in integer millis (the UTC day of `today`, today's spend and the
 * total) and its pacing controller's state as JSON. A charge is one conditional `UPDATE`: the check of both limits and
 * the addition are the same statement (`… SET total = total + cost WHERE total + cost <= limit`), so processes charging
 * one campaign at once queue on its row (PostgreSQL re-checks the condition on the row a concurrent charge left;
 * SQLite holds its write lock) and never overspend. The row of a campaign never seen is created on its first charge
 * or pacing state. The table has its own migration table (`ad_delivery_migrations`), applied by `layer`.
 *
 * @since 0.4.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Budget, type Pacing } from "@openaudience/ad-selector"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type DeliveryRow, deliveryOf } from "./internal/deliveryRow.js"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which delivery store migrations were applied.
 *
 * @since 0.4.0
 * @category models
 */
export const table = "ad_delivery_migrations"

/**
 * The delivery store migrations, in order.
 *
 * @since 0.4.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_ad_delivery",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE ad_delivery (
        campaign_id TEXT PRIMARY KEY,
        day_index ${int64} NOT NULL,
        today ${int64} NOT NULL,
        total ${int64} NOT NULL,
        pacing TEXT
      )`
    })
  }
]

/**
 * Brings the delivery store table up to date; returns the ids of the migrations applied now.
 *
 * @since 0.4.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

type Row = DeliveryRow

const failed =
  (operation: string) =>
  (error: SqlError): Budget.DeliveryStoreError =>
    new Budget.DeliveryStoreError({ message: fromSqlError(operation)(error).message })

const invalid = (message: string) => Effect.fail(new Budget.DeliveryStoreError({ message }))

/** The largest value a BIGINT holds (2^63 - 1, rounded up to a double): a limit at or above it limits nothing. */
const bigintMax = 2 ** 63

/**
 * A limit as a condition: none for `undefined`, `+Infinity` or a limit no BIGINT spend can reach; `"never"` for a
 * limit nothing fits (NaN, below every integer), as `Budget.fits` answers in memory.
 */
const limitOf = (limit: number | undefined): number | "none" | "never" => {
  if (limit === undefined || limit >= bigintMax) return "none"
  if (Number.isNaN(limit) || limit === Number.NEGATIVE_INFINITY) return "never"
  return Math.floor(limit)
}

/** The pacing state as JSON, refusing numbers JSON cannot hold (NaN, ±Infinity would come back as null). */
const encodePacing = (state: Pacing.State): string | undefined => {
  let finite = true
  const json = JSON.stringify(state, (_key, value: unknown) => {
    if (typeof value === "number" && !Number.isFinite(value)) finite = false
    return value
  })
  return finite && typeof json === "string" ? json : undefined
}

// A row that cannot be read back was not written by this store: a defect, not an answer.

/**
 * Builds the SQL delivery store over the `SqlClient` in context (the table must exist: see `migrate` and `layer`).
 *
 * Amounts are integer millis and `now` integer epoch ms: a cost or time that is not an integer, or a pacing state
 * holding NaN or an infinity, fails with `DeliveryStoreError` and changes nothing (the in-memory store would keep
 * them; a BIGINT column cannot).
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: Effect.Effect<Budget.Service, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const create = (campaignId: string) =>
    sql`INSERT INTO ad_delivery ${sql.insert({ campaign_id: campaignId, day_index: 0, today: 0, total: 0, pacing: null })}
      ON CONFLICT (campaign_id) DO NOTHING`

  return Budget.DeliveryStore.of({
    read: (campaignId) =>
      sql<Row>`SELECT day_index, today, total, pacing FROM ad_delivery WHERE campaign_id = ${campaignId}`.pipe(
        Effect.map((rows) => (rows[0] === undefined ? { spend: Budget.zero, pacing: undefined } : deliveryOf(rows[0]))),
        Effect.mapError(failed("Reading a campaign's delivery"))
      ),
    charge: (campaignId, cost, limits, now) =>
      Effect.suspend(() => {
        if (!Number.isSafeInteger(cost)) return invalid(`a cost must be an integer number of millis, got ${cost}`)
        if (!Number.isSafeInteger(now)) return invalid(`now must be an integer epoch ms, got ${now}`)
        const daily = limitOf(limits.daily)
        const total = limitOf(limits.total)
        if (daily === "never" || total === "never") return Effect.succeed(false)
        // The UTC day of `now` as the budget module counts it.
        const day = Budget.add(Budget.zero, 0, now).day
        const spentToday = sql`(CASE WHEN day_index = ${day} THEN today ELSE 0 END)`
        // Check and add in one statement: the row lock (PostgreSQL) or the write lock (SQLite) makes it atomic.
        const update = sql`UPDATE ad_delivery
            SET today = ${spentToday} + ${cost}, day_index = ${day}, total = total + ${cost}
            WHERE campaign_id = ${campaignId}
              ${daily === "none" ? sql`` : sql`AND ${spentToday} + ${cost} <= ${daily}`}
              ${total === "none" ? sql`` : sql`AND total + ${cost} <= ${total}`}
            RETURNING campaign_id`
        return Effect.gen(function* () {
          if ((yield* update).length > 0) return true
          // Refused, or the campaign has no row yet: create it (if missing) and try once more.
          yield* create(campaignId)
          return (yield* update).length > 0
        }).pipe(Effect.mapError(failed("Charging a campaign")))
      }),
    setPacing: (campaignId, state) =>
      Effect.suspend(() => {
        const json = encodePacing(state)
        if (json === undefined) return invalid("a pacing state must hold finite numbers only")
        return sql`INSERT INTO ad_delivery ${sql.insert({ campaign_id: campaignId, day_index: 0, today: 0, total: 0, pacing: json })}
            ON CONFLICT (campaign_id) DO UPDATE SET pacing = excluded.pacing`.pipe(
          Effect.asVoid,
          Effect.mapError(failed("Storing a campaign's pacing state"))
        )
      })
  })
})

/**
 * The SQL delivery store: runs its migrations, then serves `DeliveryStore` over the `SqlClient` in context.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer: Layer.Layer<Budget.DeliveryStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  Budget.DeliveryStore,
  Effect.zipRight(migrate, make)
)
