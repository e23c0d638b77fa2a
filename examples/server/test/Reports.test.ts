/**
 * Partner reports over HTTP on SQLite: cells under k are withheld and the published totals cannot recover them,
 * not even by subtracting one report from another; only events whose consent allows measurement count, and
 * identifier-free events never count as visitors; differentially private reports charge a budget kept in the
 * database (seen by a second server on the same file, refused with 429 once spent); bad parameters are 400
 * problems naming the field.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { PrivacyBudget, UserAgent } from "@openaudience/anonymizer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  collect,
  differencing,
  ok,
  range,
  type ReportBody,
  report,
  seed,
  trustedProxies,
  userAgents
} from "./support/reports.js"
import * as Reports from "../src/Reports.js"
import { inspect, startServer, type TestServer } from "./support/server.js"

let server: TestServer
beforeAll(async () => {
  server = await startServer({ countryHeader: "x-country", trustedProxies })
  await seed(server.url)
})
afterAll(() => server.stop())

const byCategory = (body: ReportBody) => Object.fromEntries(body.cells.map((c) => [c.dimensions.category, c]))

describe("k-anonymous reports against fabricated visitors", () => {
  let own: TestServer
  beforeAll(async () => {
    own = await startServer({ trustedProxies })
  })
  afterAll(() => own.stop())

  const views = (category: string, prefix: string, visitors: number) =>
    Array.from({ length: visitors }, (_, i) => ({
      type: "product_view",
      id: `evt_fab_${prefix}_${i}`,
      site: "demo",
      productId: `sku-${category}`,
      category,
      userAgent: userAgents.chrome,
      visitorId: `vis_fab_${prefix}_${i}`
    }))

  it("withholds a cell of 49 visitor ids minted from one network and one real visitor; publishes one spread over k networks", async () => {
    // Category F: 49 ids minted from one client address, one real visitor from another network.
    await collect(own.url, views("F", "minted", 49), { "x-forwarded-for": "198.51.100.23" })
    await collect(own.url, views("F", "real", 1))
    // Categories G and H: 50 and 51 visitors, each from its own network.
    await collect(own.url, views("G", "spread", 50))
    await collect(own.url, views("H", "wide", 51))
    const body = await ok(own.url, "product-views", { ...range(), by: "category" })
    // F is withheld (50 visitors, 2 networks); G too, or the total minus H and G would give F exactly.
    assert.deepStrictEqual(
      body.cells.map((cell) => [cell.dimensions.category, cell.visitors]),
      [["H", 51]]
    )
    assert.strictEqual(body.suppressed, 2)
    assert.deepStrictEqual(body.totals, [{ dimensions: {}, count: 151, visitors: 151 }])
  })
})

describe("k-anonymous reports", () => {
  it("publishes only cells of at least k visitors, with a total that cannot reveal the small ones", async () => {
    const body = await ok(server.url, "product-views", { ...range(), by: "category" })
    // A (60 visitors) is published; B (5) and C (identifier-free only) are withheld; D (55) is withheld too,
    // because total − A − D would be B + C: 5 visitors.
    assert.deepStrictEqual(body.cells, [{ dimensions: { category: "A" }, count: 70, visitors: 60 }])
    assert.deepStrictEqual(body.totals, [{ dimensions: {}, count: 133, visitors: 120 }])
    assert.strictEqual(body.suppressed, 3)
    assert.deepStrictEqual(body.privacy, { mechanism: "none", epsilon: null, remainingEpsilon: null })
    assert.strictEqual(body.k, 50)
    assert.deepStrictEqual(body.by, ["category"])
    const total = body.totals[0]!
    // The differencing attack on this report: what is left is 60 visitors (B, C and D together), not B.
    assert.strictEqual(total.visitors - body.cells[0]!.visitors, 60)
  })

  it("counts only events whose stored consent allows measurement", async () => {
    const stored = (await inspect(server.url, 400)).filter((e) => e.data.category === "E")
    assert.strictEqual(stored.length, 60)
    for (const event of stored) {
      assert.isString(event.visitor)
      assert.isFalse(event.consent.decision.measurement)
    }
    for (const by of ["category", "browser", "day", "country"]) {
      const body = await ok(server.url, "product-views", { ...range(), by })
      assert.isFalse(JSON.stringify(body).includes('"E"'))
      assert.deepStrictEqual(
        body.totals.find((t) => Object.keys(t.dimensions).length === 0),
        { dimensions: {}, count: 133, visitors: 120 },
        by
      )
    }
  })

  it("counts identifier-free events as events, never as visitors", async () => {
    const body = await ok(server.url, "product-views", { ...range(), by: "browser" })
    // Chrome: A's 70 events of 60 visitors plus C's 3 identifier-free events. Firefox (55) is withheld so that
    // total − Chrome does not isolate Mobile Safari's 5 visitors.
    assert.deepStrictEqual(body.cells, [{ dimensions: { browser: "Chrome" }, count: 73, visitors: 60 }])
    // A cell made only of identifier-free events has 0 known visitors, even with k at the floor.
    const categories = await ok(server.url, "product-views", { ...range(), by: "category", k: "50" })
    assert.isUndefined(byCategory(categories).C)
  })

  it("breaks down by country (the consent jurisdiction), day, OS and device", async () => {
    const country = await ok(server.url, "product-views", { ...range(), by: "country" })
    assert.deepStrictEqual(country.cells, [
      { dimensions: { country: "US" }, count: 55, visitors: 55 },
      { dimensions: { country: "unknown" }, count: 78, visitors: 65 }
    ])
    const days = await ok(server.url, "product-views", { ...range(), by: "day" })
    const { from, to } = range()
    for (const cell of days.cells) assert.isTrue(cell.dimensions.day! >= from && cell.dimensions.day! <= to)
    // Unless the test ran across midnight, every event is of one day.
    if (days.cells.length === 1) assert.deepStrictEqual(days.cells[0]!.visitors, 120)
    const os = await ok(server.url, "product-views", { ...range(), by: "os,device" })
    for (const cell of os.cells) {
      assert.isTrue(cell.visitors >= 50)
      assert.isTrue(UserAgent.osFamilies.has(cell.dimensions.os!) || cell.dimensions.os === "unknown")
    }
    assert.deepStrictEqual(
      os.totals.find((t) => Object.keys(t.dimensions).length === 0),
      { dimensions: {}, count: 133, visitors: 120 }
    )
  })

  it("cannot be undone by differencing overlapping reports", async () => {
    const bys = ["category", "country", "category,country", "day", "day,category", "browser", "browser,country"]
    const bodies = await Promise.all(bys.map((by) => ok(server.url, "product-views", { ...range(), by })))
    assert.deepStrictEqual(differencing(bodies, 50), [])
    // The attack this defeats: the report by country publishes "unknown: 65 visitors"; had the report by
    // category and country published A/unknown (60) without the country totals in the same call, the
    // difference would be B's 5 visitors.
    const both = bodies[2]!
    assert.isUndefined(both.cells.find((c) => c.dimensions.category === "A" && c.dimensions.country === "unknown"))
    // Nor the totals that would give it (or D/US) away: category A is A/unknown alone and country US is D/US
    // alone, and with both published "unknown" minus "A" would be B and C's 5 visitors. Only the grand total is left.
    assert.deepStrictEqual(both.totals, [{ dimensions: {}, count: 133, visitors: 120 }])
  })

  it("reports conversions by their line items' category", async () => {
    const body = await ok(server.url, "conversions", { ...range(), by: "category" })
    assert.deepStrictEqual(body.cells, [
      { dimensions: { category: "A" }, count: 60, visitors: 60 },
      { dimensions: { category: "mixed" }, count: 55, visitors: 55 }
    ])
    assert.deepStrictEqual(body.totals, [{ dimensions: {}, count: 115, visitors: 115 }])
  })

  it("takes a larger k, and refuses one below the tenant floor", async () => {
    const strict = await ok(server.url, "product-views", { ...range(), by: "category", k: "61" })
    assert.deepStrictEqual(strict.cells, [])
    assert.deepStrictEqual(strict.totals, [{ dimensions: {}, count: 133, visitors: 120 }])
    assert.strictEqual(strict.k, 61)
    const low = await report(server.url, "product-views", { ...range(), by: "category", k: "49" })
    assert.strictEqual(low.status, 400)
    assert.strictEqual(low.contentType, "application/problem+json")
    assert.strictEqual(low.body.field, "k")
    assert.match(low.body.detail, /at least 50/)
  })
})

describe("refusals", () => {
  const { from, to } = range()
  const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
    [{ to }, "from"],
    [{ from: "2026-02-30", to }, "from"],
    [{ from: "yesterday", to }, "from"],
    [{ from }, "to"],
    [{ from: to, to: from }, "to"],
    [{ from: "2024-01-01", to: "2025-01-01" }, "to"],
    [{ from, to, by: "city" }, "by"],
    [{ from, to, by: "day,day" }, "by"],
    [{ from, to, by: "day,category,browser,os,device" }, "by"],
    [{ from, to, k: "fifty" }, "k"],
    [{ from, to, k: "10" }, "k"],
    [{ from, to, epsilon: "0", partner: "acme" }, "epsilon"],
    [{ from, to, epsilon: "-1", partner: "acme" }, "epsilon"],
    [{ from, to, epsilon: "5", partner: "acme" }, "epsilon"],
    [{ from, to, epsilon: "NaN", partner: "acme" }, "epsilon"],
    [{ from, to, epsilon: "0.5" }, "partner"],
    [{ from, to, epsilon: "0.5", partner: "a b" }, "partner"],
    [{ from, to, partner: "acme" }, "partner"],
    [{ from, to, epsilon: "0.5", partner: "acme", mechanism: "uniform" }, "mechanism"],
    [{ from, to, epsilon: "0.5", partner: "acme", mechanism: "gaussian" }, "delta"],
    [{ from, to, epsilon: "0.5", partner: "acme", mechanism: "gaussian", delta: "0.5" }, "delta"],
    [{ from, to, epsilon: "1", partner: "acme", mechanism: "gaussian", delta: "1e-6" }, "epsilon"],
    [{ from, to, epsilon: "0.5", partner: "acme", delta: "1e-6" }, "delta"],
    [{ from, to, epsilon: "0.5", partner: "acme", contribution: "0" }, "contribution"],
    [{ from, to, contribution: "2" }, "contribution"],
    [{ from, to, epsilon: "0.5", partner: "acme", by: "category" }, "categories"],
    [{ from: "2025-01-01", to: "2025-12-31", epsilon: "0.5", partner: "acme", by: "day,browser,os" }, "by"],
    [{ from, to, limit: "5" }, "limit"]
  ]
  it("answers 400 problems naming the field, and charges nothing", async () => {
    for (const [params, field] of cases) {
      const answer = await report(server.url, "product-views", params)
      assert.strictEqual(answer.status, 400, JSON.stringify(params))
      assert.strictEqual(answer.contentType, "application/problem+json")
      assert.strictEqual(answer.body.field, field, JSON.stringify(params))
      assert.strictEqual(answer.body.type, "https://openaudience.dev/problems/invalid-parameter")
    }
    const fresh = await ok(server.url, "product-views", { from, to, epsilon: "0.1", partner: "acme" })
    assert.closeTo(fresh.privacy.remainingEpsilon!, 9.9, 1e-9)
  })

  it("answers 404 for an unknown report and 401 without an admin key", async () => {
    const unknown = await report(server.url, "salaries", range())
    assert.strictEqual(unknown.status, 404)
    assert.match(unknown.body.detail, /product-views or conversions/)
    const anonymous = await report(server.url, "product-views", range(), null)
    assert.strictEqual(anonymous.status, 401)
    const wrongKey = await report(server.url, "product-views", range(), "not-a-key")
    assert.strictEqual(wrongKey.status, 401)
  })
})

describe("differentially private reports", () => {
  it("releases noisy cells over the public domain and charges the partner's budget", async () => {
    const params = { ...range(), by: "category", categories: "A,B,D", epsilon: "1", partner: "dp-partner" }
    const body = await ok(server.url, "product-views", params)
    assert.strictEqual(body.privacy.mechanism, "laplace")
    assert.strictEqual(body.privacy.epsilon, 1)
    assert.closeTo(body.privacy.remainingEpsilon!, 9, 1e-9)
    assert.deepStrictEqual(body.totals, [])
    // The domain is A, B, D, other and unknown: 5 cells, published or withheld.
    assert.strictEqual(body.cells.length + body.suppressed, 5)
    for (const cell of body.cells) {
      assert.include(["A", "B", "D", "other", "unknown"], cell.dimensions.category)
      assert.isTrue(cell.visitors >= 50)
    }
    // B has 5 visitors: with Laplace noise of scale 2 on visitor counts, passing k = 50 has probability < 1e-9.
    assert.isUndefined(byCategory(body).B)
    const again = await ok(server.url, "product-views", params)
    assert.closeTo(again.privacy.remainingEpsilon!, 8, 1e-9)
  })

  it("takes the Gaussian mechanism with δ", async () => {
    const body = await ok(server.url, "conversions", {
      ...range(),
      by: "day",
      epsilon: "0.5",
      mechanism: "gaussian",
      delta: "1e-6",
      partner: "gauss",
      contribution: "2",
      maxCells: "2"
    })
    assert.strictEqual(body.privacy.mechanism, "gaussian")
    assert.strictEqual(body.privacy.delta, 1e-6)
    assert.closeTo(body.privacy.remainingEpsilon!, 9.5, 1e-9)
    assert.closeTo(body.privacy.remainingDelta as number, 1e-5 - 1e-6, 1e-15)
    // The domain is every day of the range, whatever the data holds.
    assert.strictEqual(body.cells.length + body.suppressed, 3)
  })
})

describe("the privacy budget", () => {
  const dir = mkdtempSync(join(tmpdir(), "oa-reports-"))
  const databaseUrl = `sqlite:${join(dir, "shared.db")}`
  const budget = { epsilon: 1.5, delta: 1e-5 }
  let first: TestServer
  let second: TestServer
  beforeAll(async () => {
    first = await startServer({ databaseUrl, privacyBudget: budget })
    second = await startServer({ databaseUrl, privacyBudget: budget })
  })
  afterAll(async () => {
    await first?.stop()
    await second?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  const spend = (server: TestServer, epsilon: string, partner: string) =>
    report(server.url, "product-views", { ...range(), by: "day", epsilon, partner })

  it("is kept in the database, shared by servers on it, and refuses with 429 once spent", async () => {
    const a = await spend(first, "1", "acme")
    assert.strictEqual(a.status, 200)
    assert.closeTo(a.body.privacy.remainingEpsilon, 0.5, 1e-9)
    const refused = await spend(first, "1", "acme")
    assert.strictEqual(refused.status, 429)
    assert.strictEqual(refused.contentType, "application/problem+json")
    assert.strictEqual(refused.body.type, "https://openaudience.dev/problems/privacy-budget-exhausted")
    assert.closeTo(refused.body.remainingEpsilon, 0.5, 1e-9)
    assert.strictEqual(refused.body.partner, "acme")
    // The second server sees what the first spent, and spends the rest.
    const rest = await spend(second, "0.5", "acme")
    assert.strictEqual(rest.status, 200)
    assert.closeTo(rest.body.privacy.remainingEpsilon, 0, 1e-9)
    const after = await spend(first, "0.1", "acme")
    assert.strictEqual(after.status, 429)
    assert.closeTo(after.body.remaining.epsilon, 0, 1e-9)
    // Budgets are per partner.
    const other = await spend(second, "1", "globex")
    assert.strictEqual(other.status, 200)
    assert.closeTo(other.body.privacy.remainingEpsilon, 0.5, 1e-9)
  })

  it("survives a restart", async () => {
    await first.stop()
    first = await startServer({ databaseUrl, privacyBudget: budget })
    const refused = await spend(first, "0.1", "acme")
    assert.strictEqual(refused.status, 429)
    const globex = await spend(first, "0.5", "globex")
    assert.closeTo(globex.body.privacy.remainingEpsilon, 0, 1e-9)
  })

  it("cannot be overspent by concurrent reports", async () => {
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) => spend(i % 2 === 0 ? first : second, "0.1", "initech"))
    )
    assert.strictEqual(answers.filter((a) => a.status === 200).length, 15)
    assert.strictEqual(answers.filter((a) => a.status === 429).length, 10)
  })
})

describe("the charge of a private report", () => {
  // A database without tables: reading the report's rows fails, so whatever is decided before the read shows.
  const store = SqliteClient.layer({ filename: ":memory:" })
  const query = { from: "2026-03-01", to: "2026-03-02", by: "day", epsilon: "1", partner: "acme" }

  it.effect("is paid before any data is read, so an answer that depends on the data is never free", () =>
    Effect.gen(function* () {
      const budget = yield* PrivacyBudget.PrivacyBudget
      const failed = yield* Effect.exit(Reports.respond("tenant", "product-views", query))
      assert.isTrue(Exit.isFailure(failed))
      assert.closeTo((yield* budget.remaining("tenant", "acme")).epsilon, 0.5, 1e-9)
      // Spent: refused with 429 without touching the store at all.
      const refused = yield* Reports.respond("tenant", "product-views", query)
      assert.strictEqual(refused.status, 429)
    }).pipe(Effect.provide(Layer.merge(store, PrivacyBudget.layerMemory({ epsilon: 1.5, delta: 1e-5 }))))
  )
})
