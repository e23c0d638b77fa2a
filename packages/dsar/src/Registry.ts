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
