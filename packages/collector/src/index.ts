/**
 * The OpenAudience ingest pipeline as a library: decode (pixel GET, batch, server-to-server JSON) → consent
 * decision and receipt → anonymize (IP, user agent, URL, referrer, pseudonym or cookieless key, bots) → a typed
 * row for the store, with adapters for `node:http` and for fetch-style (WHATWG `Request`/`Response`) servers.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Collect from "./Collect.js"

/**
 * @since 0.1.0
 */
export * as Collector from "./Collector.js"

/**
 * @since 0.5.0
 */
export * as Erased from "./Erased.js"

/**
 * @since 0.1.0
 */
export * as FetchCollector from "./FetchCollector.js"

/**
 * @since 0.1.0
 */
export * as IngestKeys from "./IngestKeys.js"

/**
 * @since 0.1.0
 */
export * as Metrics from "./Metrics.js"

/**
 * @since 0.1.0
 */
export * as NodeCollector from "./NodeCollector.js"

/**
 * @since 0.1.0
 */
export * as Problem from "./Problem.js"

/**
 * @since 0.1.0
 */
export * as Sink from "./Sink.js"

/**
 * @since 0.1.0
 */
export * as Tenant from "./Tenant.js"
