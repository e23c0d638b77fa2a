/**
 * Erasures against the jobs that derive subject data from stored events (audiences, ad attribution).
 *
 * A job reads a visitor's events and writes what follows from them (visitor state, memberships, conversions) in one
 * transaction. On PostgreSQL, under READ COMMITTED, an erasure running beside it does not see the rows the job has
 * inserted but not committed, so without more the job could commit a membership for a visitor whose events were just
 * deleted. Each such transaction therefore starts with a shared transaction-level advisory lock and the erasure with
 * the exclusive one: jobs run beside each other, an erasure waits for the jobs in flight (and then deletes what they
 * wrote), and a job starting after it reads no event of the erased visitor. SQLite needs nothing: its writers are
 * serialized, and a deferred transaction that read before another connection's commit cannot write.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"

/** The advisory lock's key ("oaer"), one per database. */
const key = 0x6f616572

/** The advisory lock `fn` (a PostgreSQL function taking the key) on PostgreSQL; nothing elsewhere. */
const advisory =
  (fn: "pg_advisory_xact_lock_shared" | "pg_advisory_xact_lock") =>
  (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError> =>
    sql.onDialectOrElse({
      pg: () => Effect.asVoid(sql`SELECT ${sql.literal(fn)}(${key})`),
      orElse: () => Effect.void
    })

/** Taken at the start of a job's transaction. */
export const shared = advisory("pg_advisory_xact_lock_shared")

/** Taken at the start of an erasure's transaction. */
export const exclusive = advisory("pg_advisory_xact_lock")
