/**
 * @since 0.1.0
 */

/**
 * Budgets and spend in exact money (thousandths of a minor unit), and the `DeliveryStore` port for spend and pacing state.
 *
 * @since 0.1.0
 */
export * as Budget from "./Budget.js"

/**
 * Campaigns: tiers, schedules, budgets, CPM bids, targeting, caps, pacing and creatives, decoded from JSON.
 *
 * @since 0.1.0
 */
export * as Campaign from "./Campaign.js"

/**
 * Frequency caps and recency blocks per pseudonymous visitor, and the `CapStore` port (fails closed).
 *
 * @since 0.1.0
 */
export * as Caps from "./Caps.js"

/**
 * @since 0.1.0
 */
export * as Chooser from "./Chooser.js"

/**
 * The result of a decision: campaign, creative, propensity, reason, and what was passed over.
 *
 * @since 0.1.0
 */
export * as Decision from "./Decision.js"

/**
 * Even delivery: the feedback controller and the ideal-curve guard.
 *
 * @since 0.1.0
 */
export * as Pacing from "./Pacing.js"

/**
 * @since 0.1.0
 */
export * as Rng from "./Rng.js"

/**
 * The ad decision: the load-time index and `decide`.
 *
 * @since 0.1.0
 */
export * as Selector from "./Selector.js"

/**
 * The request context and each tenant's view of the visitor, and the targeting checks.
 *
 * @since 0.1.0
 */
export * as Targeting from "./Targeting.js"

/**
 * @since 0.1.0
 */
export * as AdLog from "./AdLog.js"

/**
 * @since 0.1.0
 */
export * as Attribution from "./Attribution.js"

/**
 * @since 0.1.0
 */
export * as CampaignStore from "./CampaignStore.js"

/**
 * @since 0.1.0
 */
export * as ClickToken from "./ClickToken.js"

/**
 * @since 0.1.0
 */
export * as Ftrl from "./Ftrl.js"

/**
 * @since 0.1.0
 */
export * as OffPolicy from "./OffPolicy.js"

/**
 * @since 0.1.0
 */
export * as Stats from "./Stats.js"

/**
 * @since 0.1.0
 */
export * as Thompson from "./Thompson.js"

/**
 * @since 0.1.0
 */
export * as Viewability from "./Viewability.js"

/**
 * @since 0.1.0
 */
export * as DemoSeed from "./DemoSeed.js"

/**
 * @since 0.1.0
 */
export * as BrowserLinks from "./BrowserLinks.js"

/**
 * @since 0.1.0
 */
export * as Serving from "./Serving.js"

/**
 * @since 0.1.0
 */
export * as Visitors from "./Visitors.js"

/**
 * Write-behind for the ad server's decision log and budget charges: grouped writes every 50 ms, budgets checked
 * against a ledger in memory.
 *
 * @since 0.5.0
 */
export * as WriteBehind from "./WriteBehind.js"
