/**
 * Checks for the personal data of application users before it is encrypted: IBAN and BIC validation (with the
 * `ibantools` library, MIT), a refusal of anything that looks like a payment card number (cards are never stored:
 * a payment processor's token is), and the normalization of email addresses for blind indexes. Each check returns
 * an `Either` (usable as an Effect) whose error names the field, never the value, so an HTTP adapter can answer a
 * 400 problem pointing at the field without echoing a card number into a response or a log.
 *
 * @since 0.1.0
 */
import { Pii } from "@openaudience/anonymizer"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { electronicFormatIBAN, validateBIC, validateIBAN, ValidationErrorsIBAN } from "ibantools"

/**
 * A field value that is refused: `InvalidIban`, `InvalidBic`, or `CardNumber` (it looks like a payment card).
 *
 * @since 0.1.0
 * @category errors
 */
export class FieldError extends Schema.TaggedError<FieldError>()("FieldError", {
  field: Schema.String,
  reason: Schema.Literal("InvalidIban", "InvalidBic", "CardNumber"),
  message: Schema.String
}) {}

const ibanProblems: Partial<Record<ValidationErrorsIBAN, string>> = {
  [ValidationErrorsIBAN.NoIBANProvided]: "it is empty",
  [ValidationErrorsIBAN.NoIBANCountry]: "it does not start with a known country code",
  [ValidationErrorsIBAN.WrongBBANLength]: "its length is wrong for its country",
  [ValidationErrorsIBAN.WrongBBANFormat]: "its account part has the wrong format for its country",
  [ValidationErrorsIBAN.ChecksumNotNumber]: "its check digits are not digits",
  [ValidationErrorsIBAN.WrongIBANChecksum]: "its check digits are wrong (a typo?)",
  [ValidationErrorsIBAN.WrongAccountBankBranchChecksum]: "its national account check digits are wrong"
}

/**
 * An IBAN, validated (country, length, format, check digits) and returned in electronic form (`DE89370400440532013000`:
 * upper case, no spaces).
 *
 * @since 0.1.0
 * @category validation
 */
export const iban = (field: string, value: string): Either.Either<string, FieldError> => {
  const electronic = electronicFormatIBAN(value.trim()) ?? ""
  const result = validateIBAN(electronic)
  if (result.valid) return Either.right(electronic)
  const why = result.errorCodes.map((code) => ibanProblems[code] ?? "it is not accepted").join(", ")
  return Either.left(
    new FieldError({ field, reason: "InvalidIban", message: `Field ${field} is not a valid IBAN: ${why}` })
  )
}

/**
 * A BIC (SWIFT code, 8 or 11 characters), validated and returned in upper case without spaces.
 *
 * @since 0.1.0
 * @category validation
 */
export const bic = (field: string, value: string): Either.Either<string, FieldError> => {
  const compact = value.replace(/\s+/g, "").toUpperCase()
  return validateBIC(compact).valid
    ? Either.right(compact)
    : Either.left(
        new FieldError({
          field,
          reason: "InvalidBic",
          message: `Field ${field} is not a valid BIC: 8 or 11 characters, bank code, country code, location (and branch)`
        })
      )
}

// Runs of digits with single spaces or dashes between groups: each one is checked on its own, so a card number
// next to an email address or an IP in the same value is still found.
const digitRuns = /\d+(?:[ -]\d+)*/g

/**
 * The value unchanged, unless it holds something that looks like a payment card number (a Luhn-valid run of 13 to
 * 19 digits, as @openaudience/anonymizer's `Pii.detect` finds them): then an error naming the field. Apply it to
 * every free-text field of personal data (not to an IBAN field, whose digits are validated by `iban`).
 *
 * @since 0.1.0
 * @category validation
 */
export const refuseCard = (field: string, value: string): Either.Either<string, FieldError> => {
  const card =
    Pii.detect(value, { tokens: false }) === "card" ||
    Array.from(value.matchAll(digitRuns)).some((run) => Pii.detect(run[0], { tokens: false }) === "card")
  return card
    ? Either.left(
        new FieldError({
          field,
          reason: "CardNumber",
          message: `Field ${field} looks like a payment card number: card numbers are never stored (keep the payment processor's token instead)`
        })
      )
    : Either.right(value)
}

/**
 * An email address as blind indexes expect it: trimmed, Unicode NFC, lower case. Nothing else: plus addresses
 * (`ann+news@…`) and dots are kept, as they name different mailboxes on many providers, and internationalized
 * domains are not converted between Unicode and punycode (`xn--`), so the two spellings index differently.
 *
 * @since 0.1.0
 * @category normalization
 */
export const normalizeEmail = (email: string): string => email.trim().normalize("NFC").toLowerCase()
