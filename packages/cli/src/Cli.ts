/**
 * The `openaudience` command: tenants, their sites and their API keys, managed in the database the server uses
 * (`OA_DATABASE_URL`, default `sqlite:$OA_DATA_DIR/openaudience.db`). Each group of subcommands is one module of
 * `internal/` (`tenant`, `site`, `key`); a new group is one more module and one more entry in `command`.
 *
 * Every command takes `--json` to print one JSON value on stdout and nothing else; failures are one line on
 * stderr, naming the option at fault, with exit code 1.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Database, type StorageError, SqlTenancyStore } from "@openaudience/storage-sql"
import type { TenancyStore } from "@openaudience/tenancy"
import type * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Schema from "effect/Schema"
import * as KeyCommand from "./internal/keyCommand.js"
import * as Output from "./internal/output.js"
import * as Report from "./internal/report.js"
import * as SiteCommand from "./internal/siteCommand.js"
import * as Store from "./internal/store.js"
import * as TenantCommand from "./internal/tenantCommand.js"

/**
 * The command tree: `openaudience tenant|site|key …`. Its handlers need a `TenancyStore`.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("openaudience").pipe(
  Command.withDescription("Manage OpenAudience tenants, their sites and their API keys."),
  Command.withSubcommands([TenantCommand.command, SiteCommand.command, KeyCommand.command])
)

/**
 * The store the commands use: the SQL store on the database of `OA_DATABASE_URL` (see `Database.layerConfig`),
 * which creates its tables when missing, so the commands work before the server ever ran.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore: Layer.Layer<TenancyStore.TenancyStore, StorageError | ConfigError.ConfigError> =
  SqlTenancyStore.layer.pipe(Layer.provide(Database.layerConfig))

/**
 * A command failed, and said why on stderr (exit code 1).
 *
 * @since 0.1.0
 * @category errors
 */
export class Failed extends Schema.TaggedError<Failed>()("Failed", {}) {}

/** Prints a failure on stderr (@effect/cli printed its usage errors already) and ends as `Failed`. */
const report = (
  error: ValidationError.ValidationError | TenancyStore.TenancyError | StorageError | ConfigError.ConfigError
): Effect.Effect<never, Failed> =>
  ValidationError.isValidationError(error)
    ? new Failed()
    : Effect.zipRight(Console.error(`openaudience: ${Report.describe(error)}`), new Failed())

/** The package's version, read from its package.json (one folder above both src/ and dist/). */
const version: string = (() => {
  try {
    const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
    return typeof manifest.version === "string" ? manifest.version : "unknown"
  } catch {
    return "unknown"
  }
})()

/**
 * Runs the command line `argv` (`process.argv`: node, the script, then the arguments) against a store. Failures
 * are printed on stderr and end as `Failed` (exit code 1); the store's layer is built only when a command needs
 * it, so `--help` works without a database.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  argv: ReadonlyArray<string>,
  store: Layer.Layer<TenancyStore.TenancyStore, StorageError | ConfigError.ConfigError> = layerStore
): Effect.Effect<void, Failed> =>
  Command.run(command, { name: "openaudience", version })(argv).pipe(
    Effect.catchAll(report),
    Effect.provideService(Store.StoreLayer, store),
    Effect.provide(CliConfig.layer({ showBuiltIns: false })),
    Output.withPlainConsole,
    Effect.provide(NodeContext.layer),
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true })))
  )
