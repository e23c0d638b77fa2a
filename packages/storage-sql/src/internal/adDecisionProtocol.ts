/**
 * The messages between the ad decision writer thread (`adDecisionThread.ts`) and the side that starts it
 * (`adDecisionWriter.ts`), typed once for both.
 */
import type { DeliveryRow } from "./deliveryRow.js"

/** What the thread is started with. */
export interface AdDecisionData {
  /** The SQLite file. */
  readonly filename: string
  readonly busyTimeoutMs: number
}

/**
 * One decision as a row of `ad_decisions`, in the column order of `adDecisionColumns`: id, tenant, campaign_id,
 * creative_id, product_ids (JSON), publisher, slot, visitor, personalized (0 or 1), propensity, cost_millis, currency,
 * decided_at.
 */
export type AdDecisionRow = readonly [
  id: string,
  tenant: string,
  campaignId: string,
  creativeId: string,
  productIds: string,
  publisher: string,
  slot: string,
  visitor: string | null,
  personalized: 0 | 1,
  propensity: number,
  costMillis: number,
  currency: string,
  decidedAt: number
]

/** The columns an `AdDecisionRow` fills, in its order. */
export const adDecisionColumns =
  "id, tenant, campaign_id, creative_id, product_ids, publisher, slot, visitor, personalized, propensity, " +
  "cost_millis, currency, decided_at"

/**
 * One budget charge to add to `ad_delivery` with no limit (the write-behind's ledger checked them): the campaign,
 * the UTC day index the cost counts on (`Budget`'s), the cost in millis.
 */
export type DeliveryCharge = readonly [campaignId: string, day: number, cost: number]

/**
 * A message to the thread: rows to insert and charges to add in one transaction, or "close" (after what was sent
 * before).
 */
export type AdDecisionMessage =
  | "close"
  | {
      readonly id: number
      readonly rows: ReadonlyArray<AdDecisionRow>
      readonly charges: ReadonlyArray<DeliveryCharge>
    }

/**
 * A message from the thread. `unique`: the transaction failed on a duplicate id, nothing of it was stored. `ok`: the
 * rows of `ad_delivery` of the campaigns charged, read after the charges in the same transaction.
 */
export type AdDecisionReply =
  | { readonly ready: true }
  | { readonly fatal: string }
  | {
      readonly id: number
      readonly ok: true
      readonly deliveries: ReadonlyArray<readonly [campaignId: string, row: DeliveryRow]>
    }
  | { readonly id: number; readonly error: string; readonly unique: boolean; readonly busy: boolean }
