/**
 * The anonymizer of OpenAudience: nothing raw is stored, and what partners receive is k-anonymous and
 * differentially private. IP truncation, keyed pseudonyms with rotating destroyed salts, user-agent
 * generalization, URL and referrer scrubbing, bot filtering, k-anonymity and noise for aggregates.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Bot from "./Bot.js"

/**
 * @since 0.1.0
 */
export * as Ip from "./Ip.js"

/**
 * @since 0.1.0
 */
export * as Noise from "./Noise.js"

/**
 * @since 0.3.0
 */
export * as Pii from "./Pii.js"

/**
 * @since 0.1.0
 */
export * as PrivacyBudget from "./PrivacyBudget.js"

/**
 * @since 0.1.0
 */
export * as Pseudonym from "./Pseudonym.js"

/**
 * @since 0.1.0
 */
export * as Report from "./Report.js"

/**
 * @since 0.1.0
 */
export * as SaltStore from "./SaltStore.js"

/**
 * @since 0.1.0
 */
export * as SecureRandom from "./SecureRandom.js"

/**
 * @since 0.1.0
 */
export * as Url from "./Url.js"

/**
 * @since 0.1.0
 */
export * as UserAgent from "./UserAgent.js"
