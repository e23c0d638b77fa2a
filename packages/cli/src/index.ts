/**
 * The `openaudience` command line: tenants, sites and API keys.
 *
 * @since 0.1.0
 */

/**
 * The command tree, the store it runs on, and `run`.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
