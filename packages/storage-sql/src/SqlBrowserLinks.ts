/**
 * @openaudience/ad-selector's `BrowserLinks` over SQL (SQLite and PostgreSQL through `SqlClient`): one table,
 * `ad_browser_links`, one row per (tenant, browser key) naming the tenant's visitor pseudonym the browser was last
 * linked to and when. Browser keys are the tenant's keyed pseudonyms of the ad server's cookie (see
 * `BrowserLinks.browserKey`): the raw cookie is never stored.
 *
 * `link` runs on the collector's hot path for every allowed event, so it is one statement, an upsert on the primary
 * key, with no read before it. A link carrying an older time than the stored one does not replace it (a delayed
 * write of an earlier event cannot undo a newer link); at an equal time the later call wins. `visitorOf` is one
 * search of the primary key `(tenant, browser_key)`; `unlink` and `eraseVisitor` by visitor use the index
 * `(tenant, visitor)`. The links are data about a visitor: `eraseVisitor` removes them all. The table has its own
 * migration table (`ad_browser_links_migrations`), applied by `layer`.
 *
 * @since 0.4.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { BrowserLinks } from "@openaudience/ad-selector"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which browser link migrations were applied.
 *
 * @since 0.4.0
 * @category models
 */
export const table = "ad_browser_links_migrations"

/**
 * The browser link migrations, in order.
 *
 * @since 0.4.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_ad_browser_links",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE ad_browser_links (
        tenant TEXT NOT NULL,
        browser_key TEXT NOT NULL,
        visitor TEXT NOT NULL,
        linked_at ${int64} NOT NULL,
        PRIMARY KEY (tenant, browser_key)
      )`
      yield* sql`CREATE INDEX ad_browser_links_visitor ON ad_browser_links (tenant, visitor)`
    })
  }
]

/**
 * Brings the browser link table up to date; returns the ids of the migrations applied now.
 *
 * @since 0.4.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

const failed =
  (operation: string) =>
  (error: SqlError): BrowserLinks.BrowserLinksError => {
    const storage = fromSqlError(operation)(error)
    return new BrowserLinks.BrowserLinksError({
      reason: storage.reason === "Unavailable" ? "Unavailable" : "Failed",
      message: storage.message,
      cause: storage
    })
  }

/**
 * Builds the SQL browser links over the `SqlClient` in context (the table must exist: see `migrate` and `layer`).
 *
 * `at` must be an integer (epoch ms from `Clock`): anything else fails with reason `InvalidInput`, linking nothing.
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: Effect.Effect<BrowserLinks.Service, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const deleted = (operation: string, statement: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
    statement.pipe(
      Effect.map((rows) => rows.length),
      Effect.mapError(failed(operation))
    )

  return BrowserLinks.BrowserLinks.of({
    link: (tenant, browserKey, visitor, at) =>
      Effect.suspend(() => {
        if (!Number.isSafeInteger(at)) {
          return Effect.fail(
            new BrowserLinks.BrowserLinksError({
              reason: "InvalidInput",
              message: `at must be an integer epoch ms, got ${at}`
            })
          )
        }
        return sql`INSERT INTO ad_browser_links ${sql.insert({ tenant, browser_key: browserKey, visitor, linked_at: at })}
            ON CONFLICT (tenant, browser_key) DO UPDATE SET visitor = excluded.visitor, linked_at = excluded.linked_at
            WHERE excluded.linked_at >= ad_browser_links.linked_at`.pipe(
          Effect.asVoid,
          Effect.mapError(failed("Linking a browser"))
        )
      }),
    visitorOf: (tenant, browserKey) =>
      sql<{ readonly visitor: string }>`SELECT visitor FROM ad_browser_links
          WHERE tenant = ${tenant} AND browser_key = ${browserKey}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.visitor)),
        Effect.mapError(failed("Reading a browser's link"))
      ),
    unlink: (tenant, { browserKey, visitor }) => {
      if (browserKey === undefined && visitor === undefined) return Effect.succeed(0)
      const byKey = browserKey === undefined ? sql.literal("") : sql`AND browser_key = ${browserKey}`
      const byVisitor = visitor === undefined ? sql.literal("") : sql`AND visitor = ${visitor}`
      return deleted(
        "Unlinking browsers",
        sql`DELETE FROM ad_browser_links WHERE tenant = ${tenant} ${byKey} ${byVisitor} RETURNING browser_key`
      )
    },
    eraseVisitor: (tenant, visitor) =>
      deleted(
        "Erasing a visitor's browser links",
        sql`DELETE FROM ad_browser_links WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING browser_key`
      )
  })
})

/**
 * Deletes every browser link of a visitor under a tenant (erasure), with only a `SqlClient`; returns the rows
 * deleted.
 *
 * @since 0.4.0
 * @category combinators
 */
export const eraseVisitor = (
  tenant: string,
  visitor: string
): Effect.Effect<number, StorageError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`DELETE FROM ad_browser_links WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING browser_key`.pipe(
      Effect.map((rows) => rows.length),
      Effect.mapError(fromSqlError("Erasing a visitor's browser links"))
    )
  )

/**
 * The SQL browser links: runs its migrations, then serves `BrowserLinks` over the `SqlClient` in context.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer: Layer.Layer<BrowserLinks.BrowserLinks, StorageError, SqlClient.SqlClient> = Layer.effect(
  BrowserLinks.BrowserLinks,
  Effect.zipRight(migrate, make)
)
