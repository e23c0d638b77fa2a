/**
 * The one error of the storage layer. Every failure — a bad database URL, an unreachable server, a
 * failed statement, an event that cannot be stored — is a `StorageError` whose `reason` tells callers
 * which case they are in (for example to answer 503 on `Unavailable` and 500 otherwise).
 *
 * @since 0.1.0
 */
import type { SqlError } from "@effect/sql/SqlError"
import * as Schema from "effect/Schema"

/**
 * Why a storage operation failed.
 *
 * - `InvalidConfig`: the database URL or configuration is malformed.
 * - `InvalidInput`: a value handed to the store cannot be stored (not JSON, not an integer, empty key).
 * - `Unavailable`: the database cannot be reached or is busy; retrying later may succeed.
 * - `QueryFailed`: a statement failed.
 * - `MigrationFailed`: the schema could not be brought up to date.
 * - `CorruptData`: a stored row could not be read back (for example invalid JSON).
 *
 * @since 0.1.0
 * @category models
 */
export const StorageErrorReason = Schema.Literal(
  "InvalidConfig",
  "InvalidInput",
  "Unavailable",
  "QueryFailed",
  "MigrationFailed",
  "CorruptData"
)

/**
 * The reason of a `StorageError`.
 *
 * @since 0.1.0
 * @category models
 */
export type StorageErrorReason = typeof StorageErrorReason.Type

/**
 * A failed storage operation, with a reason callers can match on and a message for humans.
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageError extends Schema.TaggedError<StorageError>("@openaudience/storage-sql/StorageError")(
  "StorageError",
  {
    reason: StorageErrorReason,
    message: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {}

const unavailableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "57P01",
  "57P02",
  "57P03",
  "53300",
  // query_canceled: a statement timeout, or the request that ran it went away; worth retrying, not a defect.
  "57014"
])

/**
 * PostgreSQL's codes for a value that cannot be a parameter at all: a NUL or a byte sequence invalid in the
 * database's encoding (text from a request: ids in paths, query parameters), a string too long for its column, a
 * number out of range. The request was wrong, not the database.
 */
const invalidInputCodes = new Set(["22021", "22P05", "22001", "22003", "22P02"])

const causeText = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message
  if (typeof cause === "string") return cause
  return ""
}

const causeCode = (cause: unknown): string | undefined => {
  if (typeof cause === "object" && cause !== null && "code" in cause) {
    const code = (cause as { readonly code: unknown }).code
    return typeof code === "string" ? code : undefined
  }
  return undefined
}

/**
 * Wraps an `SqlError` from @effect/sql into a `StorageError`, naming the operation that failed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSqlError =
  (operation: string) =>
  (error: SqlError): StorageError => {
    const code = causeCode(error.cause)
    const detail = causeText(error.cause)
    const unavailable =
      (code !== undefined && unavailableCodes.has(code)) || /connect|connection|timed out/i.test(error.message)
    return new StorageError({
      reason: unavailable
        ? "Unavailable"
        : code !== undefined && invalidInputCodes.has(code)
          ? "InvalidInput"
          : "QueryFailed",
      message: `${operation} failed: ${error.message}${detail === "" ? "" : `: ${detail}`}`,
      cause: error
    })
  }
