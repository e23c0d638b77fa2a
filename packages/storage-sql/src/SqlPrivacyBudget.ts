/**
 * The anonymizer's `PrivacyBudget` port over SQL (SQLite and PostgreSQL through `SqlClient`), so the ε (and δ) a
 * partner has received survives restarts and is shared by every process on the same database. An in-memory budget
 * would reset on restart and let a partner average the noise away.
 *
 * Two tables: `privacy_budgets` holds what each (tenant, partner) pair has spent, `privacy_charges` every accepted
 * charge. A charge is one transaction whose check and spend are a single conditional `UPDATE … WHERE spent + cost ≤
 * limit`: on PostgreSQL concurrent transactions queue on the row lock and re-check the condition against the
 * committed row, on SQLite writers are serialized by the database lock, so concurrent charges can never overspend.
 * Limits are given by the caller (an app reads them from its configuration) and are not stored: lowering them
 * takes effect at once for everything not yet spent.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Noise, PrivacyBudget } from "@openaudience/anonymizer"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import type { StorageError } from "./StorageError.js"

/**
 * The name of the table that records which ledger migrations were applied. It keeps the name it had when the
 * reference server owned these tables, so databases created then are recognised as up to date.
 *
 * @since 0.2.0
 * @category models
 */
export const table = "server_migrations"

/**
 * The ledger migrations, in order.
 *
 * @since 0.2.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "privacy_budget_ledger",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const real = sql.onDialectOrElse({ pg: () => sql.literal("DOUBLE PRECISION"), orElse: () => sql.literal("REAL") })
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      const id = sql.onDialectOrElse({
        pg: () => sql.literal("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
        orElse: () => sql.literal("INTEGER PRIMARY KEY AUTOINCREMENT")
      })
      yield* sql`CREATE TABLE privacy_budgets (
        tenant TEXT NOT NULL,
        partner TEXT NOT NULL,
        spent_epsilon ${real} NOT NULL,
        spent_delta ${real} NOT NULL,
        updated_at ${int64} NOT NULL,
        PRIMARY KEY (tenant, partner)
      )`
      yield* sql`CREATE TABLE privacy_charges (
        id ${id},
        tenant TEXT NOT NULL,
        partner TEXT NOT NULL,
        charged_at ${int64} NOT NULL,
        epsilon ${real} NOT NULL,
        delta ${real} NOT NULL
      )`
      yield* sql`CREATE INDEX privacy_charges_pair ON privacy_charges (tenant, partner, id)`
    })
  }
]

/**
 * Brings the ledger tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.2.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

/**
 * The total each (tenant, partner) pair may spend: one for all pairs, or a function of the pair (as
 * `PrivacyBudget.makeMemory` takes it).
 *
 * @since 0.2.0
 * @category models
 */
export type Limit = Noise.Cost | ((tenant: string, partner: string) => Noise.Cost)

/** Slack for δ sums, as the in-memory budget allows. */
const deltaTolerance = 1e-15

const remainingOf = (limit: Noise.Cost, spent: { readonly epsilon: number; readonly delta: number }): Noise.Cost => ({
  epsilon: Math.max(0, limit.epsilon - spent.epsilon),
  delta: Math.max(0, limit.delta - spent.delta)
})

interface SpentRow {
  readonly spent_epsilon: number | string
  readonly spent_delta: number | string
}

const spentOf = (row: SpentRow | undefined) => ({
  epsilon: row === undefined ? 0 : Number(row.spent_epsilon),
  delta: row === undefined ? 0 : Number(row.spent_delta)
})

/**
 * Builds the budget service over the `SqlClient` in context (the tables must exist: see `migrate` and `layer`).
 * Database failures are defects: the port has no error for them, and a report must not be released when its
 * charge is uncertain.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (limit: Limit): Effect.Effect<PrivacyBudget.PrivacyBudget["Type"], never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const limitOf = typeof limit === "function" ? limit : () => limit

    const readSpent = (tenant: string, partner: string) =>
      Effect.map(
        sql<SpentRow>`SELECT spent_epsilon, spent_delta FROM privacy_budgets
          WHERE tenant = ${tenant} AND partner = ${partner}`,
        (rows) => spentOf(rows[0])
      )

    const charge = (tenant: string, partner: string, cost: Noise.Cost) =>
      Effect.gen(function* () {
        const total = limitOf(tenant, partner)
        const at = yield* Clock.currentTimeMillis
        yield* sql`INSERT INTO privacy_budgets ${sql.insert({
          tenant,
          partner,
          spent_epsilon: 0,
          spent_delta: 0,
          updated_at: at
        })} ON CONFLICT (tenant, partner) DO NOTHING`
        // Check and spend in one statement: the row lock (PostgreSQL) or the write lock (SQLite) makes it atomic.
        const updated = yield* sql<SpentRow>`UPDATE privacy_budgets
          SET spent_epsilon = spent_epsilon + ${cost.epsilon},
              spent_delta = spent_delta + ${cost.delta},
              updated_at = ${at}
          WHERE tenant = ${tenant} AND partner = ${partner}
            AND spent_epsilon + ${cost.epsilon} <= ${total.epsilon + PrivacyBudget.Tolerance}
            AND spent_delta + ${cost.delta} <= ${total.delta + deltaTolerance}
          RETURNING spent_epsilon, spent_delta`
        if (updated.length === 0) {
          const remaining = remainingOf(total, yield* readSpent(tenant, partner))
          return yield* new PrivacyBudget.BudgetExhausted({ tenant, partner, requested: cost, remaining })
        }
        yield* sql`INSERT INTO privacy_charges ${sql.insert({
          tenant,
          partner,
          charged_at: at,
          epsilon: cost.epsilon,
          delta: cost.delta
        })}`
        return remainingOf(total, spentOf(updated[0]))
      })

    return PrivacyBudget.PrivacyBudget.of({
      charge: (tenant, partner, cost) =>
        Effect.gen(function* () {
          const valid = yield* Noise.validateCost(cost)
          return yield* sql
            .withTransaction(charge(tenant, partner, valid))
            .pipe(Effect.catchTag("SqlError", (error) => Effect.die(error)))
        }),
      remaining: (tenant, partner) =>
        readSpent(tenant, partner).pipe(
          Effect.map((spent) => remainingOf(limitOf(tenant, partner), spent)),
          Effect.orDie
        ),
      ledger: (tenant, partner) =>
        sql<{
          readonly charged_at: number | string
          readonly epsilon: number | string
          readonly delta: number | string
        }>`
          SELECT charged_at, epsilon, delta FROM privacy_charges
          WHERE tenant = ${tenant} AND partner = ${partner} ORDER BY id`.pipe(
          Effect.map((rows) =>
            rows.map((row) => ({ at: Number(row.charged_at), epsilon: Number(row.epsilon), delta: Number(row.delta) }))
          ),
          Effect.orDie
        )
    })
  })

/**
 * The budget layer: migrates the ledger tables when it is built, then serves `PrivacyBudget` with `limit` per
 * (tenant, partner) pair.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (limit: Limit): Layer.Layer<PrivacyBudget.PrivacyBudget, StorageError, SqlClient.SqlClient> =>
  Layer.effect(PrivacyBudget.PrivacyBudget, Effect.zipRight(migrate, make(limit)))
