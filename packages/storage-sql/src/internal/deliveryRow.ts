/**
 * A row of `ad_delivery` as a campaign's delivery: read by `SqlDeliveryStore` and, after a flush's charges, by the ad
 * decision thread (`adDecisionThread.ts`), which hands the rows back as they are.
 */
import type { Budget, Pacing } from "@openaudience/ad-selector"

type Int = number | string

/** The columns of `ad_delivery` a delivery is read from, in this order in the decision thread's replies. */
export interface DeliveryRow {
  readonly day_index: Int
  readonly today: Int
  readonly total: Int
  readonly pacing: string | null
}

export const deliveryOf = (row: DeliveryRow): Budget.Delivery => ({
  spend: { day: Number(row.day_index), today: Number(row.today), total: Number(row.total) },
  pacing: row.pacing === null ? undefined : (JSON.parse(row.pacing) as Pacing.State)
})
