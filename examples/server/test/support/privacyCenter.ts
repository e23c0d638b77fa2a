/**
 * Helpers for the privacy center's tests: the reference server started in-process with every log line it writes
 * captured (Effect's loggers at every level, and the console), fflate's `unzipSync` for the CSV download, and a
 * read-only look through storage-sql's subject-data registry at what the server's SQLite file holds of a subject.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type { Subject } from "@openaudience/dsar"
import { SqlSubjectStores } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { format } from "node:util"
import * as App from "../../src/App.js"
import { Listening } from "../../src/HttpServer.js"
import * as ServerConfig from "../../src/ServerConfig.js"
import { adminKey, type TestServer } from "./server.js"

/** A test server whose log output is kept. */
export interface LoggedServer extends TestServer {
  /** Everything logged so far, one entry a line. */
  readonly logs: () => ReadonlyArray<string>
  /** The SQLite file the server stores in. */
  readonly database: string
}

const consoleMethods = ["log", "info", "warn", "error", "debug", "trace"] as const

/**
 * Starts the whole server like `startServer`, with Effect's logger replaced by one that keeps every line (all
 * levels) and the console's methods recorded while it runs.
 */
export const startLoggedServer = async (
  overrides: Partial<ServerConfig.ServerConfigShape> = {}
): Promise<LoggedServer> => {
  const lines: Array<string> = []
  const originals = consoleMethods.map((name) => [name, console[name]] as const)
  for (const [name, original] of originals) {
    console[name] = (...args: Array<unknown>) => {
      lines.push(`console.${name}: ${format(...args)}`)
      original.apply(console, args)
    }
  }
  const keep = Logger.make((options) => {
    lines.push(Logger.logfmtLogger.log(options))
  })
  const dataDir = mkdtempSync(join(tmpdir(), "oa-server-"))
  const database = join(dataDir, "test.db")
  const config = ServerConfig.layerTest({
    dataDir,
    databaseUrl: `sqlite:${database}`,
    ...overrides,
    demoAdminKey: overrides.demoAdminKey ?? Redacted.make(adminKey)
  })
  const logging = Layer.merge(Logger.replace(Logger.defaultLogger, keep), Logger.minimumLogLevel(LogLevel.All))
  const runtime = ManagedRuntime.make(
    App.layer.pipe(Layer.provide(config), Layer.provide(NodeContext.layer), Layer.provideMerge(logging))
  )
  const { port, routes } = await runtime.runPromise(Listening)
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    database,
    routes,
    logs: () => lines,
    stop: async () => {
      await runtime.dispose()
      for (const [name, original] of originals) console[name] = original
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/** What each registered store of the server's database holds of a subject (store name → rows), read-only. */
export const heldBySubject = (database: string, subject: Subject.Subject): Promise<Record<string, number>> =>
  Effect.gen(function* () {
    const held: Record<string, number> = {}
    for (const store of yield* SqlSubjectStores.stores) {
      held[store.name] = yield* store.count(subject)
    }
    return held
  }).pipe(Effect.provide(SqliteClient.layer({ filename: database, readonly: true })), Effect.scoped, Effect.runPromise)

// fflate is a dependency of @openaudience/dsar (which builds the ZIP), not of this app: it is loaded from there.
const fflate = createRequire(
  fileURLToPath(new URL("../../node_modules/@openaudience/dsar/package.json", import.meta.url))
)("fflate") as {
  readonly unzipSync: (data: Uint8Array) => Record<string, Uint8Array>
}

/** The files of a ZIP archive, by name, as text. */
export const unzipText = (zip: Uint8Array): Record<string, string> =>
  Object.fromEntries(
    Object.entries(fflate.unzipSync(zip)).map(([name, bytes]) => [name, new TextDecoder().decode(bytes)])
  )
