/**
 * Effect Schemas of every OpenAudience event, exact money and currencies, and versioned JSON Schemas.
 *
 * @since 0.1.0
 */

/**
 * The consent receipt stored with every event (`ConsentReceipt`), with the consent model and jurisdiction it
 * names.
 *
 * @since 0.2.0
 */
export * as ConsentReceipt from "./ConsentReceipt.js"

/**
 * @since 0.1.0
 */
export * as Currency from "./Currency.js"

/**
 * @since 0.1.0
 */
export * as Event from "./Event.js"

/**
 * @since 0.1.0
 */
export * as Money from "./Money.js"

/**
 * @since 0.1.0
 */
export * as SchemaVersion from "./SchemaVersion.js"

/**
 * The stored form of an event (`StoredEvent`, `SequencedEvent`) and its limits, shared by the collector, the
 * storage, the reports and the audience engine.
 *
 * @since 0.2.0
 */
export * as StoredEvent from "./StoredEvent.js"
