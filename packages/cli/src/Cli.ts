/**
 * The `openaudience` command: tenants, their sites and their API keys, the application's users, the rotation of
 * the master secret, the audit log, campaigns and the product catalog, managed in the database the server uses (`OA_DATABASE_URL`, default
 * `sqlite:$OA_DATA_DIR/openaudience.db`). Each group of subcommands is one module of `internal/` (`tenant`, `site`,
 * `key`, `user`, `keys`, `audit`, `campaign`, `catalog`); a new group is one more module and one more entry in `command`.
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
import {
  Database,
  SqlAdLog,
  SqlAuditLog,
  SqlCampaignStore,
  SqlCatalogStore,
  SqlKeyStore,
  SqlTenancyStore,
  SqlUserStore,
  type StorageError
} from "@openaudience/storage-sql"
import type * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Schema from "effect/Schema"
import * as AuditCommand from "./internal/auditCommand.js"
import * as CampaignCommand from "./internal/campaignCommand.js"
import * as CatalogCommand from "./internal/catalogCommand.js"
import type { CommandError } from "./internal/errors.js"
import * as KeyCommand from "./internal/keyCommand.js"
import * as KeysCommand from "./internal/keysCommand.js"
import * as Output from "./internal/output.js"
import * as Report from "./internal/report.js"
import * as SiteCommand from "./internal/siteCommand.js"
import * as Store from "./internal/store.js"
import * as TenantCommand from "./internal/tenantCommand.js"
import * as UserCommand from "./internal/userCommand.js"

/**
 * The command tree: `openaudience tenant|site|key|user|keys|audit|campaign|catalog …`. Its handlers need the stores of `layerStore`.
 *
 * @since 0.1.0
 * @category commands
 */
// Its input is the union of every subcommand's; named here only for the declaration file.
export const command: Command.Command<"openaudience", Store.StoreLayer, CommandError, any> = Command.make(
  "openaudience"
).pipe(
  Command.withDescription(
    "Manage OpenAudience tenants, their sites, API keys and users; rotate the master secret; verify the audit log; manage campaigns and the product catalog."
  ),
  Command.withSubcommands([
    TenantCommand.command,
    SiteCommand.command,
    KeyCommand.command,
    UserCommand.command,
    KeysCommand.command,
    AuditCommand.command,
    CampaignCommand.command,
    CatalogCommand.command
  ])
)

/**
 * What the commands work on: tenants, sites and API keys (`TenancyStore`), wrapped data keys (`KeyStore`), the
 * audit log (`AuditLog`), the application's users (`UserStore`), campaigns (`CampaignStore`), their statistics
 * (`AdLog`) and the product catalog (`CatalogStore`).
 *
 * @since 0.1.0
 * @category models
 */
export type Stores = Store.Stores

/**
 * The stores the commands use: the SQL stores on the database of `OA_DATABASE_URL` (see `Database.layerConfig`),
 * which create their tables when missing, so the commands work before the server ever ran.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore: Layer.Layer<Stores, StorageError | ConfigError.ConfigError> = Layer.mergeAll(
  SqlTenancyStore.layer,
  SqlKeyStore.layer,
  SqlAuditLog.layer,
  SqlUserStore.layer,
  SqlCampaignStore.layer,
  SqlAdLog.layer,
  SqlCatalogStore.layer
).pipe(Layer.provide(Database.layerConfig))

/**
 * A command failed, and said why on stderr (exit code 1).
 *
 * @since 0.1.0
 * @category errors
 */
export class Failed extends Schema.TaggedError<Failed>()("Failed", {}) {}

/** Prints a failure on stderr (@effect/cli printed its usage errors already) and ends as `Failed`. */
const report = (error: ValidationError.ValidationError | Report.Failure): Effect.Effect<never, Failed> =>
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
 * Runs the command line `argv` (`process.argv`: node, the script, then the arguments) against stores. Failures
 * are printed on stderr and end as `Failed` (exit code 1); the stores' layer is built only when a command needs
 * it, so `--help` works without a database.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  argv: ReadonlyArray<string>,
  store: Layer.Layer<Stores, StorageError | ConfigError.ConfigError> = layerStore
): Effect.Effect<void, Failed> =>
  Command.run(command, { name: "openaudience", version })(argv).pipe(
    Effect.catchAll(report),
    Effect.provideService(Store.StoreLayer, store),
    Effect.provide(CliConfig.layer({ showBuiltIns: false })),
    Output.withPlainConsole,
    Effect.provide(NodeContext.layer),
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true })))
  )
