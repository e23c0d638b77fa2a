/**
 * What a failed command says on stderr (before exiting with code 1): one clear line, naming the option at fault
 * where there is one. The store's fields (`origins[0]`, `expiresAt`) are named as the options a user typed (`--origin`,
 * `--expires`). Usage errors of @effect/cli are printed by @effect/cli itself.
 */
import type { AccountsError } from "@openaudience/accounts"
import type { AuditError } from "@openaudience/audit"
import type { StorageError } from "@openaudience/storage-sql"
import type { TenancyStore } from "@openaudience/tenancy"
import type { SecretCheck, Vault } from "@openaudience/vault"
import type * as ConfigError from "effect/ConfigError"
import * as Schema from "effect/Schema"

/**
 * A command that ran and found something wrong (a broken audit chain, keys it could not re-wrap): it printed its
 * result on stdout, and ends with this message on stderr and exit code 1 (or `exitCode`).
 */
export class Unsuccessful extends Schema.TaggedError<Unsuccessful>()("Unsuccessful", {
  message: Schema.String,
  /** The exit code, when not 1 (`dsar erase`: 3 for a legal hold, 4 for a store out of reach). */
  exitCode: Schema.optional(Schema.Int)
}) {}

/** Every failure a command can end with (besides @effect/cli's usage errors). */
export type Failure =
  | TenancyStore.TenancyError
  | StorageError
  | ConfigError.ConfigError
  | Vault.VaultError
  | SecretCheck.SecretCheckError
  | AuditError
  | AccountsError
  | Unsuccessful

/** The option of each field of the store's inputs. */
const optionOf: Readonly<Record<string, string>> = {
  id: "--id",
  name: "--name",
  siteKey: "--site-key",
  origins: "--origin",
  urlParams: "--param",
  cookieless: "--cookieless",
  childDirected: "--child-directed",
  role: "--role",
  partner: "--partner",
  expiresAt: "--expires",
  email: "--email",
  tenant: "--tenant"
}

/** What a field's message says where the store's wording fits the API better than the command line. */
const hintOf: Readonly<Record<string, string>> = {
  expiresAt: "expected a date or date-time in the future"
}

/**
 * The store's `InvalidInput` message, for the option the user typed. The store names the field (`origins`) and
 * starts its message with the field or the item at fault (`origins[1]: …`); the item becomes "value 2".
 */
const invalidInput = (field: string, message: string): string => {
  const base = field.replace(/\[\d+\]$/, "")
  const option = optionOf[base] ?? field
  const label = /^([A-Za-z]+)(?:\[(\d+)\])?: /.exec(message)
  const labelled = label !== null && label[1] === base
  const index = /\[(\d+)\]$/.exec(field)?.[1] ?? (labelled ? label[2] : undefined)
  const which = index === undefined ? option : `${option} (value ${Number(index) + 1})`
  return `invalid ${which}: ${hintOf[base] ?? (labelled ? message.slice(label[0].length) : message)}`
}

/** The line of a store's or service's failure with a reason shared by tenancy and accounts; `undefined` for others. */
const byReason = (error: {
  readonly reason: string
  readonly message: string
  readonly field?: string | undefined
}): string | undefined => {
  switch (error.reason) {
    case "InvalidInput":
      return invalidInput(error.field ?? "", error.message)
    case "NotFound":
      return `not found: ${error.message}`
    case "Conflict":
      return `conflict: ${error.message}`
    case "Unavailable":
      return `the database is unavailable, try again: ${error.message}`
  }
  return undefined
}

/** The line printed for a failure. */
export const describe = (error: Failure): string => {
  switch (error._tag) {
    case "TenancyError":
    case "AccountsError":
      return byReason(error) ?? error.message
    case "SecretCheckError":
      return `master secret refused: ${error.message}`
    case "VaultError":
      return `vault: ${error.message}`
    case "AuditError":
      return `audit log: ${error.message}`
    case "StorageError":
    case "Unsuccessful":
      return error.message
  }
  return `configuration: ${String(error)}`
}
