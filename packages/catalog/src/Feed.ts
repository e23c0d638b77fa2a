/**
 * A tenant's product feed (JSON, CSV or TSV with Google Merchant Center / Meta catalog columns) read row by row
 * into products: every row is accepted as a `Product` or rejected with the reasons, each naming its column. Only
 * what makes the whole feed unreadable — too many bytes or rows, invalid JSON or UTF-8, an unterminated quote, a
 * header without a required column, bad options — is a `FeedError`. `parse` never throws, whatever its input.
 *
 * Plain synchronous code (a feed of 100,000 rows is read in well under a second); the `Either` it returns can be
 * `yield*`ed in `Effect.gen`.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Csv from "./internal/csv.js"
import { describe, productTypeProblem, textProblem, urlProblem } from "./internal/text.js"
import * as Product from "./Product.js"

/**
 * Why a feed cannot be read at all.
 *
 * - `TooLarge`: more bytes than `limits.maxBytes`.
 * - `TooManyRows`: more product rows than `limits.maxRows` (nothing is accepted: a cut feed replacing a catalog
 *   would silently delete products).
 * - `Malformed`: not UTF-8, not JSON, not an array of products, an unterminated quoted CSV field, an empty CSV, two
 *   columns for one field.
 * - `MissingColumns`: the CSV header lacks a required column.
 * - `InvalidOptions`: an origin or limit in the options is not valid.
 *
 * @since 0.1.0
 * @category errors
 */
export const FeedErrorReason = Schema.Literal(
  "TooLarge",
  "TooManyRows",
  "Malformed",
  "MissingColumns",
  "InvalidOptions"
)

/**
 * @since 0.1.0
 * @category errors
 */
export type FeedErrorReason = typeof FeedErrorReason.Type

/**
 * A feed that cannot be read at all, with a reason to match on and a message for the merchant.
 *
 * @since 0.1.0
 * @category errors
 */
export class FeedError extends Schema.TaggedError<FeedError>("@openaudience/catalog/FeedError")("FeedError", {
  reason: FeedErrorReason,
  message: Schema.String
}) {}

/**
 * The bounds of a feed: its size in bytes (UTF-8), its number of product rows, and the length of any one field
 * (before the field's own bound, such as 200 characters for a title).
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly maxBytes: number
  readonly maxRows: number
  readonly maxFieldLength: number
}

/**
 * 20 MiB, 100,000 rows, 10,000 characters per field.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultLimits: Limits = { maxBytes: 20 * 1024 * 1024, maxRows: 100_000, maxFieldLength: 10_000 }

/**
 * How to read a feed.
 *
 * - `format`: `json` (an array of products or `{ "products": [...] }`), `csv` (comma-separated, header row first)
 *   or `tsv` (tab-separated, as Google Merchant Center's text feeds).
 * - `origins`: the tenant's site origins (`https://shop.example`); every `link` must be on one of them.
 * - `imageOrigins`: where images may be served from (a CDN); when absent, images must be on `origins` too.
 * - `limits`: overrides of `defaultLimits`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly format: "json" | "csv" | "tsv"
  readonly origins: ReadonlyArray<string>
  readonly imageOrigins?: ReadonlyArray<string> | undefined
  readonly limits?: Partial<Limits> | undefined
}

/**
 * Why a field of a row was refused: the column (by its Google name, such as `image_link`) and a sentence.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reason {
  readonly column: string
  readonly message: string
}

/**
 * A refused row: its number (the first product of the feed is row 1; a CSV header is not counted), the line it
 * starts on in a CSV or TSV feed, its id when that was valid, and every reason.
 *
 * @since 0.1.0
 * @category models
 */
export interface Rejection {
  readonly row: number
  readonly line?: number | undefined
  readonly id?: string | undefined
  readonly reasons: ReadonlyArray<Reason>
}

/**
 * The outcome of a feed: the accepted products in feed order, the rejected rows, the number of rows read
 * (`products.length + rejected.length`), and the columns (CSV) or keys (JSON) that were not used, such as `gtin`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly products: ReadonlyArray<Product.Product>
  readonly rejected: ReadonlyArray<Rejection>
  readonly rows: number
  readonly ignoredColumns: ReadonlyArray<string>
}

/**
 * The fields of a product a column can give.
 *
 * @since 0.1.0
 * @category models
 */
export type Field =
  | "id"
  | "title"
  | "description"
  | "link"
  | "imageLink"
  | "price"
  | "salePrice"
  | "availability"
  | "brand"
  | "productType"

/** The Google name of each field, used in reasons. */
const columnOf: Record<Field, string> = {
  id: "id",
  title: "title",
  description: "description",
  link: "link",
  imageLink: "image_link",
  price: "price",
  salePrice: "sale_price",
  availability: "availability",
  brand: "brand",
  productType: "product_type"
}

const required: ReadonlyArray<Field> = ["id", "title", "link", "imageLink", "price", "availability"]

const aliases: ReadonlyMap<string, Field> = new Map<string, Field>([
  ["id", "id"],
  ["offerid", "id"],
  ["title", "title"],
  ["description", "description"],
  ["link", "link"],
  ["imagelink", "imageLink"],
  ["price", "price"],
  ["saleprice", "salePrice"],
  ["availability", "availability"],
  ["brand", "brand"],
  ["producttype", "productType"]
])

/**
 * The field a column or key names: case-insensitive, a Google `g:` prefix dropped, spaces, hyphens and
 * underscores ignored (`image_link`, `Image Link`, `imageLink`, `g:image_link` are one column).
 *
 * @since 0.1.0
 * @category parsing
 */
export const fieldOf = (column: string): Field | undefined => {
  const key = column
    .trim()
    .toLowerCase()
    .replace(/^g:/, "")
    .replace(/[\s_-]+/g, "")
  return aliases.get(key)
}

const fail = (reason: FeedErrorReason, message: string) => Either.left(new FeedError({ reason, message }))

const utf8Length = (s: string): number => {
  let bytes = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}

const limitsOf = (options: Options): Either.Either<Limits, FeedError> => {
  const limits = { ...defaultLimits, ...options.limits }
  for (const key of ["maxBytes", "maxRows", "maxFieldLength"] as const) {
    const value = limits[key]
    if (!Number.isSafeInteger(value) || value < 1) {
      return fail("InvalidOptions", `limits.${key} must be a positive integer, got ${String(value)}`)
    }
  }
  return Either.right(limits)
}

const textOf = (input: string | Uint8Array, limits: Limits): Either.Either<string, FeedError> => {
  const tooLarge = () => fail("TooLarge", `the feed is larger than ${limits.maxBytes} bytes`)
  if (typeof input === "string") {
    if (input.length > limits.maxBytes || utf8Length(input) > limits.maxBytes) return tooLarge()
    return Either.right(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input)
  }
  if (!(input instanceof Uint8Array)) return fail("Malformed", "the feed must be text or bytes")
  if (input.byteLength > limits.maxBytes) return tooLarge()
  return Either.try({
    // The decoder drops a UTF-8 byte order mark.
    try: () => new TextDecoder("utf-8", { fatal: true }).decode(input),
    catch: () => new FeedError({ reason: "Malformed", message: "the feed is not valid UTF-8 text" })
  })
}

interface Context {
  readonly limits: Limits
  readonly pages: ReadonlySet<string>
  readonly images: ReadonlySet<string>
  /** Accepted ids and their rows. */
  readonly seen: Map<string, number>
  readonly products: Array<Product.Product>
  readonly rejected: Array<Rejection>
}

type Raw = Partial<Record<Field, unknown>>

const validate = (ctx: Context, raw: Raw, row: number, line: number | undefined, early: ReadonlyArray<Reason>) => {
  const reasons: Array<Reason> = [...early]
  const text = (field: Field): string | undefined => {
    const value = raw[field]
    if (value === undefined || value === null) return undefined
    let s: string
    if (typeof value === "string") s = value.trim()
    else if (field === "id" && typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
      s = String(value)
    } else {
      reasons.push({
        column: columnOf[field],
        message:
          typeof value === "number"
            ? field === "price" || field === "salePrice"
              ? 'must be text such as "129.00 EUR" (a JSON number is not exact money)'
              : "must be text, not a number"
            : `must be text, got ${Array.isArray(value) ? "an array" : typeof value}`
      })
      return undefined
    }
    if (s.length > ctx.limits.maxFieldLength) {
      reasons.push({
        column: columnOf[field],
        message: `is longer than the feed's limit of ${ctx.limits.maxFieldLength} characters`
      })
      return undefined
    }
    return s === "" ? undefined : s
  }
  const fieldOk = <A>(field: Field, s: string | undefined, check: (s: string) => Either.Either<A, string>) => {
    if (s === undefined) {
      if (required.includes(field) && !reasons.some((r) => r.column === columnOf[field])) {
        reasons.push({ column: columnOf[field], message: "is required" })
      }
      return undefined
    }
    const result = check(s)
    if (Either.isLeft(result)) {
      reasons.push({ column: columnOf[field], message: result.left })
      return undefined
    }
    return result.right
  }
  const checkText =
    (min: number, max: number, multiline = false) =>
    (s: string): Either.Either<string, string> => {
      const problem = textProblem(s, min, max, multiline)
      return problem === undefined ? Either.right(s) : Either.left(problem)
    }
  const checkUrl = (s: string): Either.Either<string, string> => {
    const problem = urlProblem(s)
    return problem === undefined ? Either.right(s) : Either.left(problem)
  }

  const id = fieldOk("id", text("id"), checkText(1, Product.limits.id))
  const title = fieldOk("title", text("title"), checkText(1, Product.limits.title))
  const description = fieldOk("description", text("description"), checkText(1, Product.limits.description, true))
  const link = fieldOk("link", text("link"), checkUrl)
  const imageLink = fieldOk("imageLink", text("imageLink"), checkUrl)
  const price = fieldOk("price", text("price"), Product.parsePrice)
  const salePrice = fieldOk("salePrice", text("salePrice"), Product.parsePrice)
  const availability = fieldOk("availability", text("availability"), Product.parseAvailability)
  const brand = fieldOk("brand", text("brand"), checkText(1, Product.limits.brand))
  const productType = fieldOk("productType", text("productType"), (s) => {
    const problem = productTypeProblem(s)
    return problem === undefined ? Either.right(s) : Either.left(problem)
  })

  if (link !== undefined && imageLink !== undefined) {
    for (const problem of Product.checkLinks({ link, imageLink }, { pages: ctx.pages, images: ctx.images })) {
      reasons.push({ column: columnOf[problem.field], message: problem.message })
    }
  }
  if (price !== undefined && salePrice !== undefined) {
    const problem = Product.salePriceProblem(price, salePrice)
    if (problem !== undefined) reasons.push({ column: "sale_price", message: problem })
  }
  if (id !== undefined) {
    const first = ctx.seen.get(id)
    if (first !== undefined) {
      reasons.push({ column: "id", message: `duplicate id: row ${first} has it already (the first row wins)` })
    }
  }
  if (
    reasons.length > 0 ||
    id === undefined ||
    title === undefined ||
    link === undefined ||
    imageLink === undefined ||
    price === undefined ||
    availability === undefined
  ) {
    ctx.rejected.push({ row, ...(line === undefined ? {} : { line }), ...(id === undefined ? {} : { id }), reasons })
    return
  }
  ctx.seen.set(id, row)
  ctx.products.push({
    id,
    title,
    ...(description === undefined ? {} : { description }),
    link,
    imageLink,
    price,
    ...(salePrice === undefined ? {} : { salePrice }),
    availability,
    ...(brand === undefined ? {} : { brand }),
    ...(productType === undefined ? {} : { productType })
  })
}

const maxIgnored = 100

const ignoredName = (name: string): string => (name.length > 100 ? `${name.slice(0, 100)}…` : name)

const parseCsv = (
  text: string,
  delimiter: "," | "\t",
  ctx: Context
): Either.Either<ReadonlyArray<string>, FeedError> => {
  const result = Csv.read(text, delimiter, ctx.limits.maxRows + 1)
  if (result._tag === "TooMany") return fail("TooManyRows", `the feed has more than ${ctx.limits.maxRows} rows`)
  if (result._tag === "Unterminated") {
    return fail("Malformed", `the quoted field starting on line ${result.line} is never closed`)
  }
  const [header, ...records] = result.records
  if (header === undefined) return fail("Malformed", "the feed is empty: expected a header row of column names")
  if (header.problem !== undefined) return fail("Malformed", `the header row: ${header.problem}`)
  const fields: Array<Field | undefined> = []
  const columns = new Map<Field, string>()
  const ignored: Array<string> = []
  for (const name of header.fields) {
    const field = fieldOf(name)
    fields.push(field)
    if (field === undefined) {
      if (name.trim() !== "" && ignored.length < maxIgnored) ignored.push(ignoredName(name.trim()))
      continue
    }
    const other = columns.get(field)
    if (other !== undefined) {
      return fail("Malformed", `columns ${describe(other)} and ${describe(name)} are both ${columnOf[field]}`)
    }
    columns.set(field, name)
  }
  const missing = required.filter((field) => !columns.has(field))
  if (missing.length > 0) {
    return fail(
      "MissingColumns",
      `the header has no ${missing.map((f) => columnOf[f]).join(", ")} column${missing.length > 1 ? "s" : ""} ` +
        `(found: ${header.fields
          .slice(0, 20)
          .map((f) => describe(f))
          .join(", ")}${header.fields.length > 20 ? ", …" : ""})`
    )
  }
  let row = 0
  for (const record of records) {
    row++
    const raw: Raw = {}
    const early: Array<Reason> = []
    if (record.problem !== undefined) early.push({ column: "*", message: record.problem })
    if (record.fields.length !== header.fields.length) {
      early.push({
        column: "*",
        message: `has ${record.fields.length} fields, the header ${header.fields.length}`
      })
    }
    record.fields.forEach((value, k) => {
      const field = fields[k]
      if (field !== undefined) raw[field] = value
    })
    validate(ctx, raw, row, record.line, early)
  }
  return Either.right(ignored)
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** How deep arrays and objects may nest in a JSON feed (a product is at depth 2 or 3). */
const maxJsonDepth = 32

/**
 * Whether arrays and objects nest deeper than `max` (outside strings). `JSON.parse` takes seconds on millions of
 * nested brackets; this scan takes milliseconds.
 */
const nestsDeeperThan = (text: string, max: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}

const parseJson = (text: string, ctx: Context): Either.Either<ReadonlyArray<string>, FeedError> => {
  if (nestsDeeperThan(text, maxJsonDepth)) {
    return fail("Malformed", `the feed nests arrays and objects deeper than ${maxJsonDepth} levels`)
  }
  const parsed = Either.try({
    try: () => JSON.parse(text) as unknown,
    catch: (e) =>
      new FeedError({
        reason: "Malformed",
        message: `the feed is not valid JSON: ${e instanceof Error ? e.message.slice(0, 200) : "unreadable"}`
      })
  })
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const top = parsed.right
  const items = Array.isArray(top)
    ? top
    : isRecord(top) && Object.hasOwn(top, "products") && Array.isArray(top.products)
      ? (top.products as ReadonlyArray<unknown>)
      : undefined
  if (items === undefined) {
    return fail("Malformed", 'expected a JSON array of products or an object { "products": [...] }')
  }
  if (items.length > ctx.limits.maxRows) return fail("TooManyRows", `the feed has more than ${ctx.limits.maxRows} rows`)
  const ignored = new Set<string>()
  items.forEach((item, index) => {
    const row = index + 1
    if (!isRecord(item)) {
      ctx.rejected.push({
        row,
        reasons: [
          {
            column: "*",
            message: `expected an object, got ${Array.isArray(item) ? "an array" : item === null ? "null" : typeof item}`
          }
        ]
      })
      return
    }
    const raw: Raw = {}
    const keyOf = new Map<Field, string>()
    const early: Array<Reason> = []
    for (const key of Object.keys(item)) {
      const field = fieldOf(key)
      if (field === undefined) {
        if (ignored.size < maxIgnored) ignored.add(ignoredName(key))
        continue
      }
      const other = keyOf.get(field)
      if (other !== undefined) {
        early.push({ column: columnOf[field], message: `is given twice (${describe(other)} and ${describe(key)})` })
        continue
      }
      keyOf.set(field, key)
      raw[field] = item[key]
    }
    validate(ctx, raw, row, undefined, early)
  })
  return Either.right([...ignored])
}

/**
 * Reads a feed into a report of accepted products and rejected rows. Rules, per row:
 *
 * - required: `id`, `title`, `link`, `image_link`, `price`, `availability`; optional: `description`,
 *   `sale_price`, `brand`, `product_type`. Empty cells count as absent. Other columns are ignored and listed.
 * - values are trimmed; texts are bounded (`Product.limits`), one line (description may hold line breaks), with no
 *   control characters.
 * - `link` on one of `origins`, `image_link` on one of `imageOrigins` (or `origins`), both http or https.
 * - prices as `Product.parsePrice` reads them; a sale price in the price's currency and not above it.
 * - ids are unique: the first valid row with an id wins, later rows with it are rejected.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string | Uint8Array, options: Options): Either.Either<Report, FeedError> => {
  if (typeof options !== "object" || options === null) return fail("InvalidOptions", "options are required")
  const limits = limitsOf(options)
  if (Either.isLeft(limits)) return Either.left(limits.left)
  if (!Array.isArray(options.origins)) return fail("InvalidOptions", "origins must be an array of origins")
  const pages = Product.normalizeOrigins(options.origins)
  if (Either.isLeft(pages)) return fail("InvalidOptions", `origins: ${pages.left}`)
  if (pages.right.size === 0) return fail("InvalidOptions", "origins must hold at least one of the tenant's origins")
  if (options.imageOrigins !== undefined && !Array.isArray(options.imageOrigins)) {
    return fail("InvalidOptions", "imageOrigins must be an array of origins")
  }
  const images = options.imageOrigins === undefined ? pages : Product.normalizeOrigins(options.imageOrigins)
  if (Either.isLeft(images)) return fail("InvalidOptions", `imageOrigins: ${images.left}`)
  const text = textOf(input, limits.right)
  if (Either.isLeft(text)) return Either.left(text.left)
  const ctx: Context = {
    limits: limits.right,
    pages: pages.right,
    images: images.right,
    seen: new Map(),
    products: [],
    rejected: []
  }
  const ignored =
    options.format === "json"
      ? parseJson(text.right, ctx)
      : options.format === "csv" || options.format === "tsv"
        ? parseCsv(text.right, options.format === "csv" ? "," : "\t", ctx)
        : fail("InvalidOptions", `format must be "json", "csv" or "tsv", got ${describe(String(options.format))}`)
  if (Either.isLeft(ignored)) return Either.left(ignored.left)
  return Either.right({
    products: ctx.products,
    rejected: ctx.rejected,
    rows: ctx.products.length + ctx.rejected.length,
    ignoredColumns: ignored.right
  })
}
