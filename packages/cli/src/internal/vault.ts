/**
 * The vault of the commands that encrypt, decrypt or re-wrap personal data: the master secrets the server uses
 * (`OA_SECRET`, else the development secret in `OA_DATA_DIR/dev-secret.key`, and `OA_SECRET_PREVIOUS`; read by
 * @openaudience/vault's `MasterKeys.loadOrCreate`, as the server reads them), checked against the database like
 * the server checks them at start, over the key store of `withStore`. Built only when such a command runs.
 */
import * as Command from "@effect/cli/Command"
import { type KeyStore, MasterKeys, SecretCheck, Vault } from "@openaudience/vault"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** `OA_DATA_DIR`, as the server reads it. */
export const dataDir: Config.Config<string> = Config.string("OA_DATA_DIR").pipe(Config.withDefault("./data"))

/** The vault over these master secrets, checked (refused, as the server would refuse to start, when they changed). */
export const layerOf = (
  secrets: MasterKeys.Secrets
): Layer.Layer<Vault.Vault, SecretCheck.SecretCheckError, KeyStore.KeyStore> =>
  Vault.layer.pipe(Layer.provide(SecretCheck.layer(secrets)))

/** The vault over the checked master secrets (refused, as the server would refuse to start, when they changed). */
export const layer: Layer.Layer<
  Vault.Vault,
  SecretCheck.SecretCheckError | ConfigError.ConfigError,
  KeyStore.KeyStore
> = Layer.unwrapEffect(Effect.map(Effect.flatMap(dataDir, MasterKeys.loadOrCreate), layerOf))

/** Provides the vault to a command (inside `withStore`, which gives it the key store). */
export const withVault = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>) =>
  Command.provide(command, layer)
