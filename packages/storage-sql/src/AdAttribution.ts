/**
 * The shop's conversions credited to the ads that earned them: a job over the log of stored events (`job`, consumer
 * `worker/ad-attribution`) that reads the stored conversion events its records name and, for each, asks
 * @openaudience/ad-selector's `Attribution.attribute` which of the visitor's touches in the `AdLog` earns it (the
 * last click within the click window of its campaign, else the last viewable impression within the view window; 7
 * days and 1 day unless the campaign's `attribution` says otherwise), then credits it with `AdLog.recordConversion`.
 * `attributeEvents` is that logic as a plain function over the `AdLog` port with fixed windows, and
 * `attributeWithCampaigns` with each tenant's campaigns' windows read from the `CampaignStore`.
 *
 * Which stored events count, and how each becomes a conversion:
 * - **Type**: `conversion`, whatever its `conversionType` (purchase, lead, signup, subscription, other): the shop's
 *   conversions, not only its purchases.
 * - **Identified only**: the event carries the tenant's pseudonym of the visitor (`visitor`); the ad log's touches
 *   are keyed by the same pseudonym. An anonymous conversion has no touches to look up.
 * - **Consent**: the stored receipt's decision allows `measurement`. Crediting an ad the visitor saw with the
 *   visitor's purchase is measuring the ad's effect on that visitor, not personalizing anything, so measurement is
 *   the purpose it needs; no receipt (or one the store could not read) allows nothing.
 * - **Order id**: the payload's `orderId` (a non-empty string); an event without one uses its event id, so a
 *   conversion sent twice with the same event id still counts once.
 * - **Value**: exact money in minor units from the payload: `value` and `currency`; without a `value`, the sum of the
 *   line items (`quantity × unitPrice`); without either, 0 (a lead). A value that is not a safe non-negative integer,
 *   or a value without a known currency code, skips the event (`InvalidValue`) rather than counting a wrong amount.
 * - **Time**: the event's `receivedAt`, the server's clock, which is the clock the ad server stamped the touches
 *   with. `clientTs` is the browser's (or the shop server's) clock: it may be skewed, or set back on purpose to reach
 *   an older touch.
 *
 * The visitor's touches are read from the longest window any campaign of the tenant has (7 days by default), then each
 * touch is judged by the windows of its own campaign (a campaign with `viewDays: 0` never earns a view-through
 * conversion; one with `clickDays: 3` not a click four days old). A conversion whose visitor has no touch in its
 * windows records nothing. Replaying the log never counts
 * an order twice: `recordConversion` credits a tenant's order once, and the job also skips records at or below its
 * position (in `worker_positions`), which it writes in the same transaction as the conversions when the `AdLog` is
 * `SqlAdLog` on the same database. Within a batch only the first event of an order (in log order, that is by time of
 * receipt) is attributed.
 *
 * The campaigns are read once per tenant per batch, from the `CampaignStore` (`SqlCampaignStore` on the same database
 * in `layerJob`); a campaign deleted since it served is judged by `Options.windows`' fallback (the defaults).
 *
 * Not done here: the delayed reward to the ad server's sampler, which lives in the server's process: it reads the
 * conversions credited here back with `AdLog.conversionsSince` (`Serving.learnConversions`).
 *
 * @since 0.4.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { AdLog, Attribution, type Campaign, CampaignStore } from "@openaudience/ad-selector"
import { Currency } from "@openaudience/event-schema"
import { Consumer, StoredEvents } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as DailyCounts from "./DailyCounts.js"
import * as EventStore from "./EventStore.js"
import * as ErasureLock from "./internal/erasureLock.js"
import * as SqlAdLog from "./SqlAdLog.js"
import * as SqlCampaignStore from "./SqlCampaignStore.js"
import { fromSqlError, type StorageError } from "./StorageError.js"
import type { SequencedEvent } from "./StoredEvent.js"

/**
 * The consumer name the job commits its log offsets and its position under.
 *
 * @since 0.4.0
 * @category models
 */
export const consumer = "worker/ad-attribution"

/**
 * The stored event type attributed.
 *
 * @since 0.4.0
 * @category models
 */
export const conversionType = "conversion"

/**
 * Settings: attribution windows per campaign id, overriding the campaigns' own, and the `fallback` for a campaign
 * the store no longer holds (`Attribution.defaultWindows` when absent). `attributeEvents` uses them alone.
 *
 * @since 0.4.0
 * @category models
 */
export interface Options {
  readonly windows?: Attribution.WindowsByCampaign | undefined
}

/**
 * Why a stored event was skipped before attribution: `NotConversion`, `Anonymous` (no visitor pseudonym),
 * `NoMeasurementConsent`, `InvalidValue` (see the module docs), `RepeatedOrder` (an earlier event of the batch had the
 * same tenant and order id).
 *
 * @since 0.4.0
 * @category models
 */
export type Skip = "NotConversion" | "Anonymous" | "NoMeasurementConsent" | "InvalidValue" | "RepeatedOrder"

/**
 * What happened to one stored event: skipped, or attributed (`Attribution.Reason`) and whether the conversion was
 * credited now (`recorded`: false when no touch earned it or the order was credited before).
 *
 * @since 0.4.0
 * @category models
 */
export type Outcome =
  | { readonly eventId: string; readonly tenant: string; readonly skipped: Skip }
  | {
      readonly eventId: string
      readonly tenant: string
      readonly skipped?: undefined
      readonly reason: Attribution.Reason
      readonly recorded: boolean
    }

/**
 * A stored conversion ready to attribute: the tenant, the visitor's pseudonym and the conversion.
 *
 * @since 0.4.0
 * @category models
 */
export interface Candidate {
  readonly tenant: string
  readonly visitor: string
  readonly conversion: Attribution.Conversion
}

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isMinorUnits = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

/** The value of a payload in minor units: `value`, else the items' sum, else 0; `undefined` when unreadable. */
const amountOf = (payload: Readonly<Record<string, unknown>>): number | undefined => {
  if (payload.value !== undefined) return isMinorUnits(payload.value) ? payload.value : undefined
  const items = payload.items
  if (items === undefined) return 0
  if (!Array.isArray(items)) return undefined
  let sum = 0
  for (const item of items) {
    if (!isRecord(item) || !isMinorUnits(item.quantity) || !isMinorUnits(item.unitPrice)) return undefined
    sum += item.quantity * item.unitPrice
    if (!Number.isSafeInteger(sum)) return undefined
  }
  return sum
}

/**
 * The conversion a stored event stands for, or why it is skipped (see the module docs).
 *
 * @since 0.4.0
 * @category combinators
 */
export const candidateOf = (event: SequencedEvent): Candidate | Exclude<Skip, "RepeatedOrder"> => {
  if (event.type !== conversionType) return "NotConversion"
  if (event.visitor === null || event.visitor === "") return "Anonymous"
  if (event.consent?.decision.measurement !== true) return "NoMeasurementConsent"
  const payload = isRecord(event.payload) ? event.payload : {}
  const amount = amountOf(payload)
  if (amount === undefined) return "InvalidValue"
  const currency = payload.currency
  let code = ""
  if (currency !== undefined) {
    if (typeof currency !== "string" || !Currency.isCurrencyCode(currency)) return "InvalidValue"
    code = currency
  } else if (amount > 0) {
    return "InvalidValue"
  }
  const orderId = typeof payload.orderId === "string" && payload.orderId !== "" ? payload.orderId : event.eventId
  return {
    tenant: event.tenant,
    visitor: event.visitor,
    conversion: { orderId, at: event.receivedAt, value: { amount, currency: code } }
  }
}

/**
 * How far back touches are read: the longest click or view window of `windows` (7 days by default).
 *
 * @since 0.4.0
 * @category combinators
 */
export const lookback = (windows?: Attribution.WindowsByCampaign): number => Attribution.lookback(windows)

/**
 * The windows of a tenant's `campaigns` (their own `attribution`), with `options.windows`' entries overriding them and
 * its fallback for campaigns not among them.
 *
 * @since 0.4.0
 * @category combinators
 */
export const windowsOf = (
  campaigns: Iterable<Campaign.Campaign>,
  options: Options = {}
): Attribution.WindowsByCampaign => {
  const own = Attribution.fromCampaigns(campaigns, options.windows?.fallback)
  const merged = new Map(own.campaigns)
  for (const [id, w] of options.windows?.campaigns ?? []) merged.set(id, w)
  return { campaigns: merged, fallback: own.fallback }
}

const attributeWith = (
  events: Iterable<SequencedEvent>,
  windowsFor: (tenant: string) => Attribution.WindowsByCampaign
): Effect.Effect<ReadonlyArray<Outcome>, AdLog.AdLogError, AdLog.AdLog> =>
  Effect.gen(function* () {
    const log = yield* AdLog.AdLog
    const seen = new Set<string>()
    const outcomes: Array<Outcome> = []
    for (const event of events) {
      const candidate = candidateOf(event)
      if (typeof candidate === "string") {
        outcomes.push({ eventId: event.eventId, tenant: event.tenant, skipped: candidate })
        continue
      }
      const { conversion, tenant, visitor } = candidate
      const order = `${tenant}\u0000${conversion.orderId}`
      if (seen.has(order)) {
        outcomes.push({ eventId: event.eventId, tenant, skipped: "RepeatedOrder" })
        continue
      }
      seen.add(order)
      const windows = windowsFor(tenant)
      // Read with the longest window of any of the tenant's campaigns, then each touch judged by its own campaign's.
      const touches = yield* log.touches(tenant, visitor, conversion.at - Attribution.lookback(windows))
      const attribution = Attribution.attribute(touches, conversion, windows)
      const recorded =
        attribution.touch === undefined
          ? false
          : yield* log.recordConversion({
              tenant,
              orderId: conversion.orderId,
              decisionId: attribution.touch.decisionId,
              campaignId: attribution.touch.campaignId,
              visitor,
              value: conversion.value.amount,
              currency: conversion.value.currency,
              at: conversion.at
            })
      outcomes.push({ eventId: event.eventId, tenant, reason: attribution.reason, recorded })
    }
    return outcomes
  })

/**
 * Attributes and credits the conversions among `events` (any tenants, in log order) over the `AdLog` in context;
 * one outcome per event, in order.
 *
 * @since 0.4.0
 * @category combinators
 */
export const attributeEvents = (
  events: Iterable<SequencedEvent>,
  options: Options = {}
): Effect.Effect<ReadonlyArray<Outcome>, AdLog.AdLogError, AdLog.AdLog> => {
  const windows = options.windows
  return attributeWith(events, () => windows ?? {})
}

/**
 * Like `attributeEvents`, each tenant's conversions judged by the windows of its campaigns in the `CampaignStore` in
 * context (read once per tenant; see `windowsOf` for how `options` combine with them).
 *
 * @since 0.4.0
 * @category combinators
 */
export const attributeWithCampaigns = (
  events: Iterable<SequencedEvent>,
  options: Options = {}
): Effect.Effect<
  ReadonlyArray<Outcome>,
  AdLog.AdLogError | CampaignStore.CampaignStoreError,
  AdLog.AdLog | CampaignStore.CampaignStore
> =>
  Effect.gen(function* () {
    const store = yield* CampaignStore.CampaignStore
    const all = [...events]
    const byTenant = new Map<string, Attribution.WindowsByCampaign>()
    for (const event of all) {
      if (event.type !== conversionType || byTenant.has(event.tenant)) continue
      byTenant.set(event.tenant, windowsOf(yield* store.list(event.tenant), options))
    }
    return yield* attributeWith(all, (tenant) => byTenant.get(tenant) ?? windowsOf([], options))
  })

const isSqlError = (error: unknown): error is SqlError =>
  typeof error === "object" && error !== null && "_tag" in error && error._tag === "SqlError"

/**
 * Attributes the conversions the records name, skipping records at or below the job's position, and records the new
 * position, in one transaction (see the module docs). The log commit is the runner's (see `job`).
 *
 * @since 0.4.0
 * @category combinators
 */
export const apply =
  (options: Options = {}) =>
  (
    items: ReadonlyArray<StoredEvents.Item>
  ): Effect.Effect<
    void,
    StorageError | AdLog.AdLogError | CampaignStore.CampaignStoreError,
    SqlClient.SqlClient | EventStore.EventStore | AdLog.AdLog | CampaignStore.CampaignStore
  > =>
    Effect.gen(function* () {
      if (items.length === 0) return
      const sql = yield* SqlClient.SqlClient
      const store = yield* EventStore.EventStore
      const transaction = Effect.gen(function* () {
        yield* ErasureLock.shared(sql)
        const rows = yield* sql<{ readonly position: number | string }>`
          SELECT position FROM worker_positions WHERE consumer = ${consumer}`
        const { fresh, high } = Consumer.unseen(items, Number(rows[0]?.position ?? 0))
        if (fresh.length === 0) return
        for (const [tenant, ranges] of StoredEvents.byTenant(fresh)) {
          const events = yield* store.bySeqRanges(tenant, ranges, { types: [conversionType], identified: true })
          yield* attributeWithCampaigns(events, options)
        }
        yield* sql`INSERT INTO worker_positions ${sql.insert({ consumer, position: high })}
          ON CONFLICT (consumer) DO UPDATE SET position = excluded.position`
      })
      yield* sql
        .withTransaction(transaction)
        .pipe(Effect.catchIf(isSqlError, (error) => Effect.fail(fromSqlError("Attributing conversions")(error))))
    })

/**
 * The job with attribution windows overriding the campaigns' own (run it with `Consumer.run`, or with the standard workers,
 * `Workers`). Its tables must exist (`migrate`).
 *
 * @since 0.4.0
 * @category constructors
 */
export const jobWith = (
  options: Options
): Consumer.Job<
  StorageError | AdLog.AdLogError | CampaignStore.CampaignStoreError,
  SqlClient.SqlClient | EventStore.EventStore | AdLog.AdLog | CampaignStore.CampaignStore
> => ({
  name: consumer,
  apply: apply(options)
})

/**
 * The job: each campaign's own windows (by default last click within 7 days, else last viewable impression within 1
 * day).
 *
 * @since 0.4.0
 * @category models
 */
export const job: Consumer.Job<
  StorageError | AdLog.AdLogError | CampaignStore.CampaignStoreError,
  SqlClient.SqlClient | EventStore.EventStore | AdLog.AdLog | CampaignStore.CampaignStore
> = jobWith({})

/**
 * Creates or updates the tables the job uses: the workers' positions, the ad log's and the campaigns'.
 *
 * @since 0.4.0
 * @category combinators
 */
export const migrate: Effect.Effect<void, StorageError, SqlClient.SqlClient> = Effect.asVoid(
  Effect.all([DailyCounts.migrate, SqlAdLog.migrate, SqlCampaignStore.migrate], { discard: true })
)

/**
 * What the job runs over besides the event store: `SqlAdLog` and `SqlCampaignStore` on the `SqlClient`'s database,
 * the tables migrated when built.
 *
 * @since 0.4.0
 * @category layers
 */
export const layerJob: Layer.Layer<AdLog.AdLog | CampaignStore.CampaignStore, StorageError, SqlClient.SqlClient> =
  Layer.mergeAll(SqlAdLog.layer, SqlCampaignStore.layer, Layer.effectDiscard(DailyCounts.migrate))
