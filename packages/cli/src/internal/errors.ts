/**
 * What the commands fail with, named once: declaration files must name these types through the packages' public
 * entry points (inferred, they would point into other packages' sources).
 */
import type { AccountsError } from "@openaudience/accounts"
import type { AuditError } from "@openaudience/audit"
import type { StorageError } from "@openaudience/storage-sql"
import type { TenancyStore } from "@openaudience/tenancy"
import type { SecretCheck, Vault } from "@openaudience/vault"
import type * as ConfigError from "effect/ConfigError"
import type { Unsuccessful } from "./report.js"

/** Any failure of a command's handler. */
export type CommandError =
  | StorageError
  | ConfigError.ConfigError
  | AuditError
  | TenancyStore.TenancyError
  | SecretCheck.SecretCheckError
  | Vault.VaultError
  | AccountsError
  | Unsuccessful
