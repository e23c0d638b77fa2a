/**
 * `SqlBrowserLinks` on SQLite answers as ad-selector's in-memory `BrowserLinks` (the shared suite runs on both); a
 * link is one statement that never lets an older link replace a newer one; `visitorOf` is one search of the primary
 * key and unlinking by visitor uses the visitor index; erasure with only a `SqlClient`; a time that is not an
 * integer is refused.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, layer } from "@effect/vitest"
import { BrowserLinks } from "@openaudience/ad-selector"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { browserLinksSuite } from "../../ad-selector/test/browserLinksSuite.js"
import { Database, SqlBrowserLinks } from "../src/index.js"
import { sqliteLayer, unique } from "./fixtures.js"

const t0 = Date.UTC(2026, 5, 1)

layer(SqlBrowserLinks.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "BrowserLinks over SqlBrowserLinks (SQLite file)",
  (it) => {
    browserLinksSuite(it)

    it.effect("reads a link with one search of the primary key, and unlinks a visitor through its index", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const read = yield* sql<{ readonly detail: string }>`EXPLAIN QUERY PLAN
          SELECT visitor FROM ad_browser_links WHERE tenant = ${"t"} AND browser_key = ${"k"}`
        assert.strictEqual(read.length, 1)
        assert.match(
          read[0]!.detail,
          /^SEARCH ad_browser_links USING INDEX sqlite_autoindex_ad_browser_links_1 \(tenant=\? AND browser_key=\?\)/
        )
        const erase = yield* sql<{ readonly detail: string }>`EXPLAIN QUERY PLAN
          DELETE FROM ad_browser_links WHERE tenant = ${"t"} AND visitor = ${"v"}`
        assert.match(
          erase[0]!.detail,
          /^SEARCH ad_browser_links USING INDEX ad_browser_links_visitor \(tenant=\? AND visitor=\?\)/
        )
      })
    )

    it.effect("an older link never replaces a newer one; an equal time lets the later call win", () =>
      Effect.gen(function* () {
        const links = yield* BrowserLinks.BrowserLinks
        const tenant = unique("links")
        yield* links.link(tenant, "k", "new", t0 + 10)
        yield* links.link(tenant, "k", "late-old", t0 + 9)
        assert.strictEqual(Option.getOrNull(yield* links.visitorOf(tenant, "k")), "new")
        yield* links.link(tenant, "k", "same-time", t0 + 10)
        assert.strictEqual(Option.getOrNull(yield* links.visitorOf(tenant, "k")), "same-time")
        yield* links.link(tenant, "k", "newer", t0 + 11)
        assert.strictEqual(Option.getOrNull(yield* links.visitorOf(tenant, "k")), "newer")
      })
    )

    it.effect("keys and visitors are data, not SQL; one visitor's links erased with only a SqlClient", () =>
      Effect.gen(function* () {
        const links = yield* BrowserLinks.BrowserLinks
        const tenant = unique("links")
        const hostile = ["' OR '1'='1", "k\u0000x", "%", "_", "😀", ""]
        for (const [i, key] of hostile.entries()) yield* links.link(tenant, key, i % 2 === 0 ? "v" : "w", t0)
        for (const [i, key] of hostile.entries()) {
          assert.strictEqual(Option.getOrNull(yield* links.visitorOf(tenant, key)), i % 2 === 0 ? "v" : "w")
        }
        assert.isTrue(Option.isNone(yield* links.visitorOf(tenant, "k")))
        assert.strictEqual(yield* links.unlink(tenant, { browserKey: "%" }), 1)
        assert.strictEqual(yield* links.unlink(tenant, { visitor: "%" }), 0)
        assert.strictEqual(yield* SqlBrowserLinks.eraseVisitor(tenant, "v"), 2)
        assert.strictEqual(yield* SqlBrowserLinks.eraseVisitor(tenant, "v"), 0)
        assert.strictEqual(yield* links.eraseVisitor(tenant, "w"), 3)
        for (const key of hostile) assert.isTrue(Option.isNone(yield* links.visitorOf(tenant, key)))
      })
    )

    it.effect("refuses a time that is not an integer, linking nothing", () =>
      Effect.gen(function* () {
        const links = yield* BrowserLinks.BrowserLinks
        const tenant = unique("links")
        for (const at of [t0 + 0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2]) {
          const error = yield* Effect.flip(links.link(tenant, "k", "v", at))
          assert.strictEqual(error.reason, "InvalidInput")
        }
        assert.isTrue(Option.isNone(yield* links.visitorOf(tenant, "k")))
      })
    )
  }
)

layer(SqlBrowserLinks.layer.pipe(Layer.provide(Database.layerFromUrl("sqlite::memory:"))), {
  excludeTestServices: true
})("BrowserLinks over SqlBrowserLinks (SQLite in memory)", browserLinksSuite)
