/**
 * @openaudience/vault's `KeyStore` port over SQL (SQLite and PostgreSQL through `SqlClient`). `vault_data_keys`
 * keeps one wrapped data key per (tenant, subject): the master secret version, the AES-GCM nonce, tag and wrapped
 * key as BLOB / BYTEA, never a key in clear. `vault_secrets` keeps the version, fingerprint and status of every
 * master secret the database has seen, for `SecretCheck`. The tables have their own migration table
 * (`vault_migrations`), applied by `layer`.
 *
 * On SQLite, `make` turns on `secure_delete` for the connection, so a shredded key's bytes are overwritten with
 * zeros instead of lingering in a free page, and `delete` checkpoints and truncates the write-ahead log, so they
 * leave the log too. On PostgreSQL a deleted row stays in its page until `VACUUM` reuses it (autovacuum does, in time),
 * and backups keep what they kept: see the vault README for what shredding does and does not cover.
 *
 * @since 0.3.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { KeyStore } from "@openaudience/vault"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which key store migrations were applied.
 *
 * @since 0.3.0
 * @category models
 */
export const table = "vault_migrations"

/**
 * The key store migrations, in order.
 *
 * @since 0.3.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_vault_data_keys_and_secrets",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      const bytes = sql.onDialectOrElse({ pg: () => sql.literal("BYTEA"), orElse: () => sql.literal("BLOB") })
      // Byte order of keys, so `list` pages the same way on both dialects.
      const key = sql.onDialectOrElse({ pg: () => sql.literal(`TEXT COLLATE "C"`), orElse: () => sql.literal("TEXT") })
      yield* sql`CREATE TABLE vault_data_keys (
        tenant ${key} NOT NULL,
        subject ${key} NOT NULL,
        version INTEGER NOT NULL,
        iv ${bytes} NOT NULL,
        tag ${bytes} NOT NULL,
        ciphertext ${bytes} NOT NULL,
        PRIMARY KEY (tenant, subject)
      )`
      yield* sql`CREATE TABLE vault_secrets (
        version INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        status TEXT NOT NULL,
        recorded_at ${int64} NOT NULL
      )`
    })
  }
]

/**
 * Brings the key store tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.3.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

interface KeyRow {
  readonly tenant: string
  readonly subject: string
  readonly version: number | string
  readonly iv: unknown
  readonly tag: unknown
  readonly ciphertext: unknown
}

interface SecretRow {
  readonly version: number | string
  readonly fingerprint: string
  readonly status: string
}

const failure = (operation: string) => (error: SqlError) =>
  new KeyStore.KeyStoreError({ message: fromSqlError(operation)(error).message, cause: error })

const corrupt = (message: string) => new KeyStore.KeyStoreError({ message })

const decodeKey = (row: KeyRow): Effect.Effect<KeyStore.WrappedKey, KeyStore.KeyStoreError> =>
  row.iv instanceof Uint8Array && row.tag instanceof Uint8Array && row.ciphertext instanceof Uint8Array
    ? Effect.succeed({
        version: Number(row.version),
        iv: new Uint8Array(row.iv),
        tag: new Uint8Array(row.tag),
        ciphertext: new Uint8Array(row.ciphertext)
      })
    : Effect.fail(corrupt(`The stored data key of subject ${JSON.stringify(row.subject)} is not bytes`))

const isStatus = (status: string): status is KeyStore.SecretStatus =>
  status === "active" || status === "pending" || status === "retired"

/**
 * Builds the SQL key store over the `SqlClient` in context (the tables must exist: see `layer`).
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: Effect.Effect<KeyStore.Service, StorageError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql
    .onDialectOrElse({ sqlite: () => sql`PRAGMA secure_delete = ON`, orElse: () => Effect.void })
    .pipe(Effect.mapError(fromSqlError("Turning on SQLite's secure_delete")))
  const columns = sql.literal("tenant, subject, version, iv, tag, ciphertext")
  // After a shred on SQLite, the zeroed page goes to the database file and the write-ahead log, which still holds
  // the key as first written, is emptied. Best effort: inside a caller's transaction, or with readers still on an
  // older snapshot, the next checkpoint does it.
  const flushLog = sql
    .onDialectOrElse({ sqlite: () => sql`PRAGMA wal_checkpoint(TRUNCATE)`, orElse: () => Effect.void })
    .pipe(Effect.ignore)

  const select = (tenant: string, subject: string) =>
    sql<KeyRow>`SELECT ${columns} FROM vault_data_keys WHERE tenant = ${tenant} AND subject = ${subject}`

  const get: KeyStore.Service["get"] = (tenant, subject) =>
    select(tenant, subject).pipe(
      Effect.mapError(failure("Reading a data key")),
      Effect.flatMap((rows) =>
        rows.length === 0 ? Effect.succeed(Option.none()) : Effect.map(decodeKey(rows[0]!), Option.some)
      )
    )

  const put = (
    tenant: string,
    subject: string,
    key: KeyStore.WrappedKey,
    tries: number
  ): Effect.Effect<KeyStore.WrappedKey, KeyStore.KeyStoreError> =>
    Effect.gen(function* () {
      yield* sql`INSERT INTO vault_data_keys ${sql.insert({
        tenant,
        subject,
        version: key.version,
        iv: key.iv,
        tag: key.tag,
        ciphertext: key.ciphertext
      })} ON CONFLICT (tenant, subject) DO NOTHING`.pipe(Effect.mapError(failure("Storing a data key")))
      const stored = yield* get(tenant, subject)
      if (Option.isSome(stored)) return stored.value
      // Shredded between our insert and our read: try again, a few times.
      if (tries === 0) return yield* corrupt(`The data key of subject ${JSON.stringify(subject)} keeps disappearing`)
      return yield* put(tenant, subject, key, tries - 1)
    })

  return KeyStore.KeyStore.of({
    put: (tenant, subject, key) => put(tenant, subject, key, 3),
    get,
    delete: (tenant, subject) =>
      sql`DELETE FROM vault_data_keys WHERE tenant = ${tenant} AND subject = ${subject} RETURNING subject`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(failure("Deleting a data key")),
        Effect.tap((deleted) => (deleted ? flushLog : Effect.void))
      ),
    replace: (tenant, subject, expected, next) =>
      sql`UPDATE vault_data_keys SET version = ${next.version}, iv = ${next.iv}, tag = ${next.tag},
        ciphertext = ${next.ciphertext}
        WHERE tenant = ${tenant} AND subject = ${subject} AND version = ${expected.version} AND iv = ${expected.iv}
        RETURNING subject`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(failure("Re-wrapping a data key"))
      ),
    list: ({ after, limit }) =>
      (after === undefined
        ? sql<KeyRow>`SELECT ${columns} FROM vault_data_keys ORDER BY tenant, subject LIMIT ${limit}`
        : sql<KeyRow>`SELECT ${columns} FROM vault_data_keys WHERE (tenant, subject) > (${after.tenant}, ${after.subject})
            ORDER BY tenant, subject LIMIT ${limit}`
      ).pipe(
        Effect.mapError(failure("Listing data keys")),
        Effect.flatMap((rows) =>
          Effect.forEach(rows, (row) =>
            Effect.map(decodeKey(row), (key) => ({ tenant: row.tenant, subject: row.subject, key }))
          )
        )
      ),
    secrets: sql<SecretRow>`SELECT version, fingerprint, status FROM vault_secrets ORDER BY version`.pipe(
      Effect.mapError(failure("Reading the master secret fingerprints")),
      Effect.flatMap((rows) =>
        Effect.forEach(rows, (row) =>
          isStatus(row.status)
            ? Effect.succeed({ version: Number(row.version), fingerprint: row.fingerprint, status: row.status })
            : Effect.fail(corrupt(`Master secret version ${row.version} has an unknown status ${row.status}`))
        )
      )
    ),
    recordSecret: (record) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const rows = yield* sql`INSERT INTO vault_secrets ${sql.insert({
          version: record.version,
          fingerprint: record.fingerprint,
          status: record.status,
          recorded_at: now
        })} ON CONFLICT (version) DO NOTHING RETURNING version`
        return rows.length > 0
      }).pipe(Effect.mapError(failure("Recording a master secret fingerprint"))),
    activateSecret: (version, fingerprint) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            yield* sql`UPDATE vault_secrets SET status = 'retired'
              WHERE version <> ${version} AND status <> 'retired'`
            yield* sql`INSERT INTO vault_secrets ${sql.insert({
              version,
              fingerprint,
              status: "active",
              recorded_at: now
            })} ON CONFLICT (version) DO UPDATE SET status = 'active', fingerprint = ${fingerprint}`
          })
        )
        .pipe(Effect.mapError(failure("Activating a master secret")))
  })
})

/**
 * The SQL key store: runs its migrations, then serves `KeyStore` over the `SqlClient` in context.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: Layer.Layer<KeyStore.KeyStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  KeyStore.KeyStore,
  Effect.zipRight(migrate, make)
)
