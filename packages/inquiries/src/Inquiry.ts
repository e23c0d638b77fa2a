/**
 * An inquiry sent through a tenant's public contact form, kept for one purpose: answering it. The model holds the
 * sender's name, email address and message (encrypted at rest, see `Inquiries`), its status and two times, and
 * nothing else: it has no place for a visitor key, a cookie, an IP address or a user agent, so an inquiry is never
 * joined with tracking data. This module is the model, the validation of what a form sends (errors name the field,
 * never echo the value), the error type, and who may read inquiries (`readers`).
 *
 * @since 0.1.0
 */
import type { Role } from "@openaudience/tenancy"
import { Fields } from "@openaudience/vault"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * The roles that may read inquiries (list, get, and the decrypted name, email and message): `owner` and `privacy`.
 * An HTTP adapter checks the caller's role against this list before calling `list` or `get`; `admin`, `analyst`,
 * `ingest` and `partner` keys never see an inquiry.
 *
 * @since 0.1.0
 * @category models
 */
export const readers: ReadonlyArray<Role.Role> = ["owner", "privacy"]

/**
 * Whether `role` may read inquiries (is one of `readers`).
 *
 * @since 0.1.0
 * @category models
 */
export const canRead = (role: Role.Role): boolean => readers.includes(role)

/**
 * An inquiry id: `inq_` and 32 random hex digits (128 bits).
 *
 * @since 0.1.0
 * @category models
 */
export const InquiryId = Schema.String.pipe(Schema.pattern(/^inq_[0-9a-f]{32}$/)).annotations({
  identifier: "InquiryId"
})

/**
 * Where an inquiry is: `open` (new), `answered` (someone replied; still kept), `closed` (done: the retention period
 * starts at `closedAt`).
 *
 * @since 0.1.0
 * @category models
 */
export const Status = Schema.Literal("open", "answered", "closed")

/**
 * Where an inquiry is.
 *
 * @since 0.1.0
 * @category models
 */
export type Status = typeof Status.Type

/**
 * An inquiry without its personal data: what `submit`, `answer` and `close` return.
 *
 * @since 0.1.0
 * @category models
 */
export const Summary = Schema.Struct({
  id: InquiryId,
  tenant: Schema.String,
  createdAt: Schema.Int,
  status: Status,
  closedAt: Schema.NullOr(Schema.Int)
})

/**
 * An inquiry without its personal data.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary extends Schema.Schema.Type<typeof Summary> {}

/**
 * An inquiry, decrypted. The name, email address and message are `Redacted`, so logging an inquiry never prints
 * them (`Redacted.value` reads them).
 *
 * @since 0.1.0
 * @category models
 */
export const Inquiry = Schema.Struct({
  ...Summary.fields,
  name: Schema.Redacted(Schema.String),
  email: Schema.Redacted(Schema.String),
  message: Schema.Redacted(Schema.String)
})

/**
 * An inquiry, decrypted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Inquiry extends Schema.Schema.Type<typeof Inquiry> {}

/**
 * What a contact form sends, as it arrives (each value is checked, so `unknown` is fine). `honeypot` is a form
 * field hidden from people (a bot fills it in): when it holds anything, the inquiry is refused with reason `Spam`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Input {
  readonly name: unknown
  readonly email: unknown
  readonly message: unknown
  readonly honeypot?: unknown
}

/**
 * An inquiry's fields, checked and cleaned (what `validate` returns).
 *
 * @since 0.1.0
 * @category models
 */
export interface Valid {
  readonly name: string
  readonly email: string
  readonly message: string
}

/**
 * Why an inquiry operation failed.
 *
 * - `InvalidInput`: a field is missing or malformed, or looks like a card number (`field` names it).
 * - `Spam`: the honeypot field was filled in (`field` is `honeypot`).
 * - `RateLimited`: too many inquiries from one address key (`retryAfterMs` says when to try again).
 * - `NotFound`: no such inquiry in this tenant (another tenant's inquiry is `NotFound` too).
 * - `Conflict`: the change does not apply (answering a closed inquiry).
 * - `Unreadable`: a stored inquiry does not decrypt (altered, or its master secret is not configured).
 * - `Unavailable`: the store or the key store cannot be reached; try again.
 *
 * @since 0.1.0
 * @category errors
 */
export const InquiryErrorReason = Schema.Literal(
  "InvalidInput",
  "Spam",
  "RateLimited",
  "NotFound",
  "Conflict",
  "Unreadable",
  "Unavailable"
)

/**
 * A failed inquiry operation. The message names the field, never its value.
 *
 * @since 0.1.0
 * @category errors
 */
export class InquiryError extends Schema.TaggedError<InquiryError>()("InquiryError", {
  reason: InquiryErrorReason,
  message: Schema.String,
  field: Schema.optional(Schema.String),
  retryAfterMs: Schema.optional(Schema.Int),
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * An `InvalidInput` failure naming `field`.
 *
 * @since 0.1.0
 * @category errors
 */
export const invalid = (field: string, message: string): InquiryError =>
  new InquiryError({ reason: "InvalidInput", field, message: `${field}: ${message}` })

/**
 * A `NotFound` failure for inquiry `id`.
 *
 * @since 0.1.0
 * @category errors
 */
export const notFound = (id: string): InquiryError =>
  new InquiryError({ reason: "NotFound", message: `No inquiry ${JSON.stringify(id)} in this tenant` })

/** Limits, in Unicode code points. */
const limits = { name: 200, message: 5000, email: 254, emailLocal: 64 } as const

const length = (value: string): number => {
  let n = 0
  for (const _ of value) n++
  return n
}

// Every control character (C0, DEL, C1).
const controls = /\p{Cc}/gu
// Control characters a message keeps: newline and tab.
const messageControls = /[^\P{Cc}\n\t]/gu

const text = (field: string, value: unknown): Either.Either<string, InquiryError> =>
  typeof value === "string" ? Either.right(value.normalize("NFC")) : Either.left(invalid(field, "expected text"))

const sized = (field: string, value: string, max: number): Either.Either<string, InquiryError> => {
  const n = length(value)
  if (n === 0) return Either.left(invalid(field, "is empty"))
  if (n > max) return Either.left(invalid(field, `is longer than ${max} characters`))
  return Either.right(value)
}

const noCard = (field: string, value: string): Either.Either<string, InquiryError> =>
  Either.mapLeft(
    Fields.refuseCard(field, value),
    (error) => new InquiryError({ reason: "InvalidInput", field, message: error.message })
  )

/**
 * Checks a name: text, line breaks and tabs turned into spaces, other control characters removed, trimmed, 1 to
 * 200 characters, no card number.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateName = (value: unknown): Either.Either<string, InquiryError> =>
  Either.gen(function* () {
    const raw = yield* text("name", value)
    const cleaned = raw
      .replace(/[\t\n\r]/g, " ")
      .replace(controls, "")
      .trim()
    yield* sized("name", cleaned, limits.name)
    return yield* noCard("name", cleaned)
  })

// One dot-separated label of a domain: letters (any script), digits, hyphens, not at either end.
const label = String.raw`[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?`
const domainPattern = new RegExp(`^(?:${label}\\.)+${label}$`, "u")
// The local part: printable characters other than spaces, quotes, brackets, commas, semicolons, colons,
// backslashes and @ (no quoted local parts); dots only between other characters.
const localPattern = /^[^\s\p{Cc}"(),:;<>@[\\\].]+(?:\.[^\s\p{Cc}"(),:;<>@[\\\].]+)*$/u

/**
 * Checks an email address and normalizes it (`Fields.normalizeEmail`: trimmed, NFC, lower case): one `@`, a local
 * part of at most 64 characters without spaces, quotes or brackets and with dots only between characters, a domain
 * of at least two labels, at most 254 characters in all, no card number. Deliverability is not checked.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateEmail = (value: unknown): Either.Either<string, InquiryError> =>
  Either.gen(function* () {
    const raw = yield* text("email", value)
    const email = Fields.normalizeEmail(raw)
    yield* sized("email", email, limits.email)
    const at = email.lastIndexOf("@")
    const local = email.slice(0, at)
    const domain = email.slice(at + 1)
    if (at < 0 || length(local) > limits.emailLocal || !localPattern.test(local) || !domainPattern.test(domain)) {
      return yield* Either.left(invalid("email", "expected an email address such as name@example.com"))
    }
    return yield* noCard("email", email)
  })

/**
 * Checks a message: text, line endings turned into `\n`, control characters other than newlines and tabs removed,
 * trimmed, 1 to 5,000 characters, no card number.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateMessage = (value: unknown): Either.Either<string, InquiryError> =>
  Either.gen(function* () {
    const raw = yield* text("message", value)
    const cleaned = raw.replace(/\r\n?/g, "\n").replace(messageControls, "").trim()
    yield* sized("message", cleaned, limits.message)
    return yield* noCard("message", cleaned)
  })

/**
 * Checks what a contact form sent: the honeypot first (filled in: `Spam`), then the name, email address and
 * message, failing on the first bad field with an error naming it.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (input: Input): Either.Either<Valid, InquiryError> =>
  Either.gen(function* () {
    const honeypot = input.honeypot
    if (honeypot !== undefined && honeypot !== null && honeypot !== "") {
      return yield* Either.left(
        new InquiryError({ reason: "Spam", field: "honeypot", message: "honeypot: this field must stay empty" })
      )
    }
    const name = yield* validateName(input.name)
    const email = yield* validateEmail(input.email)
    const message = yield* validateMessage(input.message)
    return { name, email, message }
  })

/**
 * The decrypted inquiry of a summary and its fields.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decrypted = (summary: Summary, fields: Valid): Inquiry => ({
  ...summary,
  name: Redacted.make(fields.name),
  email: Redacted.make(fields.email),
  message: Redacted.make(fields.message)
})
