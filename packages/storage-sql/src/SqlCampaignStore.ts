/**
 * @openaudience/ad-selector's `CampaignStore` over SQL (SQLite and PostgreSQL through `SqlClient`). Two tables:
 * `ad_campaigns`, one row per campaign id (ids are unique across tenants) with its tenant and its JSON form
 * (`Campaign.encode`, decoded again on every read: a row that no longer decodes is `Corrupt`), and
 * `ad_campaign_revision`, one row with the revision. Every change is one transaction that bumps the revision first:
 * its row lock queues writers, so the check that an id is not another tenant's and the write cannot be interleaved,
 * and a refused change (a `Conflict`, a `remove` of nothing) rolls the bump back. `all` reads the revision and the
 * campaigns in one statement, so they always belong together. The tables have their own migration table
 * (`ad_campaigns_migrations`), applied by `layer`.
 *
 * @since 0.4.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Campaign, CampaignStore } from "@openaudience/ad-selector"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which campaign store migrations were applied.
 *
 * @since 0.4.0
 * @category models
 */
export const table = "ad_campaigns_migrations"

/**
 * The campaign store migrations, in order.
 *
 * @since 0.4.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_ad_campaigns",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      const key = sql.onDialectOrElse({ pg: () => sql.literal(`TEXT COLLATE "C"`), orElse: () => sql.literal("TEXT") })
      yield* sql`CREATE TABLE ad_campaigns (
        id ${key} PRIMARY KEY,
        tenant TEXT NOT NULL,
        document TEXT NOT NULL
      )`
      yield* sql`CREATE INDEX ad_campaigns_tenant ON ad_campaigns (tenant, id)`
      yield* sql`CREATE TABLE ad_campaign_revision (
        id INTEGER PRIMARY KEY,
        revision ${int64} NOT NULL
      )`
      yield* sql`INSERT INTO ad_campaign_revision ${sql.insert({ id: 1, revision: 0 })}`
    })
  }
]

/**
 * Brings the campaign store tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.4.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

type Int = number | string

const encode = Schema.encodeEither(Campaign.Campaign)

/** A change refused inside its transaction, which rolls back (the revision bump with it). */
class Refused extends Data.TaggedError("Refused")<{ readonly answer: boolean | CampaignStore.CampaignStoreError }> {}

const campaignOf = (document: string): Either.Either<Campaign.Campaign, CampaignStore.CampaignStoreError> => {
  let json: unknown
  try {
    json = JSON.parse(document)
  } catch {
    return Either.left(
      new CampaignStore.CampaignStoreError({ reason: "Corrupt", message: "a stored campaign is not JSON" })
    )
  }
  return Either.mapLeft(
    Campaign.decode(json),
    (problem) =>
      new CampaignStore.CampaignStoreError({
        reason: "Corrupt",
        message: `a stored campaign no longer decodes: ${problem}`
      })
  )
}

const failed =
  (operation: string) =>
  (error: SqlError): CampaignStore.CampaignStoreError => {
    const storage = fromSqlError(operation)(error)
    return new CampaignStore.CampaignStoreError({
      reason: storage.reason === "Unavailable" ? "Unavailable" : "Failed",
      message: storage.message,
      cause: storage
    })
  }

/**
 * Builds the SQL campaign store over the `SqlClient` in context (the tables must exist: see `migrate` and `layer`).
 *
 * A `put` of a value that is not a valid `Campaign` fails with reason `Failed`, storing nothing.
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: Effect.Effect<CampaignStore.Service, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  // First in every change: the row lock queues writers (PostgreSQL); SQLite's write lock does the same.
  const bump = sql`UPDATE ad_campaign_revision SET revision = revision + 1 WHERE id = 1`

  /** Runs a change in a transaction; a `Refused` rolls it back and is its answer. */
  const change = (operation: string, body: Effect.Effect<boolean, SqlError | Refused>) =>
    sql.withTransaction(Effect.zipRight(bump, body)).pipe(
      Effect.catchTags({
        Refused: (refused) =>
          typeof refused.answer === "boolean" ? Effect.succeed(refused.answer) : Effect.fail(refused.answer),
        SqlError: (error) => Effect.fail(failed(operation)(error))
      })
    )

  const decodeAll = (documents: ReadonlyArray<string>) => Effect.forEach(documents, (document) => campaignOf(document))

  return CampaignStore.CampaignStore.of({
    put: (campaign) =>
      Effect.suspend(() => {
        const encoded = encode(campaign)
        if (Either.isLeft(encoded)) {
          return Effect.fail(
            new CampaignStore.CampaignStoreError({
              reason: "Failed",
              message: `not a valid campaign: ${ParseResult.TreeFormatter.formatErrorSync(encoded.left)}`
            })
          )
        }
        const document = JSON.stringify(encoded.right)
        return change(
          "Storing a campaign",
          Effect.gen(function* () {
            const rows = yield* sql<{
              readonly tenant: string
            }>`SELECT tenant FROM ad_campaigns WHERE id = ${campaign.id}`
            const existing = rows[0]
            if (existing !== undefined && existing.tenant !== campaign.tenant) {
              return yield* new Refused({
                answer: new CampaignStore.CampaignStoreError({
                  reason: "Conflict",
                  message: `campaign id ${campaign.id} is taken`
                })
              })
            }
            yield* sql`INSERT INTO ad_campaigns ${sql.insert({ id: campaign.id, tenant: campaign.tenant, document })}
              ON CONFLICT (id) DO UPDATE SET document = excluded.document`
            return existing === undefined
          })
        )
      }),
    get: (tenant, id) =>
      sql<{
        readonly document: string
      }>`SELECT document FROM ad_campaigns WHERE id = ${id} AND tenant = ${tenant}`.pipe(
        Effect.mapError(failed("Reading a campaign")),
        Effect.flatMap((rows) =>
          rows[0] === undefined ? Effect.succeedNone : Effect.asSome(campaignOf(rows[0].document))
        )
      ),
    list: (tenant) =>
      sql<{ readonly document: string }>`SELECT document FROM ad_campaigns WHERE tenant = ${tenant} ORDER BY id`.pipe(
        Effect.mapError(failed("Listing campaigns")),
        Effect.flatMap((rows) => decodeAll(rows.map((row) => row.document)))
      ),
    remove: (tenant, id) =>
      change(
        "Removing a campaign",
        Effect.gen(function* () {
          const rows = yield* sql`DELETE FROM ad_campaigns WHERE id = ${id} AND tenant = ${tenant} RETURNING id`
          if (rows.length === 0) return yield* new Refused({ answer: false })
          return true
        })
      ),
    // One statement, so the campaigns are those of the revision read (a snapshot on both databases).
    all: sql<{ readonly revision: Int; readonly document: string | null }>`SELECT r.revision, c.document
        FROM ad_campaign_revision r LEFT JOIN ad_campaigns c ON 1 = 1 WHERE r.id = 1 ORDER BY c.id`.pipe(
      Effect.mapError(failed("Reading every campaign")),
      Effect.flatMap((rows) =>
        Effect.map(decodeAll(rows.flatMap((row) => (row.document === null ? [] : [row.document]))), (campaigns) => ({
          revision: rows[0] === undefined ? 0 : Number(rows[0].revision),
          campaigns
        }))
      )
    ),
    revision: sql<{ readonly revision: Int }>`SELECT revision FROM ad_campaign_revision WHERE id = 1`.pipe(
      Effect.mapError(failed("Reading the campaign revision")),
      Effect.map((rows) => (rows[0] === undefined ? 0 : Number(rows[0].revision)))
    )
  })
})

/**
 * The SQL campaign store: runs its migrations, then serves `CampaignStore` over the `SqlClient` in context.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer: Layer.Layer<CampaignStore.CampaignStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  CampaignStore.CampaignStore,
  Effect.zipRight(migrate, make)
)
