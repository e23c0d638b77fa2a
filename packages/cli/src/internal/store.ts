/**
 * How a command gets its `TenancyStore`: `Cli.run` puts the store's layer (not the store) in context, and each
 * command that needs a store builds it when it runs (`withStore`). A group such as `openaudience tenant`, or
 * `--help` anywhere, then prints its help without opening the database.
 */
import * as Command from "@effect/cli/Command"
import type { StorageError } from "@openaudience/storage-sql"
import type { TenancyStore } from "@openaudience/tenancy"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/** The layer of the store the commands use. */
export class StoreLayer extends Context.Tag("@openaudience/cli/StoreLayer")<
  StoreLayer,
  Layer.Layer<TenancyStore.TenancyStore, StorageError | ConfigError.ConfigError>
>() {}

const store = Layer.unwrapEffect(StoreLayer)

/** Provides the store to a command that needs one, built when the command runs. */
export const withStore = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>) =>
  Command.provide(command, store)
