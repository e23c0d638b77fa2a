/**
 * @openaudience/catalog's `CatalogStore` over SQL (SQLite and PostgreSQL through `SqlClient`). Two tables:
 * `catalog_products`, one row per (tenant, product id) with the prices as integer minor units beside their currency
 * (never a float), and `catalogs`, one row per tenant with its product count. `replace` is one transaction: it first
 * writes the tenant's `catalogs` row, whose lock queues concurrent replaces of one tenant (on PostgreSQL a replace
 * that deleted only the rows it could see would leave the other's rows behind), then deletes the old products and
 * inserts the new ones in chunks, so a 50,000-product feed never becomes one giant statement. Readers see the old
 * catalog or the new one. Ids are ordered in code point order: `COLLATE "C"` on PostgreSQL, `BINARY` on SQLite. The
 * tables have their own migration table (`catalog_migrations`), applied by `layer`.
 *
 * @since 0.4.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { CatalogStore, Product } from "@openaudience/catalog"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { chunks } from "./internal/chunks.js"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which catalog migrations were applied.
 *
 * @since 0.4.0
 * @category models
 */
export const table = "catalog_migrations"

/**
 * The catalog migrations, in order.
 *
 * @since 0.4.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_catalogs",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      const key = sql.onDialectOrElse({ pg: () => sql.literal(`TEXT COLLATE "C"`), orElse: () => sql.literal("TEXT") })
      yield* sql`CREATE TABLE catalogs (
        tenant TEXT PRIMARY KEY,
        products ${int64} NOT NULL,
        replaced_at ${int64} NOT NULL
      )`
      yield* sql`CREATE TABLE catalog_products (
        tenant TEXT NOT NULL,
        id ${key} NOT NULL,
        title TEXT NOT NULL,
        description TEXT,
        link TEXT NOT NULL,
        image_link TEXT NOT NULL,
        price_amount ${int64} NOT NULL,
        price_currency TEXT NOT NULL,
        sale_price_amount ${int64},
        sale_price_currency TEXT,
        availability TEXT NOT NULL,
        brand TEXT,
        product_type TEXT,
        PRIMARY KEY (tenant, id)
      )`
    })
  }
]

/**
 * Brings the catalog tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.4.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

/**
 * How many products one INSERT carries: 13 values each, 6,500 a statement, below SQLite's (32,766) and
 * PostgreSQL's (65,535) limits on bound values.
 *
 * @since 0.4.0
 * @category models
 */
export const productsPerStatement = 500

/** Ids per lookup statement. */
const idsPerRead = 500

type Int = number | string

interface Row {
  readonly id: string
  readonly title: string
  readonly description: string | null
  readonly link: string
  readonly image_link: string
  readonly price_amount: Int
  readonly price_currency: string
  readonly sale_price_amount: Int | null
  readonly sale_price_currency: string | null
  readonly availability: string
  readonly brand: string | null
  readonly product_type: string | null
}

const columns = (tenant: string, p: Product.Product) => ({
  tenant,
  id: p.id,
  title: p.title,
  description: p.description ?? null,
  link: p.link,
  image_link: p.imageLink,
  price_amount: p.price.amount,
  price_currency: p.price.currency,
  sale_price_amount: p.salePrice?.amount ?? null,
  sale_price_currency: p.salePrice?.currency ?? null,
  availability: p.availability,
  brand: p.brand ?? null,
  product_type: p.productType ?? null
})

const decodeAvailability = Schema.decodeUnknownSync(Product.Availability)

// A row that cannot be read back was not written by this store: a defect, not an answer.
const productOf = (row: Row): Product.Product => ({
  id: row.id,
  title: row.title,
  ...(row.description === null ? {} : { description: row.description }),
  link: row.link,
  imageLink: row.image_link,
  price: { amount: Number(row.price_amount), currency: row.price_currency },
  ...(row.sale_price_amount === null || row.sale_price_currency === null
    ? {}
    : { salePrice: { amount: Number(row.sale_price_amount), currency: row.sale_price_currency } }),
  availability: decodeAvailability(row.availability),
  ...(row.brand === null ? {} : { brand: row.brand }),
  ...(row.product_type === null ? {} : { productType: row.product_type })
})

/** Whether `id` could be a stored id at all: stored ids are well-formed text without NUL (`ProductId`). */
const storable = (id: unknown): id is string => typeof id === "string" && id.isWellFormed() && !id.includes("\u0000")

/**
 * The condition equivalent to `id > after` over stored ids, with a bound that can be sent to the database. Stored
 * ids hold no NUL and no lone surrogate, so `after` is cut where its first one is: before a NUL every stored id
 * greater than the prefix follows `after`; before a lone surrogate those from the prefix and U+E000 (the first code
 * point above the surrogates) on do. PostgreSQL refuses a NUL, and a lone surrogate would be sent as U+FFFD.
 */
const afterBound = (after: string): { readonly inclusive: boolean; readonly bound: string } => {
  for (let i = 0; i < after.length; i++) {
    const unit = after.charCodeAt(i)
    if (unit === 0) return { inclusive: false, bound: after.slice(0, i) }
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = after.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++
        continue
      }
      return { inclusive: true, bound: `${after.slice(0, i)}\uE000` }
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return { inclusive: true, bound: `${after.slice(0, i)}\uE000` }
  }
  return { inclusive: false, bound: after }
}

/** The `CatalogError` of a failed statement. */
const failed =
  (operation: string) =>
  (error: SqlError): CatalogStore.CatalogError => {
    const storage = fromSqlError(operation)(error)
    return new CatalogStore.CatalogError({
      reason: storage.reason === "Unavailable" || storage.reason === "InvalidInput" ? storage.reason : "StoreFailed",
      message: storage.message,
      cause: storage
    })
  }

/**
 * Builds the SQL catalog store over the `SqlClient` in context (the tables must exist: see `migrate` and `layer`).
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: Effect.Effect<CatalogStore.CatalogStoreShape, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const guard = <A>(operation: string, effect: Effect.Effect<A, SqlError>) => Effect.mapError(effect, failed(operation))

  const replace = (tenant: string, products: ReadonlyArray<Product.Product>) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      // First: the tenant's row lock queues a concurrent replace of the same tenant until this one commits.
      yield* sql`INSERT INTO catalogs ${sql.insert({ tenant, products: products.length, replaced_at: now })}
        ON CONFLICT (tenant) DO UPDATE SET products = ${products.length}, replaced_at = ${now}`
      yield* sql`DELETE FROM catalog_products WHERE tenant = ${tenant}`
      for (const chunk of chunks(products, productsPerStatement)) {
        yield* sql`INSERT INTO catalog_products ${sql.insert(chunk.map((p) => columns(tenant, p)))}`
      }
      return products.length
    })

  return CatalogStore.CatalogStore.of({
    replace: (tenant, products) =>
      Effect.flatMap(
        Effect.suspend(() => CatalogStore.checkProducts(products)),
        (valid) => guard("Replacing a catalog", sql.withTransaction(replace(tenant, valid)))
      ),
    getByIds: (tenant, ids) =>
      Effect.suspend(() => {
        const wanted = [...new Set(ids)].filter(storable)
        if (wanted.length === 0) return Effect.succeed([])
        const parts = chunks(wanted, idsPerRead)
        const reads = Effect.forEach(
          parts,
          (chunk) => sql<Row>`SELECT * FROM catalog_products WHERE tenant = ${tenant} AND ${sql.in("id", chunk)}`
        )
        // Several statements read one snapshot, so a replace between them cannot mix two catalogs: PostgreSQL's
        // repeatable read (its default, read committed, takes a snapshot per statement); SQLite's read transaction.
        const snapshot =
          parts.length === 1
            ? reads
            : sql.withTransaction(
                Effect.zipRight(
                  sql.onDialectOrElse({
                    pg: () => sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`,
                    orElse: () => Effect.void
                  }),
                  reads
                )
              )
        return guard(
          "Reading products",
          Effect.map(snapshot, (results) => {
            const byId = new Map(results.flat().map((row) => [row.id, row]))
            const found: Array<Product.Product> = []
            for (const id of wanted) {
              const row = byId.get(id)
              if (row !== undefined) found.push(productOf(row))
            }
            return found
          })
        )
      }),
    list: (tenant, options) =>
      Effect.suspend(() => {
        const limit = options?.limit
        // As the in-memory store: a fractional limit rounds up, a negative one is 0, NaN or Infinity none.
        const rows = limit === undefined || !Number.isFinite(limit) ? undefined : Math.max(0, Math.ceil(limit))
        if (rows === 0) return Effect.succeed([])
        const after = options?.after === undefined ? undefined : afterBound(options.after)
        const from =
          after === undefined ? sql`` : after.inclusive ? sql`AND id >= ${after.bound}` : sql`AND id > ${after.bound}`
        const limited = rows === undefined ? sql`` : sql`LIMIT ${rows}`
        return guard(
          "Listing products",
          Effect.map(
            sql<Row>`SELECT * FROM catalog_products WHERE tenant = ${tenant} ${from} ORDER BY id ${limited}`,
            (found) => found.map(productOf)
          )
        )
      }),
    count: (tenant) =>
      guard(
        "Counting products",
        Effect.map(sql<{ readonly products: Int }>`SELECT products FROM catalogs WHERE tenant = ${tenant}`, (rows) =>
          rows[0] === undefined ? 0 : Number(rows[0].products)
        )
      )
  })
})

/**
 * The SQL catalog store: runs its migrations, then serves `CatalogStore` over the `SqlClient` in context.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer: Layer.Layer<CatalogStore.CatalogStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  CatalogStore.CatalogStore,
  Effect.zipRight(migrate, make)
)
