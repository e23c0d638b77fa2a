/**
 * Partner reports on PostgreSQL (JSONB extraction, the budget ledger under a real connection pool): the same
 * scenario as on SQLite, in a schema of the test's own that is dropped afterwards. Fails in CI when PostgreSQL
 * is unreachable.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { admin, freshSchema, runsOnPostgres, warnWhenSkipped } from "./support/postgres.js"
import { differencing, ok, range, report, seed, trustedProxies } from "./support/reports.js"
import { startServer, type TestServer } from "./support/server.js"

const schema = freshSchema("oa_test_reports")

warnWhenSkipped("reports on PostgreSQL")

describe.runIf(runsOnPostgres)("partner reports on PostgreSQL", () => {
  const budget = { epsilon: 1.5, delta: 1e-5 }
  let server: TestServer
  let second: TestServer
  beforeAll(async () => {
    await schema.create()
    server = await startServer({
      databaseUrl: schema.url,
      countryHeader: "x-country",
      privacyBudget: budget,
      trustedProxies
    })
    second = await startServer({ databaseUrl: schema.url, privacyBudget: budget })
    await seed(server.url)
  }, 180_000)
  afterAll(async () => {
    await server?.stop()
    await second?.stop()
    await schema.drop()
  })

  it("withholds small cells, keeps totals safe, counts only measured events", async () => {
    const body = await ok(server.url, "product-views", { ...range(), by: "category" })
    assert.deepStrictEqual(body.cells, [{ dimensions: { category: "A" }, count: 70, visitors: 60 }])
    assert.deepStrictEqual(body.totals, [{ dimensions: {}, count: 133, visitors: 120 }])
    const country = await ok(server.url, "product-views", { ...range(), by: "country" })
    assert.deepStrictEqual(country.cells, [
      { dimensions: { country: "US" }, count: 55, visitors: 55 },
      { dimensions: { country: "unknown" }, count: 78, visitors: 65 }
    ])
    const conversions = await ok(server.url, "conversions", { ...range(), by: "category" })
    assert.deepStrictEqual(conversions.cells, [
      { dimensions: { category: "A" }, count: 60, visitors: 60 },
      { dimensions: { category: "mixed" }, count: 55, visitors: 55 }
    ])
    const bys = ["category", "country", "category,country", "day,category", "browser,country"]
    const bodies = await Promise.all(bys.map((by) => ok(server.url, "product-views", { ...range(), by })))
    assert.deepStrictEqual(differencing(bodies, 50), [])
    const low = await report(server.url, "product-views", { ...range(), k: "10" })
    assert.strictEqual(low.status, 400)
    assert.strictEqual(low.body.field, "k")
  })

  it("charges a budget shared by both servers, atomically, and refuses with 429 once spent", async () => {
    const spend = (target: TestServer, epsilon: string, partner: string) =>
      report(target.url, "product-views", {
        ...range(),
        by: "category",
        categories: "A,B,D",
        epsilon,
        partner
      })
    const first = await spend(server, "1", "acme")
    assert.strictEqual(first.status, 200)
    assert.closeTo(first.body.privacy.remainingEpsilon, 0.5, 1e-9)
    assert.isUndefined(first.body.cells.find((c: any) => c.dimensions.category === "B"))
    const refused = await spend(second, "1", "acme")
    assert.strictEqual(refused.status, 429)
    assert.closeTo(refused.body.remainingEpsilon, 0.5, 1e-9)
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) => spend(i % 2 === 0 ? server : second, "0.1", "initech"))
    )
    assert.strictEqual(answers.filter((a) => a.status === 200).length, 15)
    assert.strictEqual(answers.filter((a) => a.status === 429).length, 10)
    const ledger = await admin(
      (sql) =>
        sql<{
          n: string
          spent: number
        }>`SELECT count(*) AS n, sum(epsilon) AS spent FROM ${sql(schema.name)}.privacy_charges
          WHERE partner = 'initech'`
    )
    assert.strictEqual(Number(ledger[0]!.n), 15)
    assert.closeTo(Number(ledger[0]!.spent), 1.5, 1e-9)
  })
})
