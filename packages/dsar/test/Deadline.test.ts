import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, FastCheck as fc, Schema, TestClock } from "effect"
import * as Deadline from "../src/Deadline.js"

const utc = (iso: string): number => Date.parse(iso)
const iso = (at: number): string => new Date(at).toISOString()

const gdpr = new Deadline.Policy({ regime: "gdpr" })
const ccpa = new Deadline.Policy({ regime: "ccpa" })

/** Any instant between 1990 and 2100. */
const instant = fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2100, 0, 1) })

describe("Deadline", () => {
  it("GDPR: one calendar month from receipt, clamped to the last day of a shorter month", () => {
    assert.strictEqual(iso(Deadline.dueAt(gdpr, utc("2026-03-05T14:30:00Z"))), "2026-04-05T14:30:00.000Z")
    assert.strictEqual(iso(Deadline.dueAt(gdpr, utc("2026-01-31T09:00:00Z"))), "2026-02-28T09:00:00.000Z")
    assert.strictEqual(iso(Deadline.dueAt(gdpr, utc("2028-01-31T09:00:00Z"))), "2028-02-29T09:00:00.000Z")
    assert.strictEqual(iso(Deadline.dueAt(gdpr, utc("2026-12-31T23:59:59.999Z"))), "2027-01-31T23:59:59.999Z")
    // The extension counts from receipt: received 31 January, first due 28 February, extended due 30 April.
    assert.strictEqual(iso(Deadline.extendedDueAt(gdpr, utc("2026-01-31T09:00:00Z"))!), "2026-04-30T09:00:00.000Z")
    assert.strictEqual(iso(Deadline.extendedDueAt(gdpr, utc("2026-11-30T00:00:00Z"))!), "2027-02-28T00:00:00.000Z")
  })

  it("CCPA: 45 days, extended by 45 more", () => {
    const received = utc("2026-01-01T12:00:00Z")
    assert.strictEqual(iso(Deadline.dueAt(ccpa, received)), "2026-02-15T12:00:00.000Z")
    assert.strictEqual(iso(Deadline.extendedDueAt(ccpa, received)!), "2026-04-01T12:00:00.000Z")
  })

  it("custom: the tenant's days, and no extension when extensionDays is 0", () => {
    const received = utc("2026-06-01T00:00:00Z")
    const ten = new Deadline.Policy({ regime: "custom", custom: new Deadline.Custom({ days: 10, extensionDays: 5 }) })
    assert.strictEqual(iso(Deadline.dueAt(ten, received)), "2026-06-11T00:00:00.000Z")
    assert.strictEqual(iso(Deadline.extendedDueAt(ten, received)!), "2026-06-16T00:00:00.000Z")
    const fixed = new Deadline.Policy({ regime: "custom", custom: new Deadline.Custom({ days: 10, extensionDays: 0 }) })
    assert.isUndefined(Deadline.extendedDueAt(fixed, received))
  })

  it("a policy decodes with reminders 7 and 1 days before by default, and refuses a negative day", () => {
    const policy = Schema.decodeUnknownSync(Deadline.Policy)({ regime: "ccpa" })
    assert.deepStrictEqual(policy.reminderDaysBefore, [7, 1])
    assert.throws(() => Schema.decodeUnknownSync(Deadline.Policy)({ regime: "gdpr", reminderDaysBefore: [-1] }))
    assert.throws(() => Schema.decodeUnknownSync(Deadline.Policy)({ regime: "eu" }))
  })

  it.effect("reminders fall the policy's days before the deadline read from the clock; none before receipt", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(utc("2026-03-01T08:00:00Z"))
      const received = yield* Clock.currentTimeMillis
      const due = Deadline.dueAt(gdpr, received)
      assert.deepStrictEqual(
        Deadline.reminders(gdpr, received, due).map((r) => [r.daysBefore, iso(r.at)]),
        [
          [7, "2026-03-25T08:00:00.000Z"],
          [1, "2026-03-31T08:00:00.000Z"]
        ]
      )
      const short = new Deadline.Policy({
        regime: "custom",
        custom: new Deadline.Custom({ days: 5, extensionDays: 0 }),
        reminderDaysBefore: [7, 2, 2]
      })
      assert.deepStrictEqual(
        Deadline.reminders(short, received, Deadline.dueAt(short, received)).map((r) => r.daysBefore),
        [2]
      )
    })
  )

  it.prop(
    "every deadline falls after receipt; GDPR's within 31 days, its extension within 3 months",
    [instant],
    ([received]) => {
      for (const policy of [gdpr, ccpa]) {
        const due = Deadline.dueAt(policy, received)
        const extended = Deadline.extendedDueAt(policy, received)!
        assert.isAbove(due, received)
        assert.isAbove(extended, due)
      }
      const due = Deadline.dueAt(gdpr, received)
      assert.isAtLeast(due - received, 28 * Deadline.day)
      assert.isAtMost(due - received, 31 * Deadline.day)
      const extended = Deadline.extendedDueAt(gdpr, received)!
      assert.isAtMost(extended, Deadline.addCalendarMonths(received, 3))
      assert.isAtMost(extended - received, 92 * Deadline.day)
      assert.isAtLeast(extended - received, 89 * Deadline.day)
    }
  )

  it.prop(
    "month arithmetic keeps the day and time, or clamps to the month's last day",
    [instant, fc.integer({ min: 0, max: 24 })],
    ([at, months]) => {
      const from = new Date(at)
      const to = new Date(Deadline.addCalendarMonths(at, months))
      const monthIndex = from.getUTCFullYear() * 12 + from.getUTCMonth() + months
      assert.strictEqual(to.getUTCFullYear() * 12 + to.getUTCMonth(), monthIndex)
      const lastDay = new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth() + 1, 0)).getUTCDate()
      assert.strictEqual(to.getUTCDate(), Math.min(from.getUTCDate(), lastDay))
      assert.strictEqual(at % Deadline.day, to.getTime() % Deadline.day)
    }
  )
})
