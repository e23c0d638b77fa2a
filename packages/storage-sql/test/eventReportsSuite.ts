/**
 * What `EventReports.rows` reads, on SQLite and PostgreSQL alike: measured events of one type in a range, one row
 * per visitor (or per identifier-free group) and dimension values, each dimension read from the stored payload and
 * receipt as the collector writes them.
 */
import { assert, type Vitest } from "@effect/vitest"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { ConsentReceipt } from "@openaudience/event-schema"
import * as Effect from "effect/Effect"
import { EventReports, EventStore, type StoredEvent } from "../src/index.js"
import { event, unique } from "./fixtures.js"

const day = 86_400_000
/** 2026-03-01T00:00:00Z */
const march1 = Date.UTC(2026, 2, 1)

/** A consent receipt as the collector stores it, allowing measurement or not. */
const receipt = (measurement: boolean): ConsentReceipt.ConsentReceipt => ({
  v: 1,
  policy: "2026-11-29.1",
  model: "opt-out",
  jurisdiction: "US-CA",
  signals: { gpc: false, dnt: false, optout: false, coppa: false, tcf: false, gpp: false, usp: false },
  decision: {
    collect: true,
    identifier: true,
    personalization: measurement,
    measurement,
    child: false,
    reasons: measurement ? [] : ["tcf:no-measurement"]
  }
})

const context = {
  browser: "Chrome",
  browserMajor: "120",
  os: "Windows",
  device: "desktop",
  jurisdiction: "US-CA",
  ip: "203.0.113.0"
}

let counter = 0

/** A measured product view as the collector stores it. */
const view = (tenant: string, visitor: string | null, overrides: Partial<StoredEvent> = {}): StoredEvent =>
  event(tenant, `e${++counter}`, {
    type: "product_view",
    receivedAt: march1 + 3_600_000,
    visitor,
    payload: { productId: "sku-1", category: "shoes", context },
    consent: receipt(true),
    ...overrides
  })

/** A measured conversion with line items in `categories` (`undefined`: an item without a category). */
const conversion = (tenant: string, visitor: string, categories: ReadonlyArray<string | undefined>): StoredEvent =>
  event(tenant, `e${++counter}`, {
    type: "conversion",
    receivedAt: march1 + 3_600_000,
    visitor,
    payload: {
      orderId: `o${counter}`,
      conversionType: "purchase",
      items: categories.map((category, i) => ({
        productId: `sku-${i}`,
        quantity: 1,
        unitPrice: 100,
        ...(category === undefined ? {} : { category })
      })),
      context
    },
    consent: receipt(true)
  })

const query = (tenant: string, overrides: Partial<EventReports.Query> = {}): EventReports.Query => ({
  tenant,
  type: "product_view",
  from: march1,
  to: march1 + day,
  by: ["category"],
  maxRows: 1000,
  ...overrides
})

const sorted = (rows: ReadonlyArray<EventReports.Row>) =>
  [...rows].sort((a, b) =>
    JSON.stringify([a.visitor, a.dimensions, a.network]) < JSON.stringify([b.visitor, b.dimensions, b.network]) ? -1 : 1
  )

export const eventReportsSuite = (it: Vitest.MethodsNonLive<EventStore.EventStore | SqlClient.SqlClient, true>) => {
  it.effect("reads measured events of the type, in the range, of the tenant, by visitor", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      yield* store.append([
        view(tenant, "v1"),
        view(tenant, "v1"),
        view(tenant, "v2", { payload: { productId: "sku-2", category: "hats", context } }),
        // Identifier-free events: one row with no visitor.
        view(tenant, null),
        view(tenant, null),
        // Not counted: no measurement consent, no receipt, another type, another tenant, outside [from, to).
        view(tenant, "v3", { consent: receipt(false) }),
        view(tenant, "v3", { consent: null }),
        view(tenant, "v3", { type: "page_view" }),
        view(unique("other"), "v3"),
        view(tenant, "v3", { receivedAt: march1 - 1 }),
        view(tenant, "v3", { receivedAt: march1 + day }),
        // The range's first and last millisecond are in.
        view(tenant, "v4", { receivedAt: march1 }),
        view(tenant, "v4", { receivedAt: march1 + day - 1 })
      ])
      const rows = yield* EventReports.rows(query(tenant))
      assert.deepStrictEqual(sorted(rows), [
        { visitor: "v1", dimensions: { category: "shoes" }, count: 2, network: "203.0.113.0" },
        { visitor: "v2", dimensions: { category: "hats" }, count: 1, network: "203.0.113.0" },
        { visitor: "v4", dimensions: { category: "shoes" }, count: 2, network: "203.0.113.0" },
        { visitor: null, dimensions: { category: "shoes" }, count: 2, network: "203.0.113.0" }
      ])
      // Without dimensions: one row per visitor.
      assert.deepStrictEqual(sorted(yield* EventReports.rows(query(tenant, { by: [] }))), [
        { visitor: "v1", dimensions: {}, count: 2, network: "203.0.113.0" },
        { visitor: "v2", dimensions: {}, count: 1, network: "203.0.113.0" },
        { visitor: "v4", dimensions: {}, count: 2, network: "203.0.113.0" },
        { visitor: null, dimensions: {}, count: 2, network: "203.0.113.0" }
      ])
    })
  )

  it.effect("reads day, browser, OS, device and country from the stored event", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      const eu = { browser: "Firefox", os: "Linux", device: "mobile", jurisdiction: "EU" }
      yield* store.append([
        view(tenant, "v1"),
        view(tenant, "v2", { receivedAt: march1 + day + 5, payload: { productId: "p", category: "x", context: eu } }),
        // Nothing known: every dimension reads unknown.
        view(tenant, "v3", { payload: { productId: "p" } })
      ])
      const by: ReadonlyArray<EventReports.Dimension> = ["day", "category", "browser", "os", "device", "country"]
      const rows = yield* EventReports.rows(query(tenant, { by, to: march1 + 2 * day }))
      assert.deepStrictEqual(sorted(rows), [
        {
          visitor: "v1",
          dimensions: {
            day: "2026-03-01",
            category: "shoes",
            browser: "Chrome",
            os: "Windows",
            device: "desktop",
            country: "US"
          },
          count: 1,
          network: "203.0.113.0"
        },
        {
          visitor: "v2",
          dimensions: {
            day: "2026-03-02",
            category: "x",
            browser: "Firefox",
            os: "Linux",
            device: "mobile",
            country: "EU"
          },
          count: 1,
          network: null
        },
        {
          visitor: "v3",
          dimensions: {
            day: "2026-03-01",
            category: "unknown",
            browser: "unknown",
            os: "unknown",
            device: "unknown",
            country: "unknown"
          },
          count: 1,
          network: null
        }
      ])
    })
  )

  it.effect("reads a conversion's category from its line items: one category, mixed, or unknown", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      yield* store.append([
        conversion(tenant, "v1", ["A", "A"]),
        conversion(tenant, "v2", ["A", "B", "A"]),
        conversion(tenant, "v3", []),
        conversion(tenant, "v4", [undefined]),
        conversion(tenant, "v5", ["B", undefined])
      ])
      const rows = yield* EventReports.rows(query(tenant, { type: "conversion" }))
      assert.deepStrictEqual(
        sorted(rows).map((row) => [row.visitor, row.dimensions.category]),
        [
          ["v1", "A"],
          ["v2", "mixed"],
          ["v3", "unknown"],
          ["v4", "unknown"],
          ["v5", "B"]
        ]
      )
      // Product views are a different report.
      assert.deepStrictEqual(yield* EventReports.rows(query(tenant)), [])
    })
  )

  it.effect("reads each row's network, the stored truncated address: one row per visitor and network", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      const at = (ip: string | undefined) => ({
        payload: { productId: "p", category: "shoes", context: { ...context, ip } }
      })
      yield* store.append([
        view(tenant, "v1", at("198.51.100.0")),
        view(tenant, "v1", at("198.51.100.0")),
        view(tenant, "v1", at("2001:db8:7::")),
        view(tenant, "v2", at(undefined)),
        view(tenant, "v3", at("unknown"))
      ])
      assert.deepStrictEqual(sorted(yield* EventReports.rows(query(tenant))), [
        { visitor: "v1", dimensions: { category: "shoes" }, count: 2, network: "198.51.100.0" },
        { visitor: "v1", dimensions: { category: "shoes" }, count: 1, network: "2001:db8:7::" },
        { visitor: "v2", dimensions: { category: "shoes" }, count: 1, network: null },
        { visitor: "v3", dimensions: { category: "shoes" }, count: 1, network: "unknown" }
      ])
    })
  )

  it.effect("refuses a range holding more rows than the query allows", () =>
    Effect.gen(function* () {
      const store = yield* EventStore.EventStore
      const tenant = unique("t")
      yield* store.append(Array.from({ length: 5 }, (_, i) => view(tenant, `v${i}`)))
      assert.strictEqual((yield* EventReports.rows(query(tenant, { maxRows: 5 }))).length, 5)
      const refused = yield* Effect.flip(EventReports.rows(query(tenant, { maxRows: 4 })))
      assert.strictEqual(refused._tag, "TooManyRows")
      if (refused._tag === "TooManyRows") {
        assert.strictEqual(refused.maxRows, 4)
        assert.match(refused.message, /more than 4 visitor rows/)
      }
    })
  )
}
