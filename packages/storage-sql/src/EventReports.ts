/**
 * The rows partner reports are made from, read from the `events` table: one row per pseudonymous visitor (or one
 * for the identifier-free events, `visitor: null`) and combination of dimension values, with the number of events.
 * Only events whose stored consent receipt allows measurement are read. What is published from the rows —
 * tabulation, k-anonymity, contribution bounds and noise — is @openaudience/anonymizer's `Report`.
 *
 * Dimensions are read from the stored event: `day` (UTC, from `receivedAt`), `category` (a product view's
 * category; a conversion's line items' single category, `mixed` when they have several), and the generalized
 * request context the collector stores in the payload's `context`: `browser`, `os`, `device` and `country` (the
 * consent jurisdiction, `EU`, `US`, `other`, with US states counted as `US`). A missing value reads `unknown`.
 * The JSON paths into the payload and the receipt are checked against @openaudience/event-schema's models, and the
 * SQL is fixed text chosen by dimension name, never built from request values.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { ConsentReceipt, Event } from "@openaudience/event-schema"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * A dimension a report may be broken down by.
 *
 * @since 0.2.0
 * @category models
 */
export const Dimension = Schema.Literal("day", "category", "browser", "os", "device", "country")

/**
 * @since 0.2.0
 * @category models
 */
export type Dimension = typeof Dimension.Type

/**
 * Every dimension, in a stable order.
 *
 * @since 0.2.0
 * @category models
 */
export const dimensions: ReadonlyArray<Dimension> = Dimension.literals

/**
 * The event types reports read: product views and conversions.
 *
 * @since 0.2.0
 * @category models
 */
export const ReportedType = Schema.Literal("product_view", "conversion")

/**
 * @since 0.2.0
 * @category models
 */
export type ReportedType = typeof ReportedType.Type

/**
 * What to read: the tenant's events of `type` received in `[from, to)` (epoch ms), grouped by `by`. More than
 * `maxRows` rows is refused with `TooManyRows` rather than read in full.
 *
 * @since 0.2.0
 * @category models
 */
export interface Query {
  readonly tenant: string
  readonly type: ReportedType
  readonly from: number
  readonly to: number
  readonly by: ReadonlyArray<Dimension>
  readonly maxRows: number
}

/**
 * One visitor's events (or the identifier-free events, `visitor: null`) in one combination of dimension values.
 * `dimensions` has exactly the query's dimensions; a `day` reads `YYYY-MM-DD`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Row {
  readonly visitor: string | null
  readonly dimensions: Readonly<Record<string, string>>
  readonly count: number
  /** The coarse network of the events: the stored truncated address `context.ip` (`null` when none is stored). */
  readonly network: string | null
}

/**
 * A query whose range holds more rows than it allows.
 *
 * @since 0.2.0
 * @category errors
 */
export class TooManyRows extends Schema.TaggedError<TooManyRows>()("TooManyRows", {
  maxRows: Schema.Number
}) {
  override get message(): string {
    return `the range holds more than ${this.maxRows} visitor rows; ask for fewer days or dimensions`
  }
}

const dayMs = 86_400_000

/** The generalized request context the collector stores under the payload's `context`. */
interface StoredContext {
  readonly browser?: string
  readonly os?: string
  readonly device?: string
  readonly jurisdiction?: ConsentReceipt.Jurisdiction
  readonly ip?: string
}

/** A key of `T`, checked by the compiler: the JSON paths below cannot drift from the models they read. */
const keyOf =
  <T>() =>
  <K extends keyof T & string>(key: K): K =>
    key

const paths = {
  viewCategory: [keyOf<Event.ProductView>()("category")],
  items: [keyOf<Event.Conversion>()("items")],
  itemCategory: [keyOf<Event.LineItem>()("category")],
  browser: ["context", keyOf<StoredContext>()("browser")],
  os: ["context", keyOf<StoredContext>()("os")],
  device: ["context", keyOf<StoredContext>()("device")],
  jurisdiction: ["context", keyOf<StoredContext>()("jurisdiction")],
  network: ["context", keyOf<StoredContext>()("ip")],
  measurement: [
    keyOf<ConsentReceipt.ConsentReceipt>()("decision"),
    keyOf<ConsentReceipt.ConsentReceipt["decision"]>()("measurement")
  ]
} satisfies Record<string, ReadonlyArray<string>>

/** PostgreSQL `->'a'->>'b'` (text at the end). */
const pgText = (column: string, path: ReadonlyArray<string>): string =>
  column + path.map((segment, i) => `${i === path.length - 1 ? "->>" : "->"}'${segment}'`).join("")

/** SQLite `json_extract(column, '$.a.b')`. */
const sqliteText = (column: string, path: ReadonlyArray<string>): string =>
  `json_extract(${column}, '$.${path.join(".")}')`

/** A JSON value as text, per dialect. */
const jsonText = (
  sql: SqlClient.SqlClient,
  column: { readonly pg: string; readonly sqlite: string },
  path: ReadonlyArray<string>
) =>
  sql.onDialectOrElse({
    pg: () => sql.literal(pgText(column.pg, path)),
    orElse: () => sql.literal(sqliteText(column.sqlite, path))
  })

const payload = { pg: "events.payload", sqlite: "events.payload" }

/** The SQL expression of a dimension for events of `type`. */
const expression = (sql: SqlClient.SqlClient, type: ReportedType, dimension: Dimension) => {
  switch (dimension) {
    case "day":
      // Integer division on both dialects: the UTC day number.
      return sql.literal(`events.received_at / ${dayMs}`)
    case "category": {
      if (type === "product_view") return jsonText(sql, payload, paths.viewCategory)
      const items = paths.items.join(".")
      const itemCategory = paths.itemCategory.join(".")
      return sql.onDialectOrElse({
        pg: () =>
          sql.literal(
            `(SELECT CASE WHEN count(DISTINCT item->>'${itemCategory}') > 1 THEN 'mixed'
                ELSE min(item->>'${itemCategory}') END
              FROM jsonb_array_elements(CASE WHEN jsonb_typeof(events.payload->'${items}') = 'array'
                THEN events.payload->'${items}' ELSE '[]'::jsonb END) AS item)`
          ),
        orElse: () =>
          sql.literal(
            `(SELECT CASE WHEN count(DISTINCT json_extract(item.value, '$.${itemCategory}')) > 1 THEN 'mixed'
                ELSE min(json_extract(item.value, '$.${itemCategory}')) END
              FROM json_each(events.payload, '$.${items}') AS item)`
          )
      })
    }
    case "browser":
      return jsonText(sql, payload, paths.browser)
    case "os":
      return jsonText(sql, payload, paths.os)
    case "device":
      return jsonText(sql, payload, paths.device)
    case "country":
      return jsonText(sql, payload, paths.jurisdiction)
  }
}

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** A dimension's value as reports name it. */
const dimensionValue = (dimension: Dimension, value: unknown): string => {
  if (value === null || value === undefined || value === "") return "unknown"
  if (dimension === "day") return isoDay(Number(value) * dayMs)
  const text = String(value)
  // The stored jurisdiction is the consent one: EU (EEA, UK, CH), US or US-<state>, other, unknown.
  if (dimension === "country") return text.startsWith("US") ? "US" : text
  return text
}

/**
 * Reads the query's rows: the tenant's events of the query's type in the range whose consent receipt allows
 * measurement, grouped by visitor (`null` for identifier-free events), network (the stored truncated address, for
 * k-anonymity's network spread) and the query's dimensions.
 *
 * @since 0.2.0
 * @category queries
 */
export const rows = (
  query: Query
): Effect.Effect<ReadonlyArray<Row>, TooManyRows | StorageError, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Column names are d0, d1, …: fixed, never taken from the request.
    const names = query.by.map((_, i) => sql.literal(`d${i}`))
    const columns = query.by.map((dimension, i) => sql`${expression(sql, query.type, dimension)} AS ${names[i]!}`)
    const measured = sql.onDialectOrElse({
      pg: () => sql.literal(`(${pgText("events.consent", paths.measurement)}) = 'true'`),
      orElse: () => sql.literal(`${sqliteText("events.consent", paths.measurement)} = 1`)
    })
    const limit = Math.max(0, Math.floor(query.maxRows))
    const visitor = sql.literal("visitor")
    const network = sql.literal("network")
    const networkColumn = sql`${jsonText(sql, payload, paths.network)} AS ${network}`
    const found = yield* sql<
      Record<string, unknown>
    >`SELECT ${sql.csv([visitor, network, ...names])}, count(*) AS n FROM (
        SELECT ${sql.csv([sql.literal("events.visitor AS visitor"), networkColumn, ...columns])}
        FROM events
        WHERE events.tenant = ${query.tenant} AND events.type = ${query.type}
          AND events.received_at >= ${query.from} AND events.received_at < ${query.to}
          AND ${measured}
      ) AS selected
      GROUP BY ${sql.csv([visitor, network, ...names])}
      LIMIT ${limit + 1}`.pipe(Effect.mapError(fromSqlError("Reading report rows")))
    if (found.length > limit) return yield* new TooManyRows({ maxRows: limit })
    return found.map((row): Row => {
      const values: Record<string, string> = {}
      query.by.forEach((dimension, i) => {
        values[dimension] = dimensionValue(dimension, row[`d${i}`])
      })
      return {
        visitor: typeof row.visitor === "string" ? row.visitor : null,
        dimensions: values,
        count: Number(row.n),
        network: typeof row.network === "string" && row.network !== "" ? row.network : null
      }
    })
  })
