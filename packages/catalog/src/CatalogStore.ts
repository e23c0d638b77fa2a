/**
 * The storage port of catalogs: per tenant, the products of its last accepted feed. `replace` swaps a tenant's whole
 * catalog at once — readers see the old catalog or the new one, never a mix — so a feed upload is one call.
 * `layerMemory` keeps catalogs in memory (tests, demos); an SQL implementation belongs in @openaudience/storage-sql,
 * and `test/catalogStoreSuite.ts` holds the behaviour every implementation must have.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Product from "./Product.js"

/**
 * Why a store operation failed.
 *
 * - `InvalidInput`: products that are not valid `Product`s, or two with one id; nothing was changed.
 * - `Unavailable`: the store cannot be reached or is busy; retrying later may succeed.
 * - `StoreFailed`: anything else the store could not do.
 *
 * @since 0.1.0
 * @category errors
 */
export const CatalogErrorReason = Schema.Literal("InvalidInput", "Unavailable", "StoreFailed")

/**
 * @since 0.1.0
 * @category errors
 */
export type CatalogErrorReason = typeof CatalogErrorReason.Type

/**
 * A failed store operation.
 *
 * @since 0.1.0
 * @category errors
 */
export class CatalogError extends Schema.TaggedError<CatalogError>("@openaudience/catalog/CatalogError")(
  "CatalogError",
  { reason: CatalogErrorReason, message: Schema.String, cause: Schema.optional(Schema.Defect) }
) {}

/**
 * Options of `list`: the products after the id `after` (for paging), at most `limit` of them.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  readonly after?: string | undefined
  readonly limit?: number | undefined
}

/**
 * A store of catalogs.
 *
 * @since 0.1.0
 * @category services
 */
export interface CatalogStoreShape {
  /**
   * Replaces the tenant's catalog with `products` (an empty list empties it) in one step; fails with
   * `InvalidInput`, changing nothing, when a product is not valid or two share an id. Returns the new count.
   */
  readonly replace: (tenant: string, products: ReadonlyArray<Product.Product>) => Effect.Effect<number, CatalogError>
  /** The tenant's products with these ids, in the order of `ids`, each once; unknown ids are skipped. */
  readonly getByIds: (
    tenant: string,
    ids: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Product.Product>, CatalogError>
  /**
   * The tenant's products ordered by id in code point order (UTF-8 byte order: `COLLATE "C"` in PostgreSQL,
   * `BINARY` in SQLite), those after `after` only, at most `limit`.
   */
  readonly list: (
    tenant: string,
    options?: ListOptions | undefined
  ) => Effect.Effect<ReadonlyArray<Product.Product>, CatalogError>
  /** The number of the tenant's products. */
  readonly count: (tenant: string) => Effect.Effect<number, CatalogError>
}

/**
 * A store of catalogs.
 *
 * @since 0.1.0
 * @category services
 */
export class CatalogStore extends Context.Tag("@openaudience/catalog/CatalogStore")<
  CatalogStore,
  CatalogStoreShape
>() {}

/**
 * Compares ids in code point order (the order of their UTF-8 bytes), as every store lists them.
 *
 * @since 0.1.0
 * @category combinators
 */
export const compareIds = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!
    const y = b.codePointAt(i)!
    if (x !== y) return x < y ? -1 : 1
    if (x > 0xffff) i++
  }
  return a.length - b.length
}

const validate = Schema.validateEither(Product.Product)

/**
 * The check every store runs before `replace`: each product valid (returned as validated copies), ids unique.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkProducts = (
  products: ReadonlyArray<Product.Product>
): Either.Either<ReadonlyArray<Product.Product>, CatalogError> => {
  if (!Array.isArray(products)) {
    return Either.left(new CatalogError({ reason: "InvalidInput", message: "products must be an array" }))
  }
  const ids = new Set<string>()
  const valid: Array<Product.Product> = []
  for (const [index, product] of products.entries()) {
    const result = validate(product)
    if (Either.isLeft(result)) {
      return Either.left(
        new CatalogError({
          reason: "InvalidInput",
          message: `product ${index + 1} is not valid: ${ParseResult.TreeFormatter.formatErrorSync(result.left)}`
        })
      )
    }
    if (ids.has(result.right.id)) {
      return Either.left(
        new CatalogError({
          reason: "InvalidInput",
          message: `product ${index + 1} has the id ${JSON.stringify(result.right.id)} of an earlier one`
        })
      )
    }
    ids.add(result.right.id)
    valid.push(structuredClone(result.right))
  }
  return Either.right(valid)
}

/**
 * A store in memory, with the semantics every store has.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): CatalogStoreShape => {
  // Per tenant, products by id, sorted by id; a replace swaps the tenant's map at once.
  const catalogs = new Map<string, ReadonlyMap<string, Product.Product>>()
  const of = (tenant: string) => catalogs.get(tenant) ?? new Map<string, Product.Product>()
  return {
    replace: (tenant, products) =>
      Effect.flatMap(
        Effect.suspend(() => checkProducts(products)),
        (valid) =>
          Effect.sync(() => {
            const sorted = [...valid].sort((a, b) => compareIds(a.id, b.id))
            catalogs.set(tenant, new Map(sorted.map((p) => [p.id, p])))
            return sorted.length
          })
      ),
    getByIds: (tenant, ids) =>
      Effect.sync(() => {
        const catalog = of(tenant)
        const seen = new Set<string>()
        const found: Array<Product.Product> = []
        for (const id of ids) {
          const product = catalog.get(id)
          if (product === undefined || seen.has(id)) continue
          seen.add(id)
          found.push(structuredClone(product))
        }
        return found
      }),
    list: (tenant, options) =>
      Effect.sync(() => {
        const after = options?.after
        const limit = options?.limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, options.limit)
        const found: Array<Product.Product> = []
        for (const product of of(tenant).values()) {
          if (found.length >= limit) break
          if (after === undefined || compareIds(product.id, after) > 0) found.push(structuredClone(product))
        }
        return found
      }),
    count: (tenant) => Effect.sync(() => of(tenant).size)
  }
}

/**
 * The in-memory store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<CatalogStore> = Layer.sync(CatalogStore, makeMemory)
