/**
 * The visitor's jurisdiction as far as consent is concerned: `EU` (the EEA, the United Kingdom and Switzerland,
 * where consent is opt-in), `US-<state>` and `US` (opt-out), `other`, and `unknown` (no usable location, such as a
 * local address). Derived from a country code and, in the US, a region code.
 *
 * @since 0.1.0
 */
import { ConsentReceipt } from "@openaudience/event-schema"

/**
 * A jurisdiction: `"EU"`, `"US"`, `"US-CA"` (any two-letter state code), `"other"` or `"unknown"`. Defined with the
 * stored receipt in @openaudience/event-schema (`ConsentReceipt.Jurisdiction`); this is the same schema.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Jurisdiction: typeof ConsentReceipt.Jurisdiction = ConsentReceipt.Jurisdiction

/**
 * @since 0.1.0
 * @category models
 */
export type Jurisdiction = typeof Jurisdiction.Type

/**
 * Country codes where the GDPR or its equivalents apply: the 27 EU member states, Iceland, Liechtenstein,
 * Norway (EEA), the United Kingdom and Switzerland, plus EU territories with their own ISO codes (Åland, the
 * French overseas departments and Saint Martin).
 *
 * @since 0.1.0
 * @category constants
 */
export const gdprCountries: ReadonlySet<string> = new Set([
  // EU member states
  "AT",
  "BE",
  "BG",
  "HR",
  "CY",
  "CZ",
  "DK",
  "EE",
  "FI",
  "FR",
  "DE",
  "GR",
  "HU",
  "IE",
  "IT",
  "LV",
  "LT",
  "LU",
  "MT",
  "NL",
  "PL",
  "PT",
  "RO",
  "SK",
  "SI",
  "ES",
  "SE",
  // EEA
  "IS",
  "LI",
  "NO",
  // United Kingdom (and the non-standard code some databases use), Switzerland
  "GB",
  "UK",
  "CH",
  // EU territories with their own codes
  "AX",
  "GF",
  "GP",
  "MQ",
  "RE",
  "YT",
  "MF",
  // some geolocation databases answer "EU" when they only know the continent
  "EU"
])

/** Codes geolocation databases use for "no country": reserved, private, anonymous proxies. */
const NO_COUNTRY = new Set(["XX", "ZZ", "AP", "AA", "QM", "QN", "QO", "QP", "QQ", "QR", "QS", "QT", "QU", "QV", "QW"])

/**
 * The jurisdiction of a visitor from a two-letter country code and, for the US, an optional region (`"CA"` or
 * `"US-CA"`). Anything that is not a plain two-letter code, or a code meaning "no country", is `unknown`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromCountry = (countryCode: string | undefined | null, region?: string | null): Jurisdiction => {
  if (typeof countryCode !== "string") return "unknown"
  const country = countryCode.trim().toUpperCase()
  if (!/^[A-Z]{2}$/.test(country) || NO_COUNTRY.has(country)) return "unknown"
  if (gdprCountries.has(country)) return "EU"
  if (country === "US") {
    const state = typeof region === "string" ? region.trim().toUpperCase().replace(/^US-/, "") : ""
    return /^[A-Z]{2}$/.test(state) ? `US-${state}` : "US"
  }
  return "other"
}

/**
 * Whether the jurisdiction is the EU/EEA/UK/CH group.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isEu = (jurisdiction: Jurisdiction): boolean => jurisdiction === "EU"

/**
 * Whether the jurisdiction is the US or one of its states.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isUs = (jurisdiction: Jurisdiction): boolean => jurisdiction === "US" || jurisdiction.startsWith("US-")
