/**
 * The legacy IAB CCPA "US Privacy" string (`1YNN`): version, notice given, opted out of sale, covered by the
 * LSPA. Deprecated in favour of GPP, but still sent, both on its own and as GPP section 6 (`uspv1`).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { ConsentStringError } from "./ConsentStringError.js"

/**
 * One of the three flags: yes, no, or not applicable.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Flag = Schema.Literal("Y", "N", "-")

/**
 * @since 0.1.0
 * @category models
 */
export type Flag = typeof Flag.Type

/**
 * A decoded US Privacy string. `saleOptOut` is true when the visitor opted out of the sale of personal data.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UspData = Schema.Struct({
  version: Schema.Literal(1),
  notice: Flag,
  optOutSale: Flag,
  lspaCovered: Flag,
  saleOptOut: Schema.Boolean
}).annotations({ identifier: "UspData" })

/**
 * @since 0.1.0
 * @category models
 */
export type UspData = typeof UspData.Type

const isFlag = (c: string | undefined): c is Flag => c === "Y" || c === "N" || c === "-"

/**
 * Decodes a US Privacy string strictly: exactly four characters, version `1`, then three flags from `Y`, `N`,
 * `-` (upper case). Fails with rule `empty`, `length`, `version` or `character`. Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (usp: string, section?: number): Either.Either<UspData, ConsentStringError> => {
  const fail = (rule: string, detail: string) =>
    Either.left(
      new ConsentStringError({
        format: section === undefined ? "usp" : "gpp",
        rule,
        detail,
        ...(section === undefined ? {} : { section })
      })
    )
  if (typeof usp !== "string" || usp.length === 0) return fail("empty", "the US Privacy string is empty")
  if (usp.length !== 4) return fail("length", `expected 4 characters, got ${Math.min(usp.length, 9999)}`)
  if (usp[0] !== "1") return fail("version", "expected version 1")
  const notice = usp[1]
  const optOutSale = usp[2]
  const lspaCovered = usp[3]
  if (!isFlag(notice) || !isFlag(optOutSale) || !isFlag(lspaCovered)) {
    return fail("character", "flags must be Y, N or -")
  }
  return Either.right({ version: 1, notice, optOutSale, lspaCovered, saleOptOut: optOutSale === "Y" })
}
