/**
 * The application's own users (an advertiser's staff): their models as callers see them (decrypted), the roles a
 * user may have, and the validation of profile fields before they are encrypted. Every personal field is checked
 * for card numbers (`Fields.refuseCard` of @openaudience/vault: card numbers are never stored); bank details are
 * validated as IBAN and BIC.
 *
 * @since 0.1.0
 */
import type { Role } from "@openaudience/tenancy"
import { Fields } from "@openaudience/vault"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type AccountsError, invalid } from "./AccountsError.js"

/**
 * The roles of a user: the tenancy roles meant for people (`ingest` and `partner` are for API keys only).
 *
 * @since 0.1.0
 * @category models
 */
export const UserRole = Schema.Literal("owner", "admin", "analyst", "privacy")

/**
 * @since 0.1.0
 * @category models
 */
export type UserRole = typeof UserRole.Type

/**
 * A user's role as a tenancy `Role`, for `Role.can`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const toRole = (role: UserRole): Role.Role => role

/**
 * `invited` until the invitation is accepted, then `active`; `disabled` users cannot log in.
 *
 * @since 0.1.0
 * @category models
 */
export const UserStatus = Schema.Literal("invited", "active", "disabled")

/**
 * @since 0.1.0
 * @category models
 */
export type UserStatus = typeof UserStatus.Type

/**
 * Bank details: an IBAN (electronic form) and optionally a BIC.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bank {
  readonly iban: string
  readonly bic: string | null
}

/**
 * The personal fields a user can set. Each one is stored encrypted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Profile {
  readonly firstName?: string | null | undefined
  readonly lastName?: string | null | undefined
  readonly phone?: string | null | undefined
  /** The employment mailing address, as free text. */
  readonly mailingAddress?: string | null | undefined
  readonly bank?: { readonly iban: string; readonly bic?: string | null | undefined } | null | undefined
}

/**
 * A user, decrypted.
 *
 * @since 0.1.0
 * @category models
 */
export interface User {
  readonly tenant: string
  readonly id: string
  readonly email: string
  readonly firstName: string | null
  readonly lastName: string | null
  readonly phone: string | null
  readonly mailingAddress: string | null
  readonly bank: Bank | null
  readonly role: UserRole
  readonly status: UserStatus
  readonly createdAt: number
  readonly totp: boolean
}

/**
 * The profile fields that are free text, with their limits (characters).
 *
 * @since 0.1.0
 * @category models
 */
export const textFields = { firstName: 100, lastName: 100, phone: 40, mailingAddress: 500 } as const

/**
 * A validated profile: text trimmed (an empty one becomes `null`), bank details validated; `undefined` for a field
 * that is not changed.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValidProfile {
  readonly firstName?: string | null
  readonly lastName?: string | null
  readonly phone?: string | null
  readonly mailingAddress?: string | null
  readonly bank?: Bank | null
}

const fromField = <A>(result: Either.Either<A, Fields.FieldError>): Either.Either<A, AccountsError> =>
  Either.mapLeft(result, (error) => invalid(error.field, error.message))

const text = (field: keyof typeof textFields, value: string | null | undefined) =>
  Either.gen(function* () {
    if (value === undefined) return undefined
    if (value === null || value.trim() === "") return null
    if (typeof value !== "string") return yield* Either.left(invalid(field, `Field ${field} must be text`))
    const trimmed = value.trim()
    if ([...trimmed].length > textFields[field]) {
      return yield* Either.left(invalid(field, `Field ${field} has more than ${textFields[field]} characters`))
    }
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(trimmed)) {
      return yield* Either.left(invalid(field, `Field ${field} holds control characters`))
    }
    return yield* fromField(Fields.refuseCard(field, trimmed))
  })

/**
 * Validates a profile: text fields trimmed, bounded and free of card numbers; `bank.iban` and `bank.bic` validated
 * (and the IBAN field also refused when it holds a card number). The error names the field.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateProfile = (profile: Profile): Effect.Effect<ValidProfile, AccountsError> =>
  Either.gen(function* () {
    const out: { -readonly [K in keyof ValidProfile]: ValidProfile[K] } = {}
    for (const field of Object.keys(textFields) as ReadonlyArray<keyof typeof textFields>) {
      const value = yield* text(field, profile[field])
      if (value !== undefined) out[field] = value
    }
    if (profile.bank === null) out.bank = null
    else if (profile.bank !== undefined) {
      yield* fromField(Fields.refuseCard("bank.iban", profile.bank.iban))
      const iban = yield* fromField(Fields.iban("bank.iban", profile.bank.iban))
      const bic =
        profile.bank.bic === undefined || profile.bank.bic === null || profile.bank.bic.trim() === ""
          ? null
          : yield* fromField(Fields.bic("bank.bic", profile.bank.bic))
      out.bank = { iban, bic }
    }
    return out as ValidProfile
  })

const emailShape = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/**
 * A normalized email address (`Fields.normalizeEmail`), refused when it is not shaped like one, longer than 254
 * characters, or holds a card number.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateEmail = (email: string): Either.Either<string, AccountsError> =>
  Either.gen(function* () {
    if (typeof email !== "string") return yield* Either.left(invalid("email", "Field email must be text"))
    const normalized = Fields.normalizeEmail(email)
    if (normalized.length > 254 || !emailShape.test(normalized)) {
      return yield* Either.left(invalid("email", "Field email is not an email address"))
    }
    return yield* fromField(Fields.refuseCard("email", normalized))
  })

/**
 * A role for a user, refused (naming the field `role`) unless it is one of `UserRole`.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateRole = (role: string): Either.Either<UserRole, AccountsError> =>
  Schema.is(UserRole)(role)
    ? Either.right(role)
    : Either.left(invalid("role", `Field role must be one of ${UserRole.literals.join(", ")} for a user`))
