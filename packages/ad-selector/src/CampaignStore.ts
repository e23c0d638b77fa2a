/**
 * Where campaigns live: a tenant's campaigns by id, every tenant's at once for the decision index, and a revision
 * that grows with every change so that each serving process rebuilds its `Selector.Index` when (and only when)
 * something changed, whichever process changed it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Campaign from "./Campaign.js"

/**
 * Why the campaign store failed: `Unavailable` (try again), `Conflict` (a campaign id of another tenant),
 * `Failed`, `Corrupt` (a stored campaign no longer decodes).
 *
 * @since 0.1.0
 * @category errors
 */
export class CampaignStoreError extends Schema.TaggedError<CampaignStoreError>(
  "@openaudience/ad-selector/CampaignStoreError"
)("CampaignStoreError", {
  reason: Schema.Literal("Unavailable", "Conflict", "Failed", "Corrupt"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The campaign store's operations. Campaign ids are unique across tenants (decisions, tokens and statistics name a
 * campaign by id alone); `put` of an id another tenant holds fails with `Conflict`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Creates or replaces the campaign `campaign.id` of `campaign.tenant`; `true` when it is new. */
  readonly put: (campaign: Campaign.Campaign) => Effect.Effect<boolean, CampaignStoreError>
  readonly get: (tenant: string, id: string) => Effect.Effect<Option.Option<Campaign.Campaign>, CampaignStoreError>
  /** A tenant's campaigns, by id. */
  readonly list: (tenant: string) => Effect.Effect<ReadonlyArray<Campaign.Campaign>, CampaignStoreError>
  /** Removes a campaign; `false` when the tenant has none of that id. */
  readonly remove: (tenant: string, id: string) => Effect.Effect<boolean, CampaignStoreError>
  /** Every tenant's campaigns and the revision they are at (read together). */
  readonly all: Effect.Effect<
    { readonly revision: number; readonly campaigns: ReadonlyArray<Campaign.Campaign> },
    CampaignStoreError
  >
  /** The revision: grows with every `put` and `remove`. */
  readonly revision: Effect.Effect<number, CampaignStoreError>
}

/**
 * The campaign store service.
 *
 * @since 0.1.0
 * @category tags
 */
export class CampaignStore extends Context.Tag("@openaudience/ad-selector/CampaignStore")<CampaignStore, Service>() {}

const byId = (a: Campaign.Campaign, b: Campaign.Campaign) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * An in-memory campaign store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const campaigns = new Map<string, Campaign.Campaign>()
  let revision = 0
  return {
    put: (campaign) =>
      Effect.suspend(() => {
        const existing = campaigns.get(campaign.id)
        if (existing !== undefined && existing.tenant !== campaign.tenant) {
          return Effect.fail(
            new CampaignStoreError({ reason: "Conflict", message: `campaign id ${campaign.id} is taken` })
          )
        }
        campaigns.set(campaign.id, campaign)
        revision++
        return Effect.succeed(existing === undefined)
      }),
    get: (tenant, id) =>
      Effect.sync(() => Option.filter(Option.fromNullable(campaigns.get(id)), (c) => c.tenant === tenant)),
    list: (tenant) => Effect.sync(() => [...campaigns.values()].filter((c) => c.tenant === tenant).sort(byId)),
    remove: (tenant, id) =>
      Effect.sync(() => {
        const existing = campaigns.get(id)
        if (existing === undefined || existing.tenant !== tenant) return false
        campaigns.delete(id)
        revision++
        return true
      }),
    all: Effect.sync(() => ({ revision, campaigns: [...campaigns.values()].sort(byId) })),
    revision: Effect.sync(() => revision)
  }
}

/**
 * A layer of a fresh in-memory campaign store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<CampaignStore> = Layer.sync(CampaignStore, makeMemory)
