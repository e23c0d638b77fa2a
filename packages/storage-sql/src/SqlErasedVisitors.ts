/**
 * The erasures the collector must remember, over SQL (SQLite and PostgreSQL through `SqlClient`): one table,
 * `erased_visitors`, one row per (tenant, tombstone) with the time of the erasure. A tombstone is the SHA-256 of an
 * erased pseudonym (@openaudience/collector's `Erased.tombstone`), never the pseudonym itself: the table says that
 * some visitor was erased, not which one, yet a collector holding a pseudonym can check it. A server loads `all`
 * into the collector's `Erased.makeSet()` at start and then adds `since` its last read in a refresh loop, so that a
 * browser still sending the erased visitor id (the shop's cookie is out of the collector's reach) is stored under a
 * new pseudonym (`Erased.pseudonymOf`).
 *
 * `record` is idempotent: recording a tombstone again keeps the first row (and its time). Rows are read by time
 * through the index `(erased_at)`. The table has its own migration table (`erased_visitors_migrations`), applied
 * by `layer`.
 *
 * @since 0.5.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, StorageError } from "./StorageError.js"

/**
 * The name of the table that records which erased visitor migrations were applied.
 *
 * @since 0.5.0
 * @category models
 */
export const table = "erased_visitors_migrations"

/**
 * The erased visitor migrations, in order.
 *
 * @since 0.5.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_erased_visitors",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE erased_visitors (
        tenant TEXT NOT NULL,
        tombstone TEXT NOT NULL,
        erased_at ${int64} NOT NULL,
        PRIMARY KEY (tenant, tombstone)
      )`
      yield* sql`CREATE INDEX erased_visitors_erased_at ON erased_visitors (erased_at)`
    })
  }
]

/**
 * Brings the erased visitor table up to date; returns the ids of the migrations applied now.
 *
 * @since 0.5.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

/**
 * One recorded erasure: the tenant, the erased pseudonym's tombstone, and when it was erased (epoch ms).
 *
 * @since 0.5.0
 * @category models
 */
export interface ErasedVisitor {
  readonly tenant: string
  readonly tombstone: string
  readonly erasedAt: number
}

/**
 * The store of erasures.
 *
 * @since 0.5.0
 * @category models
 */
export interface Service {
  /**
   * Records that the pseudonym whose tombstone is `tombstone` was erased at `at` (epoch ms from `Clock`, an
   * integer); recording it again changes nothing.
   */
  readonly record: (tenant: string, tombstone: string, at: number) => Effect.Effect<void, StorageError>
  /** The erasures recorded at or after `at`, oldest first (a server's refresh loop). */
  readonly since: (at: number) => Effect.Effect<ReadonlyArray<ErasedVisitor>, StorageError>
  /** Every erasure, oldest first (a server's start). */
  readonly all: () => Effect.Effect<ReadonlyArray<ErasedVisitor>, StorageError>
}

/**
 * The store of erasures, as a service.
 *
 * @since 0.5.0
 * @category services
 */
export class ErasedVisitors extends Context.Tag("@openaudience/storage-sql/ErasedVisitors")<
  ErasedVisitors,
  Service
>() {}

interface Row {
  readonly tenant: string
  readonly tombstone: string
  readonly erased_at: number | string | bigint
}

const toErased = (row: Row): ErasedVisitor => ({
  tenant: row.tenant,
  tombstone: row.tombstone,
  erasedAt: Number(row.erased_at)
})

const invalidTime = (at: number) =>
  new StorageError({ reason: "InvalidInput", message: `at must be an integer epoch ms, got ${at}` })

/**
 * Builds the SQL store of erasures over the `SqlClient` in context (the table must exist: see `migrate` and
 * `layer`). A time that is not an integer fails with reason `InvalidInput`, recording or reading nothing.
 *
 * @since 0.5.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const read = (operation: string, statement: Effect.Effect<ReadonlyArray<Row>, SqlError>) =>
    statement.pipe(
      Effect.map((rows) => rows.map(toErased)),
      Effect.mapError(fromSqlError(operation))
    )
  return ErasedVisitors.of({
    record: (tenant, tombstone, at) =>
      Effect.suspend(() =>
        Number.isSafeInteger(at)
          ? sql`INSERT INTO erased_visitors ${sql.insert({ tenant, tombstone, erased_at: at })}
              ON CONFLICT (tenant, tombstone) DO NOTHING`.pipe(
              Effect.asVoid,
              Effect.mapError(fromSqlError("Recording an erased visitor"))
            )
          : Effect.fail(invalidTime(at))
      ),
    since: (at) =>
      Effect.suspend(() =>
        Number.isSafeInteger(at)
          ? read(
              "Reading recent erased visitors",
              sql<Row>`SELECT tenant, tombstone, erased_at FROM erased_visitors
                WHERE erased_at >= ${at} ORDER BY erased_at, tenant, tombstone`
            )
          : Effect.fail(invalidTime(at))
      ),
    all: () =>
      read(
        "Reading erased visitors",
        sql<Row>`SELECT tenant, tombstone, erased_at FROM erased_visitors ORDER BY erased_at, tenant, tombstone`
      )
  })
})

/**
 * The SQL store of erasures: runs its migrations, then serves `ErasedVisitors` over the `SqlClient` in context.
 *
 * @since 0.5.0
 * @category layers
 */
export const layer: Layer.Layer<ErasedVisitors, StorageError, SqlClient.SqlClient> = Layer.effect(
  ErasedVisitors,
  Effect.zipRight(migrate, make)
)
