/**
 * `SqlBrowserLinks` on PostgreSQL, in a schema of the test's own: the shared browser links suite, concurrent links
 * of one browser (one row, the newest link), the column types, erasure and idempotent migrations.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { BrowserLinks } from "@openaudience/ad-selector"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { browserLinksSuite } from "../../ad-selector/test/browserLinksSuite.js"
import { SqlBrowserLinks } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres, unique } from "./fixtures.js"

const postgres = await probePostgres()
const t0 = Date.UTC(2026, 5, 1)

if (postgres.ok) {
  layer(SqlBrowserLinks.layer.pipe(Layer.provideMerge(postgresSchemaLayer("oa_test_links"))), {
    excludeTestServices: true,
    timeout: "30 seconds"
  })("BrowserLinks over SqlBrowserLinks (PostgreSQL)", (it) => {
    browserLinksSuite(it)

    it.effect("concurrent links of one browser leave one row, the newest link", () =>
      Effect.gen(function* () {
        const links = yield* BrowserLinks.BrowserLinks
        const sql = yield* SqlClient.SqlClient
        const tenant = unique("links")
        const n = 40
        yield* Effect.all(
          Array.from({ length: n }, (_, i) => links.link(tenant, "k", `v${i}`, t0 + i)),
          { concurrency: "unbounded", discard: true }
        )
        assert.strictEqual(Option.getOrNull(yield* links.visitorOf(tenant, "k")), `v${n - 1}`)
        const rows = yield* sql<{ readonly n: string | number }>`SELECT COUNT(*) AS n FROM ad_browser_links
          WHERE tenant = ${tenant}`
        assert.strictEqual(Number(rows[0]!.n), 1)
      })
    )

    it.effect("uses a BIGINT time in the test's own schema, erases a visitor, and migrations are idempotent", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const columns = yield* sql<{ column_name: string; data_type: string; table_schema: string }>`
          SELECT column_name, data_type, table_schema FROM information_schema.columns
          WHERE table_name = 'ad_browser_links' AND table_schema = current_schema()`
        const types = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]))
        assert.strictEqual(types.linked_at, "bigint")
        assert.match(columns[0]!.table_schema, /^oa_test_links_/)
        const links = yield* BrowserLinks.BrowserLinks
        const tenant = unique("links")
        yield* links.link(tenant, "k1", "v", t0)
        yield* links.link(tenant, "k2", "v", t0)
        yield* links.link(tenant, "k3", "w", t0)
        assert.strictEqual(yield* SqlBrowserLinks.eraseVisitor(tenant, "v"), 2)
        assert.isTrue(Option.isNone(yield* links.visitorOf(tenant, "k1")))
        assert.strictEqual(Option.getOrNull(yield* links.visitorOf(tenant, "k3")), "w")
        assert.deepStrictEqual(yield* SqlBrowserLinks.migrate, [])
        const concurrent = yield* Effect.all(
          [SqlBrowserLinks.migrate, SqlBrowserLinks.migrate, SqlBrowserLinks.migrate],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(concurrent, [[], [], []])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("SqlBrowserLinks (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlBrowserLinks (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the browser links suite on PostgreSQL", () => {})
  })
}
