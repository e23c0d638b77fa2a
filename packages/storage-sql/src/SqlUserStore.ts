/**
 * @openaudience/accounts' `UserStore` port over SQL (SQLite and PostgreSQL through `SqlClient`). Six tables:
 * `users` (personal fields as vault ciphertexts only, the email as ciphertext and a globally unique blind index,
 * role, status, timestamps, the scrypt hash, the encrypted TOTP secret and its last used step),
 * `user_invitations` and `user_resets` (SHA-256 digests of single-use tokens, with their expiry),
 * `user_sessions` (digests of session ids, created, last seen and absolute end), `user_login_failures` (the
 * throttling key — a blind index of an email or client address — and the time) and `payment_methods` (processor,
 * token, brand, last four: never a card number). Migrations are recorded in `accounts_migrations` and applied by
 * `layer`.
 *
 * Multi-step changes (invite, accept, reset, remove, adding a payment method) are one transaction. Single-use
 * tokens are consumed with `DELETE … RETURNING`, so two concurrent uses of one token cannot both succeed. On SQLite
 * `make` turns on `secure_delete` and `remove` empties the write-ahead log afterwards, so a removed user's rows
 * are zeroed in the database file (the vault shreds their data key besides).
 *
 * @since 0.3.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { AccountsError, type PaymentMethod, type User, UserStore } from "@openaudience/accounts"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which accounts migrations were applied.
 *
 * @since 0.3.0
 * @category models
 */
export const table = "accounts_migrations"

/**
 * The accounts migrations, in order.
 *
 * @since 0.3.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_users_invitations_sessions_resets_failures_payment_methods",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE users (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        email_index TEXT NOT NULL UNIQUE,
        email TEXT NOT NULL,
        first_name TEXT,
        last_name TEXT,
        phone TEXT,
        mailing_address TEXT,
        iban TEXT,
        bic TEXT,
        role TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at ${int64} NOT NULL,
        updated_at ${int64} NOT NULL,
        invited_by TEXT,
        password_hash TEXT,
        totp_secret TEXT,
        totp_enabled INTEGER NOT NULL DEFAULT 0,
        totp_last_step ${int64},
        PRIMARY KEY (tenant, id)
      )`
      for (const name of ["user_invitations", "user_resets"]) {
        yield* sql`CREATE TABLE ${sql(name)} (
          digest TEXT PRIMARY KEY,
          tenant TEXT NOT NULL,
          user_id TEXT NOT NULL,
          created_at ${int64} NOT NULL,
          expires_at ${int64} NOT NULL
        )`
        yield* sql`CREATE INDEX ${sql(`${name}_user`)} ON ${sql(name)} (tenant, user_id)`
      }
      yield* sql`CREATE TABLE user_sessions (
        digest TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        user_id TEXT NOT NULL,
        created_at ${int64} NOT NULL,
        last_seen_at ${int64} NOT NULL,
        expires_at ${int64} NOT NULL
      )`
      yield* sql`CREATE INDEX user_sessions_user ON user_sessions (tenant, user_id)`
      yield* sql`CREATE TABLE user_login_failures (key TEXT NOT NULL, at ${int64} NOT NULL)`
      yield* sql`CREATE INDEX user_login_failures_key ON user_login_failures (key, at)`
      yield* sql`CREATE TABLE payment_methods (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        user_id TEXT NOT NULL,
        processor TEXT NOT NULL,
        token TEXT NOT NULL,
        brand TEXT NOT NULL,
        last4 TEXT NOT NULL,
        created_at ${int64} NOT NULL
      )`
      yield* sql`CREATE INDEX payment_methods_user ON payment_methods (tenant, user_id)`
    })
  }
]

/**
 * Brings the accounts tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.3.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

interface UserRow {
  readonly tenant: string
  readonly id: string
  readonly email_index: string
  readonly email: string
  readonly first_name: string | null
  readonly last_name: string | null
  readonly phone: string | null
  readonly mailing_address: string | null
  readonly iban: string | null
  readonly bic: string | null
  readonly role: string
  readonly status: string
  readonly created_at: number | string
  readonly updated_at: number | string
  readonly invited_by: string | null
  readonly password_hash: string | null
  readonly totp_secret: string | null
  readonly totp_enabled: number | string | boolean
  readonly totp_last_step: number | string | null
}

interface TokenRow {
  readonly digest: string
  readonly tenant: string
  readonly user_id: string
  readonly created_at: number | string
  readonly expires_at: number | string
}

interface SessionRow extends TokenRow {
  readonly last_seen_at: number | string
}

interface MethodRow {
  readonly id: string
  readonly tenant: string
  readonly user_id: string
  readonly processor: string
  readonly token: string
  readonly brand: string
  readonly last4: string
  readonly created_at: number | string
}

const uniqueViolations = new Set(["23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"])

const codeOf = (error: SqlError): string | undefined => {
  const cause = error.cause as { readonly code?: unknown } | null | undefined
  return typeof cause === "object" && cause !== null && typeof cause.code === "string" ? cause.code : undefined
}

const failure = (operation: string) => (error: SqlError) =>
  new AccountsError({ reason: "StoreFailed", message: fromSqlError(operation)(error).message, cause: error })

const toUser = (row: UserRow): UserStore.UserRecord => ({
  tenant: row.tenant,
  id: row.id,
  emailIndex: row.email_index,
  email: row.email,
  firstName: row.first_name,
  lastName: row.last_name,
  phone: row.phone,
  mailingAddress: row.mailing_address,
  iban: row.iban,
  bic: row.bic,
  role: row.role as User.UserRole,
  status: row.status as User.UserStatus,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
  invitedBy: row.invited_by,
  passwordHash: row.password_hash,
  totpSecret: row.totp_secret,
  totpEnabled: row.totp_enabled === true || Number(row.totp_enabled) === 1,
  totpLastStep: row.totp_last_step === null ? null : Number(row.totp_last_step)
})

const fromPatch = (patch: UserStore.UserPatch): Record<string, string | number | null> => {
  const columns: Record<string, string | number | null> = {}
  const names: Record<keyof UserStore.UserPatch, string> = {
    firstName: "first_name",
    lastName: "last_name",
    phone: "phone",
    mailingAddress: "mailing_address",
    iban: "iban",
    bic: "bic",
    role: "role",
    status: "status",
    updatedAt: "updated_at",
    passwordHash: "password_hash",
    totpSecret: "totp_secret",
    totpEnabled: "totp_enabled",
    totpLastStep: "totp_last_step"
  }
  for (const [key, column] of Object.entries(names) as ReadonlyArray<[keyof UserStore.UserPatch, string]>) {
    const value = patch[key]
    if (value !== undefined) columns[column] = typeof value === "boolean" ? (value ? 1 : 0) : value
  }
  return columns
}

const toToken = (row: TokenRow): UserStore.TokenRecord => ({
  digest: row.digest,
  tenant: row.tenant,
  userId: row.user_id,
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at)
})

const toMethod = (row: MethodRow): PaymentMethod.PaymentMethod => ({
  id: row.id,
  tenant: row.tenant,
  userId: row.user_id,
  processor: row.processor,
  token: row.token,
  brand: row.brand as PaymentMethod.Brand,
  last4: row.last4,
  createdAt: Number(row.created_at)
})

/**
 * Builds the SQL user store over the `SqlClient` in context (the tables must exist: see `layer`).
 *
 * @since 0.3.0
 * @category constructors
 */
export const make: Effect.Effect<UserStore.Service, StorageError, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql
    .onDialectOrElse({ sqlite: () => sql`PRAGMA secure_delete = ON`, orElse: () => Effect.void })
    .pipe(Effect.mapError(fromSqlError("Turning on SQLite's secure_delete")))
  const flushLog = sql
    .onDialectOrElse({ sqlite: () => sql`PRAGMA wal_checkpoint(TRUNCATE)`, orElse: () => Effect.void })
    .pipe(Effect.ignore)
  const transaction = <A>(operation: string, effect: Effect.Effect<A, SqlError | AccountsError>) =>
    sql.withTransaction(effect).pipe(Effect.catchTag("SqlError", (error) => Effect.fail(failure(operation)(error))))

  const getUser = (tenant: string, id: string) =>
    Effect.map(sql<UserRow>`SELECT * FROM users WHERE tenant = ${tenant} AND id = ${id}`, (rows) =>
      Option.map(Option.fromNullable(rows[0]), toUser)
    )

  const update = (tenant: string, id: string, patch: UserStore.UserPatch) =>
    Effect.gen(function* () {
      const columns = fromPatch(patch)
      if (Object.keys(columns).length > 0) {
        yield* sql`UPDATE users SET ${sql.update(columns)} WHERE tenant = ${tenant} AND id = ${id}`
      }
      const user = yield* getUser(tenant, id)
      if (Option.isNone(user)) return yield* UserStore.userNotFound()
      return user.value
    })

  const takeToken = (name: "user_invitations" | "user_resets", digest: string, now: number) =>
    Effect.map(sql<TokenRow>`DELETE FROM ${sql(name)} WHERE digest = ${digest} RETURNING *`, (rows) =>
      Option.filter(Option.map(Option.fromNullable(rows[0]), toToken), (token) => token.expiresAt > now)
    )

  const peekToken = (name: "user_invitations" | "user_resets", digest: string, now: number) =>
    sql<TokenRow>`SELECT * FROM ${sql(name)} WHERE digest = ${digest} AND expires_at > ${now}`.pipe(
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toToken)),
      Effect.mapError(failure("Reading a token"))
    )

  return UserStore.UserStore.of({
    invite: (user, invitation) =>
      transaction(
        "Inviting a user",
        Effect.gen(function* () {
          const taken = yield* sql`SELECT 1 AS one FROM users WHERE email_index = ${user.emailIndex}`
          if (taken.length > 0) return yield* UserStore.emailTaken()
          yield* sql`INSERT INTO users ${sql.insert({
            tenant: user.tenant,
            id: user.id,
            email_index: user.emailIndex,
            ...fromPatch(user),
            email: user.email,
            created_at: user.createdAt,
            invited_by: user.invitedBy
          })}`
          yield* sql`INSERT INTO user_invitations ${sql.insert({
            digest: invitation.digest,
            tenant: invitation.tenant,
            user_id: invitation.userId,
            created_at: invitation.createdAt,
            expires_at: invitation.expiresAt
          })}`
        }).pipe(
          // A concurrent invitation of the same address won the unique index.
          Effect.mapError((error) =>
            error._tag === "SqlError" && uniqueViolations.has(codeOf(error) ?? "") ? UserStore.emailTaken() : error
          )
        )
      ),
    get: (tenant, id) => getUser(tenant, id).pipe(Effect.mapError(failure("Reading a user"))),
    list: (tenant) =>
      sql<UserRow>`SELECT * FROM users WHERE tenant = ${tenant} ORDER BY created_at, id`.pipe(
        Effect.map((rows) => rows.map(toUser)),
        Effect.mapError(failure("Listing users"))
      ),
    findByEmail: (emailIndex) =>
      sql<UserRow>`SELECT * FROM users WHERE email_index = ${emailIndex}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toUser)),
        Effect.mapError(failure("Finding a user"))
      ),
    update: (tenant, id, patch) => transaction("Updating a user", update(tenant, id, patch)),
    useTotpStep: (tenant, id, step) =>
      sql`UPDATE users SET totp_last_step = ${step}
        WHERE tenant = ${tenant} AND id = ${id} AND (totp_last_step IS NULL OR totp_last_step < ${step})
        RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(failure("Recording a TOTP step"))
      ),
    remove: (tenant, id) =>
      transaction(
        "Removing a user",
        Effect.gen(function* () {
          const rows = yield* sql<{ readonly email_index: string }>`DELETE FROM users
            WHERE tenant = ${tenant} AND id = ${id} RETURNING email_index`
          if (rows.length === 0) return false
          for (const name of ["user_invitations", "user_resets", "user_sessions", "payment_methods"]) {
            yield* sql`DELETE FROM ${sql(name)} WHERE tenant = ${tenant} AND user_id = ${id}`
          }
          const emailIndex = rows[0]!.email_index
          yield* sql`DELETE FROM user_login_failures WHERE key IN (${`email:${emailIndex}`}, ${`reset:${emailIndex}`})`
          return true
        })
      ).pipe(Effect.tap((removed) => (removed ? flushLog : Effect.void))),
    invitation: (digest, now) => peekToken("user_invitations", digest, now),
    acceptInvitation: (digest, now, patch) =>
      transaction(
        "Accepting an invitation",
        Effect.gen(function* () {
          const token = yield* takeToken("user_invitations", digest, now)
          if (Option.isNone(token)) return Option.none()
          return Option.some(yield* update(token.value.tenant, token.value.userId, patch))
        })
      ),
    addReset: (reset) =>
      sql`INSERT INTO user_resets ${sql.insert({
        digest: reset.digest,
        tenant: reset.tenant,
        user_id: reset.userId,
        created_at: reset.createdAt,
        expires_at: reset.expiresAt
      })}`.pipe(Effect.asVoid, Effect.mapError(failure("Storing a reset token"))),
    reset: (digest, now) => peekToken("user_resets", digest, now),
    consumeReset: (digest, now, passwordHash) =>
      transaction(
        "Resetting a password",
        Effect.gen(function* () {
          const token = yield* takeToken("user_resets", digest, now)
          if (Option.isNone(token)) return Option.none()
          const { tenant, userId } = token.value
          yield* update(tenant, userId, { passwordHash, updatedAt: now })
          yield* sql`DELETE FROM user_resets WHERE tenant = ${tenant} AND user_id = ${userId}`
          yield* sql`DELETE FROM user_sessions WHERE tenant = ${tenant} AND user_id = ${userId}`
          return token
        })
      ),
    addSession: (session) =>
      sql`INSERT INTO user_sessions ${sql.insert({
        digest: session.digest,
        tenant: session.tenant,
        user_id: session.userId,
        created_at: session.createdAt,
        last_seen_at: session.lastSeenAt,
        expires_at: session.expiresAt
      })}`.pipe(Effect.asVoid, Effect.mapError(failure("Storing a session"))),
    session: (digest) =>
      sql<SessionRow>`SELECT * FROM user_sessions WHERE digest = ${digest}`.pipe(
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (row) => ({
            ...toToken(row),
            lastSeenAt: Number(row.last_seen_at)
          }))
        ),
        Effect.mapError(failure("Reading a session"))
      ),
    touchSession: (digest, at) =>
      sql`UPDATE user_sessions SET last_seen_at = ${at} WHERE digest = ${digest}`.pipe(
        Effect.asVoid,
        Effect.mapError(failure("Touching a session"))
      ),
    removeSession: (digest) =>
      sql`DELETE FROM user_sessions WHERE digest = ${digest}`.pipe(
        Effect.asVoid,
        Effect.mapError(failure("Ending a session"))
      ),
    removeSessions: (tenant, userId) =>
      sql`DELETE FROM user_sessions WHERE tenant = ${tenant} AND user_id = ${userId} RETURNING digest`.pipe(
        Effect.map((rows) => rows.length),
        Effect.mapError(failure("Ending sessions"))
      ),
    failures: (key, since) =>
      sql<{ readonly at: number | string }>`SELECT at FROM user_login_failures WHERE key = ${key} AND at >= ${since}
        ORDER BY at`.pipe(
        Effect.map((rows) => rows.map((row) => Number(row.at))),
        Effect.mapError(failure("Reading login failures"))
      ),
    addFailure: (keys, at, prune) =>
      transaction(
        "Recording a login failure",
        Effect.forEach(
          keys,
          (key) =>
            Effect.zipRight(
              sql`DELETE FROM user_login_failures WHERE key = ${key} AND at < ${prune}`,
              sql`INSERT INTO user_login_failures ${sql.insert({ key, at })}`
            ),
          { discard: true }
        )
      ),
    clearFailures: (key) =>
      sql`DELETE FROM user_login_failures WHERE key = ${key}`.pipe(
        Effect.asVoid,
        Effect.mapError(failure("Clearing login failures"))
      ),
    addPaymentMethod: (method) =>
      transaction(
        "Adding a payment method",
        Effect.gen(function* () {
          const user = yield* getUser(method.tenant, method.userId)
          if (Option.isNone(user)) return yield* UserStore.userNotFound()
          yield* sql`INSERT INTO payment_methods ${sql.insert({
            id: method.id,
            tenant: method.tenant,
            user_id: method.userId,
            processor: method.processor,
            token: method.token,
            brand: method.brand,
            last4: method.last4,
            created_at: method.createdAt
          })}`
        })
      ),
    paymentMethods: (tenant, userId) =>
      sql<MethodRow>`SELECT * FROM payment_methods WHERE tenant = ${tenant} AND user_id = ${userId}
        ORDER BY created_at, id`.pipe(
        Effect.map((rows) => rows.map(toMethod)),
        Effect.mapError(failure("Listing payment methods"))
      ),
    removePaymentMethod: (tenant, userId, id) =>
      sql`DELETE FROM payment_methods WHERE tenant = ${tenant} AND user_id = ${userId} AND id = ${id} RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(failure("Removing a payment method"))
      )
  })
})

/**
 * The SQL user store: runs its migrations, then serves `UserStore` over the `SqlClient` in context.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer: Layer.Layer<UserStore.UserStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  UserStore.UserStore,
  Effect.zipRight(migrate, make)
)
