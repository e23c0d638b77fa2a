/**
 * Who and where a campaign may be shown: the ad request's context (publisher site, child-directed flag, slot
 * size, page category, device class) and, per advertiser tenant, what is known of the visitor under that tenant's
 * own pseudonym (an identifier, a child signal, whether personalization is allowed, the tenant's targetable
 * audiences the browser is in, when it was last seen on the advertiser's site). Each tenant's data stays its own:
 * a campaign is only ever matched against its own tenant's view of the visitor.
 *
 * @since 0.1.0
 */
import type * as Campaign from "./Campaign.js"

/**
 * What one advertiser tenant knows of the visitor.
 *
 * - `key`: the tenant's pseudonym of the browser; absent when the browser has no identifier (then no capped and
 *   no personalized campaign of the tenant serves).
 * - `child`: a child signal for this browser.
 * - `personalization`: whether the consent decision allows personalized ads.
 * - `audiences`: the tenant's audiences this browser is in that are targetable (above the size floor k). The
 *   caller must leave out audiences below the floor: the selector treats every id here as targetable.
 * - `lastSeen`: epoch ms of the browser's last visit to the advertiser's site (for `recencyDays`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Visitor {
  readonly key?: string | undefined
  readonly child?: boolean | undefined
  readonly personalization: boolean
  readonly audiences: ReadonlySet<string>
  readonly lastSeen?: number | undefined
}

/**
 * The ad request's context.
 *
 * - `site`: the publisher site key; `childDirected`: the site is directed at children.
 * - `child`: a child signal sent with the request (COPPA, GPP known child), whatever the tenant.
 * - `width` × `height`: the slot size; `category`: the page category; `device`: the generalized device class.
 *
 * @since 0.1.0
 * @category models
 */
export interface Context {
  readonly site: string
  readonly childDirected: boolean
  readonly child?: boolean | undefined
  readonly width: number
  readonly height: number
  readonly category?: string | undefined
  readonly device: Campaign.Device
}

/**
 * Why a campaign does not match.
 *
 * @since 0.1.0
 * @category models
 */
export type Mismatch = "site" | "category" | "device" | "personalization" | "audience" | "excluded" | "recency"

/**
 * Targeting compiled to sets for the decision path.
 *
 * @since 0.1.0
 * @category models
 */
export interface Compiled {
  readonly include: ReadonlySet<string> | undefined
  readonly exclude: ReadonlySet<string> | undefined
  readonly recencyMs: number | undefined
  readonly sitesInclude: ReadonlySet<string> | undefined
  readonly sitesExclude: ReadonlySet<string> | undefined
  readonly categories: ReadonlySet<string> | undefined
  readonly devices: ReadonlySet<string> | undefined
  readonly personalized: boolean
}

const setOf = (values: ReadonlyArray<string> | undefined): ReadonlySet<string> | undefined =>
  values === undefined || values.length === 0 ? undefined : new Set(values)

/**
 * Compiles a campaign's targeting.
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (t: Campaign.Targeting | undefined): Compiled => {
  const include = setOf(t?.audiences?.include)
  const exclude = setOf(t?.audiences?.exclude)
  const recencyMs = t?.recencyDays === undefined ? undefined : t.recencyDays * 86_400_000
  return {
    include,
    exclude,
    recencyMs,
    sitesInclude: setOf(t?.sites?.include),
    sitesExclude: setOf(t?.sites?.exclude),
    categories: setOf(t?.categories),
    devices: t?.devices === undefined ? undefined : new Set(t.devices),
    personalized: include !== undefined || exclude !== undefined || recencyMs !== undefined
  }
}

/**
 * Whether the tenant's identifier of the visitor may be used in this context (for frequency caps and recency
 * blocks): an identifier, no child signal (the tenant's or the request's), and a site not directed at children.
 *
 * @since 0.1.0
 * @category predicates
 */
export const mayIdentify = (context: Context, visitor: Visitor | undefined): boolean =>
  visitor !== undefined &&
  visitor.key !== undefined &&
  visitor.child !== true &&
  context.child !== true &&
  !context.childDirected

/**
 * Whether a tenant's view of the visitor may be used for personalized ads in this context: an identifier,
 * personalization allowed, no child signal (the tenant's or the request's), and a site not directed at children.
 *
 * @since 0.1.0
 * @category predicates
 */
export const mayPersonalize = (context: Context, visitor: Visitor | undefined): boolean =>
  visitor !== undefined &&
  visitor.key !== undefined &&
  visitor.personalization &&
  visitor.child !== true &&
  context.child !== true &&
  !context.childDirected

/**
 * The first reason the compiled targeting does not match the context and the tenant's view of the visitor at
 * `now`, or `undefined` when it matches. The slot size is matched by the selector's index. `includeMatched`: the
 * caller already knows the visitor is in one of the included audiences (the selector reaches audience-targeted
 * campaigns only through the visitor's audiences).
 *
 * @since 0.1.0
 * @category predicates
 */
export const check = (
  t: Compiled,
  context: Context,
  visitor: Visitor | undefined,
  now: number,
  includeMatched = false
): Mismatch | undefined => {
  if (t.sitesInclude !== undefined && !t.sitesInclude.has(context.site)) return "site"
  if (t.sitesExclude?.has(context.site) === true) return "site"
  if (t.categories !== undefined && (context.category === undefined || !t.categories.has(context.category))) {
    return "category"
  }
  if (t.devices !== undefined && !t.devices.has(context.device)) return "device"
  if (!t.personalized) return undefined
  if (!mayPersonalize(context, visitor)) return "personalization"
  const audiences = visitor!.audiences
  if (t.exclude !== undefined) {
    for (const a of t.exclude) if (audiences.has(a)) return "excluded"
  }
  if (t.include !== undefined && !includeMatched) {
    let found = false
    for (const a of t.include) {
      if (audiences.has(a)) {
        found = true
        break
      }
    }
    if (!found) return "audience"
  }
  if (t.recencyMs !== undefined) {
    const seen = visitor!.lastSeen
    if (seen === undefined || seen > now || now - seen > t.recencyMs) return "recency"
  }
  return undefined
}
