/**
 * The audience package's `MembershipStore` port over SQL (SQLite and PostgreSQL through `SqlClient`).
 * `audience_visitors` keeps each visitor's encoded state (BLOB / BYTEA) and when it must next be
 * advanced; `audience_memberships` keeps every membership (enter, exit, expiry, qualifying products as
 * JSON), open ones and past ones, so `history` can answer access requests. `commit` writes a visitor's
 * state, next check and membership changes in ONE transaction. The tables have their own migration
 * table (`membership_migrations`), applied by `layer` when it is built.
 *
 * @since 0.1.0
 */
import { type Membership, MembershipStore } from "@openaudience/audience"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which membership migrations were applied.
 *
 * @since 0.1.0
 * @category models
 */
export const table = "membership_migrations"

/**
 * The membership store migrations, in order.
 *
 * @since 0.1.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_audience_visitors_and_memberships",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const id = sql.onDialectOrElse({
        pg: () => sql.literal("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
        orElse: () => sql.literal("INTEGER PRIMARY KEY AUTOINCREMENT")
      })
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      const bytes = sql.onDialectOrElse({ pg: () => sql.literal("BYTEA"), orElse: () => sql.literal("BLOB") })
      const json = sql.onDialectOrElse({ pg: () => sql.literal("JSONB"), orElse: () => sql.literal("TEXT") })
      // Byte order of keys, like the in-memory store (PostgreSQL would otherwise sort by locale).
      const key = sql.onDialectOrElse({ pg: () => sql.literal(`TEXT COLLATE "C"`), orElse: () => sql.literal("TEXT") })
      yield* sql`CREATE TABLE audience_visitors (
        tenant TEXT NOT NULL,
        visitor ${key} NOT NULL,
        state ${bytes},
        next_check_at ${int64},
        PRIMARY KEY (tenant, visitor)
      )`
      yield* sql`CREATE INDEX audience_visitors_due ON audience_visitors (tenant, next_check_at)
        WHERE next_check_at IS NOT NULL`
      yield* sql`CREATE TABLE audience_memberships (
        id ${id},
        tenant TEXT NOT NULL,
        audience_id TEXT NOT NULL,
        visitor TEXT NOT NULL,
        entered_at ${int64} NOT NULL,
        expires_at ${int64} NOT NULL,
        exited_at ${int64},
        products ${json} NOT NULL
      )`
      yield* sql`CREATE INDEX audience_memberships_visitor ON audience_memberships (tenant, visitor)`
      yield* sql`CREATE INDEX audience_memberships_active ON audience_memberships (tenant, audience_id, expires_at)
        WHERE exited_at IS NULL`
      // At most one open membership per visitor and audience.
      yield* sql`CREATE UNIQUE INDEX audience_memberships_open ON audience_memberships (tenant, visitor, audience_id)
        WHERE exited_at IS NULL`
    })
  }
]

/**
 * Brings the membership tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.1.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

interface MembershipRow {
  readonly audience_id: string
  readonly visitor: string
  readonly entered_at: number | string
  readonly expires_at: number | string
  readonly exited_at: number | string | null
  readonly products: unknown
}

/** Visitors per `SELECT … IN (…)` of `loadStates`. */
const statesPerRead = 500

/** Visitors per multi-row upsert of `commitAll` (4 parameters each). */
const visitorsPerWrite = 200

const failure = (operation: string) => (error: SqlError) =>
  new MembershipStore.MembershipStoreError({ message: fromSqlError(operation)(error).message })

const corrupt = (message: string) => new MembershipStore.MembershipStoreError({ message })

const normalizeLimit = (limit: number): number => (Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0)

const toBytes = (value: unknown): Uint8Array | undefined =>
  value instanceof Uint8Array ? new Uint8Array(value) : undefined

const decodeProducts = (value: unknown): ReadonlyArray<string> | undefined => {
  let parsed = value
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value)
    } catch {
      return undefined
    }
  }
  return Array.isArray(parsed) && parsed.every((p) => typeof p === "string") ? (parsed as Array<string>) : undefined
}

const decodeMemberships = (
  rows: ReadonlyArray<MembershipRow>
): Effect.Effect<ReadonlyArray<Membership.Membership>, MembershipStore.MembershipStoreError> =>
  Effect.suspend(() => {
    const out: Array<Membership.Membership> = []
    for (const row of rows) {
      const products = decodeProducts(row.products)
      if (products === undefined) {
        return Effect.fail(corrupt(`Stored membership of audience ${row.audience_id} has invalid products`))
      }
      out.push({
        audienceId: row.audience_id,
        visitor: row.visitor,
        enteredAt: Number(row.entered_at),
        expiresAt: Number(row.expires_at),
        exitedAt: row.exited_at === null ? null : Number(row.exited_at),
        products
      })
    }
    return Effect.succeed(out)
  })

/**
 * Builds the SQL membership store over the `SqlClient` in context (the tables must exist: see `layer`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<MembershipStore.Service, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = sql.literal("audience_id, visitor, entered_at, expires_at, exited_at, products")

  const applyChange = (tenant: string, visitor: string, change: Membership.Change) => {
    const open = sql`tenant = ${tenant} AND visitor = ${visitor} AND audience_id = ${change.audienceId}
      AND exited_at IS NULL`
    switch (change._tag) {
      case "Entered":
        return Effect.zipRight(
          sql`UPDATE audience_memberships SET exited_at = ${change.at} WHERE ${open}`,
          sql`INSERT INTO audience_memberships ${sql.insert({
            tenant,
            audience_id: change.audienceId,
            visitor,
            entered_at: change.at,
            expires_at: change.expiresAt,
            exited_at: null,
            products: JSON.stringify(change.products)
          })}`
        )
      case "Updated":
        return sql`UPDATE audience_memberships
          SET expires_at = ${change.expiresAt}, products = ${JSON.stringify(change.products)} WHERE ${open}`
      case "Exited":
        return sql`UPDATE audience_memberships SET exited_at = ${change.at} WHERE ${open}`
    }
  }

  /**
   * The visitors' states in multi-row upserts (a visitor named twice keeps its last state, as two commits in a row
   * would leave it), then every membership change in order, then the visitors left with nothing to keep removed:
   * one transaction (a savepoint inside the caller's).
   */
  const commitAll = (tenant: string, commits: ReadonlyArray<MembershipStore.VisitorCommit>) =>
    sql
      .withTransaction(
        Effect.gen(function* () {
          const last = new Map<string, MembershipStore.Commit>()
          for (const { commit, visitor } of commits) last.set(visitor, commit)
          const states = [...last].map(([visitor, commit]) => ({
            tenant,
            visitor,
            state: commit.state === null ? null : Buffer.from(commit.state),
            next_check_at: commit.nextCheckAt
          }))
          for (let from = 0; from < states.length; from += visitorsPerWrite) {
            yield* sql`INSERT INTO audience_visitors ${sql.insert(states.slice(from, from + visitorsPerWrite))}
              ON CONFLICT (tenant, visitor) DO UPDATE SET state = excluded.state, next_check_at = excluded.next_check_at`
          }
          for (const { commit, visitor } of commits) {
            for (const change of commit.changes) yield* applyChange(tenant, visitor, change)
          }
          for (const [visitor, commit] of last) {
            if (commit.state !== null) continue
            // Nothing left to keep: the visitor row goes unless memberships still name the visitor.
            yield* sql`DELETE FROM audience_visitors
              WHERE tenant = ${tenant} AND visitor = ${visitor} AND state IS NULL AND NOT EXISTS (
                SELECT 1 FROM audience_memberships m WHERE m.tenant = ${tenant} AND m.visitor = ${visitor}
              )`
          }
        })
      )
      .pipe(Effect.mapError(failure("Committing visitors' steps")))

  return MembershipStore.MembershipStore.of({
    loadState: (tenant, visitor) =>
      sql<{ readonly state: unknown }>`SELECT state FROM audience_visitors
        WHERE tenant = ${tenant} AND visitor = ${visitor} AND state IS NOT NULL`.pipe(
        Effect.mapError(failure("Loading a visitor's state")),
        Effect.flatMap((rows) => {
          if (rows.length === 0) return Effect.succeed(Option.none())
          const bytes = toBytes(rows[0]!.state)
          return bytes === undefined
            ? Effect.fail(corrupt(`Stored state of visitor ${visitor} is not bytes`))
            : Effect.succeed(Option.some(bytes))
        })
      ),
    loadStates: (tenant, visitors) =>
      Effect.gen(function* () {
        const out = new Map<string, Uint8Array>()
        for (let from = 0; from < visitors.length; from += statesPerRead) {
          const rows = yield* sql<{ readonly visitor: string; readonly state: unknown }>`SELECT visitor, state
            FROM audience_visitors WHERE tenant = ${tenant}
            AND visitor IN ${sql.in(visitors.slice(from, from + statesPerRead))} AND state IS NOT NULL`.pipe(
            Effect.mapError(failure("Loading visitors' states"))
          )
          for (const row of rows) {
            const bytes = toBytes(row.state)
            if (bytes === undefined) return yield* corrupt(`Stored state of visitor ${row.visitor} is not bytes`)
            out.set(row.visitor, bytes)
          }
        }
        return out
      }),
    commit: (tenant, visitor, commit) => commitAll(tenant, [{ visitor, commit }]),
    commitAll,
    due: (tenant, now, limit) => {
      const n = normalizeLimit(limit)
      if (n === 0) return Effect.succeed([])
      return sql<{ readonly visitor: string }>`SELECT visitor FROM audience_visitors
        WHERE tenant = ${tenant} AND next_check_at IS NOT NULL AND next_check_at <= ${now}
        ORDER BY next_check_at, visitor LIMIT ${n}`.pipe(
        Effect.map((rows) => rows.map((row) => row.visitor)),
        Effect.mapError(failure("Reading due visitors"))
      )
    },
    visitors: (tenant, after, limit) => {
      const n = normalizeLimit(limit)
      if (n === 0) return Effect.succeed([])
      const from = after === undefined ? sql.literal("") : sql`AND visitor > ${after}`
      return sql<{ readonly visitor: string }>`SELECT visitor FROM audience_visitors
        WHERE tenant = ${tenant} AND state IS NOT NULL ${from} ORDER BY visitor LIMIT ${n}`.pipe(
        Effect.map((rows) => rows.map((row) => row.visitor)),
        Effect.mapError(failure("Listing visitors"))
      )
    },
    memberships: (tenant, visitor, now) =>
      sql<MembershipRow>`SELECT ${columns} FROM audience_memberships
        WHERE tenant = ${tenant} AND visitor = ${visitor} AND exited_at IS NULL AND expires_at > ${now}
        ORDER BY id`.pipe(
        Effect.mapError(failure("Reading a visitor's memberships")),
        Effect.flatMap(decodeMemberships)
      ),
    count: (tenant, audienceId, now) =>
      sql<{ readonly n: number | string }>`SELECT COUNT(DISTINCT visitor) AS n FROM audience_memberships
        WHERE tenant = ${tenant} AND audience_id = ${audienceId} AND exited_at IS NULL AND expires_at > ${now}`.pipe(
        Effect.map((rows) => Number(rows[0]?.n ?? 0)),
        Effect.mapError(failure("Counting an audience's members"))
      ),
    history: (tenant, visitor) =>
      sql<MembershipRow>`SELECT ${columns} FROM audience_memberships
        WHERE tenant = ${tenant} AND visitor = ${visitor} ORDER BY id`.pipe(
        Effect.mapError(failure("Reading a visitor's membership history")),
        Effect.flatMap(decodeMemberships)
      ),
    forget: (tenant, visitor) =>
      sql
        .withTransaction(
          Effect.zipRight(
            sql`DELETE FROM audience_memberships WHERE tenant = ${tenant} AND visitor = ${visitor}`,
            sql`DELETE FROM audience_visitors WHERE tenant = ${tenant} AND visitor = ${visitor}`
          )
        )
        .pipe(Effect.asVoid, Effect.mapError(failure("Forgetting a visitor"))),
    dropAudience: (tenant, audienceId) =>
      sql`DELETE FROM audience_memberships WHERE tenant = ${tenant} AND audience_id = ${audienceId}`.pipe(
        Effect.asVoid,
        Effect.mapError(failure("Dropping an audience's memberships"))
      )
  })
})

/**
 * The SQL membership store: runs the membership migrations, then serves `MembershipStore` over the
 * `SqlClient` in context (build it with `Database.layerFromUrl` or `Database.layerConfig`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<MembershipStore.MembershipStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  MembershipStore.MembershipStore,
  Effect.zipRight(migrate, make)
)
