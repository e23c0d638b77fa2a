/**
 * @openaudience/ad-selector's `CapStore` over SQL (SQLite and PostgreSQL through `SqlClient`): frequency-cap counters
 * in one table, `ad_caps`, one row per (tenant, pseudonymous visitor key, cap key) with the hour, day and week the
 * windowed counts belong to, the lifetime total and the time of the last impression. `read` is the ad-serving path:
 * one query on a prefix of the primary key. `record` is one statement, an upsert whose update adds to the stored
 * counts in the database (never a count read into JavaScript and written back), so impressions recorded at once by
 * several processes are all counted; keys are sorted so concurrent upserts lock rows in one order and cannot
 * deadlock. The counters are data about a visitor: `forget` (and `eraseVisitor`, with only a `SqlClient`, for
 * erasure jobs) deletes every row of a (tenant, visitor). The table has its own migration table (`ad_caps_migrations`),
 * applied by `layer`.
 *
 * @since 0.4.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Caps } from "@openaudience/ad-selector"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which cap store migrations were applied.
 *
 * @since 0.4.0
 * @category models
 */
export const table = "ad_caps_migrations"

/**
 * The cap store migrations, in order.
 *
 * @since 0.4.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_ad_caps",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE ad_caps (
        tenant TEXT NOT NULL,
        visitor TEXT NOT NULL,
        cap_key TEXT NOT NULL,
        hour_index ${int64} NOT NULL,
        hour_count ${int64} NOT NULL,
        day_index ${int64} NOT NULL,
        day_count ${int64} NOT NULL,
        week_index ${int64} NOT NULL,
        week_count ${int64} NOT NULL,
        total ${int64} NOT NULL,
        last_at ${int64} NOT NULL,
        PRIMARY KEY (tenant, visitor, cap_key)
      )`
    })
  }
]

/**
 * Brings the cap store table up to date; returns the ids of the migrations applied now.
 *
 * @since 0.4.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

type Int = number | string

interface Row {
  readonly cap_key: string
  readonly hour_index: Int
  readonly hour_count: Int
  readonly day_index: Int
  readonly day_count: Int
  readonly week_index: Int
  readonly week_count: Int
  readonly total: Int
  readonly last_at: Int
}

const counterOf = (row: Row): Caps.Counter => ({
  hour: Number(row.hour_index),
  hourCount: Number(row.hour_count),
  day: Number(row.day_index),
  dayCount: Number(row.day_count),
  week: Number(row.week_index),
  weekCount: Number(row.week_count),
  total: Number(row.total),
  last: Number(row.last_at)
})

const failed =
  (operation: string) =>
  (error: SqlError): Caps.CapStoreError =>
    new Caps.CapStoreError({ message: fromSqlError(operation)(error).message })

/**
 * Builds the SQL cap store over the `SqlClient` in context (the table must exist: see `migrate` and `layer`).
 *
 * `now` must be an integer (epoch ms from `Clock`): anything else fails with `CapStoreError`, counting nothing.
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: Effect.Effect<Caps.Service, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  return Caps.CapStore.of({
    read: (tenant, visitor) =>
      sql<Row>`SELECT cap_key, hour_index, hour_count, day_index, day_count, week_index, week_count, total, last_at
          FROM ad_caps WHERE tenant = ${tenant} AND visitor = ${visitor}`.pipe(
        Effect.map((rows): Caps.Counters => new Map(rows.map((row) => [row.cap_key, counterOf(row)]))),
        Effect.mapError(failed("Reading frequency caps"))
      ),
    record: (tenant, visitor, keys, now) =>
      Effect.suspend(() => {
        if (!Number.isSafeInteger(now)) {
          return Effect.fail(new Caps.CapStoreError({ message: `now must be an integer epoch ms, got ${now}` }))
        }
        // Each key counted once per call, as in memory; sorted, so concurrent upserts lock rows in one order.
        const unique = [...new Set(keys)].sort()
        if (unique.length === 0) return Effect.void
        // The counter of a first impression; on a known key the update below derives the new counts from the row.
        const first = Caps.increment(undefined, now)
        const rows = unique.map((cap_key) => ({
          tenant,
          visitor,
          cap_key,
          hour_index: first.hour,
          hour_count: 1,
          day_index: first.day,
          day_count: 1,
          week_index: first.week,
          week_count: 1,
          total: 1,
          last_at: now
        }))
        // As `Caps.increment`: a count restarts at 1 when the window differs from the stored one, and the right-hand
        // sides all read the row as it was before this update.
        return sql`INSERT INTO ad_caps ${sql.insert(rows)}
            ON CONFLICT (tenant, visitor, cap_key) DO UPDATE SET
              hour_count = CASE WHEN ad_caps.hour_index = excluded.hour_index THEN ad_caps.hour_count + 1 ELSE 1 END,
              hour_index = excluded.hour_index,
              day_count = CASE WHEN ad_caps.day_index = excluded.day_index THEN ad_caps.day_count + 1 ELSE 1 END,
              day_index = excluded.day_index,
              week_count = CASE WHEN ad_caps.week_index = excluded.week_index THEN ad_caps.week_count + 1 ELSE 1 END,
              week_index = excluded.week_index,
              total = ad_caps.total + 1,
              last_at = CASE WHEN ad_caps.last_at > excluded.last_at THEN ad_caps.last_at ELSE excluded.last_at END`.pipe(
          Effect.asVoid,
          Effect.mapError(failed("Recording an impression"))
        )
      }),
    forget: (tenant, visitor) =>
      sql`DELETE FROM ad_caps WHERE tenant = ${tenant} AND visitor = ${visitor}`.pipe(
        Effect.asVoid,
        Effect.mapError(failed("Forgetting a visitor's frequency caps"))
      )
  })
})

/**
 * Deletes every counter of a visitor under a tenant (erasure), with only a `SqlClient`; returns the rows deleted.
 *
 * @since 0.4.0
 * @category combinators
 */
export const eraseVisitor = (
  tenant: string,
  visitor: string
): Effect.Effect<number, StorageError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`DELETE FROM ad_caps WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING cap_key`.pipe(
      Effect.map((rows) => rows.length),
      Effect.mapError(fromSqlError("Erasing a visitor's frequency caps"))
    )
  )

/**
 * The SQL cap store: runs its migrations, then serves `CapStore` over the `SqlClient` in context.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer: Layer.Layer<Caps.CapStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  Caps.CapStore,
  Effect.zipRight(migrate, make)
)
