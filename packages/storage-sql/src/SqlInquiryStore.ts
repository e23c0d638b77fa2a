/**
 * @openaudience/inquiries' `InquiryStore` over SQL (SQLite and PostgreSQL through `SqlClient`). One table,
 * `inquiries`: the id, tenant, status and times in clear, and the name, email address and message as vault
 * ciphertexts (text `v1.…`), never in clear. No column could hold a visitor key, a cookie, an IP address or a user
 * agent. Every statement that reads or changes an inquiry filters on its tenant, so another tenant's id is
 * `NotFound`; `expired` (for the retention purge) is the one cross-tenant read, on an index of closing times. The
 * table has its own migration table (`inquiries_migrations`), applied by `layer`.
 *
 * A deleted row's ciphertexts may linger in free pages (and PostgreSQL's dead tuples) until reused or vacuumed; the
 * vault's shredding of the inquiry's data key, which `Inquiries` does before deleting the row, is what makes them
 * unreadable.
 *
 * @since 0.3.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Inquiry, InquiryStore } from "@openaudience/inquiries"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which inquiry migrations were applied.
 *
 * @since 0.3.0
 * @category models
 */
export const table = "inquiries_migrations"

/**
 * The inquiry migrations, in order.
 *
 * @since 0.3.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_inquiries",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE inquiries (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        created_at ${int64} NOT NULL,
        status TEXT NOT NULL,
        closed_at ${int64},
        name TEXT NOT NULL,
        email TEXT NOT NULL,
        message TEXT NOT NULL
      )`
      yield* sql`CREATE INDEX inquiries_tenant_created ON inquiries (tenant, created_at, id)`
      yield* sql`CREATE INDEX inquiries_closed ON inquiries (closed_at)`
    })
  }
]

/**
 * Brings the inquiry table up to date; returns the ids of the migrations applied now.
 *
 * @since 0.3.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

type Int = number | string

interface Row {
  readonly id: string
  readonly tenant: string
  readonly created_at: Int
  readonly status: string
  readonly closed_at: Int | null
  readonly name: string
  readonly email: string
  readonly message: string
}

const decodeStatus = Schema.decodeUnknownSync(Inquiry.Status)

// A row that cannot be read back was not written by this store: a defect, not an answer.
const inquiryOf = (row: Row): InquiryStore.StoredInquiry => ({
  id: row.id,
  tenant: row.tenant,
  createdAt: Number(row.created_at),
  status: decodeStatus(row.status),
  closedAt: row.closed_at === null ? null : Number(row.closed_at),
  name: row.name,
  email: row.email,
  message: row.message
})

/** SQLite's and PostgreSQL's codes for a unique or primary key violation. */
const uniqueViolations = new Set(["23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"])

/**
 * The `InquiryError` of a failed statement: `Conflict` on a taken id, `Unavailable` when the database cannot be
 * reached or is busy, `InvalidInput` when a value cannot be a parameter (PostgreSQL refuses a NUL); anything else
 * is a defect.
 */
const failed =
  (operation: string) =>
  (error: SqlError): Effect.Effect<never, Inquiry.InquiryError> => {
    const cause = error.cause
    const code =
      typeof cause === "object" && cause !== null && "code" in cause ? String((cause as { code: unknown }).code) : ""
    if (uniqueViolations.has(code)) {
      return Effect.fail(new Inquiry.InquiryError({ reason: "Conflict", message: `${operation}: the id is taken` }))
    }
    const storage = fromSqlError(operation)(error)
    if (storage.reason === "Unavailable" || storage.reason === "InvalidInput") {
      return Effect.fail(new Inquiry.InquiryError({ reason: storage.reason, message: storage.message, cause: storage }))
    }
    return Effect.die(storage)
  }

/**
 * Builds the SQL inquiry store over the `SqlClient` in context (the table must exist: see `migrate` and `layer`).
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: Effect.Effect<InquiryStore.InquiryStoreShape, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const select = (tenant: string, id: string) =>
    Effect.flatMap(
      sql<Row>`SELECT * FROM inquiries WHERE id = ${id} AND tenant = ${tenant}`,
      (rows): Effect.Effect<InquiryStore.StoredInquiry, Inquiry.InquiryError> =>
        rows[0] === undefined ? Effect.fail(Inquiry.notFound(id)) : Effect.succeed(inquiryOf(rows[0]))
    )

  const guard = <A>(operation: string, effect: Effect.Effect<A, Inquiry.InquiryError | SqlError>) =>
    effect.pipe(Effect.catchTag("SqlError", failed(operation)))

  return InquiryStore.InquiryStore.of({
    insert: (tenant, inquiry) =>
      guard(
        "Storing an inquiry",
        sql`INSERT INTO inquiries ${sql.insert({
          id: inquiry.id,
          tenant,
          created_at: inquiry.createdAt,
          status: inquiry.status,
          closed_at: inquiry.closedAt,
          name: inquiry.name,
          email: inquiry.email,
          message: inquiry.message
        })}`.pipe(Effect.asVoid)
      ),
    list: (tenant, options) =>
      guard(
        "Listing inquiries",
        Effect.map(
          options?.status === undefined
            ? sql<Row>`SELECT * FROM inquiries WHERE tenant = ${tenant} ORDER BY created_at, id`
            : sql<Row>`SELECT * FROM inquiries WHERE tenant = ${tenant} AND status = ${options.status}
                  ORDER BY created_at, id`,
          (rows) => rows.map(inquiryOf)
        )
      ),
    get: (tenant, id) => guard("Reading an inquiry", select(tenant, id)),
    setStatus: (tenant, id, status, at) =>
      guard(
        "Changing an inquiry's status",
        sql.withTransaction(
          Effect.gen(function* () {
            const current = yield* select(tenant, id)
            const next = yield* InquiryStore.transition(current, status, at)
            if (next === current) return current
            // Only from the status read above: a concurrent change wins, and is what is returned.
            const rows = yield* sql<Row>`UPDATE inquiries SET status = ${next.status}, closed_at = ${next.closedAt}
                WHERE id = ${id} AND tenant = ${tenant} AND status = ${current.status} RETURNING *`
            return rows[0] === undefined ? yield* select(tenant, id) : inquiryOf(rows[0])
          })
        )
      ),
    delete: (tenant, id) =>
      guard(
        "Deleting an inquiry",
        Effect.map(
          sql`DELETE FROM inquiries WHERE id = ${id} AND tenant = ${tenant} RETURNING id`,
          (rows) => rows.length > 0
        )
      ),
    expired: (closedBefore, limit) =>
      guard(
        "Finding expired inquiries",
        sql<{ readonly tenant: string; readonly id: string }>`SELECT tenant, id FROM inquiries
            WHERE status = 'closed' AND closed_at < ${closedBefore} ORDER BY closed_at, id LIMIT ${limit}`
      )
  })
})

/**
 * The SQL inquiry store: runs its migrations, then serves `InquiryStore` over the `SqlClient` in context.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: Layer.Layer<InquiryStore.InquiryStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  InquiryStore.InquiryStore,
  Effect.zipRight(migrate, make)
)
