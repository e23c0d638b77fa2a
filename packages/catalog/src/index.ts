/**
 * Product catalogs of OpenAudience tenants: Google Merchant Center / Meta feeds read row by row into exact-money
 * products, product creatives rendered from HTML templates with escaped macros, the products to show a visitor, and
 * the storage port of catalogs.
 *
 * @since 0.1.0
 */

/**
 * The product model, price and availability parsing, and the check of links against a tenant's origins.
 *
 * @since 0.1.0
 */
export * as Product from "./Product.js"

/**
 * Feeds (JSON, CSV, TSV) read into a report of accepted products and rejected rows.
 *
 * @since 0.1.0
 */
export * as Feed from "./Feed.js"

/**
 * Product creatives: HTML templates with escaped macros, rendered for a list of products.
 *
 * @since 0.1.0
 */
export * as Template from "./Template.js"

/**
 * The products to show a visitor: most recently viewed first, in stock, not bought since.
 *
 * @since 0.1.0
 */
export * as Recommend from "./Recommend.js"

/**
 * The storage port of catalogs (replace atomically, get by ids, list) and its in-memory layer.
 *
 * @since 0.1.0
 */
export * as CatalogStore from "./CatalogStore.js"
