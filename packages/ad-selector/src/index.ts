/**
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Chooser from "./Chooser.js"

/**
 * @since 0.1.0
 */
export * as Rng from "./Rng.js"
