/**
 * When a data-subject request must be answered, by regime, and when to remind the people answering it. Every time
 * is epoch milliseconds handed in by the caller (read from `Clock`), and every date is computed in UTC:
 *
 * - **GDPR** (Art. 12(3)): one calendar month from receipt, the same time of day on the same day of the next month,
 *   or on that month's last day when it has no such day (received 31 January → due 28 or 29 February). Extendable
 *   once, by two further months (three calendar months from receipt), only with notice given inside the first month.
 * - **CCPA/CPRA** (Cal. Civ. Code § 1798.130(a)(2)): 45 days from receipt, extendable once by 45 more days with notice
 *   given inside the first 45.
 * - **custom**: a tenant's own `days` and `extensionDays` (0: not extendable).
 *
 * A tenant's `Policy` names its regime and the days before the deadline at which reminders go out (7 and 1 by
 * default).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * One day in milliseconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const day = 86_400_000

/**
 * The legal regime a request is answered under.
 *
 * @since 0.1.0
 * @category models
 */
export const Regime = Schema.Literal("gdpr", "ccpa", "custom")

/**
 * The legal regime a request is answered under.
 *
 * @since 0.1.0
 * @category models
 */
export type Regime = typeof Regime.Type

/**
 * A tenant's own deadline: `days` to answer, and `extensionDays` more when extended (0: never extendable).
 *
 * @since 0.1.0
 * @category models
 */
export class Custom extends Schema.Class<Custom>("@openaudience/dsar/Deadline/Custom")({
  days: Schema.Int.pipe(Schema.between(1, 3650)),
  extensionDays: Schema.Int.pipe(Schema.between(0, 3650))
}) {}

/**
 * A tenant's request policy: its regime (`custom` reads `custom`), and how many days before the deadline a reminder
 * goes out (default 7 and 1).
 *
 * @since 0.1.0
 * @category models
 */
export class Policy extends Schema.Class<Policy>("@openaudience/dsar/Deadline/Policy")({
  regime: Regime,
  custom: Schema.optional(Custom),
  reminderDaysBefore: Schema.optionalWith(Schema.Array(Schema.Int.pipe(Schema.between(0, 3650))), {
    default: () => [7, 1]
  })
}) {}

/**
 * The default policy: GDPR, reminders 7 days and 1 day before the deadline.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultPolicy: Policy = new Policy({ regime: "gdpr" })

/**
 * `at` moved by `months` calendar months in UTC, keeping the time of day; a day the target month lacks becomes its
 * last day (31 January + 1 month = 28 or 29 February).
 *
 * @since 0.1.0
 * @category combinators
 */
export const addCalendarMonths = (at: number, months: number): number => {
  const date = new Date(at)
  const year = date.getUTCFullYear()
  const month = date.getUTCMonth() + months
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate()
  return Date.UTC(
    year,
    month,
    Math.min(date.getUTCDate(), lastDay),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    date.getUTCMilliseconds()
  )
}

const customOf = (policy: Policy): Custom => policy.custom ?? new Custom({ days: 30, extensionDays: 0 })

/**
 * The deadline of a request received at `receivedAt` under `policy`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const dueAt = (policy: Policy, receivedAt: number): number => {
  switch (policy.regime) {
    case "gdpr":
      return addCalendarMonths(receivedAt, 1)
    case "ccpa":
      return receivedAt + 45 * day
    case "custom":
      return receivedAt + customOf(policy).days * day
  }
}

/**
 * The deadline of a request received at `receivedAt` once extended, or `undefined` when the policy allows no
 * extension. Counted from receipt, not from the first deadline, so month-end clamping never shortens it (received
 * 31 January: first due end of February, extended due 30 April).
 *
 * @since 0.1.0
 * @category combinators
 */
export const extendedDueAt = (policy: Policy, receivedAt: number): number | undefined => {
  switch (policy.regime) {
    case "gdpr":
      return addCalendarMonths(receivedAt, 3)
    case "ccpa":
      return receivedAt + 90 * day
    case "custom": {
      const custom = customOf(policy)
      return custom.extensionDays === 0 ? undefined : receivedAt + (custom.days + custom.extensionDays) * day
    }
  }
}

/**
 * A reminder that a deadline is near: `daysBefore` the deadline, sent from `at` on.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reminder {
  readonly daysBefore: number
  readonly at: number
}

/**
 * The reminders of a deadline under `policy`, earliest first (days before it that fall before `receivedAt` are
 * dropped: a 7-day reminder of a 5-day deadline is never sent).
 *
 * @since 0.1.0
 * @category combinators
 */
export const reminders = (policy: Policy, receivedAt: number, due: number): ReadonlyArray<Reminder> =>
  [...new Set(policy.reminderDaysBefore)]
    .map((daysBefore) => ({ daysBefore, at: due - daysBefore * day }))
    .filter((reminder) => reminder.at >= receivedAt)
    .sort((a, b) => a.at - b.at)
