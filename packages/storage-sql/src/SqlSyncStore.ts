/**
 * The audience package's `SyncStore` port over SQL (SQLite and PostgreSQL through `SqlClient`): what the audience job
 * (`Sync`) keeps besides memberships. `audience_programs` holds per tenant the audiences applied (their JSON
 * definitions and revision) and the sync status an admin API shows; `audience_worker` the job's stream cursor (the
 * position applied up to and the highest `seq`, under the job's consumer name); `audience_daily` entries and exits
 * per audience and UTC day. `transaction` is the `SqlClient`'s, so membership commits and change records made inside
 * it (over the same database) commit together. The migrations keep the table name and ids the reference worker
 * created them under (`worker_audience_migrations`, id 1), so existing databases carry on.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Audience, AudienceRule } from "@openaudience/audience"
import { Sync, SyncStore } from "@openaudience/audience"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as ErasureLock from "./internal/erasureLock.js"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The consumer name the audience job commits its log offsets under, and keeps its cursor under.
 *
 * @since 0.2.0
 * @category models
 */
export const consumer = "worker/audiences"

/**
 * The name of the table that records which of these migrations were applied (the reference worker's, kept).
 *
 * @since 0.2.0
 * @category models
 */
export const table = "worker_audience_migrations"

/**
 * The migrations, in order.
 *
 * @since 0.2.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "audience_worker",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE audience_programs (
        tenant TEXT PRIMARY KEY,
        revision ${int64} NOT NULL,
        definitions TEXT NOT NULL,
        sync TEXT NOT NULL,
        target_revision ${int64} NOT NULL,
        processed ${int64} NOT NULL,
        total ${int64} NOT NULL,
        error TEXT,
        updated_at ${int64} NOT NULL
      )`
      yield* sql`CREATE TABLE audience_daily (
        tenant TEXT NOT NULL,
        audience_id TEXT NOT NULL,
        day TEXT NOT NULL,
        entered ${int64} NOT NULL,
        exited ${int64} NOT NULL,
        PRIMARY KEY (tenant, audience_id, day)
      )`
      yield* sql`CREATE TABLE audience_worker (
        consumer TEXT PRIMARY KEY,
        position ${int64} NOT NULL,
        high_seq ${int64} NOT NULL
      )`
    })
  }
]

/**
 * Brings the tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.2.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

const Definitions = Schema.parseJson(Schema.Array(Schema.Struct({ id: Schema.String, rule: Schema.Unknown })))
const decodeDefinitions = Schema.decodeUnknownEither(Definitions)

const failure = (operation: string) => (error: SqlError) =>
  new SyncStore.SyncStoreError({ message: fromSqlError(operation)(error).message })

const isSqlError = (error: unknown): error is SqlError => Predicate.isTagged(error, "SqlError")

interface StatusRow {
  readonly revision: number | string
  readonly sync: string
  readonly target_revision: number | string
  readonly processed: number | string
  readonly total: number | string
  readonly error: string | null
  readonly updated_at: number | string
}

/** Services per `SqlClient`, so the job's compiled programs (cached per store) outlive one call. */
const services = new WeakMap<SqlClient.SqlClient, SyncStore.Service>()

const build = (sql: SqlClient.SqlClient): SyncStore.Service => {
  /** The last definitions decoded per tenant, so an unchanged row is not parsed again. */
  const decoded = new Map<string, { readonly text: string; readonly audiences: ReadonlyArray<Audience.Definition> }>()
  return SyncStore.SyncStore.of({
    transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      sql
        .withTransaction(Effect.zipRight(ErasureLock.shared(sql), effect))
        .pipe(
          Effect.catchIf(isSqlError, (error) =>
            Effect.fail(failure("Committing the audience job's transaction")(error))
          )
        ),
    applied: (tenant) =>
      sql<{ readonly revision: number | string; readonly definitions: string }>`
        SELECT revision, definitions FROM audience_programs WHERE tenant = ${tenant}`.pipe(
        Effect.mapError(failure("Reading the applied audiences")),
        Effect.flatMap((rows) => {
          const row = rows[0]
          if (row === undefined) return Effect.succeed(Option.none())
          const revision = Number(row.revision)
          const known = decoded.get(tenant)
          if (known !== undefined && known.text === row.definitions) {
            return Effect.succeed(Option.some({ revision, audiences: known.audiences }))
          }
          const parsed = decodeDefinitions(row.definitions)
          if (Either.isLeft(parsed)) {
            return Effect.fail(
              new SyncStore.SyncStoreError({ message: `Stored audiences of tenant ${tenant} are not valid JSON` })
            )
          }
          const audiences = parsed.right.map((d) => ({ id: d.id, rule: d.rule as AudienceRule.AudienceRule }))
          decoded.set(tenant, { text: row.definitions, audiences })
          return Effect.succeed(Option.some({ revision, audiences }))
        })
      ),
    status: (tenant) =>
      sql<StatusRow>`SELECT revision, sync, target_revision, processed, total, error, updated_at
        FROM audience_programs WHERE tenant = ${tenant}`.pipe(
        Effect.mapError(failure("Reading the audience sync status")),
        Effect.map((rows) => {
          const row = rows[0]
          if (row === undefined) return Option.none<SyncStore.SyncStatus>()
          return Option.some<SyncStore.SyncStatus>({
            revision: Number(row.revision),
            sync: row.sync === "backfilling" ? "backfilling" : "ready",
            targetRevision: Number(row.target_revision),
            processed: Number(row.processed),
            total: Number(row.total),
            error: row.error,
            updatedAt: Number(row.updated_at)
          })
        })
      ),
    tenants: sql<{ readonly tenant: string }>`SELECT tenant FROM audience_programs ORDER BY tenant`.pipe(
      Effect.map((rows) => rows.map((row) => row.tenant)),
      Effect.mapError(failure("Listing the tenants with audiences"))
    ),
    begin: (tenant, start) =>
      sql`INSERT INTO audience_programs ${sql.insert({
        tenant,
        revision: start.applied.revision,
        definitions: JSON.stringify(start.applied.audiences),
        sync: "backfilling",
        target_revision: start.targetRevision,
        processed: 0,
        total: start.total,
        error: null,
        updated_at: start.at
      })} ON CONFLICT (tenant) DO UPDATE SET sync = excluded.sync, target_revision = excluded.target_revision,
        processed = 0, total = excluded.total, error = NULL, updated_at = excluded.updated_at`.pipe(
        Effect.asVoid,
        Effect.mapError(failure("Starting an audience backfill"))
      ),
    progress: (tenant, progress) =>
      sql`UPDATE audience_programs SET sync = ${"backfilling"}, processed = ${progress.processed},
        total = ${progress.total}, target_revision = ${progress.targetRevision}, error = NULL,
        updated_at = ${progress.at} WHERE tenant = ${tenant}`.pipe(
        Effect.asVoid,
        Effect.mapError(failure("Recording an audience backfill's progress"))
      ),
    fail: (tenant, error, at) =>
      sql`UPDATE audience_programs SET error = ${error}, updated_at = ${at} WHERE tenant = ${tenant}`.pipe(
        Effect.asVoid,
        Effect.mapError(failure("Recording an audience edit's error"))
      ),
    finish: (tenant, applied, at) =>
      sql`UPDATE audience_programs SET revision = ${applied.revision},
        definitions = ${JSON.stringify(applied.audiences)}, sync = ${"ready"}, target_revision = ${applied.revision},
        processed = total, error = NULL, updated_at = ${at} WHERE tenant = ${tenant}`.pipe(
        Effect.asVoid,
        Effect.mapError(failure("Recording the audiences applied"))
      ),
    cursor: sql<{ readonly position: number | string; readonly high_seq: number | string }>`
      SELECT position, high_seq FROM audience_worker WHERE consumer = ${consumer}`.pipe(
      Effect.map((rows) => ({ position: Number(rows[0]?.position ?? 0), highSeq: Number(rows[0]?.high_seq ?? 0) })),
      Effect.mapError(failure("Reading the audience job's position"))
    ),
    saveCursor: (cursor) =>
      sql`INSERT INTO audience_worker ${sql.insert({ consumer, position: cursor.position, high_seq: cursor.highSeq })}
        ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, high_seq = excluded.high_seq`.pipe(
        Effect.asVoid,
        Effect.mapError(failure("Recording the audience job's position"))
      ),
    addDaily: (tenant, counts) =>
      Effect.forEach(
        counts,
        (c) =>
          sql`INSERT INTO audience_daily ${sql.insert({
            tenant,
            audience_id: c.audienceId,
            day: c.day,
            entered: c.entered,
            exited: c.exited
          })} ON CONFLICT (tenant, audience_id, day) DO UPDATE SET
            entered = audience_daily.entered + excluded.entered, exited = audience_daily.exited + excluded.exited`,
        { discard: true }
      ).pipe(Effect.mapError(failure("Counting audience entries and exits"))),
    daily: (tenant, audienceId, since) =>
      sql<{ readonly day: string; readonly entered: number | string; readonly exited: number | string }>`
        SELECT day, entered, exited FROM audience_daily
        WHERE tenant = ${tenant} AND audience_id = ${audienceId} AND day >= ${since} ORDER BY day DESC`.pipe(
        Effect.map((rows) =>
          rows.map(
            (r): SyncStore.DailyChanges => ({ day: r.day, entered: Number(r.entered), exited: Number(r.exited) })
          )
        ),
        Effect.mapError(failure("Reading audience entries and exits"))
      )
  })
}

/**
 * The SQL sync store over the `SqlClient` in context (the tables must exist: see `layer`), one per client.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: Effect.Effect<SyncStore.Service, never, SqlClient.SqlClient> = Effect.map(
  SqlClient.SqlClient,
  (sql) => {
    const known = services.get(sql)
    if (known !== undefined) return known
    const service = build(sql)
    services.set(sql, service)
    return service
  }
)

/**
 * The SQL sync store: runs the migrations, then serves `SyncStore` over the `SqlClient` in context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<SyncStore.SyncStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  SyncStore.SyncStore,
  Effect.zipRight(migrate, make)
)

const withStore = <A, E>(effect: Effect.Effect<A, E, SyncStore.SyncStore>): Effect.Effect<A, E, SqlClient.SqlClient> =>
  Effect.flatMap(make, (store) => Effect.provideService(effect, SyncStore.SyncStore, store))

/**
 * Where the audience job stands with a tenant's audiences (see audience's `Sync.status`), with only the `SqlClient`
 * in context: what an admin API shows.
 *
 * @since 0.2.0
 * @category combinators
 */
export const status = (
  tenant: string
): Effect.Effect<Option.Option<SyncStore.SyncStatus>, SyncStore.SyncStoreError, SqlClient.SqlClient> =>
  withStore(SyncStore.SyncStore.pipe(Effect.flatMap((store) => store.status(tenant))))

/**
 * An audience's entries and exits per UTC day since `since` (a `YYYY-MM-DD` date), newest first, with only the
 * `SqlClient` in context.
 *
 * @since 0.2.0
 * @category combinators
 */
export const daily = (
  tenant: string,
  audienceId: string,
  since: string
): Effect.Effect<ReadonlyArray<SyncStore.DailyChanges>, SyncStore.SyncStoreError, SqlClient.SqlClient> =>
  withStore(SyncStore.SyncStore.pipe(Effect.flatMap((store) => store.daily(tenant, audienceId, since))))

/**
 * The audience program the job has applied for a tenant (see audience's `Sync.applied`), with only the `SqlClient` in
 * context: what explaining a visitor's membership evaluates.
 *
 * @since 0.2.0
 * @category combinators
 */
export const applied = (tenant: string): Effect.Effect<Sync.Applied, SyncStore.SyncStoreError, SqlClient.SqlClient> =>
  withStore(Sync.applied(tenant))
