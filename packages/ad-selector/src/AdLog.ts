/**
 * The record of what was shown: decisions, their rendered and viewable impressions, clicks and the conversions
 * attributed to them. It feeds campaign statistics (`Stats.summarize` over `dailyStats`), attribution (`touches`
 * of a visitor for `Attribution.attribute`) and the click redirect (`decision` by id: the landing URL is looked up
 * from the decision's creative or product, never taken from the request).
 *
 * Every row is keyed by the advertiser tenant and, when the browser was recognized, by that tenant's pseudonym of
 * it (`visitor`), never by a raw identifier: `eraseVisitor` removes a data subject's rows. Impressions and clicks
 * count once per decision and kind (a reloaded beacon, a double click), conversions once per order.
 *
 * Statistics count a decision's impression and spend on the day it was rendered (CPM is paid for rendered ads), its
 * viewable impression on the day it became viewable, a click on the day it happened and a conversion on its day.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Attribution from "./Attribution.js"
import type * as Stats from "./Stats.js"

/**
 * One decision that filled a slot.
 *
 * - `tenant`: the advertiser whose campaign won; `publisher`: the site key of the page the ad was shown on.
 * - `visitor`: the advertiser tenant's pseudonym of the browser, or `null` for an anonymous browser.
 * - `productIds`: the catalog products shown (product creatives), in order.
 * - `propensity`: the probability the policy had of showing this creative (off-policy evaluation).
 * - `costMillis`: the price of the impression in thousandths of a minor unit of `currency`.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecisionRecord {
  readonly id: string
  readonly tenant: string
  readonly campaignId: string
  readonly creativeId: string
  readonly productIds: ReadonlyArray<string>
  readonly publisher: string
  readonly slot: string
  readonly visitor: string | null
  readonly personalized: boolean
  readonly propensity: number
  readonly costMillis: number
  readonly currency: string
  readonly at: number
}

/**
 * An impression: rendered (the ad document loaded) or viewable (half of it in view for a second).
 *
 * @since 0.1.0
 * @category models
 */
export type ImpressionKind = "rendered" | "viewable"

/**
 * A conversion credited to a decision.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConversionRecord {
  readonly tenant: string
  readonly orderId: string
  readonly decisionId: string
  readonly campaignId: string
  readonly visitor: string
  readonly value: number
  readonly currency: string
  readonly at: number
}

/**
 * A credited conversion with its position in the log of conversions (`seq`): positions grow in the order conversions
 * are credited, whatever their times, so a reader that remembers the last one it saw (`conversionsSince`) reads each
 * conversion once, even from another process than the one that credited it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConversionEntry {
  readonly seq: number
  readonly conversion: ConversionRecord
}

/**
 * A range of UTC days, inclusive (`YYYY-MM-DD`).
 *
 * @since 0.1.0
 * @category models
 */
export interface DayRange {
  readonly since: string
  readonly until: string
}

/**
 * Why the ad log failed: `Unavailable` (try again), `InvalidInput` (a value it cannot hold), `Failed`.
 *
 * @since 0.1.0
 * @category errors
 */
export class AdLogError extends Schema.TaggedError<AdLogError>("@openaudience/ad-selector/AdLogError")("AdLogError", {
  reason: Schema.Literal("Unavailable", "InvalidInput", "Failed"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The ad log's operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Records a decision (its id is new; recording the same id again fails with `InvalidInput`). */
  readonly recordDecision: (decision: DecisionRecord) => Effect.Effect<void, AdLogError>
  /**
   * Records decisions as one write, all or none: fails with `InvalidInput` (storing none) when one is invalid, an id
   * repeats or exists. A store writes a group far more cheaply this way than one by one (`WriteBehind` uses it).
   */
  readonly recordDecisions: (decisions: ReadonlyArray<DecisionRecord>) => Effect.Effect<void, AdLogError>
  /**
   * Optional, for a log that keeps new decisions in memory first (`WriteBehind`): `recordDecision` done now, `true`;
   * `false` when it refuses the decision (the id exists); `undefined` when it cannot answer without an effect.
   * `Serving` uses it on a server's hot path.
   */
  readonly unsafeRecordDecision?: ((decision: DecisionRecord) => boolean | undefined) | undefined
  /** A decision by id, of any tenant (the click route reads it to find the landing page). */
  readonly decision: (id: string) => Effect.Effect<Option.Option<DecisionRecord>, AdLogError>
  /** Counts an impression of a decision once per kind: `true` the first time, `false` after (or no such decision). */
  readonly recordImpression: (
    decisionId: string,
    kind: ImpressionKind,
    at: number
  ) => Effect.Effect<boolean, AdLogError>
  /** Counts a click of a decision once: `true` the first time, `false` after (or no such decision). */
  readonly recordClick: (decisionId: string, at: number) => Effect.Effect<boolean, AdLogError>
  /** The visitor's clicks and viewable impressions with this tenant at or after `since`, oldest first. */
  readonly touches: (
    tenant: string,
    visitor: string,
    since: number
  ) => Effect.Effect<ReadonlyArray<Attribution.Touch>, AdLogError>
  /** Credits a conversion: `true` when new, `false` when the tenant's order was already credited. */
  readonly recordConversion: (conversion: ConversionRecord) => Effect.Effect<boolean, AdLogError>
  /**
   * Up to `limit` conversions credited after position `cursor` (0 for the first), in order of position: give the last
   * entry's `seq` as the next cursor. Erased conversions are left out; positions are never reused.
   */
  readonly conversionsSince: (
    cursor: number,
    limit: number
  ) => Effect.Effect<ReadonlyArray<ConversionEntry>, AdLogError>
  /** The position of the latest conversion credited (0 before the first): where a new reader starts from. */
  readonly conversionCursor: Effect.Effect<number, AdLogError>
  /** A campaign's counters per day in `range` (days without any are left out). */
  readonly dailyStats: (
    tenant: string,
    campaignId: string,
    range: DayRange
  ) => Effect.Effect<ReadonlyArray<Stats.DayRow>, AdLogError>
  /** Removes every decision, impression, click and conversion of a visitor of a tenant; the number of rows removed. */
  readonly eraseVisitor: (tenant: string, visitor: string) => Effect.Effect<number, AdLogError>
}

/**
 * The ad log service.
 *
 * @since 0.1.0
 * @category tags
 */
export class AdLog extends Context.Tag("@openaudience/ad-selector/AdLog")<AdLog, Service>() {}

/**
 * The UTC day (`YYYY-MM-DD`) of a time in milliseconds.
 *
 * @since 0.1.0
 * @category utils
 */
export const dayOf = (at: number): string => new Date(at).toISOString().slice(0, 10)

interface Stored {
  readonly decision: DecisionRecord
  rendered: number | undefined
  viewable: number | undefined
  clicked: number | undefined
}

/**
 * An in-memory ad log (tests, single-process demos).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const decisions = new Map<string, Stored>()
  const conversions = new Map<string, ConversionEntry>()
  let lastSeq = 0
  const recordDecisions = (batch: ReadonlyArray<DecisionRecord>) =>
    Effect.suspend(() => {
      const ids = new Set<string>()
      for (const decision of batch) {
        if (decisions.has(decision.id) || ids.has(decision.id)) {
          return Effect.fail(new AdLogError({ reason: "InvalidInput", message: `decision ${decision.id} exists` }))
        }
        ids.add(decision.id)
      }
      for (const decision of batch) {
        decisions.set(decision.id, {
          decision: { ...decision, productIds: [...decision.productIds] },
          rendered: undefined,
          viewable: undefined,
          clicked: undefined
        })
      }
      return Effect.void
    })
  const mark = (decisionId: string, field: "rendered" | "viewable" | "clicked", at: number) =>
    Effect.sync(() => {
      const stored = decisions.get(decisionId)
      if (stored === undefined || stored[field] !== undefined) return false
      stored[field] = at
      return true
    })
  return {
    recordDecision: (decision) => recordDecisions([decision]),
    recordDecisions,
    decision: (id) => Effect.sync(() => Option.map(Option.fromNullable(decisions.get(id)), (s) => s.decision)),
    recordImpression: (decisionId, kind, at) => mark(decisionId, kind, at),
    recordClick: (decisionId, at) => mark(decisionId, "clicked", at),
    touches: (tenant, visitor, since) =>
      Effect.sync(() => {
        const out: Array<Attribution.Touch> = []
        for (const { decision: d, viewable, clicked } of decisions.values()) {
          if (d.tenant !== tenant || d.visitor !== visitor) continue
          const base = {
            decisionId: d.id,
            campaignId: d.campaignId,
            creativeId: d.creativeId,
            ...(d.productIds[0] === undefined ? {} : { productId: d.productIds[0] })
          }
          if (clicked !== undefined && clicked >= since) out.push({ kind: "click", ...base, at: clicked })
          if (viewable !== undefined && viewable >= since) out.push({ kind: "view", ...base, at: viewable })
        }
        return out.sort((a, b) => a.at - b.at || a.decisionId.localeCompare(b.decisionId))
      }),
    recordConversion: (conversion) =>
      Effect.sync(() => {
        const key = `${conversion.tenant}\u0000${conversion.orderId}`
        if (conversions.has(key)) return false
        conversions.set(key, { seq: ++lastSeq, conversion: { ...conversion } })
        return true
      }),
    conversionsSince: (cursor, limit) =>
      Effect.sync(() => {
        const out: Array<ConversionEntry> = []
        if (!(limit > 0)) return out
        // Insertion order is position order.
        for (const entry of conversions.values()) {
          if (entry.seq <= cursor) continue
          out.push(entry)
          if (out.length >= limit) break
        }
        return out
      }),
    conversionCursor: Effect.sync(() => lastSeq),
    dailyStats: (tenant, campaignId, range) =>
      Effect.sync(() => {
        const days = new Map<string, { -readonly [K in keyof Stats.DayRow]: Stats.DayRow[K] }>()
        const row = (at: number) => {
          const day = dayOf(at)
          if (day < range.since || day > range.until) return undefined
          let found = days.get(day)
          if (found === undefined) {
            found = { day, impressions: 0, viewable: 0, clicks: 0, conversions: 0, conversionValue: 0, spendMillis: 0 }
            days.set(day, found)
          }
          return found
        }
        for (const { decision: d, rendered, viewable, clicked } of decisions.values()) {
          if (d.tenant !== tenant || d.campaignId !== campaignId) continue
          if (rendered !== undefined) {
            const r = row(rendered)
            if (r !== undefined) {
              r.impressions++
              r.spendMillis += d.costMillis
            }
          }
          if (viewable !== undefined) {
            const r = row(viewable)
            if (r !== undefined) r.viewable++
          }
          if (clicked !== undefined) {
            const r = row(clicked)
            if (r !== undefined) r.clicks++
          }
        }
        for (const { conversion: c } of conversions.values()) {
          if (c.tenant !== tenant || c.campaignId !== campaignId) continue
          const r = row(c.at)
          if (r !== undefined) {
            r.conversions++
            r.conversionValue += c.value
          }
        }
        return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1))
      }),
    eraseVisitor: (tenant, visitor) =>
      Effect.sync(() => {
        let removed = 0
        for (const [id, stored] of decisions) {
          if (stored.decision.tenant === tenant && stored.decision.visitor === visitor) {
            decisions.delete(id)
            removed++
          }
        }
        for (const [key, { conversion: c }] of conversions) {
          if (c.tenant === tenant && c.visitor === visitor) {
            conversions.delete(key)
            removed++
          }
        }
        return removed
      })
  }
}

/**
 * A layer of a fresh in-memory ad log.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<AdLog> = Layer.sync(AdLog, makeMemory)
