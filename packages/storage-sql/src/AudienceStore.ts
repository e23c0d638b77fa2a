/**
 * Where a tenant's audience definitions live: name, status (`draft` audiences can be previewed, only `active`
 * ones are evaluated), the rule document and a version per audience, and one revision number per tenant that
 * every change bumps in the same transaction. Workers compare the revision with the one they applied to know
 * when to recompile and backfill; the admin API writes here. Rules are stored as the JSON documents of
 * @openaudience/audience and decoded (schema only) on the way out.
 *
 * @since 0.1.0
 */
import { AudienceRule } from "@openaudience/audience"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, StorageError } from "./StorageError.js"

/**
 * Whether an audience is evaluated (`active`) or only stored for previews (`draft`).
 *
 * @since 0.1.0
 * @category models
 */
export const Status = Schema.Literal("draft", "active")

/**
 * @since 0.1.0
 * @category models
 */
export type Status = typeof Status.Type

/**
 * What callers write: a name, a status and a rule document.
 *
 * @since 0.1.0
 * @category models
 */
export interface AudienceInput {
  readonly name: string
  readonly status: Status
  readonly rule: AudienceRule.AudienceRule
}

/**
 * A stored audience. `version` starts at 1 and grows with every update.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredAudience extends AudienceInput {
  readonly id: string
  readonly version: number
  readonly createdAt: number
  readonly updatedAt: number
}

/**
 * The operations of the audience store, always scoped to one tenant.
 *
 * @since 0.1.0
 * @category models
 */
export interface AudienceStoreService {
  /** Stores a new audience under `id`; fails with reason `InvalidInput` when the id is taken. */
  readonly create: (
    tenant: string,
    id: string,
    input: AudienceInput,
    now: number
  ) => Effect.Effect<StoredAudience, StorageError>
  /** Replaces an audience's name, status and rule (its version grows by one); none when there is no such audience. */
  readonly update: (
    tenant: string,
    id: string,
    input: AudienceInput,
    now: number
  ) => Effect.Effect<Option.Option<StoredAudience>, StorageError>
  /** Deletes an audience; whether it existed. */
  readonly remove: (tenant: string, id: string) => Effect.Effect<boolean, StorageError>
  /** One audience. */
  readonly get: (tenant: string, id: string) => Effect.Effect<Option.Option<StoredAudience>, StorageError>
  /** Every audience of a tenant, oldest first. */
  readonly list: (tenant: string) => Effect.Effect<ReadonlyArray<StoredAudience>, StorageError>
  /** The tenant's revision: 0 before the first change, then one more per create, update or delete. */
  readonly revision: (tenant: string) => Effect.Effect<number, StorageError>
  /** Every tenant that has ever changed its audiences, with its revision. */
  readonly revisions: Effect.Effect<ReadonlyArray<{ readonly tenant: string; readonly revision: number }>, StorageError>
}

/**
 * The audience store service.
 *
 * @since 0.1.0
 * @category services
 */
export class AudienceStore extends Context.Tag("@openaudience/storage-sql/AudienceStore")<
  AudienceStore,
  AudienceStoreService
>() {}

/**
 * The name of the table that records which audience store migrations were applied.
 *
 * @since 0.1.0
 * @category models
 */
export const table = "audience_store_migrations"

/**
 * The audience store migrations, in order.
 *
 * @since 0.1.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_audiences",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE audiences (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        rule TEXT NOT NULL,
        version ${int64} NOT NULL,
        created_at ${int64} NOT NULL,
        updated_at ${int64} NOT NULL,
        PRIMARY KEY (tenant, id)
      )`
      yield* sql`CREATE TABLE audience_revisions (
        tenant TEXT PRIMARY KEY,
        revision ${int64} NOT NULL
      )`
    })
  }
]

/**
 * Brings the audience tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.1.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

interface AudienceRow {
  readonly id: string
  readonly name: string
  readonly status: string
  readonly rule: string
  readonly version: number | string
  readonly created_at: number | string
  readonly updated_at: number | string
}

const decodeRule = Schema.decodeUnknownEither(Schema.parseJson(AudienceRule.AudienceRule))
const isStatus = Schema.is(Status)

const decodeRow = (row: AudienceRow): Either.Either<StoredAudience, StorageError> => {
  const corrupt = (why: string) =>
    Either.left(new StorageError({ reason: "CorruptData", message: `Stored audience ${row.id} ${why}` }))
  if (!isStatus(row.status)) return corrupt(`has an unknown status ${JSON.stringify(row.status)}`)
  const rule = decodeRule(row.rule)
  if (Either.isLeft(rule)) {
    return corrupt(`has an invalid rule: ${ParseResult.TreeFormatter.formatErrorSync(rule.left)}`)
  }
  return Either.right({
    id: row.id,
    name: row.name,
    status: row.status,
    rule: rule.right,
    version: Number(row.version),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at)
  })
}

const decodeRows = (rows: ReadonlyArray<AudienceRow>) =>
  Effect.forEach(rows, (row) => Effect.suspend(() => decodeRow(row)))

/**
 * Builds the SQL audience store over the `SqlClient` in context (the tables must exist: see `layer`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<AudienceStoreService, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = sql.literal("id, name, status, rule, version, created_at, updated_at")
  const failed = (operation: string) => (error: SqlError) => fromSqlError(operation)(error)

  const bump = (tenant: string) =>
    sql`INSERT INTO audience_revisions ${sql.insert({ tenant, revision: 1 })}
      ON CONFLICT (tenant) DO UPDATE SET revision = audience_revisions.revision + 1`

  const select = (tenant: string, id: string) =>
    sql<AudienceRow>`SELECT ${columns} FROM audiences WHERE tenant = ${tenant} AND id = ${id}`

  const one = (rows: ReadonlyArray<AudienceRow>) =>
    rows.length === 0 ? Effect.succeed(Option.none()) : Effect.map(decodeRows(rows), (r) => Option.some(r[0]!))

  return AudienceStore.of({
    create: (tenant, id, input, now) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            const taken = yield* select(tenant, id)
            if (taken.length > 0) {
              return yield* new StorageError({ reason: "InvalidInput", message: `An audience ${id} already exists` })
            }
            yield* sql`INSERT INTO audiences ${sql.insert({
              tenant,
              id,
              name: input.name,
              status: input.status,
              rule: AudienceRule.toJson(input.rule),
              version: 1,
              created_at: now,
              updated_at: now
            })}`
            yield* bump(tenant)
            const stored: StoredAudience = { ...input, id, version: 1, createdAt: now, updatedAt: now }
            return stored
          })
        )
        .pipe(Effect.catchTag("SqlError", (e) => Effect.fail(failed("Creating an audience")(e)))),
    update: (tenant, id, input, now) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            const rows = yield* sql<AudienceRow>`UPDATE audiences SET name = ${input.name}, status = ${input.status},
              rule = ${AudienceRule.toJson(input.rule)}, version = version + 1, updated_at = ${now}
              WHERE tenant = ${tenant} AND id = ${id} RETURNING ${columns}`
            if (rows.length === 0) return Option.none<StoredAudience>()
            yield* bump(tenant)
            return yield* one(rows)
          })
        )
        .pipe(Effect.catchTag("SqlError", (e) => Effect.fail(failed("Updating an audience")(e)))),
    remove: (tenant, id) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            const rows = yield* sql`DELETE FROM audiences WHERE tenant = ${tenant} AND id = ${id} RETURNING id`
            if (rows.length === 0) return false
            yield* bump(tenant)
            return true
          })
        )
        .pipe(Effect.mapError(failed("Deleting an audience"))),
    get: (tenant, id) => select(tenant, id).pipe(Effect.mapError(failed("Reading an audience")), Effect.flatMap(one)),
    list: (tenant) =>
      sql<AudienceRow>`SELECT ${columns} FROM audiences WHERE tenant = ${tenant} ORDER BY created_at, id`.pipe(
        Effect.mapError(failed("Listing audiences")),
        Effect.flatMap(decodeRows)
      ),
    revision: (tenant) =>
      sql<{
        readonly revision: number | string
      }>`SELECT revision FROM audience_revisions WHERE tenant = ${tenant}`.pipe(
        Effect.map((rows) => Number(rows[0]?.revision ?? 0)),
        Effect.mapError(failed("Reading the audience revision"))
      ),
    revisions: sql<{
      readonly tenant: string
      readonly revision: number | string
    }>`SELECT tenant, revision FROM audience_revisions ORDER BY tenant`.pipe(
      Effect.map((rows) => rows.map((row) => ({ tenant: row.tenant, revision: Number(row.revision) }))),
      Effect.mapError(failed("Reading audience revisions"))
    )
  })
})

/**
 * The SQL audience store: runs its migrations, then serves `AudienceStore` over the `SqlClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<AudienceStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  AudienceStore,
  Effect.zipRight(migrate, make)
)
