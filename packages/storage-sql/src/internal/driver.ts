/**
 * The SQL drivers are optional peer dependencies: an embedded install needs only
 * `@effect/sql-sqlite-node`, a PostgreSQL one only `@effect/sql-pg`. Each driver module is imported
 * when a URL of its dialect is opened, never before, and a missing one is a `StorageError` that names
 * the package to install. The importers sit in a `Context.Reference` so a test can stand in for a
 * driver that is not installed.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { StorageError } from "../StorageError.js"

/** How each driver module is loaded. */
export interface DriverImports {
  readonly sqlite: () => Promise<typeof SqliteClient>
  readonly pg: () => Promise<typeof PgClient>
}

/** The driver importers: Node's `import()` unless a test provides others. */
export class Drivers extends Context.Reference<Drivers>()("@openaudience/storage-sql/internal/Drivers", {
  defaultValue: (): DriverImports => ({
    sqlite: () => import("@effect/sql-sqlite-node/SqliteClient"),
    pg: () => import("@effect/sql-pg/PgClient")
  })
}) {}

/** The npm package of each driver, and the URLs that need it, for the message when it is missing. */
const packages = {
  sqlite: { name: "@effect/sql-sqlite-node", dialect: "SQLite", urls: "sqlite: URLs" },
  pg: { name: "@effect/sql-pg", dialect: "PostgreSQL", urls: "postgres:// URLs" }
} as const

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Whether an import failed because the package `name` is not installed, as Node (`ERR_MODULE_NOT_FOUND`,
 * "Cannot find package 'name'") or a bundler's loader says it; not when something inside the package broke,
 * nor when another package (a dependency of the driver, or one whose name merely starts the same) is missing.
 */
export const isNotInstalled = (error: unknown, name: string): boolean => {
  if (typeof error !== "object" || error === null) return false
  const { code, message } = error as { code?: unknown; message?: unknown }
  if (typeof message !== "string") return false
  const notFound =
    code === "ERR_MODULE_NOT_FOUND" ||
    code === "MODULE_NOT_FOUND" ||
    /Cannot find (package|module)|Failed to (load|resolve)/i.test(message)
  return notFound && new RegExp(`(^|[\\s'"\`])${escapeRegExp(name)}($|[\\s'"\`/])`).test(message)
}

/**
 * Imports the driver module of a dialect, failing with `InvalidConfig` and the command that installs it
 * when the package is missing.
 */
export const load = <K extends keyof DriverImports>(
  driver: K
): Effect.Effect<Awaited<ReturnType<DriverImports[K]>>, StorageError> =>
  Effect.flatMap(Drivers, (imports) =>
    Effect.tryPromise({
      try: () => imports[driver]() as Promise<Awaited<ReturnType<DriverImports[K]>>>,
      catch: (cause) => {
        const { name, dialect, urls } = packages[driver]
        const message = isNotInstalled(cause, name)
          ? `The database URL is ${dialect}, but its driver ${name} is not installed: add it with ` +
            `\`npm install ${name}\` (an optional peer dependency of @openaudience/storage-sql, needed for ${urls} only)`
          : `Cannot load the ${dialect} driver ${name}: ${cause instanceof Error ? cause.message : String(cause)}`
        return new StorageError({ reason: "InvalidConfig", message, cause })
      }
    })
  )
