/**
 * ISO 4217 currencies and their minor-unit exponents. Money in OpenAudience is always an integer number of
 * minor units, so a currency is only accepted when its exponent is known: `JPY` has 0 decimals, `EUR` 2,
 * `KWD` 3. Funds, precious metals and test codes (`XAU`, `XTS`, `XXX`) have no exponent and are rejected.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { describe } from "./internal/describe.js"

const exponents: Record<string, number> = {}

// Active ISO 4217 codes (list of 2025). Most have two decimals; the exceptions are listed by exponent.
const twoDecimals =
  "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF " +
  "CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF " +
  "IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN " +
  "MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS " +
  "SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
for (const code of twoDecimals.split(" ")) exponents[code] = 2
for (const code of "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(" ")) exponents[code] = 0
for (const code of "BHD IQD JOD KWD LYD OMR TND".split(" ")) exponents[code] = 3
for (const code of "CLF UYW".split(" ")) exponents[code] = 4

/**
 * Every accepted currency code, sorted.
 *
 * @since 0.1.0
 * @category constants
 */
export const codes: ReadonlyArray<string> = Object.keys(exponents).sort()

/**
 * The number of decimals of a currency's minor unit, if the code is a known ISO 4217 currency.
 *
 * @since 0.1.0
 * @category accessors
 */
export const exponent = (code: string): Option.Option<number> =>
  Object.hasOwn(exponents, code) ? Option.some(exponents[code]!) : Option.none()

/**
 * Whether a string is a known ISO 4217 currency code with a known exponent.
 *
 * @since 0.1.0
 * @category guards
 */
export const isCurrencyCode = (code: string): boolean => Object.hasOwn(exponents, code)

/**
 * An ISO 4217 alphabetic currency code whose minor-unit exponent is known.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CurrencyCode = Schema.String.pipe(
  Schema.filter(isCurrencyCode, {
    message: (issue) => ({
      message: `expected an ISO 4217 currency code such as "EUR" or "JPY", got ${describe(issue.actual)}`,
      override: true
    }),
    jsonSchema: { enum: codes },
    arbitrary: () => (fc) => fc.constantFrom(...codes)
  }),
  Schema.annotations({ identifier: "CurrencyCode", title: "ISO 4217 currency code" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type CurrencyCode = typeof CurrencyCode.Type
