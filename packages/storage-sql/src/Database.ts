/**
 * Opens the database from a URL: `sqlite:<path>` (the embedded default), `sqlite::memory:`, or
 * `postgres://…` / `postgresql://…`. The result is an `SqlClient` layer that every SQL-backed store
 * of OpenAudience runs on; the same code serves both dialects.
 *
 * SQLite is opened in WAL mode with `synchronous=FULL`: in WAL mode `NORMAL` may lose the last
 * commits on power loss, while `FULL` syncs the log at every commit, so an event the collector
 * acknowledged survives a crash. Group commit makes that one sync per batch, not per event.
 * `busy_timeout` makes a writer wait for another process's lock instead of failing at once.
 *
 * Each driver is an optional peer dependency, imported only when a URL of its dialect is opened:
 * `@effect/sql-sqlite-node` for `sqlite:` URLs, `@effect/sql-pg` for `postgres://` URLs. A URL whose
 * driver is not installed fails the layer with an `InvalidConfig` error naming the package to install.
 *
 * @since 0.1.0
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs"
import { dirname } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Driver from "./internal/driver.js"
import { StorageError } from "./StorageError.js"

/**
 * A parsed database URL. `display` is safe to log (no password).
 *
 * @since 0.1.0
 * @category models
 */
export type DatabaseUrl =
  | { readonly _tag: "Sqlite"; readonly filename: string; readonly display: string }
  | { readonly _tag: "Postgres"; readonly url: Redacted.Redacted<string>; readonly display: string }

/**
 * How long a SQLite writer waits for another connection's lock before failing, in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export const sqliteBusyTimeoutMs = 5000

const examples = "use sqlite:<path>, sqlite::memory: or postgres://user@host:5432/database"

const invalid = (message: string) => Either.left(new StorageError({ reason: "InvalidConfig", message }))

/**
 * Parses a database URL without opening anything.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseUrl = (input: string | Redacted.Redacted<string>): Either.Either<DatabaseUrl, StorageError> => {
  const text = (typeof input === "string" ? input : Redacted.value(input)).trim()
  if (text === "") return invalid(`The database URL is empty: ${examples}`)
  if (/^sqlite:/i.test(text)) {
    let filename = text.slice("sqlite:".length)
    if (filename.startsWith("//")) filename = filename.slice(2)
    if (filename === "") return invalid(`The SQLite URL "${text}" names no file: ${examples}`)
    return Either.right({ _tag: "Sqlite", filename, display: `sqlite:${filename}` })
  }
  if (/^postgres(ql)?:\/\//i.test(text)) {
    let parsed: URL
    try {
      parsed = new URL(text)
    } catch {
      return invalid(`The PostgreSQL URL is malformed (check for unescaped characters in the password): ${examples}`)
    }
    const user = parsed.username === "" ? "" : `${decodeURIComponent(parsed.username)}@`
    const display = `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`
    return Either.right({ _tag: "Postgres", url: Redacted.make(text), display })
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]
  if (scheme === undefined) {
    return invalid(`The database URL has no scheme (did you mean "sqlite:${text}"?): ${examples}`)
  }
  return invalid(`Unsupported database URL scheme "${scheme}:": ${examples}`)
}

const describeError = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const code = "code" in error && typeof error.code === "string" ? error.code : ""
  const own = error.message !== "" ? error.message : code
  const inner = error.cause === undefined ? "" : describeError(error.cause)
  return inner === "" || own.includes(inner) ? own : `${own} (${inner})`
}

const describeCause = (cause: Cause.Cause<unknown>): string => describeError(Cause.squash(cause))

/**
 * Whether a failure is SQLite refusing a write because another connection wrote since this transaction began
 * reading (`SQLITE_BUSY_SNAPSHOT`, or `SQLITE_BUSY` once the busy timeout ran out), looked for through the
 * error's causes and, where a caller re-wrapped it, in its message.
 */
export const isSqliteBusy = (error: unknown): boolean => {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === "object" && depth < 8; depth++) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown }
    if (typeof code === "string" && code.startsWith("SQLITE_BUSY")) return true
    if (typeof message === "string" && /\bSQLITE_BUSY|database is locked/.test(message)) return true
    e = cause
  }
  return false
}

/** The wall clock, for waits that must pass even when a test replaced the `Clock` (a `TestClock` never moves). */
const wallClock = Clock.make()

/** How long the `attempt`-th retry of a busy transaction waits: 2 ms growing to 200 ms, about 6 s over 40 tries. */
const busyDelay = (attempt: number): number => Math.min(200, 2 * 1.5 ** attempt)

/** Retries of one busy transaction. */
const busyRetries = 40

/**
 * SQLite transactions begin deferred: one that reads first and writes later fails when another connection (a
 * writer thread, a second process) committed in between (`SQLITE_BUSY_SNAPSHOT`), or holds the write lock at that
 * moment (`SQLITE_BUSY` at once: SQLite does not wait for a lock a reader would deadlock on). Retried from the
 * start after a short wait, it reads the new snapshot and goes through; only outermost transactions are retried (a
 * savepoint cannot take a new snapshot). The waits use the wall clock, so a `TestClock` never stalls them.
 */
const retryBusyTransactions = (sql: SqliteClient.SqliteClient) => {
  const original = sql.withTransaction
  const attempt = <A, E, R>(effect: Effect.Effect<A, E, R>, n: number): Effect.Effect<A, E | SqlError, R> =>
    original(effect).pipe(
      Effect.catchIf(
        (error) => n < busyRetries && isSqliteBusy(error),
        () => Effect.zipRight(Effect.sleep(busyDelay(n)).pipe(Effect.withClock(wallClock)), attempt(effect, n + 1))
      )
    )
  const retried: SqlClient.SqlClient["withTransaction"] = (effect) =>
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (outer) =>
      Option.isSome(outer) ? original(effect) : attempt(effect, 0)
    )
  ;(sql as { withTransaction: SqlClient.SqlClient["withTransaction"] }).withTransaction = retried
}

/**
 * Events are personal data: the database's folder is created 0700 and the database 0600 before SQLite opens it
 * (SQLite gives its -wal and -shm files the database's mode), and an existing database (and its -wal and -shm) is
 * narrowed to 0600. An existing folder keeps its mode: it may be shared (`/tmp`); its files are still private.
 */
const ownerOnly = (filename: string): void => {
  mkdirSync(dirname(filename), { recursive: true, mode: 0o700 })
  closeSync(openSync(filename, "a", 0o600))
  for (const file of [filename, `${filename}-wal`, `${filename}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600)
  }
}

const sqliteLayer = (filename: string, display: string): Layer.Layer<SqlClient.SqlClient, StorageError> =>
  Layer.unwrapEffect(
    Effect.map(Driver.load("sqlite"), (Sqlite) => {
      const pragmas = Layer.effectDiscard(
        Effect.gen(function* () {
          const sql = yield* Sqlite.SqliteClient
          yield* sql`PRAGMA synchronous = FULL`
          yield* sql`PRAGMA busy_timeout = ${sql.literal(String(sqliteBusyTimeoutMs))}`
          retryBusyTransactions(sql)
        })
      )
      const client = Layer.unwrapEffect(
        Effect.as(
          Effect.try(() => {
            if (filename !== ":memory:") ownerOnly(filename)
          }),
          pragmas.pipe(Layer.provideMerge(Sqlite.layer({ filename })))
        )
      )
      return client.pipe(
        Layer.catchAllCause((cause) =>
          Layer.fail(
            new StorageError({
              reason: "Unavailable",
              message: `Cannot open the SQLite database ${display}: ${describeCause(cause)}`,
              cause: Cause.squash(cause)
            })
          )
        )
      )
    })
  )

const postgresLayer = (
  url: Redacted.Redacted<string>,
  display: string
): Layer.Layer<SqlClient.SqlClient, StorageError> =>
  Layer.unwrapEffect(
    Effect.map(Driver.load("pg"), (Pg) =>
      Pg.layer({ url, applicationName: "openaudience" }).pipe(
        Layer.catchAllCause((cause) =>
          Layer.fail(
            new StorageError({
              reason: "Unavailable",
              message: `Cannot connect to PostgreSQL at ${display}: ${describeCause(cause)}`,
              cause: Cause.squash(cause)
            })
          )
        )
      )
    )
  )

/**
 * An `SqlClient` layer for a database URL (see the module doc for the forms). A malformed URL, a
 * driver that is not installed (`InvalidConfig`) or an unreachable database (`Unavailable`) fails the
 * layer with a `StorageError` whose message names the database but never its password.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromUrl = (url: string | Redacted.Redacted<string>): Layer.Layer<SqlClient.SqlClient, StorageError> =>
  Either.match(parseUrl(url), {
    onLeft: (error) => Layer.fail(error),
    onRight: (parsed) =>
      parsed._tag === "Sqlite"
        ? sqliteLayer(parsed.filename, parsed.display)
        : postgresLayer(parsed.url, parsed.display)
  })

/**
 * The default database URL for a data directory: `sqlite:<dataDir>/openaudience.db`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultUrl = (dataDir: string): string => `sqlite:${dataDir.replace(/\/+$/, "")}/openaudience.db`

/**
 * The database URL from configuration: `OA_DATABASE_URL`, or else `sqlite:$OA_DATA_DIR/openaudience.db`
 * (`OA_DATA_DIR` defaults to `./data`).
 *
 * @since 0.1.0
 * @category configs
 */
export const urlConfig: Config.Config<Redacted.Redacted<string>> = Config.redacted("OA_DATABASE_URL").pipe(
  Config.orElse(() =>
    Config.string("OA_DATA_DIR").pipe(
      Config.withDefault("./data"),
      Config.map((dataDir) => Redacted.make(defaultUrl(dataDir)))
    )
  )
)

/**
 * An `SqlClient` layer for the database named by `OA_DATABASE_URL` (see `urlConfig`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<SqlClient.SqlClient, StorageError | ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(urlConfig, layerFromUrl)
)
