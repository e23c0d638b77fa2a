/**
 * The data-subject request toolkit: who a request is about, the registry of stores holding subject data.
 *
 * @since 0.1.0
 */

/**
 * The kinds of data subject (a tenant's visitor, a browser across sites, an application user).
 *
 * @since 0.1.0
 */
export * as Subject from "./Subject.js"

/**
 * The subject-data registry: the port every store of subject data implements, and the live-schema check.
 *
 * @since 0.1.0
 */
export * as Registry from "./Registry.js"

/**
 * The privacy center's logic: the subjects a browser's identifiers stand for, and sealed sessions.
 *
 * @since 0.1.0
 */
export * as Center from "./Center.js"

/**
 * Verified erasure over the registered stores: reachability, erasure, verification; all or nothing.
 *
 * @since 0.1.0
 */
export * as Erasure from "./Erasure.js"

/**
 * The erasure verification report, its canonical JSON and its Ed25519 signature.
 *
 * @since 0.1.0
 */
export * as Report from "./Report.js"

/**
 * The export of a subject's records as a JSON document or a ZIP of CSV files.
 *
 * @since 0.1.0
 */
export * as Export from "./Export.js"

/**
 * Signed webhooks propagating erasures and objections to recipients, and their retry plan.
 *
 * @since 0.1.0
 */
export * as Webhook from "./Webhook.js"

/**
 * Data-subject requests: types, statuses, the pure lifecycle (`make`, `transition`), reminders and overdue checks.
 *
 * @since 0.1.0
 */
export * as Request from "./Request.js"

/**
 * Deadlines by regime (GDPR calendar month, CCPA/CPRA 45 days, custom), extensions and reminders; tenant policies.
 *
 * @since 0.1.0
 */
export * as Deadline from "./Deadline.js"

/**
 * Legal holds that defer erasure, and releases of data under a legal order.
 *
 * @since 0.1.0
 */
export * as Hold from "./Hold.js"

/**
 * The storage port of requests, holds, reports, recipients, webhook deliveries and objections, with `layerMemory`.
 *
 * @since 0.1.0
 */
export * as DsarStore from "./DsarStore.js"

/**
 * The service: requests answered through the registry, holds, signed reports, recipients and their webhooks.
 *
 * @since 0.1.0
 */
export * as Dsar from "./Dsar.js"
