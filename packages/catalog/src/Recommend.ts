/**
 * The products to show a visitor in a product creative: those they viewed, most recent view first, in stock, and
 * not bought since they last viewed them. The rules, exactly:
 *
 * - only events at or before `now` count (a clock skewed into the future cannot pin a product on top), and, when
 *   `maxAge` is given, only views within `maxAge` before `now`;
 * - a product's time is its most recent view; products are ordered by it, newest first (equal times: the event later
 *   in the history first);
 * - a purchase at or after the product's most recent view excludes it; a view after the purchase makes it eligible
 *   again (the visitor came back to it, which is what retargeting follows; a product bought and never looked at
 *   again is never shown);
 * - ids missing from the catalog and products not `in_stock` (out of stock, preorder, backorder) are skipped;
 * - each product once, at most `max` (0 or less gives none).
 *
 * `candidates` gives the ordered ids before the catalog is consulted, so a server can fetch just those products from
 * its `CatalogStore`.
 *
 * @since 0.1.0
 */
import type * as Product from "./Product.js"

/**
 * A visitor's product event: a view of a product page or a purchase of the product, at epoch milliseconds `at`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProductEvent {
  readonly kind: "viewed" | "purchased"
  readonly productId: string
  readonly at: number
}

/**
 * The product events in stored events (`StoredEvent` of @openaudience/event-schema: `type`, `receivedAt`, the event
 * as `payload`): a `product_view` is a view of its `productId`, a `conversion` of type `purchase` a purchase of each
 * line item's `productId`, both at `receivedAt` (the server's clock: a browser's `clientTs` could pin a product on
 * top). Other events and malformed payloads are skipped.
 *
 * The caller passes only events that may personalize ads: with consent for personalization, never from a child
 * (as @openaudience/audience's `VisitorEvent.counts` decides).
 *
 * @since 0.1.0
 * @category constructors
 */
export const historyOf = (
  events: Iterable<{ readonly type: string; readonly receivedAt: number; readonly payload: unknown }>
): Array<ProductEvent> => {
  const history: Array<ProductEvent> = []
  for (const event of events) {
    const payload = event.payload as { readonly [key: string]: unknown } | null
    if (typeof payload !== "object" || payload === null) continue
    if (event.type === "product_view" && typeof payload.productId === "string") {
      history.push({ kind: "viewed", productId: payload.productId, at: event.receivedAt })
    } else if (event.type === "conversion" && payload.conversionType === "purchase" && Array.isArray(payload.items)) {
      for (const item of payload.items as ReadonlyArray<unknown>) {
        const productId =
          typeof item === "object" && item !== null ? (item as { productId?: unknown }).productId : undefined
        if (typeof productId === "string") history.push({ kind: "purchased", productId, at: event.receivedAt })
      }
    }
  }
  return history
}

/**
 * `now` (epoch ms, from `Clock`), the longest list `max`, and optionally `maxAge` (ms): older views do not count.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly max: number
  readonly now: number
  readonly maxAge?: number | undefined
}

/**
 * The ids of the products a visitor viewed and has not bought since, most recent view first (see the module's
 * rules), before the catalog is consulted: all of them, not cut at `max`.
 *
 * @since 0.1.0
 * @category recommendations
 */
export const candidates = (
  history: Iterable<ProductEvent>,
  options: { readonly now: number; readonly maxAge?: number | undefined }
): ReadonlyArray<string> => {
  const since = options.maxAge === undefined ? Number.NEGATIVE_INFINITY : options.now - options.maxAge
  const viewed = new Map<string, { at: number; index: number }>()
  const purchased = new Map<string, number>()
  let index = 0
  for (const event of history) {
    index++
    if (!(event.at <= options.now) || typeof event.productId !== "string") continue
    if (event.kind === "viewed") {
      if (event.at < since) continue
      const last = viewed.get(event.productId)
      if (last === undefined || event.at >= last.at) viewed.set(event.productId, { at: event.at, index })
    } else if (event.kind === "purchased") {
      const last = purchased.get(event.productId)
      if (last === undefined || event.at > last) purchased.set(event.productId, event.at)
    }
  }
  return [...viewed.entries()]
    .filter(([id, view]) => {
      const bought = purchased.get(id)
      return bought === undefined || bought < view.at
    })
    .sort(([, a], [, b]) => b.at - a.at || b.index - a.index)
    .map(([id]) => id)
}

/**
 * Up to `max` products for a visitor: `candidates` looked up in `catalog` (products by id, or a list), in stock.
 *
 * @since 0.1.0
 * @category recommendations
 */
export const forVisitor = (
  history: Iterable<ProductEvent>,
  catalog: ReadonlyMap<string, Product.Product> | Iterable<Product.Product>,
  options: Options
): ReadonlyArray<Product.Product> => {
  const max = Number.isNaN(options.max) ? 0 : Math.floor(options.max)
  if (!(max > 0)) return []
  const byId: ReadonlyMap<string, Product.Product> =
    catalog instanceof Map ? catalog : new Map([...(catalog as Iterable<Product.Product>)].map((p) => [p.id, p]))
  const chosen: Array<Product.Product> = []
  for (const id of candidates(history, options)) {
    const product = byId.get(id)
    if (product === undefined || product.availability !== "in_stock") continue
    chosen.push(product)
    if (chosen.length === max) break
  }
  return chosen
}
