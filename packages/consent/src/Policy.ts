/**
 * A tenant's consent policy, as versioned data: which consent model applies in each jurisdiction, how Do Not
 * Track is treated, what happens to events that may not be kept with an identifier, our TCF vendor id, and the
 * tenant-wide child-directed and identifier-free flags. Every decision names the policy version it was made
 * under.
 *
 * In the EU/EEA/UK/CH the model is always opt-in; it is not configurable.
 *
 * @since 0.1.0
 */
import { ConsentReceipt } from "@openaudience/event-schema"
import type * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Jurisdiction } from "./Jurisdiction.js"

/**
 * `opt-in`: no identifier and no personalization without valid TCF consent. `opt-out`: allowed unless the
 * visitor opted out (GPC, the opt-out cookie, GPP/USP opt-outs, DNT when honoured). Defined with the stored
 * receipt in @openaudience/event-schema (`ConsentReceipt.Model`); this is the same schema.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Model: typeof ConsentReceipt.Model = ConsentReceipt.Model

/**
 * @since 0.1.0
 * @category models
 */
export type Model = typeof Model.Type

/**
 * A policy version: a date and a sequence number, `2026-11-29.1`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Version = Schema.String.pipe(
  Schema.pattern(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\.[1-9]\d{0,5}$/, {
    message: () => "expected a policy version such as 2026-11-29.1"
  })
).annotations({ identifier: "PolicyVersion" })

/**
 * A TCF vendor id (1–65535).
 *
 * @since 0.1.0
 * @category schemas
 */
export const VendorId = Schema.Int.pipe(Schema.between(1, 65_535)).annotations({ identifier: "VendorId" })

/**
 * A tenant policy. Omitted fields take their defaults when decoded: `us` opt-out, `default` opt-in, `unknown`
 * the same as `default`, `dnt` opt-out (DNT honoured), `disallowed` count, `childDirected` false,
 * `allowIdentifierFreeEvents` true. Without `vendorId` no TC string can grant anything, so opt-in visitors never
 * get an identifier.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Policy = Schema.Struct({
  version: Version,
  vendorId: Schema.optionalWith(VendorId, { exact: true }),
  us: Schema.optionalWith(Model, { default: () => "opt-out" as const, exact: true }),
  default: Schema.optionalWith(Model, { default: () => "opt-in" as const, exact: true }),
  unknown: Schema.optionalWith(Model, { exact: true }),
  dnt: Schema.optionalWith(Schema.Literal("opt-out", "ignore"), { default: () => "opt-out" as const, exact: true }),
  disallowed: Schema.optionalWith(Schema.Literal("drop", "count"), {
    default: () => "count" as const,
    exact: true
  }),
  childDirected: Schema.optionalWith(Schema.Boolean, { default: () => false, exact: true }),
  allowIdentifierFreeEvents: Schema.optionalWith(Schema.Boolean, { default: () => true, exact: true })
}).annotations({ identifier: "Policy", parseOptions: { onExcessProperty: "error" } })

/**
 * @since 0.1.0
 * @category models
 */
export type Policy = typeof Policy.Type

/**
 * The policy as stored (defaults may be omitted).
 *
 * @since 0.1.0
 * @category models
 */
export type Encoded = typeof Policy.Encoded

/**
 * Decodes a policy from untrusted JSON-like input, filling defaults.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown = (input: unknown): Either.Either<Policy, ParseResult.ParseError> =>
  Schema.decodeUnknownEither(Policy)(input)

/**
 * The version the built-in policies carry.
 *
 * @since 0.1.0
 * @category constants
 */
export const BuiltInVersion = "2026-11-29.1"

/**
 * The TCF vendor id of the demo tenant. It is a placeholder the demo's stub CMP grants consent to; a real
 * deployment sets the vendor id IAB Europe registered for it.
 *
 * @since 0.1.0
 * @category constants
 */
export const DemoVendorId = 1_000

/**
 * The default policy: opt-in in the EU and everywhere outside the US (including unknown locations), opt-out in
 * the US, DNT honoured, disallowed events counted without identifier, no TCF vendor id.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPolicy: Policy = {
  version: BuiltInVersion,
  us: "opt-out",
  default: "opt-in",
  dnt: "opt-out",
  disallowed: "count",
  childDirected: false,
  allowIdentifierFreeEvents: true
}

/**
 * The default policy, as `Policy.default` (see `defaultPolicy`).
 *
 * @since 0.1.0
 * @category constants
 */
export { defaultPolicy as default }

/**
 * The demo tenant's policy: like the default, but visitors of unknown jurisdiction (local addresses, for example)
 * are under the opt-out model, so a plain visit keeps an identifier and any opt-out signal removes it; its TCF
 * vendor id is `DemoVendorId`.
 *
 * @since 0.1.0
 * @category constants
 */
export const demo: Policy = {
  ...defaultPolicy,
  vendorId: DemoVendorId,
  unknown: "opt-out"
}

/**
 * The consent model that applies in a jurisdiction under a policy.
 *
 * @since 0.1.0
 * @category decisions
 */
export const modelFor = (policy: Policy, jurisdiction: Jurisdiction): Model => {
  if (jurisdiction === "EU") return "opt-in"
  if (jurisdiction === "US" || jurisdiction.startsWith("US-")) return policy.us
  if (jurisdiction === "unknown") return policy.unknown ?? policy.default
  return policy.default
}
