/**
 * How a command gets its stores: `Cli.run` puts the stores' layer (not the stores) in context, and each command
 * that needs them builds it when it runs (`withStore`). A group such as `openaudience tenant`, or `--help`
 * anywhere, then prints its help without opening the database.
 */
import * as Command from "@effect/cli/Command"
import type { UserStore } from "@openaudience/accounts"
import type { AdLog, CampaignStore } from "@openaudience/ad-selector"
import type { AuditLog } from "@openaudience/audit"
import type { CatalogStore } from "@openaudience/catalog"
import type { StorageError } from "@openaudience/storage-sql"
import type { TenancyStore } from "@openaudience/tenancy"
import type { KeyStore } from "@openaudience/vault"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/**
 * What the commands work on: tenants, sites and keys; wrapped data keys; the audit log; the application's users;
 * campaigns, their ad log and the product catalog.
 */
export type Stores =
  | TenancyStore.TenancyStore
  | KeyStore.KeyStore
  | AuditLog.AuditLog
  | UserStore.UserStore
  | CampaignStore.CampaignStore
  | AdLog.AdLog
  | CatalogStore.CatalogStore

/** The layer of the stores the commands use. */
export class StoreLayer extends Context.Tag("@openaudience/cli/StoreLayer")<
  StoreLayer,
  Layer.Layer<Stores, StorageError | ConfigError.ConfigError>
>() {}

const store = Layer.unwrapEffect(StoreLayer)

/** Provides the stores to a command that needs them, built when the command runs. */
export const withStore = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>) =>
  Command.provide(command, store)
