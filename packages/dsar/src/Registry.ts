/**
 * The subject-data registry: every store that holds data about a data subject registers here how to find, export,
 * count and erase that subject's rows, and which tables and subject columns it covers. Erasure and export go
 * through the registry only, so a store that is not registered is a store an erasure would silently miss: the
 * server checks the live database schema against `tables` at start (`checkSchema`) and refuses to start when a
 * table with a subject column is not covered.
 *
 * A store answers for the kinds of subject it holds and returns nothing (0 rows) for the others.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Kind, Subject } from "./Subject.js"

/**
 * A store of subject data could not be reached or failed (the erasure or export fails as a whole and is retried).
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  store: Schema.String,
  message: Schema.String
}) {}

/**
 * A table a store covers and the columns in it that identify a subject.
 *
 * @since 0.1.0
 * @category models
 */
export interface CoveredTable {
  readonly table: string
  readonly subjectColumns: ReadonlyArray<string>
}

/**
 * One exported record: the store it comes from, its kind (e.g. `event`, `membership`, `impression`) and its fields
 * as plain JSON (no identifier of another subject, no secret).
 *
 * @since 0.1.0
 * @category models
 */
export interface ExportedRecord {
  readonly store: string
  readonly kind: string
  readonly at?: number | undefined
  readonly fields: Readonly<Record<string, unknown>>
}

/**
 * What a store holds that cannot be erased, and why (listed in every erasure report and in the README).
 *
 * @since 0.1.0
 * @category models
 */
export interface Retained {
  readonly store: string
  readonly what: string
  readonly why: string
}

/**
 * A registered store of subject data.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubjectStore {
  /** A stable name, e.g. `events`, `ad-decisions` (shown in reports). */
  readonly name: string
  /** The subject kinds this store holds data of. */
  readonly kinds: ReadonlyArray<Kind>
  /** The tables and subject columns it covers (checked against the live schema). */
  readonly tables: ReadonlyArray<CoveredTable>
  /** What it keeps after an erasure, and why (empty when it erases everything). */
  readonly retained: ReadonlyArray<Retained>
  /** How many rows it holds about the subject (0 after an erasure: the verification). */
  readonly count: (subject: Subject) => Effect.Effect<number, StoreUnavailable>
  /** The subject's records, oldest first, at most `limit` (the export). */
  readonly export: (
    subject: Subject,
    options: { readonly limit: number }
  ) => Effect.Effect<ReadonlyArray<ExportedRecord>, StoreUnavailable>
  /** Erases the subject's rows; how many were removed. Idempotent: a retry after a partial failure finishes it. */
  readonly erase: (subject: Subject) => Effect.Effect<number, StoreUnavailable>
}

/**
 * The registry: the stores of subject data of this deployment.
 *
 * @since 0.1.0
 * @category services
 */
export class Registry extends Context.Tag("@openaudience/dsar/Registry")<
  Registry,
  { readonly stores: ReadonlyArray<SubjectStore> }
>() {}

/**
 * A column of the live database schema (from `information_schema.columns` or SQLite's `pragma_table_info`).
 *
 * @since 0.1.0
 * @category models
 */
export interface LiveColumn {
  readonly table: string
  readonly column: string
}

/**
 * The registry does not cover a table of the live schema that holds subject data.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnregisteredTable extends Schema.TaggedError<UnregisteredTable>()("UnregisteredTable", {
  tables: Schema.Array(Schema.Struct({ table: Schema.String, columns: Schema.Array(Schema.String) })),
  message: Schema.String
}) {}

/**
 * The column names that hold a subject identifier wherever they appear: visitor pseudonyms, browser keys, user ids
 * and email addresses (or their blind indexes). A live table with one of them must be covered by a registered store.
 *
 * @since 0.1.0
 * @category models
 */
export const subjectColumnNames: ReadonlyArray<string> = [
  "visitor",
  "visitor_id",
  "browser",
  "browser_key",
  "user_id",
  "subject",
  "email",
  "email_index",
  "actor_id"
]

/**
 * Checks the live schema against the registry: every table with a subject column (`subjectColumns`, by default
 * `subjectColumnNames`, compared case-insensitively) must be covered by a registered store, except the tables in
 * `ignore` (e.g. migration bookkeeping). Fails with `UnregisteredTable` naming each uncovered table and its subject
 * columns.
 *
 * @since 0.1.0
 * @category combinators
 */
export const checkSchema = (
  stores: ReadonlyArray<SubjectStore>,
  live: ReadonlyArray<LiveColumn>,
  options?: { readonly subjectColumns?: ReadonlyArray<string>; readonly ignore?: ReadonlyArray<string> }
): Either.Either<void, UnregisteredTable> => {
  const subjectColumns = new Set((options?.subjectColumns ?? subjectColumnNames).map((name) => name.toLowerCase()))
  const ignored = new Set((options?.ignore ?? []).map((name) => name.toLowerCase()))
  const covered = new Set(stores.flatMap((store) => store.tables.map((table) => table.table.toLowerCase())))
  const uncovered = new Map<string, Array<string>>()
  for (const { table, column } of live) {
    const name = table.toLowerCase()
    if (covered.has(name) || ignored.has(name) || !subjectColumns.has(column.toLowerCase())) continue
    const columns = uncovered.get(table) ?? []
    columns.push(column)
    uncovered.set(table, columns)
  }
  if (uncovered.size === 0) return Either.void
  const tables = [...uncovered].map(([table, columns]) => ({ table, columns }))
  return Either.left(
    new UnregisteredTable({
      tables,
      message: `tables holding subject data are not in the subject-data registry (an erasure would miss them): ${tables
        .map((entry) => `${entry.table} (${entry.columns.join(", ")})`)
        .join("; ")}`
    })
  )
}
