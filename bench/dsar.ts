/**
 * Data-subject requests on PostgreSQL at scale: how long a verified erasure and an export of one visitor take when
 * `events` holds 10,000,000 rows (`OA_BENCH_DSAR_ROWS`) of about 100,000 visitors over four tenants.
 *
 * The database is the local PostgreSQL (`OA_BENCH_DATABASE_URL`, default the test database), in a schema of its own
 * (`oa_bench_dsar_<random>`, dropped at the end, also on failure) with every storage-sql migration applied. `events`
 * is filled by one `INSERT … SELECT … FROM generate_series` with its secondary indexes dropped first and built again
 * afterwards under the migration's names (a bulk load; the schema ends as migrated), then vacuumed and analysed, as
 * autovacuum would leave it. Every visitor also has an audience state, two memberships, two ad decisions, a
 * frequency cap and a browser link.
 *
 * - `dsar.fill_ms` (`dsar.fill_rows`): the fill, indexes and vacuum included.
 * - `dsar.erase_ms` / `dsar.erase_p95_ms`: `Erasure.erase` of one visitor (about 100 events and a row or two in every
 *   other visitor table) through `SqlSubjectStores.stores` in one transaction (`SqlSubjectStores.makeTransaction`),
 *   counts before and verification after included; median and p95 of 20 erasures of different visitors.
 *   Baseline: one indexed `SELECT count(*) FROM events WHERE tenant = $1 AND visitor = $2` of other visitors.
 * - `dsar.export_ms`: `Export.collect` + `Export.toJson` of a visitor with 10,000 events; `dsar.export_csv_zip_ms`:
 *   `Export.collect` + `Export.toCsvZip`; median of 10 runs each. Baseline: `SELECT * FROM events` of the same rows.
 * - The plans (`EXPLAIN`) of the erasure's DELETE statements are printed once; `dsar.erase_plan_uses_index` is 1
 *   when the one on `events` reads `events_tenant_visitor`.
 */
import { createHash, randomUUID } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Erasure, Export, Report, Subject } from "../packages/dsar/src/index.ts"
import { Database, SqlSubjectStores } from "../packages/storage-sql/src/index.ts"
import { type Figure, log, median, significant } from "./stats.ts"

export interface DsarOptions {
  /** Rows of `events` (default 10,000,000). */
  readonly rows: number
  /** Erasures of different visitors measured (default 20). */
  readonly erasures: number
  /** Exports measured, of each format (default 10). */
  readonly exports: number
}

const tenants = 4
const exportEvents = 10_000
const t0 = Date.UTC(2026, 5, 1)

const migrateAll = SqlSubjectStores.migrateAll

/** The value at quantile `q` of a non-empty list (nearest rank). */
const quantile = (values: ReadonlyArray<number>, q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

/**
 * Fills `events` with `rows` rows: row `g` belongs to visitor `g % visitors` (tenant `visitor % 4`), except every
 * `spacing`-th row, which belongs to the export subject (tenant `t0`): its events are spread over the whole table.
 */
const fillEvents = (rows: number, visitors: number, spacing: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Bulk load: the secondary indexes are built once afterwards rather than maintained row by row.
    yield* sql`ALTER TABLE events DROP CONSTRAINT events_tenant_event_id`
    yield* sql`DROP INDEX events_tenant_seq`
    yield* sql`DROP INDEX events_tenant_visitor`
    const consent = JSON.stringify({
      v: 1,
      policy: "2026-11-29.1",
      model: "opt-out",
      jurisdiction: "US-CA",
      decision: { collect: true, identifier: true, personalization: true, measurement: true, child: false }
    })
    const started = performance.now()
    yield* sql`INSERT INTO events (tenant, event_id, type, site, received_at, client_ts, visitor, payload, consent)
      SELECT
        CASE WHEN g % ${spacing}::bigint = 0 THEN 't0' ELSE 't' || ((g % ${visitors}::bigint) % ${tenants}::bigint) END,
        'e' || g,
        (ARRAY['page_view', 'product_view', 'add_to_cart'])[1 + g % 3],
        'shop.example',
        ${t0}::bigint + g * 60,
        NULL,
        CASE WHEN g % ${spacing}::bigint = 0 THEN 'export-subject' ELSE substr(md5((g % ${visitors}::bigint)::text), 1, 22) END,
        jsonb_build_object('url', 'https://shop.example/p/' || (g % 5000), 'productId', 'p' || (g % 5000),
          'category', 'shoes'),
        ${consent}::jsonb
      FROM generate_series(1, ${rows}::bigint) AS g`
    const inserted = performance.now()
    yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`SET LOCAL maintenance_work_mem = '512MB'`
        yield* sql`ALTER TABLE events ADD CONSTRAINT events_tenant_event_id UNIQUE (tenant, event_id)`
        yield* sql`CREATE INDEX events_tenant_seq ON events (tenant, seq)`
        yield* sql`CREATE INDEX events_tenant_visitor ON events (tenant, visitor)`
      })
    )
    const indexed = performance.now()
    yield* sql`VACUUM (ANALYZE) events`
    const vacuumed = performance.now()
    return { insertMs: inserted - started, indexMs: indexed - inserted, vacuumMs: vacuumed - indexed }
  })

/** An audience state, two memberships, two ad decisions, a frequency cap and a browser link for every visitor. */
const fillVisitorTables = (visitors: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const each = sql`SELECT v, 't' || (v % ${tenants}::bigint) AS tenant, substr(md5(v::text), 1, 22) AS visitor
      FROM generate_series(0, ${visitors - 1}::bigint) AS v`
    yield* sql`INSERT INTO audience_visitors (tenant, visitor, state, next_check_at)
      SELECT tenant, visitor, decode('010203', 'hex'), ${t0}::bigint + v FROM (${each}) AS s`
    yield* sql`INSERT INTO audience_memberships (tenant, audience_id, visitor, entered_at, expires_at, exited_at, products)
      SELECT tenant, 'a' || k, visitor, ${t0}::bigint + v, ${t0}::bigint + v + 86400000, NULL, '["p1"]'::jsonb
      FROM (${each}) AS s, generate_series(1, 2) AS k`
    yield* sql`INSERT INTO ad_decisions (id, tenant, campaign_id, creative_id, product_ids, publisher, slot, visitor,
        personalized, propensity, cost_millis, currency, decided_at, rendered_at)
      SELECT 'd' || v || '-' || k, tenant, 'c1', 'cr1', '["p1"]', 'news.example', 'top', visitor, 1, 0.5, 10, 'EUR',
        ${t0}::bigint + v, ${t0}::bigint + v + 1
      FROM (${each}) AS s, generate_series(1, 2) AS k`
    yield* sql`INSERT INTO ad_caps (tenant, visitor, cap_key, hour_index, hour_count, day_index, day_count, week_index,
        week_count, total, last_at)
      SELECT tenant, visitor, 'advertiser', 1, 1, 1, 1, 1, 1, 1, ${t0}::bigint + v FROM (${each}) AS s`
    yield* sql`INSERT INTO ad_browser_links (tenant, browser_key, visitor, linked_at)
      SELECT tenant, 'b' || md5('b' || v), visitor, ${t0}::bigint + v FROM (${each}) AS s`
    yield* sql`ANALYZE audience_visitors, audience_memberships, ad_decisions, ad_caps, ad_browser_links`
  })

/** Visitor number `n` as the fill names it (`substr(md5(n::text), 1, 22)` of tenant `t${n % 4}`). */
const visitorOf = (n: number): Subject.Visitor =>
  new Subject.Visitor({
    tenant: `t${n % tenants}`,
    visitor: createHash("md5").update(String(n)).digest("hex").slice(0, 22)
  })

/** The plans of the erasure's DELETE statements for one visitor (not run: `EXPLAIN` without `ANALYZE`). */
const explainErase = (subject: Subject.Visitor) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { tenant, visitor } = subject
    const plans: Array<{ readonly table: string; readonly plan: string }> = []
    for (const [table, column] of [
      ["events", "visitor"],
      ["event_log", "partition_key"],
      ["audience_visitors", "visitor"],
      ["audience_memberships", "visitor"],
      ["ad_decisions", "visitor"],
      ["ad_conversions", "visitor"],
      ["ad_caps", "visitor"],
      ["ad_browser_links", "visitor"]
    ] as const) {
      const rows = yield* sql<{ readonly "QUERY PLAN": string }>`EXPLAIN DELETE FROM ${sql(table)}
        WHERE tenant = ${tenant} AND ${sql(column)} = ${visitor}`
      plans.push({ table, plan: rows.map((row) => row["QUERY PLAN"]).join("\n") })
    }
    return plans
  })

const timed = async <A>(run: () => Promise<A>): Promise<{ readonly ms: number; readonly value: A }> => {
  const started = performance.now()
  const value = await run()
  return { ms: performance.now() - started, value }
}

/** Runs the DSAR benchmark. */
export const run = async (options: DsarOptions): Promise<ReadonlyArray<Figure>> => {
  const base = process.env.OA_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"
  const schema = `oa_bench_dsar_${randomUUID().replaceAll("-", "").slice(0, 12)}`
  const admin = ManagedRuntime.make(Database.layerFromUrl(base))
  const statement = (text: string) => admin.runPromise(Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(text)))
  await statement(`CREATE SCHEMA ${schema}`)
  const separator = base.includes("?") ? "&" : "?"
  const db = ManagedRuntime.make(
    Database.layerFromUrl(`${base}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`)
  )
  try {
    return await measure(db, options)
  } finally {
    await db.dispose()
    await statement(`DROP SCHEMA ${schema} CASCADE`)
    await admin.dispose()
    log(`dsar: dropped schema ${schema}`)
  }
}

const measure = async (
  db: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>,
  options: DsarOptions
): Promise<ReadonlyArray<Figure>> => {
  const { rows } = options
  const visitors = Math.max(tenants * 25, Math.round(rows / 100))
  const spacing = Math.max(1, Math.floor(rows / exportEvents))
  await db.runPromise(migrateAll)

  log(`dsar: filling events with ${rows.toLocaleString("en-US")} rows of ${visitors.toLocaleString("en-US")} visitors`)
  const fill = await timed(() => db.runPromise(fillEvents(rows, visitors, spacing)))
  const { insertMs, indexMs, vacuumMs } = fill.value
  log(
    `dsar: fill ${Math.round(fill.ms)} ms (INSERT … SELECT ${Math.round(insertMs)} ms, indexes ${Math.round(indexMs)} ms, ` +
      `VACUUM ANALYZE ${Math.round(vacuumMs)} ms)${fill.ms > 300_000 ? ": over 5 minutes" : ""}`
  )
  const others = await timed(() => db.runPromise(fillVisitorTables(visitors)))
  log(`dsar: visitor tables filled in ${Math.round(others.ms)} ms`)
  const size = await db.runPromise(
    Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql<{ readonly n: string; readonly bytes: string }>`SELECT count(*) AS n,
        pg_total_relation_size('events') AS bytes FROM events`
    )
  )
  const counted = Number(size[0]!.n)
  log(`dsar: events holds ${counted} rows, ${(Number(size[0]!.bytes) / 2 ** 30).toFixed(2)} GiB with indexes`)
  if (counted !== rows) throw new Error(`dsar: events holds ${counted} rows, expected ${rows}`)

  const sql = await db.runPromise(SqlClient.SqlClient)
  const stores = await db.runPromise(SqlSubjectStores.stores)
  const transaction = SqlSubjectStores.makeTransaction(sql)
  // Visitors spread over the range whose rows the export subject does not take (when `spacing` divides `visitors`,
  // visitor n loses its rows to the export subject exactly when n % spacing = 0).
  const pick = (count: number, offset: number) =>
    Array.from({ length: count }, (_, i) => {
      let n = (offset + i * Math.floor(visitors / count)) % visitors
      while (n % spacing === 0) n++
      return visitorOf(n)
    })
  const erased = pick(options.erasures, 7)
  const probed = pick(options.erasures, 11)

  const plans = await db.runPromise(explainErase(erased[0]!))
  for (const { table, plan } of plans) log(`dsar: EXPLAIN DELETE FROM ${table} …\n${plan}`)
  const usesIndex = plans[0]!.plan.includes("events_tenant_visitor")
  if (!usesIndex) log("dsar: the DELETE on events does not read events_tenant_visitor")

  const countOnce = (subject: Subject.Visitor) =>
    db.runPromise(
      sql`SELECT count(*) AS n FROM events WHERE tenant = ${subject.tenant} AND visitor = ${subject.visitor}`
    )
  await countOnce(probed[0]!)
  const baseline: Array<number> = []
  for (const subject of probed) baseline.push((await timed(() => countOnce(subject))).ms)

  const eraseTimes: Array<number> = []
  let erasedEvents = 0
  let erasedRows = 0
  for (const subject of erased) {
    const { ms, value } = await timed(() => db.runPromise(Erasure.erase(stores, [subject], { transaction })))
    eraseTimes.push(ms)
    erasedEvents += value.stores.find((store) => store.name === "events")?.erased ?? 0
    erasedRows += value.stores.reduce((sum, store) => sum + store.erased, 0)
  }
  const eraseMs = median(eraseTimes)
  const baselineMs = median(baseline)
  log(
    `dsar: ${eraseTimes.length} erasures, ${(erasedEvents / eraseTimes.length).toFixed(0)} events and ` +
      `${(erasedRows / eraseTimes.length).toFixed(0)} rows in all per visitor; erase median ${eraseMs.toFixed(1)} ms, ` +
      `p95 ${quantile(eraseTimes, 0.95).toFixed(1)} ms; count(*) baseline median ${baselineMs.toFixed(2)} ms; ` +
      `erase/baseline ${(eraseMs / baselineMs).toFixed(1)}`
  )

  const exported = new Subject.Visitor({ tenant: "t0", visitor: "export-subject" })
  const selectAll = () =>
    db.runPromise(sql`SELECT * FROM events WHERE tenant = ${exported.tenant} AND visitor = ${exported.visitor}`)
  const collect = () => db.runPromise(Export.collect(stores, [exported], { limitPerStore: 1_000_000 }))
  const first = await collect()
  const events = first.find((entry) => entry.store === "events")?.records.length ?? 0
  const json = Export.toJson([Report.digest(exported)], first, Date.now())
  const zip = Export.toCsvZip(first, Date.now())
  log(`dsar: export subject has ${events} events; JSON ${json.length} chars, CSV zip ${zip.byteLength} B`)
  await selectAll()
  const selectTimes: Array<number> = []
  const jsonTimes: Array<number> = []
  const zipTimes: Array<number> = []
  for (let i = 0; i < options.exports; i++) {
    selectTimes.push((await timed(selectAll)).ms)
    jsonTimes.push(
      (await timed(async () => Export.toJson([Report.digest(exported)], await collect(), Date.now()).length)).ms
    )
    zipTimes.push((await timed(async () => Export.toCsvZip(await collect(), Date.now()).byteLength)).ms)
  }
  const exportMs = median(jsonTimes)
  const zipMs = median(zipTimes)
  const selectMs = median(selectTimes)
  log(
    `dsar: export JSON median ${exportMs.toFixed(1)} ms, CSV zip median ${zipMs.toFixed(1)} ms, ` +
      `SELECT * baseline median ${selectMs.toFixed(1)} ms; export/baseline ${(exportMs / selectMs).toFixed(1)}`
  )

  return [
    {
      name: "dsar.fill_rows",
      value: rows,
      unit: "rows",
      note: `events rows of ${visitors} visitors, ${tenants} tenants`
    },
    {
      name: "dsar.fill_ms",
      value: significant(fill.ms),
      unit: "ms",
      note: "one INSERT … SELECT generate_series, then indexes and VACUUM ANALYZE"
    },
    {
      name: "dsar.erase_ms",
      value: significant(eraseMs),
      unit: "ms",
      note: `Erasure.erase of one visitor (~${Math.round(erasedEvents / eraseTimes.length)} events), transaction and verification, median of ${eraseTimes.length}; target ≤ 1,000 (goal 100)`
    },
    {
      name: "dsar.erase_p95_ms",
      value: significant(quantile(eraseTimes, 0.95)),
      unit: "ms",
      note: `p95 of the same ${eraseTimes.length} erasures`
    },
    {
      name: "dsar.count_baseline_ms",
      value: significant(baselineMs),
      unit: "ms",
      note: "baseline: one indexed SELECT count(*) of a visitor's events, median"
    },
    {
      name: "dsar.erase_ratio_vs_count",
      value: significant(eraseMs / baselineMs, 3),
      unit: "ratio",
      note: "erase median / count(*) median"
    },
    {
      name: "dsar.erase_plan_uses_index",
      value: usesIndex ? 1 : 0,
      unit: "bool",
      note: "EXPLAIN of the DELETE on events reads events_tenant_visitor"
    },
    {
      name: "dsar.export_ms",
      value: significant(exportMs),
      unit: "ms",
      note: `Export.collect + toJson of a visitor with ${events} events, median of ${jsonTimes.length}; target ≤ 1,000`
    },
    {
      name: "dsar.export_csv_zip_ms",
      value: significant(zipMs),
      unit: "ms",
      note: `Export.collect + toCsvZip of the same visitor, median of ${zipTimes.length}`
    },
    {
      name: "dsar.select_baseline_ms",
      value: significant(selectMs),
      unit: "ms",
      note: "baseline: SELECT * FROM events of the same rows, median"
    },
    {
      name: "dsar.export_ratio_vs_select",
      value: significant(exportMs / selectMs, 3),
      unit: "ratio",
      note: "export JSON median / SELECT * median"
    }
  ]
}
