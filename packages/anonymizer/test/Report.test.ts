import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Report from "../src/Report.js"
import * as SecureRandom from "../src/SecureRandom.js"

interface Row {
  readonly visitor: string
  readonly day: string
  readonly category: string
  readonly count: number
}

const contributions = (rows: ReadonlyArray<Row>): Array<Report.Contribution> =>
  rows.map((r) => ({ visitor: r.visitor, dimensions: { day: r.day, category: r.category }, count: r.count }))

/** The distinct visitors behind a set of (day, category) pairs, from the raw rows. */
const visitorsIn = (rows: ReadonlyArray<Row>, keep: (row: Row) => boolean): number =>
  new Set(rows.filter(keep).map((r) => r.visitor)).size

const rowsFor = (day: string, category: string, visitors: number, prefix = `${day}/${category}`): Array<Row> =>
  Array.from({ length: visitors }, (_, i) => ({ visitor: `${prefix}/${i}`, day, category, count: 2 }))

describe("Report.aggregate", () => {
  it("counts events and distinct visitors per cell", () => {
    const cells = Report.aggregate(
      contributions([
        { visitor: "a", day: "d1", category: "shoes", count: 3 },
        { visitor: "a", day: "d1", category: "shoes", count: 1 },
        { visitor: "b", day: "d1", category: "shoes", count: 2 },
        { visitor: "b", day: "d1", category: "hats", count: 1 }
      ]),
      ["day", "category"]
    )
    assert.deepStrictEqual(cells, [
      { dimensions: { day: "d1", category: "hats" }, count: 1, visitors: 1 },
      { dimensions: { day: "d1", category: "shoes" }, count: 6, visitors: 2 }
    ])
  })

  it("bounds each visitor's contribution: at most maxContribution per cell, at most maxCells cells", () => {
    const rows: Array<Row> = [
      { visitor: "heavy", day: "d1", category: "a", count: 1_000 },
      { visitor: "heavy", day: "d1", category: "b", count: 7 },
      { visitor: "heavy", day: "d1", category: "c", count: 1 },
      { visitor: "light", day: "d1", category: "c", count: 1 }
    ]
    const cells = Report.aggregate(contributions(rows), ["category"], { maxContribution: 5, maxCells: 2 })
    assert.deepStrictEqual(
      cells.map((c) => [c.dimensions.category, c.count, c.visitors]),
      [
        ["a", 5, 1],
        ["b", 5, 1],
        ["c", 1, 1]
      ]
    )
  })

  it.prop(
    "removing one visitor changes the bounded table by at most maxContribution × maxCells (L1)",
    [
      fc.array(
        fc.record({
          visitor: fc.constantFrom("v1", "v2", "v3", "v4"),
          day: fc.constantFrom("d1", "d2"),
          category: fc.constantFrom("a", "b", "c"),
          count: fc.integer({ min: 1, max: 20 })
        }),
        { maxLength: 30 }
      ),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 })
    ],
    ([rows, maxContribution, maxCells]) => {
      const bounds = { maxContribution, maxCells }
      const full = Report.aggregate(contributions(rows), ["day", "category"], bounds)
      const without = Report.aggregate(
        contributions(rows.filter((r) => r.visitor !== "v1")),
        ["day", "category"],
        bounds
      )
      const key = (c: Report.Cell) => JSON.stringify(c.dimensions)
      const other = new Map(without.map((c) => [key(c), c]))
      let countDistance = 0
      let visitorDistance = 0
      for (const cell of full) {
        countDistance += cell.count - (other.get(key(cell))?.count ?? 0)
        visitorDistance += cell.visitors - (other.get(key(cell))?.visitors ?? 0)
      }
      assert.isAtMost(countDistance, maxContribution * maxCells)
      assert.isAtMost(visitorDistance, maxCells)
    }
  )
})

describe("Report.tabulate", () => {
  it("counts events and distinct known visitors; identifier-free events add to count only", () => {
    const rows: ReadonlyArray<Report.Row> = [
      { visitor: "v1", dimensions: { category: "shoes", day: "d1" }, count: 2 },
      { visitor: "v1", dimensions: { category: "shoes", day: "d2" }, count: 1 },
      { visitor: "v2", dimensions: { category: "shoes", day: "d1" }, count: 1 },
      { visitor: null, dimensions: { category: "shoes", day: "d1" }, count: 4 },
      { visitor: null, dimensions: { category: "hats", day: "d1" }, count: 3 }
    ]
    assert.deepStrictEqual(Report.tabulate(rows, ["category"]), [
      { dimensions: { category: "hats" }, count: 3, visitors: 0 },
      { dimensions: { category: "shoes" }, count: 8, visitors: 2 }
    ])
    assert.deepStrictEqual(Report.tabulate(rows, []), [{ dimensions: {}, count: 11, visitors: 2 }])
    // A dimension a row lacks counts under "".
    assert.deepStrictEqual(Report.tabulate([{ visitor: "v", dimensions: {}, count: 1 }], ["os"]), [
      { dimensions: { os: "" }, count: 1, visitors: 1 }
    ])
  })

  it.prop(
    "the grand total holds every event and every distinct visitor; finer cells add up to its count",
    [
      fc.array(
        fc.record({
          visitor: fc.option(fc.constantFrom("a", "b", "c", "d"), { nil: null }),
          dimensions: fc.record({ day: fc.constantFrom("d1", "d2"), category: fc.constantFrom("x", "y", "z") }),
          count: fc.integer({ min: 1, max: 5 })
        }),
        { maxLength: 40 }
      )
    ],
    ([rows]) => {
      const count = rows.reduce((n, row) => n + row.count, 0)
      const visitors = new Set(rows.flatMap((row) => (row.visitor === null ? [] : [row.visitor]))).size
      assert.deepStrictEqual(Report.tabulate(rows, []), rows.length === 0 ? [] : [{ dimensions: {}, count, visitors }])
      const cells = Report.tabulate(rows, ["day", "category"])
      assert.strictEqual(
        cells.reduce((n, cell) => n + cell.count, 0),
        count
      )
      for (const cell of cells) assert.isAtMost(cell.visitors, visitors)
    }
  )
})

describe("Report.marginsOf", () => {
  it("lists every proper subset of the dimensions, fewest first", () => {
    assert.deepStrictEqual(Report.marginsOf(["day"]), [[]])
    assert.deepStrictEqual(Report.marginsOf(["day", "category"]), [[], ["day"], ["category"]])
    const three = Report.marginsOf(["a", "b", "c"])
    assert.strictEqual(three.length, 7)
    assert.deepStrictEqual(three.slice(0, 4), [[], ["a"], ["b"], ["c"]])
    assert.isFalse(three.some((names) => names.length === 3))
  })
})

describe("Report.withDomain", () => {
  it("fills every combination of the public domain and drops cells outside it", () => {
    const cells = Report.withDomain(
      [
        { dimensions: { day: "d1", category: "a" }, count: 5, visitors: 2 },
        { dimensions: { day: "d1", category: "secret" }, count: 1, visitors: 1 }
      ],
      [
        ["day", ["d1", "d2"]],
        ["category", ["a", "b"]]
      ]
    )
    assert.deepStrictEqual(
      cells.map((c) => [c.dimensions.day, c.dimensions.category, c.count]),
      [
        ["d1", "a", 5],
        ["d1", "b", 0],
        ["d2", "a", 0],
        ["d2", "b", 0]
      ]
    )
  })
})

describe("Report.kAnonymize", () => {
  it("withholds every cell with fewer than k distinct visitors (default 50)", () => {
    const cells: Array<Report.Cell> = [
      { dimensions: { c: "a" }, count: 900, visitors: 50 },
      { dimensions: { c: "b" }, count: 900, visitors: 49 },
      { dimensions: { c: "c" }, count: 3, visitors: 3 }
    ]
    const result = Report.kAnonymize(cells)
    assert.strictEqual(result.k, 50)
    assert.deepStrictEqual(
      result.cells.map((c) => c.dimensions.c),
      ["a"]
    )
    assert.strictEqual(result.suppressed, 2)
    assert.deepStrictEqual(
      Report.kAnonymize(cells, { k: 3 }).cells.map((c) => c.dimensions.c),
      ["a", "b", "c"]
    )
  })

  // Two overlapping queries: by day × category, and by day only. Day d1 has categories a (60 visitors), b (55)
  // and c (3 visitors: the small group to protect).
  const rows: Array<Row> = [
    ...rowsFor("d1", "a", 60),
    ...rowsFor("d1", "b", 55),
    ...rowsFor("d1", "c", 3),
    ...rowsFor("d2", "a", 70),
    ...rowsFor("d2", "b", 80)
  ]
  const fine = Report.aggregate(contributions(rows), ["day", "category"])
  const byDay = Report.aggregate(contributions(rows), ["day"])
  const total = Report.aggregate(contributions(rows), [])

  /** The attacker's view: each published day total minus the published day × category cells of that day. */
  const differences = (cells: ReadonlyArray<Report.Cell>, dayTotals: ReadonlyArray<Report.Cell>) =>
    dayTotals.map((t) => {
      const published = cells.filter((c) => c.dimensions.day === t.dimensions.day)
      return {
        day: t.dimensions.day!,
        count: t.count - published.reduce((n, c) => n + c.count, 0),
        visitors: t.visitors - published.reduce((n, c) => n + c.visitors, 0),
        withheld: fine.filter(
          (f) => f.dimensions.day === t.dimensions.day && !published.some((p) => p.dimensions === f.dimensions)
        )
      }
    })

  it("differencing attack: two separately suppressed queries reveal the small cell exactly", () => {
    const byCategory = Report.kAnonymize(fine)
    const dayOnly = Report.kAnonymize(byDay)
    const d1 = differences(byCategory.cells, dayOnly.cells).find((d) => d.day === "d1")!
    // The attack works against naive suppression: c's 3 visitors and 6 events are recovered.
    assert.strictEqual(d1.visitors, 3)
    assert.strictEqual(d1.count, 6)
  })

  it("differencing attack: published together, no cell under k is recoverable", () => {
    const result = Report.kAnonymize(fine, {
      margins: [
        { by: ["day"], cells: byDay },
        { by: [], cells: total }
      ]
    })
    const [dayTotals, grand] = result.margins
    assert.strictEqual(dayTotals!.cells.length, 2)
    assert.strictEqual(grand!.cells.length, 1)
    for (const d of differences(result.cells, dayTotals!.cells)) {
      if (d.count === 0) continue
      // What differencing reveals is the sum over at least two withheld cells, with at least k visitors.
      assert.isAtLeast(d.withheld.length, 2)
      assert.isAtLeast(d.visitors, 50)
      const withheld = new Set(d.withheld.map((c) => c.dimensions.category))
      assert.isAtLeast(
        visitorsIn(rows, (r) => r.day === d.day && withheld.has(r.category)),
        50
      )
    }
    // c is withheld, and b with it (the complementary suppression).
    assert.deepStrictEqual(
      result.cells.map((c) => `${c.dimensions.day}/${c.dimensions.category}`),
      ["d1/a", "d2/a", "d2/b"]
    )
    assert.strictEqual(result.suppressed, 1)
    assert.strictEqual(result.complementary, 1)
  })

  it("protects a small day inside the grand total too", () => {
    const small = [...rows, ...rowsFor("d3", "a", 4)]
    const result = Report.kAnonymize(Report.aggregate(contributions(small), ["day", "category"]), {
      margins: [
        { by: ["day"], cells: Report.aggregate(contributions(small), ["day"]) },
        { by: [], cells: Report.aggregate(contributions(small), []) }
      ]
    })
    const days = result.margins[0]!.cells
    const grand = result.margins[1]!.cells[0]!
    const remainder = grand.visitors - days.reduce((n, c) => n + c.visitors, 0)
    // d3 (4 visitors) is withheld, so another day total is withheld with it: the remainder is not d3 alone.
    assert.notInclude(
      days.map((d) => d.dimensions.day),
      "d3"
    )
    assert.isTrue(remainder === 0 || remainder >= 50, `remainder ${remainder}`)
    assert.isAtMost(days.length, 2)
  })

  it.prop(
    "for random data and k, every published figure has ≥ k visitors and every remainder is empty or ≥ k",
    [
      fc.array(
        fc.record({
          visitor: fc.integer({ min: 0, max: 400 }).map(String),
          day: fc.constantFrom("d1", "d2", "d3"),
          category: fc.constantFrom("a", "b", "c", "d", "e"),
          count: fc.integer({ min: 1, max: 5 })
        }),
        { maxLength: 600 }
      ),
      fc.integer({ min: 2, max: 60 })
    ],
    ([data, k]) => {
      const cells = Report.aggregate(contributions(data), ["day", "category"])
      const days = Report.aggregate(contributions(data), ["day"])
      const grandTotal = Report.aggregate(contributions(data), [])
      const result = Report.kAnonymize(cells, {
        k,
        margins: [
          { by: ["day"], cells: days },
          { by: [], cells: grandTotal }
        ]
      })
      const [publishedDays, publishedGrand] = [result.margins[0]!.cells, result.margins[1]!.cells]
      for (const c of [...result.cells, ...publishedDays, ...publishedGrand]) assert.isAtLeast(c.visitors, k)
      const isPublished = (c: Report.Cell) => result.cells.includes(c)
      // Each published day total against its day's cells.
      for (const day of publishedDays) {
        const withheld = cells.filter((c) => c.dimensions.day === day.dimensions.day && !isPublished(c))
        if (withheld.length === 0) continue
        const names = new Set(withheld.map((c) => c.dimensions.category))
        assert.isAtLeast(
          visitorsIn(data, (r) => r.day === day.dimensions.day && names.has(r.category)),
          k
        )
      }
      // The grand total against the cells and against the day totals.
      if (publishedGrand.length === 1) {
        const withheld = cells.filter((c) => !isPublished(c))
        if (withheld.length > 0) {
          const keys = new Set(withheld.map((c) => `${c.dimensions.day}/${c.dimensions.category}`))
          assert.isAtLeast(
            visitorsIn(data, (r) => keys.has(`${r.day}/${r.category}`)),
            k
          )
        }
        const withheldDays = new Set(days.filter((d) => !publishedDays.includes(d)).map((d) => d.dimensions.day))
        if (withheldDays.size > 0)
          assert.isAtLeast(
            visitorsIn(data, (r) => withheldDays.has(r.day)),
            k
          )
      }
    },
    { fastCheck: { numRuns: 200 } }
  )
})

/**
 * An attacker independent of the implementation: the unknowns are all the fine cells, every published cell and
 * published total is one linear equation over them, and a withheld figure is exactly determined when its
 * indicator vector lies in the span of the published equations (exact Gaussian elimination over the integers).
 */
const solver = (equations: ReadonlyArray<ReadonlyArray<number>>) => {
  const basis: Array<{ pivot: number; row: Array<bigint> }> = []
  const reduce = (input: ReadonlyArray<number>): Array<bigint> => {
    const v = input.map(BigInt)
    for (const { pivot, row } of basis) {
      const a = v[pivot]!
      if (a === 0n) continue
      const p = row[pivot]!
      for (let j = 0; j < v.length; j++) v[j] = p * v[j]! - a * row[j]!
    }
    return v
  }
  for (const equation of equations) {
    const v = reduce(equation)
    const pivot = v.findIndex((x) => x !== 0n)
    if (pivot >= 0) basis.push({ pivot, row: v })
  }
  return { determines: (target: ReadonlyArray<number>) => reduce(target).every((x) => x === 0n) }
}

const names = ["a", "b", "c"] as const

/** A table over 2–3 dimensions of small sizes, with small visitor counts (k between 2 and 10). */
const table = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 3 }), fc.integer({ min: 2, max: 10 }))
  .chain(([sizes, k]) => {
    const dims = names.slice(0, sizes.length)
    const size = sizes.reduce((n, s) => n * s, 1)
    return fc.record({
      k: fc.constant(k),
      dims: fc.constant<ReadonlyArray<string>>(dims),
      cells: fc
        .array(
          fc.tuple(
            fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 30 })),
            fc.integer({ min: 0, max: 3 })
          ),
          { minLength: size, maxLength: size }
        )
        .map((figures) =>
          figures.map(([visitors, extra], index): Report.Cell => {
            const dimensions: Record<string, string> = {}
            let rest = index
            sizes.forEach((s, d) => {
              dimensions[dims[d]!] = `v${rest % s}`
              rest = Math.floor(rest / s)
            })
            return { dimensions, count: visitors * 2 + extra, visitors }
          })
        ),
      margins: fc.subarray(Report.marginsOf(dims))
    })
  })

/** Exact margin totals of `cells` over `by` (each visitor in one cell, so visitor counts add up). */
const totalsOver = (cells: ReadonlyArray<Report.Cell>, by: ReadonlyArray<string>): Array<Report.Cell> => {
  const out = new Map<string, Report.Cell>()
  for (const cell of cells) {
    const key = by.map((name) => cell.dimensions[name]).join("|")
    const t = out.get(key)
    const dimensions = Object.fromEntries(by.map((name) => [name, cell.dimensions[name]!]))
    out.set(key, {
      dimensions,
      count: (t?.count ?? 0) + cell.count,
      visitors: (t?.visitors ?? 0) + cell.visitors
    })
  }
  return [...out.values()]
}

/** Attacks a report: every withheld cell, and every withheld total over some withheld cell, it determines. */
const attack = (
  cells: ReadonlyArray<Report.Cell>,
  margins: ReadonlyArray<Report.Margin>,
  result: Report.KAnonymized
): Array<string> => {
  const within = (cell: Report.Cell, by: ReadonlyArray<string>, total: Report.Cell) =>
    by.every((name) => cell.dimensions[name] === total.dimensions[name])
  const published = new Set(result.cells)
  const vector = (keep: (cell: Report.Cell) => boolean) => cells.map((cell) => (keep(cell) ? 1 : 0))
  const equations = [
    ...result.cells.map((p) => vector((cell) => cell === p)),
    ...result.margins.flatMap((margin) => margin.cells.map((t) => vector((cell) => within(cell, margin.by, t))))
  ]
  const { determines } = solver(equations)
  const found: Array<string> = []
  for (const cell of cells) {
    if (!published.has(cell) && determines(vector((c) => c === cell))) {
      found.push(`cell ${JSON.stringify(cell.dimensions)} (${cell.visitors} visitors)`)
    }
  }
  margins.forEach((margin, m) => {
    for (const total of margin.cells) {
      if (result.margins[m]!.cells.includes(total)) continue
      const covered = cells.filter((cell) => within(cell, margin.by, total))
      if (covered.every((cell) => published.has(cell))) continue
      if (determines(vector((cell) => covered.includes(cell)))) {
        found.push(`total ${JSON.stringify(total.dimensions)} (${total.visitors} visitors)`)
      }
    }
  })
  return found
}

describe("Report.kAnonymize against visitors minted from one network", () => {
  const k = 50
  /** `fabricated` visitor ids minted from one network, plus one real visitor from elsewhere, all in one cell. */
  const attack = (fabricated: number, network: string): Array<Report.Row> => [
    ...Array.from({ length: fabricated }, (_, i) => ({
      visitor: `fake-${i}`,
      dimensions: { category: "rare" },
      count: 1,
      network
    })),
    { visitor: "real", dimensions: { category: "rare" }, count: 3, network: "192.0.2.0" }
  ]

  it("withholds a cell and its total made of 49 fabricated visitors from one network and one real visitor", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: k - 1, max: 500 }),
        fc.oneof(
          fc.ipV4().map((ip) => ip.replace(/\.\d+$/, ".0")),
          fc.constant("2001:db8:1::")
        ),
        (fabricated, network) => {
          const rows = attack(fabricated, network)
          const cells = Report.tabulate(rows, ["category"])
          assert.strictEqual(cells[0]!.visitors, fabricated + 1)
          const published = Report.kAnonymize(cells, { k, margins: [{ by: [], cells: Report.tabulate(rows, []) }] })
          assert.deepStrictEqual(published.cells, [])
          assert.deepStrictEqual(published.margins[0]!.cells, [])
          assert.strictEqual(published.suppressed, 1)
        }
      )
    )
  })

  it("counts no spread for events without a network, or with an unknown one", () => {
    for (const network of [null, "unknown", ""]) {
      const rows = Array.from({ length: 80 }, (_, i) => ({
        visitor: `v${i}`,
        dimensions: { category: "x" },
        count: 1,
        network
      }))
      assert.deepStrictEqual(Report.tabulate(rows, ["category"]), [
        { dimensions: { category: "x" }, count: 80, visitors: 80, networks: 0 }
      ])
      assert.deepStrictEqual(Report.kAnonymize(Report.tabulate(rows, ["category"]), { k }).cells, [])
    }
  })

  it("publishes a cell whose visitors are spread over at least k networks, and only then", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 0, max: 3 }), (networks, extra) => {
        // Every network holds 1 + `extra` visitors; identifier-free rows add events but no spread.
        const rows: Array<Report.Row> = []
        for (let n = 0; n < networks; n++) {
          for (let v = 0; v <= extra; v++) {
            rows.push({
              visitor: `v${n}-${v}`,
              dimensions: { category: "c" },
              count: 1,
              network: `10.${n >> 8}.${n & 255}.0`
            })
          }
        }
        rows.push({ visitor: null, dimensions: { category: "c" }, count: 5, network: "10.255.255.0" })
        const cells = Report.tabulate(rows, ["category"])
        assert.strictEqual(cells[0]!.networks, networks)
        const published = Report.kAnonymize(cells, { k })
        assert.strictEqual(published.cells.length, networks >= k ? 1 : 0)
      })
    )
  })

  it("judges cells by visitors alone when the rows carry no network", () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ visitor: `v${i}`, dimensions: { category: "c" }, count: 1 }))
    assert.deepStrictEqual(Report.tabulate(rows, ["category"]), [
      { dimensions: { category: "c" }, count: 50, visitors: 50 }
    ])
    assert.strictEqual(Report.kAnonymize(Report.tabulate(rows, ["category"]), { k }).cells.length, 1)
  })
})

describe("Report.kAnonymize against a linear solver", () => {
  it("withholds enough that the subtractions of a 2 × 2 table with its margins reveal nothing", () => {
    // Suppressing the small cell and one partner per row and column leaves a tree: column y minus b/y gives a/y,
    // then row a minus a/y gives a/x (2 visitors). One more figure has to go.
    const cells: Array<Report.Cell> = [
      { dimensions: { a: "1", b: "x" }, count: 4, visitors: 2 },
      { dimensions: { a: "1", b: "y" }, count: 60, visitors: 30 },
      { dimensions: { a: "2", b: "x" }, count: 62, visitors: 31 },
      { dimensions: { a: "2", b: "y" }, count: 64, visitors: 32 }
    ]
    const margins = Report.marginsOf(["a", "b"]).map((by) => ({ by, cells: totalsOver(cells, by) }))
    const result = Report.kAnonymize(cells, { k: 10, margins })
    assert.deepStrictEqual(attack(cells, margins, result), [])
    assert.strictEqual(result.suppressed, 1)
    assert.notInclude(result.cells, cells[0])
    for (const c of [...result.cells, ...result.margins.flatMap((m) => m.cells)]) assert.isAtLeast(c.visitors, 10)
  })

  it("withholds a total that nested totals would otherwise give away", () => {
    // By (a, b), by a and the grand total over a 3 × 2 × 2 table; a = 1 has 3 visitors. Withholding the total of
    // a = 2 to protect it is futile while the (a, b) totals of a = 2 can be rebuilt from published cells.
    const visitors: Record<string, number> = {
      "1xp": 1,
      "1xq": 0,
      "1yp": 1,
      "1yq": 1,
      "2xp": 15,
      "2xq": 16,
      "2yp": 17,
      "2yq": 18,
      "3xp": 12,
      "3xq": 30,
      "3yp": 30,
      "3yq": 30
    }
    const cells: Array<Report.Cell> = Object.entries(visitors).map(([key, n]) => ({
      dimensions: { a: key[0]!, b: key[1]!, c: key[2]! },
      count: n * 2,
      visitors: n
    }))
    const margins = [["a", "b"], ["a"], []].map((by) => ({ by, cells: totalsOver(cells, by) }))
    const result = Report.kAnonymize(cells, { k: 10, margins })
    assert.deepStrictEqual(attack(cells, margins, result), [])
    assert.notInclude(result.margins[1]!.cells, margins[1]!.cells[0])
  })

  it.prop(
    "no withheld cell (nor withheld total over one) is determined by the published cells and totals",
    [table],
    ([{ k, cells, margins: bys }]) => {
      const margins = bys.map((by) => ({ by, cells: totalsOver(cells, by) }))
      const result = Report.kAnonymize(cells, { k, margins })
      assert.deepStrictEqual(attack(cells, margins, result), [])
      for (const c of [...result.cells, ...result.margins.flatMap((m) => m.cells)]) assert.isAtLeast(c.visitors, k)
      assert.strictEqual(result.suppressed, cells.filter((c) => c.visitors < k).length)
    },
    { fastCheck: { numRuns: 300 } }
  )
})

describe("Report.privatize: the chance that a small cell appears", () => {
  it("is ½·e^(−(k − v − ½)/b) for Laplace, rounding included (the README's bound)", () => {
    // ε = 2 with bounds (1, 1): visitor counts get Laplace noise of scale b = 1 / (ε / 2) = 1. A cell of v = k − 1
    // visitors appears when v + η rounds to k, i.e. η ≥ ½: probability ½·e^(−½) ≈ 0.303, not ½·e^(−1) ≈ 0.184.
    const k = 20
    const source = SecureRandom.seeded("rounding")
    const options = {
      mechanism: { _tag: "Laplace" as const, epsilon: 2 },
      bounds: { maxContribution: 1, maxCells: 1 },
      k
    }
    const cell: Report.Cell = { dimensions: { day: "d1" }, count: k - 1, visitors: k - 1 }
    const draws = 20_000
    let appeared = 0
    for (let i = 0; i < draws; i++) {
      const released = Report.privatize([cell], options, source.uniform)
      if (released._tag === "Right" && released.right.length === 1) appeared++
    }
    const expected = 0.5 * Math.exp(-0.5)
    const sigma = Math.sqrt((expected * (1 - expected)) / draws)
    assert.closeTo(appeared / draws, expected, 5 * sigma)
  })
})
