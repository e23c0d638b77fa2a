/**
 * Payment methods of a user, as a payment processor's reference only: the processor's name, its opaque token, the
 * card brand and the last four digits. A card number is never stored, in any field: the token is refused when it
 * looks like one, `last4` must be exactly four digits, `brand` one of a short list.
 *
 * @since 0.1.0
 */
import { Fields } from "@openaudience/vault"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type AccountsError, invalid } from "./AccountsError.js"

/**
 * The card brands accepted.
 *
 * @since 0.1.0
 * @category models
 */
export const Brand = Schema.Literal("visa", "mastercard", "amex", "discover", "jcb", "diners", "unionpay", "other")

/**
 * @since 0.1.0
 * @category models
 */
export type Brand = typeof Brand.Type

/**
 * What a caller gives: no card number, ever.
 *
 * @since 0.1.0
 * @category models
 */
export interface Input {
  readonly processor: string
  readonly token: string
  readonly brand: string
  readonly last4: string
}

/**
 * A stored payment method.
 *
 * @since 0.1.0
 * @category models
 */
export interface PaymentMethod {
  readonly id: string
  readonly tenant: string
  readonly userId: string
  readonly processor: string
  readonly token: string
  readonly brand: Brand
  readonly last4: string
  readonly createdAt: number
}

const processorName = /^[a-z0-9][a-z0-9_-]{0,31}$/
const tokenShape = /^[A-Za-z0-9_.:-]{1,255}$/

/**
 * Validates a payment method: `processor` a short lower-case name, `token` an opaque processor reference (not a
 * card number), `brand` one of `Brand`, `last4` exactly four digits. The error names the field.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (
  input: Input
): Either.Either<
  { readonly processor: string; readonly token: string; readonly brand: Brand; readonly last4: string },
  AccountsError
> =>
  Either.gen(function* () {
    if (typeof input.processor !== "string" || !processorName.test(input.processor)) {
      return yield* Either.left(invalid("processor", "Field processor must be a short lower-case name (a-z, 0-9, _ -)"))
    }
    if (typeof input.token !== "string" || !tokenShape.test(input.token)) {
      return yield* Either.left(
        invalid("token", "Field token must be the processor's token (letters, digits, _ . : -)")
      )
    }
    yield* Either.mapLeft(Fields.refuseCard("token", input.token), (error) => invalid("token", error.message))
    if (!Schema.is(Brand)(input.brand)) {
      return yield* Either.left(invalid("brand", `Field brand must be one of ${Brand.literals.join(", ")}`))
    }
    if (typeof input.last4 !== "string" || !/^\d{4}$/.test(input.last4)) {
      return yield* Either.left(invalid("last4", "Field last4 must be exactly four digits"))
    }
    return { processor: input.processor, token: input.token, brand: input.brand, last4: input.last4 }
  })
