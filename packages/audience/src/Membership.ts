/**
 * Memberships and their changes: what the evaluator reports when a visitor enters an audience, when a member's
 * expiry or qualifying products change, and when a visitor leaves (the rule stopped holding, or nothing the rule
 * counts happened for `expiry.days`). Changes are JSON-ready, so a worker can store them and emit them as events.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The most qualifying products reported per membership.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxProducts = 8

/**
 * The visitor entered the audience at `at` (epoch ms). `expiresAt`: when the membership ends unless the visitor
 * does something the rule counts again. `products`: the product ids that qualified them (bound rules), most
 * recent first.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Entered = Schema.TaggedStruct("Entered", {
  audienceId: Schema.String,
  at: Schema.Number,
  expiresAt: Schema.Number,
  products: Schema.Array(Schema.String)
})

/**
 * A member's expiry or qualifying products changed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Updated = Schema.TaggedStruct("Updated", {
  audienceId: Schema.String,
  at: Schema.Number,
  expiresAt: Schema.Number,
  products: Schema.Array(Schema.String)
})

/**
 * The visitor left the audience: the rule no longer holds (`rule`), it still holds but the membership
 * expired (`expired`), or the visitor objected (`objection`: an objection record, see `VisitorEvent.isObjection`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Exited = Schema.TaggedStruct("Exited", {
  audienceId: Schema.String,
  at: Schema.Number,
  reason: Schema.Literal("rule", "expired", "objection")
})

/**
 * Any membership change.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Change = Schema.Union(Entered, Updated, Exited)

/**
 * @since 0.1.0
 * @category models
 */
export type Change = typeof Change.Type

/**
 * @since 0.1.0
 * @category models
 */
export type Entered = typeof Entered.Type

/**
 * @since 0.1.0
 * @category models
 */
export type Updated = typeof Updated.Type

/**
 * @since 0.1.0
 * @category models
 */
export type Exited = typeof Exited.Type

/**
 * A visitor's current membership in one audience, as evaluated.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Status = Schema.Struct({
  audienceId: Schema.String,
  expiresAt: Schema.Number,
  products: Schema.Array(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Status = typeof Status.Type

/**
 * A stored membership: when the visitor entered, when it expires, when they left (`null` while a member), and the
 * qualifying products.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Membership = Schema.Struct({
  audienceId: Schema.String,
  visitor: Schema.String,
  enteredAt: Schema.Number,
  expiresAt: Schema.Number,
  exitedAt: Schema.NullOr(Schema.Number),
  products: Schema.Array(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Membership = typeof Membership.Type

/**
 * Whether a stored membership is active at `now`: not exited and not expired.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isActive = (m: Membership, now: number): boolean => m.exitedAt === null && now < m.expiresAt
