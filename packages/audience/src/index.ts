/**
 * Audiences for OpenAudience: a versioned JSON rule language with a typed builder, compiled to synchronous
 * predicates over a compact per-visitor state; incremental and batch evaluation; memberships with expiry;
 * size floors; explanations.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Audience from "./Audience.js"

/**
 * @since 0.1.0
 */
export * as AudienceRule from "./AudienceRule.js"

/**
 * @since 0.1.0
 */
export * as Batch from "./Batch.js"

/**
 * @since 0.3.0
 */
export * as ChangeSink from "./ChangeSink.js"

/**
 * @since 0.1.0
 */
export * as Evaluator from "./Evaluator.js"

/**
 * @since 0.1.0
 */
export * as Explain from "./Explain.js"

/**
 * @since 0.1.0
 */
export * as Membership from "./Membership.js"

/**
 * @since 0.1.0
 */
export * as MembershipStore from "./MembershipStore.js"

/**
 * @since 0.1.0
 */
export * as Pipeline from "./Pipeline.js"

/**
 * @since 0.1.0
 */
export * as Program from "./Program.js"

/**
 * @since 0.1.0
 */
export * as Rule from "./Rule.js"

/**
 * @since 0.1.0
 */
export * as RuleError from "./RuleError.js"

/**
 * @since 0.1.0
 */
export * as Size from "./Size.js"

/**
 * @since 0.3.0
 */
export * as Sync from "./Sync.js"

/**
 * @since 0.3.0
 */
export * as SyncSource from "./SyncSource.js"

/**
 * @since 0.3.0
 */
export * as SyncStore from "./SyncStore.js"

/**
 * @since 0.1.0
 */
export * as VisitorEvent from "./VisitorEvent.js"

/**
 * @since 0.1.0
 */
export * as VisitorState from "./VisitorState.js"
