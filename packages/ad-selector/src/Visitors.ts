/**
 * What an advertiser tenant knows of one of its visitors, as the ad server needs it: the tenant's audiences the
 * visitor is in, when the visitor was last seen on the tenant's site, and the visitor's product history (views and
 * purchases) for product creatives. Every question names the tenant: one tenant's data never answers for another.
 *
 * The k floor (an audience smaller than k members is never targeted) is applied by `Serving`, not by this port:
 * `profile` answers every audience of the visitor, `targetable` the tenant's audiences at or above the floor, and
 * `Serving` keeps only their intersection (caching `targetable` per tenant for a few seconds). A store may filter
 * `profile` too; it must not answer an audience below the floor from `targetable`.
 *
 * The server implements the port over the audience package's memberships and sizes and the stored events;
 * `makeMemory` is for tests and demos.
 *
 * @since 0.1.0
 */
import type { Recommend } from "@openaudience/catalog"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * A store of visitors that cannot be read.
 *
 * @since 0.1.0
 * @category errors
 */
export class VisitorsError extends Schema.TaggedError<VisitorsError>("@openaudience/ad-selector/VisitorsError")(
  "VisitorsError",
  {
    reason: Schema.Literal("Unavailable", "Failed"),
    message: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {}

/**
 * A visitor as the decision needs it: the ids of the tenant's audiences the visitor is in, and the epoch ms of the
 * last visit to the tenant's site.
 *
 * @since 0.1.0
 * @category models
 */
export interface Profile {
  readonly audiences: ReadonlyArray<string>
  readonly lastSeen?: number | undefined
}

/**
 * The visitors port.
 *
 * @since 0.1.0
 * @category services
 */
export interface Service {
  /** The tenant's audiences that may be targeted (at or above the k floor). */
  readonly targetable: (tenant: string) => Effect.Effect<ReadonlySet<string>, VisitorsError>
  /** The visitor's audiences and last visit; `None` for a visitor the tenant does not know (or has erased). */
  readonly profile: (tenant: string, visitor: string) => Effect.Effect<Option.Option<Profile>, VisitorsError>
  /**
   * The visitor's product views and purchases at or after `since` (epoch ms), only from events that may
   * personalize ads (consent for personalization, never a child's): see `Recommend.historyOf`.
   */
  readonly history: (
    tenant: string,
    visitor: string,
    since: number
  ) => Effect.Effect<ReadonlyArray<Recommend.ProductEvent>, VisitorsError>
}

/**
 * The visitors service.
 *
 * @since 0.1.0
 * @category services
 */
export class Visitors extends Context.Tag("@openaudience/ad-selector/Visitors")<Visitors, Service>() {}

/**
 * An in-memory store with setters, for tests and demos.
 *
 * @since 0.1.0
 * @category models
 */
export interface Memory extends Service {
  readonly setTargetable: (tenant: string, audiences: Iterable<string>) => void
  readonly setProfile: (tenant: string, visitor: string, profile: Profile) => void
  readonly addHistory: (tenant: string, visitor: string, events: Iterable<Recommend.ProductEvent>) => void
}

/**
 * An empty in-memory store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Memory => {
  const targetable = new Map<string, ReadonlySet<string>>()
  const profiles = new Map<string, Profile>()
  const histories = new Map<string, Array<Recommend.ProductEvent>>()
  const id = (tenant: string, visitor: string) => `${tenant}\u0000${visitor}`
  const none: ReadonlySet<string> = new Set()
  return {
    targetable: (tenant) => Effect.sync(() => targetable.get(tenant) ?? none),
    profile: (tenant, visitor) => Effect.sync(() => Option.fromNullable(profiles.get(id(tenant, visitor)))),
    history: (tenant, visitor, since) =>
      Effect.sync(() => (histories.get(id(tenant, visitor)) ?? []).filter((e) => e.at >= since)),
    setTargetable: (tenant, audiences) => {
      targetable.set(tenant, new Set(audiences))
    },
    setProfile: (tenant, visitor, profile) => {
      profiles.set(id(tenant, visitor), { audiences: [...profile.audiences], lastSeen: profile.lastSeen })
    },
    addHistory: (tenant, visitor, events) => {
      const key = id(tenant, visitor)
      histories.set(key, [...(histories.get(key) ?? []), ...events])
    }
  }
}

/**
 * An empty in-memory store as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Visitors> = Layer.sync(Visitors, makeMemory)
