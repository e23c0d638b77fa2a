/**
 * @openaudience/audit's `AuditLog` port over SQL (SQLite and PostgreSQL through `SqlClient`). Two tables:
 * `audit_log` holds the entries (one row per `seq`), `audit_head` one row with the last entry's `seq` and `hash`.
 *
 * An append is one transaction whose first statement is `UPDATE audit_head SET seq = seq + 1 … RETURNING`: on
 * PostgreSQL concurrent appends queue on that row's lock and each reads the head its predecessor committed, on SQLite
 * the statement takes the database's write lock before anything is read. So every append chains to the one before
 * it, and the chain never forks, however many processes append at once. The head is updated in the same
 * transaction as the entry, so removing the last entries (which leaves an unbroken but shorter chain) shows as a
 * head that points past the end of the log.
 *
 * `verify` reads the head and every entry in one snapshot (a `REPEATABLE READ` transaction on PostgreSQL, a read
 * transaction on SQLite), a page at a time, so it neither blocks appends on PostgreSQL nor holds the log in memory.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { AuditEntry, AuditError, AuditLog, Verification } from "@openaudience/audit"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which audit log migrations were applied.
 *
 * @since 0.2.0
 * @category models
 */
export const table = "audit_migrations"

/**
 * The audit log migrations, in order.
 *
 * @since 0.2.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_audit_log",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE audit_log (
        seq ${int64} PRIMARY KEY,
        at ${int64} NOT NULL,
        tenant TEXT,
        actor_kind TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      )`
      yield* sql`CREATE INDEX audit_log_tenant ON audit_log (tenant, seq)`
      yield* sql`CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq ${int64} NOT NULL,
        hash TEXT NOT NULL
      )`
      yield* sql`INSERT INTO audit_head ${sql.insert({ id: 1, seq: 0, hash: AuditEntry.genesisHash })}`
    })
  }
]

/**
 * Brings the audit tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.2.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

interface EntryRow {
  readonly seq: number | string
  readonly at: number | string
  readonly tenant: string | null
  readonly actor_kind: string
  readonly actor_id: string
  readonly action: string
  readonly target: string
  readonly outcome: string
  readonly details: string
  readonly prev_hash: string
  readonly hash: string
}

interface HeadRow {
  readonly seq: number | string
  readonly hash: string
}

const decodeEntry = Schema.decodeUnknownEither(AuditEntry.Entry)

/** A row as an entry, or why it cannot be one (a field changed into something no append writes). */
const decodeRow = (row: EntryRow): Either.Either<AuditEntry.Entry, string> => {
  let details: unknown
  try {
    details = JSON.parse(row.details)
  } catch {
    return Either.left("its details are not JSON")
  }
  return Either.mapLeft(
    decodeEntry({
      seq: Number(row.seq),
      at: Number(row.at),
      tenant: row.tenant,
      actor: { kind: row.actor_kind, id: row.actor_id },
      action: row.action,
      target: row.target,
      outcome: row.outcome,
      details,
      prevHash: row.prev_hash,
      hash: row.hash
    }),
    (error) => ParseResult.TreeFormatter.formatErrorSync(error)
  )
}

const failed =
  (operation: string) =>
  (error: SqlError): AuditError => {
    const storage = fromSqlError(operation)(error)
    return new AuditError({
      reason:
        storage.reason === "Unavailable"
          ? "Unavailable"
          : storage.reason === "InvalidInput"
            ? "InvalidInput"
            : "Failed",
      message: storage.message,
      cause: error
    })
  }

const corrupt = (message: string) => new AuditError({ reason: "Corrupt", message })

/** Entries read per query by `verify`. */
const pageSize = 1000

/**
 * Builds the SQL audit log over the `SqlClient` in context (the tables must exist: see `migrate` and `layer`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: Effect.Effect<AuditLog.Service, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = sql.literal(
    "seq, at, tenant, actor_kind, actor_id, action, target, outcome, details, prev_hash, hash"
  )

  const append = (prepared: AuditEntry.Input & { readonly at: number }) =>
    Effect.gen(function* () {
      // The first statement locks the head (PostgreSQL's row lock, SQLite's write lock) until the commit.
      const heads = yield* sql<HeadRow>`UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`
      const head = heads[0]
      if (head === undefined) return yield* corrupt("The audit log has no head row: it was removed")
      const entry = AuditEntry.seal({ seq: Number(head.seq) - 1, hash: head.hash }, prepared)
      yield* sql`INSERT INTO audit_log ${sql.insert({
        seq: entry.seq,
        at: entry.at,
        tenant: entry.tenant,
        actor_kind: entry.actor.kind,
        actor_id: entry.actor.id,
        action: entry.action,
        target: entry.target,
        outcome: entry.outcome,
        details: JSON.stringify(entry.details),
        prev_hash: entry.prevHash,
        hash: entry.hash
      })}`
      yield* sql`UPDATE audit_head SET hash = ${entry.hash} WHERE id = 1`
      return entry
    })

  const verify = Effect.gen(function* () {
    yield* sql.onDialectOrElse({
      pg: () => sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`,
      orElse: () => Effect.void
    })
    const heads = yield* sql<HeadRow>`SELECT seq, hash FROM audit_head WHERE id = 1`
    const verifier = Verification.make()
    let after = 0
    for (;;) {
      const rows = yield* sql<EntryRow>`SELECT ${columns} FROM audit_log WHERE seq > ${after}
        ORDER BY seq LIMIT ${pageSize}`
      for (const row of rows) {
        const seq = Number(row.seq)
        const decoded = decodeRow(row)
        const failure = verifier.next(
          Either.isRight(decoded) ? decoded.right : { _tag: "Undecodable", seq, message: decoded.left }
        )
        if (failure !== undefined) return failure
        after = seq
      }
      if (rows.length < pageSize) break
    }
    const head = heads[0]
    if (head === undefined) {
      return {
        ok: false,
        seq: 0,
        reason: "HeadMismatch",
        message: "The audit log has no head row: it was removed"
      } satisfies Verification.Broken
    }
    return verifier.finish({ seq: Number(head.seq), hash: head.hash })
  })

  return AuditLog.AuditLog.of({
    append: (input) =>
      Effect.flatMap(AuditLog.prepare(input), (prepared) =>
        sql
          .withTransaction(append(prepared))
          .pipe(Effect.catchTag("SqlError", (e) => Effect.fail(failed("Appending to the audit log")(e))))
      ),
    list: (query) =>
      Effect.gen(function* () {
        const q = yield* AuditLog.validateQuery(query)
        if (q.actions !== undefined && q.actions.length === 0) return []
        const actions = q.actions === undefined ? sql`` : sql`AND ${sql.in("action", q.actions)}`
        const rows = yield* sql<EntryRow>`SELECT ${columns} FROM audit_log
          WHERE tenant = ${q.tenant} AND seq > ${q.after ?? 0} ${actions}
          ORDER BY seq LIMIT ${q.limit}`.pipe(Effect.mapError(failed("Listing the audit log")))
        return yield* Effect.forEach(rows, (row) =>
          Either.match(decodeRow(row), {
            onLeft: (why) => Effect.fail(corrupt(`Audit entry ${row.seq} cannot be read: ${why}`)),
            onRight: Effect.succeed
          })
        )
      }),
    verify: sql.withTransaction(verify).pipe(Effect.mapError(failed("Verifying the audit log")))
  })
})

/**
 * The SQL audit log: runs its migrations, then serves `AuditLog` over the `SqlClient` in context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<AuditLog.AuditLog, StorageError, SqlClient.SqlClient> = Layer.effect(
  AuditLog.AuditLog,
  Effect.zipRight(migrate, make)
)
