/**
 * A product of a tenant's catalog, as a Google Merchant Center or Meta catalog feed describes it: the catalog id
 * (what the shop's tag sends as `productId`), texts, the product page and image, the price as exact money and the
 * availability. The schema checks each field on its own; whether the links point at the tenant's own sites is
 * checked against the tenant's origins by `checkLinks` (and by `Feed.parse`, row by row).
 *
 * @since 0.1.0
 */
import { Money } from "@openaudience/event-schema"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { describe, maxUrlLength, parseUrl, productTypeProblem, textProblem, urlProblem } from "./internal/text.js"

const checked = (
  problem: (s: string) => string | undefined,
  identifier: string,
  description: string,
  jsonSchema: object
) =>
  Schema.String.pipe(
    Schema.filter((s) => problem(s) ?? true, { jsonSchema }),
    Schema.annotations({ identifier, description })
  )

const bounded = (max: number) => ({ minLength: 1, maxLength: max })

/**
 * Bounds of the text fields, in UTF-16 code units (JavaScript string length).
 *
 * @since 0.1.0
 * @category constants
 */
export const limits = {
  id: 128,
  title: 200,
  description: 5000,
  brand: 100,
  productType: 750
} as const

/**
 * A catalog id: 1 to 128 characters (the bound of the tag's `productId`), one line, no control characters, no
 * surrounding whitespace.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProductId = checked(
  (s) => textProblem(s, 1, limits.id),
  "ProductId",
  "the catalog id of a product, as the shop's tag sends it (productId)",
  bounded(limits.id)
)

/**
 * A product title: 1 to 200 characters on one line.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Title = checked(
  (s) => textProblem(s, 1, limits.title),
  "Title",
  "the product's title",
  bounded(limits.title)
)

/**
 * A description: 1 to 5,000 characters; line breaks and tabs allowed, other control characters not.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Description = checked(
  (s) => textProblem(s, 1, limits.description, true),
  "Description",
  "the product's description",
  bounded(limits.description)
)

/**
 * A brand: 1 to 100 characters on one line.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Brand = checked(
  (s) => textProblem(s, 1, limits.brand),
  "Brand",
  "the product's brand",
  bounded(limits.brand)
)

/**
 * Google's product type path (`Home & Garden > Kitchen > Knives`): 1 to 750 characters on one line, and no empty
 * level between `>` separators.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProductType = checked(
  productTypeProblem,
  "ProductType",
  "the shop's own category path, levels separated by `>`",
  bounded(limits.productType)
)

/**
 * An absolute `http:` or `https:` URL of at most 2,000 characters without user name or password. Whether its
 * origin belongs to the tenant is checked by `checkLinks`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const HttpUrl = checked(urlProblem, "HttpUrl", "an absolute http or https URL", {
  format: "uri",
  pattern: "^https?://",
  maxLength: maxUrlLength
})

/**
 * Availability. Feeds may spell it with spaces (`in stock`, Meta's form) or hyphens; see `parseAvailability`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Availability = Schema.Literal("in_stock", "out_of_stock", "preorder", "backorder").annotations({
  identifier: "Availability"
})

/**
 * @since 0.1.0
 * @category models
 */
export type Availability = typeof Availability.Type

/**
 * A product. `salePrice`, when present, is in the currency of `price` and not above it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Product = Schema.Struct({
  id: ProductId,
  title: Title,
  description: Schema.optionalWith(Description, { exact: true }),
  link: HttpUrl,
  imageLink: HttpUrl,
  price: Money.Money,
  salePrice: Schema.optionalWith(Money.Money, { exact: true }),
  availability: Availability,
  brand: Schema.optionalWith(Brand, { exact: true }),
  productType: Schema.optionalWith(ProductType, { exact: true })
}).pipe(
  Schema.filter((p) => salePriceProblem(p.price, p.salePrice) ?? true),
  Schema.annotations({ identifier: "Product" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type Product = typeof Product.Type

/**
 * What is wrong with a sale price next to its regular price, if anything.
 *
 * @since 0.1.0
 * @category validation
 */
export const salePriceProblem = (price: Money.Money, salePrice: Money.Money | undefined): string | undefined => {
  if (salePrice === undefined) return undefined
  if (salePrice.currency !== price.currency) {
    return `sale price is in ${salePrice.currency}, the price in ${price.currency}: they must be in one currency`
  }
  if (salePrice.amount > price.amount) return "sale price is above the price"
  return undefined
}

const amountCurrency = /^(\d+(?:\.\d+)?)\s+([A-Za-z]{3})$/
const currencyAmount = /^([A-Za-z]{3})\s+(\d+(?:\.\d+)?)$/

/**
 * Parses a feed price: `129.00 EUR`, `EUR 129.00` or `129 EUR` (currency code in any case) into exact money with
 * `Money.fromDecimal`. Refuses decimal commas (`129,00`), thousands separators, signs, unknown currencies and more
 * decimals than the currency has (`1.999 EUR`, `100.5 JPY`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parsePrice = (text: string): Either.Either<Money.Money, string> => {
  const s = text.trim()
  if (s === "") return Either.left("must not be empty")
  const match = amountCurrency.exec(s) ?? currencyAmount.exec(s)
  if (match === null) {
    if (/^[-−]|\s[-−]/.test(s)) return Either.left(`must not be negative: ${describe(s)}`)
    if (/\d,\d/.test(s)) {
      return Either.left(`write amounts with a decimal point and no thousands separator, got ${describe(s)}`)
    }
    return Either.left(`expected an amount and an ISO 4217 currency such as "129.00 EUR", got ${describe(s)}`)
  }
  const [amount, currency] = /^\d/.test(match[1]!) ? [match[1]!, match[2]!] : [match[2]!, match[1]!]
  return Money.fromDecimal(amount, currency.toUpperCase())
}

/**
 * Reads an availability as Google (`in_stock`) or Meta (`in stock`) spell it, in any case, with spaces, hyphens or
 * underscores: `in stock`, `out of stock`, `preorder` (`pre-order`), `backorder` (`back order`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseAvailability = (text: string): Either.Either<Availability, string> => {
  const key = text
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, "")
  switch (key) {
    case "instock":
      return Either.right("in_stock")
    case "outofstock":
      return Either.right("out_of_stock")
    case "preorder":
      return Either.right("preorder")
    case "backorder":
      return Either.right("backorder")
    default:
      return Either.left(`expected in_stock, out_of_stock, preorder or backorder, got ${describe(text)}`)
  }
}

/**
 * The origins a tenant's product pages and images may be on. `images`, when given, replaces `pages` for
 * `imageLink` (for shops whose images are served by a CDN on another origin); otherwise images must be on one of
 * `pages` too.
 *
 * @since 0.1.0
 * @category models
 */
export interface Origins {
  readonly pages: ReadonlyArray<string>
  readonly images?: ReadonlyArray<string> | undefined
}

/**
 * Normalizes a list of origins (`https://shop.example`, no path) to the form `URL#origin` gives; fails naming the
 * first that is not an http or https origin.
 *
 * @since 0.1.0
 * @category parsing
 */
export const normalizeOrigins = (origins: ReadonlyArray<unknown>): Either.Either<ReadonlySet<string>, string> => {
  const set = new Set<string>()
  for (const origin of origins) {
    const url = typeof origin === "string" ? parseUrl(origin) : undefined
    if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:") || url.href !== `${url.origin}/`) {
      return Either.left(
        `expected an origin such as https://shop.example (scheme and host, no path), got ${
          typeof origin === "string" ? describe(origin) : typeof origin
        }`
      )
    }
    set.add(url.origin)
  }
  return Either.right(set)
}

/**
 * The problems of a product's links against the tenant's origins (normalized by `normalizeOrigins`): each as the
 * field it is about and a sentence. Empty when both links are on an allowed origin.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkLinks = (
  product: { readonly link: string; readonly imageLink: string },
  origins: { readonly pages: ReadonlySet<string>; readonly images: ReadonlySet<string> }
): ReadonlyArray<{ readonly field: "link" | "imageLink"; readonly message: string }> => {
  const problems: Array<{ readonly field: "link" | "imageLink"; readonly message: string }> = []
  const check = (field: "link" | "imageLink", url: string, allowed: ReadonlySet<string>) => {
    const origin = parseUrl(url)?.origin
    if (origin === undefined || !allowed.has(origin)) {
      problems.push({
        field,
        message: `${describe(origin ?? url)} is not one of the tenant's ${
          field === "link" ? "site" : "image"
        } origins (${[...allowed].slice(0, 5).join(", ") || "none configured"})`
      })
    }
  }
  check("link", product.link, origins.pages)
  check("imageLink", product.imageLink, origins.images)
  return problems
}
