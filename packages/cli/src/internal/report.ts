/**
 * What a failed command says on stderr (before exiting with code 1): one clear line, naming the option at fault
 * where there is one. The store's fields (`origins[0]`, `expiresAt`) are named as the options a user typed (`--origin`,
 * `--expires`). Usage errors of @effect/cli are printed by @effect/cli itself.
 */
import type { StorageError } from "@openaudience/storage-sql"
import type { TenancyStore } from "@openaudience/tenancy"
import type * as ConfigError from "effect/ConfigError"

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
  expiresAt: "--expires"
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

/** The line printed for a failure. */
export const describe = (error: TenancyStore.TenancyError | StorageError | ConfigError.ConfigError): string => {
  switch (error._tag) {
    case "TenancyError":
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
      break
    case "StorageError":
      return error.message
  }
  return `configuration: ${String(error)}`
}
