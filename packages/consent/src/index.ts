/**
 * Consent for OpenAudience: signals (opt-out cookie, Global Privacy Control, Do Not Track, IAB TCF, GPP, US
 * Privacy, child flags) parsed strictly from untrusted input, tenant policies by jurisdiction, and one
 * ConsentDecision per event with a receipt to store alongside it.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as ConsentStringError from "./ConsentStringError.js"

/**
 * @since 0.1.0
 */
export * as Decision from "./Decision.js"

/**
 * @since 0.1.0
 */
export * as DecisionCache from "./DecisionCache.js"

/**
 * @since 0.1.0
 */
export * as Gpp from "./Gpp.js"

/**
 * @since 0.1.0
 */
export * as Jurisdiction from "./Jurisdiction.js"

/**
 * @since 0.1.0
 */
export * as Policy from "./Policy.js"

/**
 * @since 0.1.0
 */
export * as Signals from "./Signals.js"

/**
 * @since 0.1.0
 */
export * as Tcf from "./Tcf.js"

/**
 * @since 0.1.0
 */
export * as Usp from "./Usp.js"
