/**
 * Which ad earns a conversion. A shop's conversion goes to the visitor's last click within the click window (7 days
 * by default), else to the last viewable impression within the view window (1 day by default); each touch is
 * judged by the windows of its own campaign (`Campaign.attribution`, read with `fromCampaigns`). The attributed touch names the decision that showed the ad, so the
 * worker can feed the conversion back to the learning as a delayed reward for that decision.
 *
 * Rules, spelled out:
 * - A touch counts only if it happened at or before the conversion (`touch.at <= conversion.at`); later touches
 *   never count, whatever their kind.
 * - A touch is within its window when `conversion.at - touch.at <= window` (the window's end is included). A window
 *   of zero credits nothing (a campaign with `viewDays: 0` never earns a view-through conversion, not even one in
 *   the same millisecond).
 * - Among the touches that count, the latest wins; touches at the same millisecond are ordered by decision id,
 *   then campaign, creative and product id (the greatest wins), so the answer never depends on the order the
 *   touches are given in.
 * - One order is attributed once: `dedupe` keeps, for each order id, the earliest conversion (equal times: the
 *   smaller value, then the currency code), and `attributeAll` attributes only those. Across batches, the worker
 *   keeps the order ids it has attributed (per tenant, at least as long as the longest click window) and drops a
 *   conversion whose order id it has seen.
 *
 * Pure functions: times are milliseconds since the epoch given by the caller.
 *
 * @since 0.1.0
 */
import type { Money } from "@openaudience/event-schema"
import * as Duration from "effect/Duration"
import * as Campaign from "./Campaign.js"

/**
 * What a touch was: a click (through a click token) or a viewable impression (50 % of the ad in view for 1 s).
 * Rendered but not viewable impressions are not touches.
 *
 * @since 0.1.0
 * @category models
 */
export type TouchKind = "click" | "view"

/**
 * One ad the visitor clicked or saw, from the decision that showed it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Touch {
  readonly kind: TouchKind
  readonly decisionId: string
  readonly campaignId: string
  readonly creativeId: string
  readonly productId?: string | undefined
  readonly at: number
}

/**
 * A conversion on the shop: its order id, when (milliseconds since the epoch) and what it was worth.
 *
 * @since 0.1.0
 * @category models
 */
export interface Conversion {
  readonly orderId: string
  readonly at: number
  readonly value: Money.Money
}

/**
 * How far back a click and a viewable impression may be from a conversion to earn it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Windows {
  readonly click: Duration.Duration
  readonly view: Duration.Duration
}

/**
 * The default windows: last click within 7 days, else last viewable impression within 1 day.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultWindows: Windows = { click: Duration.days(7), view: Duration.days(1) }

/**
 * Windows per campaign id; a campaign not in the map gets `fallback` (by default `defaultWindows`).
 *
 * @since 0.1.0
 * @category models
 */
export interface WindowsByCampaign {
  readonly campaigns?: ReadonlyMap<string, Windows> | undefined
  readonly fallback?: Windows | undefined
}

/**
 * Why a conversion was or was not attributed.
 *
 * - `LastClick`: the latest click within its campaign's click window.
 * - `LastView`: no click counted; the latest viewable impression within its campaign's view window.
 * - `NoTouch`: the visitor had no touch at or before the conversion.
 * - `OutsideWindows`: there were earlier touches, all outside their windows.
 *
 * @since 0.1.0
 * @category models
 */
export type Reason = "LastClick" | "LastView" | "NoTouch" | "OutsideWindows"

/**
 * The answer for one conversion: the touch that earns it (absent when none does) and why.
 *
 * @since 0.1.0
 * @category models
 */
export type Attribution =
  | { readonly reason: "LastClick" | "LastView"; readonly touch: Touch }
  | { readonly reason: "NoTouch" | "OutsideWindows"; readonly touch?: undefined }

/**
 * The windows that apply to touches of `campaignId`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const windowsFor = (windows: WindowsByCampaign | undefined, campaignId: string): Windows =>
  windows?.campaigns?.get(campaignId) ?? windows?.fallback ?? defaultWindows

/**
 * A campaign's windows (`Campaign.attributionOf`: its own, else 7 days click and 1 day view).
 *
 * @since 0.1.0
 * @category constructors
 */
export const windowsOf = (campaign: Campaign.Campaign): Windows => {
  const { clickDays, viewDays } = Campaign.attributionOf(campaign)
  return { click: Duration.days(clickDays), view: Duration.days(viewDays) }
}

/**
 * The windows of `campaigns`, by campaign id; a campaign not among them (one deleted since it served) gets
 * `fallback` (by default `defaultWindows`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromCampaigns = (campaigns: Iterable<Campaign.Campaign>, fallback?: Windows): WindowsByCampaign => {
  const byId = new Map<string, Windows>()
  for (const campaign of campaigns) byId.set(campaign.id, windowsOf(campaign))
  return { campaigns: byId, fallback }
}

/**
 * How far back a conversion's touches must be read (ms): the longest click or view window of `windows`, the fallback
 * included. Touches are read once with it, then each is judged by its own campaign's windows.
 *
 * @since 0.1.0
 * @category combinators
 */
export const lookback = (windows?: WindowsByCampaign): number => {
  let longest = 0
  const consider = (w: Windows) => {
    longest = Math.max(longest, Duration.toMillis(w.click), Duration.toMillis(w.view))
  }
  consider(windows?.fallback ?? defaultWindows)
  for (const w of windows?.campaigns?.values() ?? []) consider(w)
  return longest
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The order touches are ranked in: by time, then by decision, campaign, creative and product id (a touch
 * without a product id ranks below one with). Attribution picks the greatest.
 *
 * @since 0.1.0
 * @category combinators
 */
export const compareTouches = (a: Touch, b: Touch): number =>
  a.at - b.at ||
  compareStrings(a.decisionId, b.decisionId) ||
  compareStrings(a.campaignId, b.campaignId) ||
  compareStrings(a.creativeId, b.creativeId) ||
  (a.productId === b.productId
    ? 0
    : a.productId === undefined
      ? -1
      : b.productId === undefined
        ? 1
        : compareStrings(a.productId, b.productId))

/**
 * Attributes `conversion` to one of the visitor's `touches` (in any order) under per-campaign `windows`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const attribute = (
  touches: Iterable<Touch>,
  conversion: Conversion,
  windows?: WindowsByCampaign
): Attribution => {
  let click: Touch | undefined
  let view: Touch | undefined
  let before = false
  for (const touch of touches) {
    if (!(touch.at <= conversion.at)) continue
    before = true
    const w = windowsFor(windows, touch.campaignId)
    const age = conversion.at - touch.at
    if (touch.kind === "click") {
      const window = Duration.toMillis(w.click)
      if (window > 0 && age <= window && (click === undefined || compareTouches(touch, click) > 0)) click = touch
    } else {
      const window = Duration.toMillis(w.view)
      if (window > 0 && age <= window && (view === undefined || compareTouches(touch, view) > 0)) view = touch
    }
  }
  if (click !== undefined) return { reason: "LastClick", touch: click }
  if (view !== undefined) return { reason: "LastView", touch: view }
  return { reason: before ? "OutsideWindows" : "NoTouch" }
}

const compareConversions = (a: Conversion, b: Conversion): number =>
  a.at - b.at || a.value.amount - b.value.amount || compareStrings(a.value.currency, b.value.currency)

/**
 * One conversion per order id: the earliest (equal times: the smaller value, then the currency code), in order of
 * time. Sent twice (a reloaded thank-you page, the pixel and the conversions API), an order counts once.
 *
 * @since 0.1.0
 * @category combinators
 */
export const dedupe = (conversions: Iterable<Conversion>): Array<Conversion> => {
  const first = new Map<string, Conversion>()
  for (const conversion of conversions) {
    const seen = first.get(conversion.orderId)
    if (seen === undefined || compareConversions(conversion, seen) < 0) first.set(conversion.orderId, conversion)
  }
  return [...first.values()].sort((a, b) => compareConversions(a, b) || compareStrings(a.orderId, b.orderId))
}

/**
 * Every distinct order of a visitor (see `dedupe`) with its attribution, in order of time.
 *
 * @since 0.1.0
 * @category combinators
 */
export const attributeAll = (
  touches: Iterable<Touch>,
  conversions: Iterable<Conversion>,
  windows?: WindowsByCampaign
): Array<{ readonly conversion: Conversion; readonly attribution: Attribution }> => {
  const all = [...touches]
  return dedupe(conversions).map((conversion) => ({ conversion, attribution: attribute(all, conversion, windows) }))
}
