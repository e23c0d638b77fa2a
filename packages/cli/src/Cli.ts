/**
 * The `openaudience` command: tenants, their sites and their API keys, the application's users, the rotation of
 * the master secret, the audit log, campaigns, the product catalog and data-subject requests, managed in the database the server uses (`OA_DATABASE_URL`, default
 * `sqlite:$OA_DATA_DIR/openaudience.db`). Each group of subcommands is one module of `internal/` (`tenant`, `site`,
 * `key`, `user`, `keys`, `audit`, `campaign`, `catalog`, `dsar`); a new group is one more module and one more entry in `command`.
 *
 * Every command takes `--json` to print one JSON value on stdout and nothing else; failures are one line on
 * stderr, naming the option at fault, with exit code 1 (`dsar erase`: 3 when a legal hold defers it, 4 when a store
 * is out of reach).
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
import * as Cause from "effect/Cause"
import type * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as AuditCommand from "./internal/auditCommand.js"
import * as CampaignCommand from "./internal/campaignCommand.js"
import * as CatalogCommand from "./internal/catalogCommand.js"
import * as DsarCommand from "./internal/dsarCommand.js"
import * as DsarService from "./internal/dsarService.js"
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
 * The command tree: `openaudience tenant|site|key|user|keys|audit|campaign|catalog|dsar …`. Its handlers need the
 * stores of `layerStore`, and the `dsar` commands the services of `layerDsar`.
 *
 * @since 0.1.0
 * @category commands
 */
// Its input is the union of every subcommand's; named here only for the declaration file.
export const command: Command.Command<"openaudience", Store.StoreLayer | DsarService.DsarLayer, CommandError, any> =
  Command.make("openaudience").pipe(
    Command.withDescription(
      "Manage OpenAudience tenants, their sites, API keys and users; rotate the master secret; verify the audit log; manage campaigns and the product catalog; answer data-subject requests."
    ),
    Command.withSubcommands([
      TenantCommand.command,
      SiteCommand.command,
      KeyCommand.command,
      UserCommand.command,
      KeysCommand.command,
      AuditCommand.command,
      CampaignCommand.command,
      CatalogCommand.command,
      DsarCommand.command
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
 * What the `dsar` commands use: @openaudience/dsar's `Dsar` service, the subject-data `Registry` it runs over, the
 * `AuditLog`, the `TenancyStore` (the tenant must exist) and the `SqlClient` (its live schema is checked against the
 * registry).
 *
 * @since 0.1.0
 * @category models
 */
export type DsarServices = DsarService.Services

/**
 * The `dsar` commands' services on the database of `OA_DATABASE_URL`, assembled as the server assembles them:
 * storage-sql's subject-data registry and DSAR store (every storage-sql migration applied first), reports signed with
 * the key derived from the server's master secret (checked against the database), the audit log, the vault, the
 * erased visitors' tombstones. Webhooks are queued, never sent: the server sends them.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDsar: Layer.Layer<DsarServices, DsarService.LayerError> = DsarService.layer

/**
 * A command failed, and said why on stderr (exit code 1).
 *
 * @since 0.1.0
 * @category errors
 */
export class Failed extends Schema.TaggedError<Failed>()("Failed", {
  /** The process's exit code: 1, or 3 and 4 for a `dsar erase` deferred by a legal hold or a store out of reach. */
  exitCode: Schema.optional(Schema.Int)
}) {}

/**
 * The exit code of a run that ended with `exit`: 0 on success, the `exitCode` of `Failed` (1 unless it says
 * otherwise) on failure; for `NodeRuntime.runMain`'s `teardown`.
 *
 * @since 0.1.0
 * @category running
 */
export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number =>
  Exit.isSuccess(exit)
    ? 0
    : Option.match(Cause.failureOption(exit.cause), {
        onNone: () => (Cause.isInterruptedOnly(exit.cause) ? 0 : 1),
        onSome: (failed) => (failed instanceof Failed ? (failed.exitCode ?? 1) : 1)
      })

/** Prints a failure on stderr (@effect/cli printed its usage errors already) and ends as `Failed`. */
const report = (error: ValidationError.ValidationError | Report.Failure): Effect.Effect<never, Failed> =>
  ValidationError.isValidationError(error)
    ? new Failed()
    : Effect.zipRight(
        Console.error(`openaudience: ${Report.describe(error)}`),
        new Failed(error._tag === "Unsuccessful" && error.exitCode !== undefined ? { exitCode: error.exitCode } : {})
      )

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
 * Runs the command line `argv` (`process.argv`: node, the script, then the arguments) against stores (and the
 * `dsar` commands against `dsar`). Failures are printed on stderr and end as `Failed` (see `exitCodeOf`); the
 * layers are built only when a command needs them, so `--help` works without a database.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  argv: ReadonlyArray<string>,
  store: Layer.Layer<Stores, StorageError | ConfigError.ConfigError> = layerStore,
  dsar: Layer.Layer<DsarServices, DsarService.LayerError> = layerDsar
): Effect.Effect<void, Failed> =>
  Command.run(command, { name: "openaudience", version })(argv).pipe(
    Effect.catchAll(report),
    Effect.provideService(Store.StoreLayer, store),
    Effect.provideService(DsarService.DsarLayer, dsar),
    Effect.provide(CliConfig.layer({ showBuiltIns: false })),
    Output.withPlainConsole,
    Effect.provide(NodeContext.layer),
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true })))
  )
