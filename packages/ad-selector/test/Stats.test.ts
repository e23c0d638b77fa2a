import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck as fc, Schema } from "effect"
import * as Stats from "../src/Stats.js"

const close = (actual: number | null, expected: number, digits = 4) => {
  assert.isNotNull(actual)
  assert.approximately(actual!, expected, 0.5 * 10 ** -digits)
}

const ok = <A>(result: Either.Either<A, Stats.StatsError>): A =>
  Either.getOrThrowWith(result, (e) => new Error(`${e.reason}: ${e.message}`))

const reasonOf = (result: Either.Either<unknown, Stats.StatsError>): string =>
  Either.isLeft(result) ? result.left.reason : "ok"

const row = (day: string, fields: Partial<Stats.DayRow> = {}): Stats.DayRow => ({
  day,
  impressions: 0,
  viewable: 0,
  clicks: 0,
  conversions: 0,
  conversionValue: 0,
  spendMillis: 0,
  ...fields
})

describe("Stats.wilson", () => {
  it("matches published values (Newcombe 1998, Table I, Wilson score method)", () => {
    const cases: Array<[number, number, number, number]> = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
      [0, 10, 0, 0.2775],
      [5, 10, 0.2366, 0.7634]
    ]
    for (const [s, n, low, high] of cases) {
      const interval = Stats.wilson(s, n)
      close(interval.low, low)
      close(interval.high, high)
    }
    const rare = Stats.wilson(1, 1000)
    close(rare.low, 0.000177, 6)
    close(rare.high, 0.005643, 6)
  })

  it("is exact at the edges and [0, 1] without trials", () => {
    assert.strictEqual(Stats.wilson(0, 10).low, 0)
    assert.strictEqual(Stats.wilson(10, 10).high, 1)
    close(Stats.wilson(10, 10).low, 0.7225)
    assert.deepStrictEqual(Stats.wilson(0, 0), { low: 0, high: 1 })
    assert.deepStrictEqual(Stats.wilson(3, Number.NaN), { low: 0, high: 1 })
    assert.deepStrictEqual(Stats.wilson(7, 5), Stats.wilson(5, 5))
  })

  it.prop(
    "contains the observed rate, stays in [0, 1], and narrows as trials grow",
    [fc.integer({ min: 1, max: 10_000_000 }), fc.double({ min: 0, max: 1, noNaN: true })],
    ([n, fraction]) => {
      const s = Math.floor(fraction * n)
      const { low, high } = Stats.wilson(s, n)
      const p = s / n
      assert.isTrue(0 <= low && low <= p && p <= high && high <= 1, `${s}/${n}: [${low}, ${high}]`)
      const wider = Stats.wilson(s * 4, n * 4)
      assert.isAtMost(wider.high - wider.low, high - low + 1e-12)
      const ninetyNine = Stats.wilson(s, n, 2.576)
      assert.isTrue(ninetyNine.low <= low + 1e-12 && ninetyNine.high >= high - 1e-12)
    }
  )

  it.prop("is symmetric: failures mirror successes", [fc.integer({ min: 1, max: 100_000 }), fc.nat()], ([n, k]) => {
    const s = k % (n + 1)
    const a = Stats.wilson(s, n)
    const b = Stats.wilson(n - s, n)
    assert.approximately(a.low, 1 - b.high, 1e-9)
    assert.approximately(a.high, 1 - b.low, 1e-9)
  })
})

describe("Stats.lastDays", () => {
  it("ends on the UTC day of now and spans N days", () => {
    const now = Date.UTC(2026, 2, 1, 23, 59, 59, 999)
    assert.deepStrictEqual(ok(Stats.lastDays(1, now)), { since: "2026-03-01", until: "2026-03-01" })
    assert.deepStrictEqual(ok(Stats.lastDays(3, now)), { since: "2026-02-27", until: "2026-03-01" })
    assert.deepStrictEqual(ok(Stats.lastDays(2, Date.UTC(2024, 2, 1))), { since: "2024-02-29", until: "2024-03-01" })
    for (const bad of [0, -1, 1.5, Stats.MaxDays + 1, Number.NaN]) {
      assert.strictEqual(reasonOf(Stats.lastDays(bad, now)), "InvalidRange")
    }
    assert.strictEqual(reasonOf(Stats.lastDays(7, Number.POSITIVE_INFINITY)), "InvalidRange")
  })
})

describe("Stats.summarize", () => {
  const range = { since: "2026-11-28", until: "2026-12-02" }

  it("sums days into the route's shape, sorted, with missing days as zeros", () => {
    const stats = ok(
      Stats.summarize(
        [
          row("2026-12-01", {
            impressions: 1000,
            viewable: 600,
            clicks: 10,
            conversions: 2,
            conversionValue: 5998,
            spendMillis: 1_500_000
          }),
          row("2026-11-28", { impressions: 10, viewable: 5, clicks: 0, spendMillis: 15_000 })
        ],
        range
      )
    )
    assert.deepStrictEqual(
      stats.days.map((d) => d.day),
      ["2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"]
    )
    assert.deepStrictEqual(stats.days[1], {
      day: "2026-11-29",
      impressions: 0,
      viewable: 0,
      clicks: 0,
      ctr: null,
      ctrLow: null,
      ctrHigh: null,
      conversions: 0,
      conversionValue: 0,
      spend: 0,
      cpa: null,
      roas: null
    })
    const t = stats.total
    assert.strictEqual(t.impressions, 1010)
    assert.strictEqual(t.viewable, 605)
    assert.strictEqual(t.clicks, 10)
    close(t.ctr, 10 / 1010, 12)
    const interval = Stats.wilson(10, 1010)
    assert.strictEqual(t.ctrLow, interval.low)
    assert.strictEqual(t.ctrHigh, interval.high)
    assert.strictEqual(t.spend, 1515)
    assert.strictEqual(t.conversions, 2)
    assert.strictEqual(t.conversionValue, 5998)
    assert.strictEqual(t.cpa, 758) // 1515 / 2 = 757.5, half up
    close(t.roas, 5998 / 1515, 12)
    assert.strictEqual(stats.days[0]!.ctr, 0)
    assert.strictEqual(stats.days[0]!.ctrLow, 0)
    assert.isTrue(Schema.is(Stats.CampaignStats)(stats))
    // JSON-ready: encodes without loss.
    assert.deepStrictEqual(JSON.parse(JSON.stringify(Schema.encodeSync(Stats.CampaignStats)(stats))), stats)
  })

  it("rounds spend half up from the exact total, not day by day", () => {
    // Three days of 0.4 cent each: 1.2 cents in all, though every day alone rounds to 0.
    const stats = ok(
      Stats.summarize(
        ["2026-11-28", "2026-11-29", "2026-11-30"].map((d) => row(d, { impressions: 1, spendMillis: 400 })),
        range
      )
    )
    assert.deepStrictEqual(
      stats.days.map((d) => d.spend),
      [0, 0, 0, 0, 0]
    )
    assert.strictEqual(stats.total.spend, 1)
    assert.strictEqual(ok(Stats.summarize([row("2026-11-28", { spendMillis: 500 })], range)).total.spend, 1)
    assert.strictEqual(ok(Stats.summarize([row("2026-11-28", { spendMillis: 499 })], range)).total.spend, 0)
    // Spent something but less than half a cent: ROAS from the exact spend, not from 0.
    close(ok(Stats.summarize([row("2026-11-28", { spendMillis: 400, conversionValue: 2 })], range)).total.roas, 5, 12)
  })

  it("adds up several rows of one day, ignores rows outside the range, counts clicks beyond impressions as at most one each", () => {
    const stats = ok(
      Stats.summarize(
        [
          row("2026-11-30", { impressions: 3, clicks: 1 }),
          row("2026-11-30", { impressions: 1, clicks: 7 }),
          row("2026-11-27", { impressions: 1_000_000 }),
          row("2026-12-03", { impressions: 1_000_000 })
        ],
        range
      )
    )
    assert.strictEqual(stats.total.impressions, 4)
    assert.strictEqual(stats.total.clicks, 8)
    assert.strictEqual(stats.total.ctr, 1)
    assert.strictEqual(stats.total.ctrHigh, 1)
  })

  it("keeps money exact beyond float-safe partial products and refuses totals beyond the safe range", () => {
    const big = Number.MAX_SAFE_INTEGER - 1
    const exact = ok(
      Stats.summarize(
        [
          row("2026-11-28", { conversionValue: big - 1 }),
          row("2026-11-29", { conversionValue: 1, conversions: 3, spendMillis: big })
        ],
        range
      )
    )
    assert.strictEqual(exact.total.conversionValue, big)
    assert.strictEqual(exact.total.spend, Number((BigInt(big) + 500n) / 1000n))
    assert.strictEqual(exact.total.cpa, Number((2n * BigInt(big) + 3000n) / 6000n))
    const overflow = Stats.summarize(
      [row("2026-11-28", { conversionValue: big }), row("2026-11-29", { conversionValue: big })],
      range
    )
    assert.strictEqual(reasonOf(overflow), "Overflow")
  })

  it("refuses bad ranges and bad rows with a typed reason", () => {
    const bad: Array<[Iterable<Stats.DayRow>, Stats.Range, string]> = [
      [[], { since: "2026-12-02", until: "2026-11-28" }, "InvalidRange"],
      [[], { since: "2026-02-30", until: "2026-03-01" }, "InvalidRange"],
      [[], { since: "2026-1-1", until: "2026-03-01" }, "InvalidRange"],
      [[], { since: "2025-01-01", until: "2026-01-02" }, "InvalidRange"],
      [[row("2026-11-28", { clicks: -1 })], range, "InvalidRow"],
      [[row("2026-11-28", { spendMillis: 0.5 })], range, "InvalidRow"],
      [[row("2026-11-28", { impressions: Number.NaN })], range, "InvalidRow"],
      [[row("2026-11-28", { conversionValue: 2 ** 53 })], range, "InvalidRow"],
      [[row("28/11/2026")], range, "InvalidRow"]
    ]
    for (const [rows, r, reason] of bad)
      assert.strictEqual(reasonOf(Stats.summarize(rows, r)), reason, JSON.stringify(r))
    assert.strictEqual(reasonOf(Stats.summarize([], { since: "2025-01-01", until: "2026-01-01" })), "ok")
  })

  const arbRow = fc.record({
    day: fc.constantFrom("2026-11-27", "2026-11-28", "2026-11-29", "2026-12-01", "2026-12-02", "2026-12-03"),
    impressions: fc.nat({ max: 100_000 }),
    viewable: fc.nat({ max: 100_000 }),
    clicks: fc.nat({ max: 1000 }),
    conversions: fc.nat({ max: 50 }),
    conversionValue: fc.nat({ max: 10_000_000 }),
    spendMillis: fc.nat({ max: 1_000_000_000 })
  })

  it.prop(
    "the total is the sum of the days, and does not depend on the order of rows",
    [fc.array(arbRow, { maxLength: 20 })],
    ([rows]) => {
      const stats = ok(Stats.summarize(rows, range))
      assert.deepStrictEqual(ok(Stats.summarize([...rows].reverse(), range)), stats)
      assert.strictEqual(stats.days.length, 5)
      const inRange = rows.filter((r) => r.day >= range.since && r.day <= range.until)
      for (const name of ["impressions", "viewable", "clicks", "conversions", "conversionValue"] as const) {
        const expected = inRange.reduce((n, r) => n + r[name], 0)
        assert.strictEqual(stats.total[name], expected, name)
        assert.strictEqual(
          stats.days.reduce((n, d) => n + d[name], 0),
          expected,
          name
        )
      }
      const spendMillis = inRange.reduce((n, r) => n + r.spendMillis, 0)
      assert.strictEqual(stats.total.spend, Math.floor((spendMillis + 500) / 1000))
      assert.strictEqual(stats.total.roas === null, spendMillis === 0)
      assert.strictEqual(stats.total.cpa === null, stats.total.conversions === 0)
      for (const d of [stats.total, ...stats.days]) {
        assert.isTrue(Number.isInteger(d.spend) && (d.cpa === null || Number.isInteger(d.cpa)))
        if (d.ctr !== null) assert.isTrue(d.ctrLow! <= d.ctr && d.ctr <= d.ctrHigh!)
        assert.isTrue(Schema.is(Stats.Totals)(d))
      }
    }
  )
})
