/**
 * @openaudience/ad-selector's `AdLog` over SQL (SQLite and PostgreSQL through `SqlClient`). Two tables:
 * `ad_decisions`, one row per decision with the times of its rendered and viewable impressions and of its click
 * (each set once, by a conditional `UPDATE … WHERE rendered_at IS NULL`, so a reloaded beacon or a double click
 * counts once however many processes receive it), and `ad_conversions`, one row per (tenant, order). Every row is
 * keyed by the advertiser tenant and the tenant's pseudonym of the visitor (never a raw identifier), indexed for
 * `touches` and `eraseVisitor`, which removes both tables' rows of a visitor in one transaction. `dailyStats` is
 * counted by the database, grouped by UTC day, from the rows themselves (so erasure removes a visitor's counts too).
 * The tables have their own migration table (`ad_log_migrations`), applied by `layer`.
 *
 * Conversions carry a position (`seq`) for `conversionsSince`, taken from a one-row counter
 * (`ad_conversion_sequence`) in the transaction that inserts the conversion. The counter's row stays locked until that
 * transaction commits, so on PostgreSQL a second writer takes the next position only after the first committed: a
 * reader never sees position n + 1 before n, and a cursor never skips a conversion committed late. (SQLite has one
 * writer at a time anyway.) Conversions credited before this column existed have none and are not read back.
 *
 * @since 0.4.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { AdLog, type Attribution, Budget, type Stats, WriteBehind } from "@openaudience/ad-selector"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import { parseUrl } from "./Database.js"
import type { AdDecisionRow } from "./internal/adDecisionProtocol.js"
import * as AdDecisionWriter from "./internal/adDecisionWriter.js"
import { deliveryOf } from "./internal/deliveryRow.js"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import * as SqlDeliveryStore from "./SqlDeliveryStore.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * The name of the table that records which ad log migrations were applied.
 *
 * @since 0.4.0
 * @category models
 */
export const table = "ad_log_migrations"

/**
 * The ad log migrations, in order.
 *
 * @since 0.4.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_ad_log",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      const real = sql.onDialectOrElse({ pg: () => sql.literal("DOUBLE PRECISION"), orElse: () => sql.literal("REAL") })
      yield* sql`CREATE TABLE ad_decisions (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        campaign_id TEXT NOT NULL,
        creative_id TEXT NOT NULL,
        product_ids TEXT NOT NULL,
        publisher TEXT NOT NULL,
        slot TEXT NOT NULL,
        visitor TEXT,
        personalized INTEGER NOT NULL,
        propensity ${real} NOT NULL,
        cost_millis ${int64} NOT NULL,
        currency TEXT NOT NULL,
        decided_at ${int64} NOT NULL,
        rendered_at ${int64},
        viewable_at ${int64},
        clicked_at ${int64}
      )`
      yield* sql`CREATE INDEX ad_decisions_visitor ON ad_decisions (tenant, visitor)`
      yield* sql`CREATE INDEX ad_decisions_campaign ON ad_decisions (tenant, campaign_id, rendered_at)`
      yield* sql`CREATE TABLE ad_conversions (
        tenant TEXT NOT NULL,
        order_id TEXT NOT NULL,
        decision_id TEXT NOT NULL,
        campaign_id TEXT NOT NULL,
        visitor TEXT NOT NULL,
        value ${real} NOT NULL,
        currency TEXT NOT NULL,
        converted_at ${int64} NOT NULL,
        PRIMARY KEY (tenant, order_id)
      )`
      yield* sql`CREATE INDEX ad_conversions_visitor ON ad_conversions (tenant, visitor)`
      yield* sql`CREATE INDEX ad_conversions_campaign ON ad_conversions (tenant, campaign_id, converted_at)`
    })
  },
  {
    id: 2,
    name: "conversion_positions",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      yield* sql`CREATE TABLE ad_conversion_sequence (id INTEGER PRIMARY KEY, last ${int64} NOT NULL)`
      yield* sql`INSERT INTO ad_conversion_sequence ${sql.insert({ id: 1, last: 0 })}`
      yield* sql`ALTER TABLE ad_conversions ADD COLUMN seq ${int64}`
      yield* sql`CREATE UNIQUE INDEX ad_conversions_seq ON ad_conversions (seq)`
    })
  }
]

/**
 * Brings the ad log tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.4.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

type Int = number | string

interface DecisionRow {
  readonly id: string
  readonly tenant: string
  readonly campaign_id: string
  readonly creative_id: string
  readonly product_ids: string
  readonly publisher: string
  readonly slot: string
  readonly visitor: string | null
  readonly personalized: Int | boolean
  readonly propensity: Int
  readonly cost_millis: Int
  readonly currency: string
  readonly decided_at: Int
}

// A row that cannot be read back was not written by this store: a defect, not an answer.
const decisionOf = (row: DecisionRow): AdLog.DecisionRecord => ({
  id: row.id,
  tenant: row.tenant,
  campaignId: row.campaign_id,
  creativeId: row.creative_id,
  productIds: JSON.parse(row.product_ids) as ReadonlyArray<string>,
  publisher: row.publisher,
  slot: row.slot,
  visitor: row.visitor,
  personalized: Number(row.personalized) === 1,
  propensity: Number(row.propensity),
  costMillis: Number(row.cost_millis),
  currency: row.currency,
  at: Number(row.decided_at)
})

const DAY = 86_400_000

/** The first and last UTC days whose `YYYY-MM-DD` has four year digits: the days `dayOf` orders as strings. */
const firstDay = Date.parse("0000-01-01T00:00:00.000Z") / DAY
const lastDay = Date.parse("9999-12-31T00:00:00.000Z") / DAY

/**
 * The day numbers (days since the epoch) whose `AdLog.dayOf` lies between `since` and `until` as strings, as the
 * in-memory log compares them, or `undefined` when none does. Days with four-digit years sort as strings in time
 * order, so those days are one interval, found by bisection whatever the strings are.
 */
const dayInterval = (range: AdLog.DayRange): { readonly from: number; readonly to: number } | undefined => {
  const day = (n: number) => AdLog.dayOf(n * DAY)
  // The first day whose string is at least `since`.
  let lo = firstDay
  let hi = lastDay + 1
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    if (day(mid) >= range.since) hi = mid
    else lo = mid + 1
  }
  const from = lo
  // The first day whose string is above `until`.
  lo = firstDay
  hi = lastDay + 1
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    if (day(mid) > range.until) hi = mid
    else lo = mid + 1
  }
  const to = lo - 1
  return from <= to ? { from, to } : undefined
}

/** SQLite's and PostgreSQL's codes for a unique or primary key violation. */
const uniqueViolations = new Set(["23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"])

const failed =
  (operation: string) =>
  (error: SqlError): AdLog.AdLogError => {
    const cause = error.cause
    const code =
      typeof cause === "object" && cause !== null && "code" in cause ? String((cause as { code: unknown }).code) : ""
    const storage = fromSqlError(operation)(error)
    if (uniqueViolations.has(code)) {
      return new AdLog.AdLogError({ reason: "InvalidInput", message: `${operation}: the id exists`, cause: storage })
    }
    return new AdLog.AdLogError({
      reason: storage.reason === "Unavailable" || storage.reason === "InvalidInput" ? storage.reason : "Failed",
      message: storage.message,
      cause: storage
    })
  }

const invalid = (message: string) => Effect.fail(new AdLog.AdLogError({ reason: "InvalidInput", message }))

/** Rows per INSERT: 13 parameters each, well under SQLite's and PostgreSQL's limits on parameters. */
const decisionsPerInsert = 200

/** An `ad_decisions` row as the record `sql.insert` takes. */
const decisionColumns = (row: AdDecisionRow): Record<string, string | number | null> => ({
  id: row[0],
  tenant: row[1],
  campaign_id: row[2],
  creative_id: row[3],
  product_ids: row[4],
  publisher: row[5],
  slot: row[6],
  visitor: row[7],
  personalized: row[8],
  propensity: row[9],
  cost_millis: row[10],
  currency: row[11],
  decided_at: row[12]
})

/** The first problem of the numbers a BIGINT column must hold, if any. */
const notInteger = (fields: Record<string, number>): string | undefined => {
  for (const [name, value] of Object.entries(fields)) {
    if (!Number.isSafeInteger(value)) return `${name} must be an integer, got ${value}`
  }
  return undefined
}

/** What the decision thread's outcome means to a caller of the ad log. */
const stored = (operation: string, outcome: AdDecisionWriter.Outcome): Effect.Effect<void, AdLog.AdLogError> =>
  outcome._tag === "Stored"
    ? Effect.void
    : Effect.fail(
        outcome.unique
          ? new AdLog.AdLogError({ reason: "InvalidInput", message: `${operation}: the id exists` })
          : new AdLog.AdLogError({ reason: "Unavailable", message: `${operation}: ${outcome.message}` })
      )

/** The rows of `ad_decisions` for `batch`, or why one cannot be stored. */
const decisionRows = (batch: ReadonlyArray<AdLog.DecisionRecord>): Array<AdDecisionRow> | string => {
  const rows = new Array<AdDecisionRow>(batch.length)
  for (let i = 0; i < batch.length; i++) {
    const d = batch[i]!
    // Checked field by field, not through `notInteger`'s record: this loop runs for every ad served.
    if (!Number.isSafeInteger(d.costMillis) || !Number.isSafeInteger(d.at)) {
      return `decision ${d.id}: ${notInteger({ costMillis: d.costMillis, at: d.at })}`
    }
    rows[i] = [
      d.id,
      d.tenant,
      d.campaignId,
      d.creativeId,
      d.productIds.length === 0 ? "[]" : JSON.stringify(d.productIds),
      d.publisher,
      d.slot,
      d.visitor,
      d.personalized ? 1 : 0,
      d.propensity,
      d.costMillis,
      d.currency,
      d.at
    ]
  }
  return rows
}

interface ConversionRow {
  readonly seq: Int
  readonly tenant: string
  readonly order_id: string
  readonly decision_id: string
  readonly campaign_id: string
  readonly visitor: string
  readonly value: Int
  readonly currency: string
  readonly converted_at: Int
}

const conversionEntryOf = (row: ConversionRow): AdLog.ConversionEntry => ({
  seq: Number(row.seq),
  conversion: {
    tenant: row.tenant,
    orderId: row.order_id,
    decisionId: row.decision_id,
    campaignId: row.campaign_id,
    visitor: row.visitor,
    value: Number(row.value),
    currency: row.currency,
    at: Number(row.converted_at)
  }
})

type MutableRow = { -readonly [K in keyof Stats.DayRow]: Stats.DayRow[K] }

/**
 * Builds the SQL ad log over the `SqlClient` in context (the tables must exist: see `migrate` and `layer`).
 *
 * Times and `costMillis` are stored as integers: a value that is not one fails with `InvalidInput`, storing nothing.
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: Effect.Effect<AdLog.Service, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // Decisions go to a thread of their own where `layerWriteBehindFromUrl` started one, while it runs.
  const writer = Option.getOrUndefined(yield* Effect.serviceOption(AdDecisionWriter.AdDecisionWriter))

  const guard = <A>(operation: string, effect: Effect.Effect<A, SqlError>) => Effect.mapError(effect, failed(operation))

  /** Sets a decision's time column once: `true` when this call set it. */
  const mark = (column: "rendered_at" | "viewable_at" | "clicked_at", decisionId: string, at: number) =>
    Effect.suspend(() => {
      const problem = notInteger({ at })
      if (problem !== undefined) return invalid(problem)
      return guard(
        "Recording an impression or click",
        Effect.map(
          sql`UPDATE ad_decisions SET ${sql(column)} = ${at}
              WHERE id = ${decisionId} AND ${sql(column)} IS NULL RETURNING id`,
          (rows) => rows.length > 0
        )
      )
    })

  /** One multi-row INSERT per `decisionsPerInsert` decisions, in one transaction: all or none. */
  const recordDecisions = (batch: ReadonlyArray<AdLog.DecisionRecord>) =>
    Effect.suspend(() => {
      if (batch.length === 0) return Effect.void
      const rows = decisionRows(batch)
      if (typeof rows === "string") return invalid(rows)
      const operation = batch.length === 1 ? "Recording a decision" : "Recording decisions"
      const threaded = writer?.write(rows)
      if (threaded !== undefined) return Effect.flatMap(threaded, (outcome) => stored(operation, outcome))
      const insert = (from: number) =>
        sql`INSERT INTO ad_decisions ${sql.insert(rows.slice(from, from + decisionsPerInsert).map(decisionColumns))}`
      const all =
        rows.length <= decisionsPerInsert
          ? insert(0)
          : sql.withTransaction(
              Effect.forEach(
                Array.from({ length: Math.ceil(rows.length / decisionsPerInsert) }, (_, i) => i * decisionsPerInsert),
                insert,
                { discard: true }
              )
            )
      return guard(operation, Effect.asVoid(all))
    })

  return AdLog.AdLog.of({
    recordDecision: (d) => recordDecisions([d]),
    recordDecisions,
    decision: (id) =>
      guard(
        "Reading a decision",
        Effect.map(
          sql<DecisionRow>`SELECT id, tenant, campaign_id, creative_id, product_ids, publisher, slot, visitor,
              personalized, propensity, cost_millis, currency, decided_at FROM ad_decisions WHERE id = ${id}`,
          (rows) => Option.map(Option.fromNullable(rows[0]), decisionOf)
        )
      ),
    recordImpression: (decisionId, kind, at) =>
      kind === "rendered" || kind === "viewable"
        ? mark(kind === "rendered" ? "rendered_at" : "viewable_at", decisionId, at)
        : invalid(`an impression is rendered or viewable, got ${String(kind)}`),
    recordClick: (decisionId, at) => mark("clicked_at", decisionId, at),
    touches: (tenant, visitor, since) =>
      guard(
        "Reading a visitor's touches",
        Effect.map(
          sql<{
            readonly id: string
            readonly campaign_id: string
            readonly creative_id: string
            readonly product_ids: string
            readonly viewable_at: Int | null
            readonly clicked_at: Int | null
          }>`SELECT id, campaign_id, creative_id, product_ids, viewable_at, clicked_at FROM ad_decisions
              WHERE tenant = ${tenant} AND visitor = ${visitor} AND (viewable_at >= ${since} OR clicked_at >= ${since})`,
          (rows) => {
            const out: Array<Attribution.Touch> = []
            for (const row of rows) {
              const productId = (JSON.parse(row.product_ids) as ReadonlyArray<string>)[0]
              const base = {
                decisionId: row.id,
                campaignId: row.campaign_id,
                creativeId: row.creative_id,
                ...(productId === undefined ? {} : { productId })
              }
              const clicked = row.clicked_at === null ? undefined : Number(row.clicked_at)
              const viewable = row.viewable_at === null ? undefined : Number(row.viewable_at)
              if (clicked !== undefined && clicked >= since) out.push({ kind: "click", ...base, at: clicked })
              if (viewable !== undefined && viewable >= since) out.push({ kind: "view", ...base, at: viewable })
            }
            // The in-memory log's order: by time, then decision id; a decision's click before its view at one time.
            return out.sort((a, b) => a.at - b.at || a.decisionId.localeCompare(b.decisionId))
          }
        )
      ),
    recordConversion: (c) =>
      Effect.suspend(() => {
        const problem = notInteger({ at: c.at })
        if (problem !== undefined) return invalid(problem)
        return guard(
          "Recording a conversion",
          sql.withTransaction(
            Effect.gen(function* () {
              // A repeated order wastes a position: gaps are harmless, a position taken twice is not.
              const taken = yield* sql<{ readonly last: Int }>`UPDATE ad_conversion_sequence SET last = last + 1
                  WHERE id = 1 RETURNING last`
              const rows = yield* sql`INSERT INTO ad_conversions ${sql.insert({
                tenant: c.tenant,
                order_id: c.orderId,
                decision_id: c.decisionId,
                campaign_id: c.campaignId,
                visitor: c.visitor,
                value: c.value,
                currency: c.currency,
                converted_at: c.at,
                seq: Number(taken[0]?.last)
              })} ON CONFLICT (tenant, order_id) DO NOTHING RETURNING order_id`
              return rows.length > 0
            })
          )
        )
      }),
    conversionsSince: (cursor, limit) =>
      Effect.suspend(() => {
        if (!(limit >= 1)) return Effect.succeed([])
        if (!Number.isFinite(cursor)) return invalid(`a conversion cursor is a number, got ${cursor}`)
        return guard(
          "Reading conversions",
          Effect.map(
            sql<ConversionRow>`SELECT seq, tenant, order_id, decision_id, campaign_id, visitor, value, currency,
                converted_at FROM ad_conversions WHERE seq > ${Math.floor(cursor)}
                ORDER BY seq LIMIT ${Math.min(Math.floor(limit), 100_000)}`,
            (rows) => rows.map(conversionEntryOf)
          )
        )
      }),
    conversionCursor: guard(
      "Reading the conversion cursor",
      Effect.map(sql<{ readonly last: Int }>`SELECT last FROM ad_conversion_sequence WHERE id = 1`, (rows) =>
        Number(rows[0]?.last ?? 0)
      )
    ),
    dailyStats: (tenant, campaignId, range) =>
      Effect.suspend(() => {
        const days = dayInterval(range)
        if (days === undefined) return Effect.succeed([])
        // Times before 1970 are not counted (integer division below rounds them towards zero, into 1970-01-01).
        const from = Math.max(0, days.from * DAY)
        const until = (days.to + 1) * DAY
        if (until <= from) return Effect.succeed([])
        type Counted = { readonly day: Int; readonly n: Int; readonly amount: Int | null }
        // Integer division by a literal (a bound number may be a REAL in SQLite): the UTC day of each time.
        const perDay = sql.literal(String(DAY))
        const byDay = (column: "rendered_at" | "viewable_at" | "clicked_at") =>
          sql<Counted>`SELECT ${sql(column)} / ${perDay} AS day, COUNT(*) AS n, SUM(cost_millis) AS amount
              FROM ad_decisions WHERE tenant = ${tenant} AND campaign_id = ${campaignId}
                AND ${sql(column)} >= ${from} AND ${sql(column)} < ${until}
              GROUP BY ${sql(column)} / ${perDay}`
        return guard(
          "Counting a campaign's statistics",
          Effect.map(
            Effect.all([
              byDay("rendered_at"),
              byDay("viewable_at"),
              byDay("clicked_at"),
              sql<Counted>`SELECT converted_at / ${perDay} AS day, COUNT(*) AS n, SUM(value) AS amount
                  FROM ad_conversions WHERE tenant = ${tenant} AND campaign_id = ${campaignId}
                    AND converted_at >= ${from} AND converted_at < ${until}
                  GROUP BY converted_at / ${perDay}`
            ]),
            ([rendered, viewable, clicked, converted]) => {
              const rows = new Map<number, MutableRow>()
              const row = (day: Int) => {
                const n = Number(day)
                let found = rows.get(n)
                if (found === undefined) {
                  found = {
                    day: AdLog.dayOf(n * DAY),
                    impressions: 0,
                    viewable: 0,
                    clicks: 0,
                    conversions: 0,
                    conversionValue: 0,
                    spendMillis: 0
                  }
                  rows.set(n, found)
                }
                return found
              }
              for (const r of rendered) {
                const found = row(r.day)
                found.impressions += Number(r.n)
                found.spendMillis += Number(r.amount ?? 0)
              }
              for (const r of viewable) row(r.day).viewable += Number(r.n)
              for (const r of clicked) row(r.day).clicks += Number(r.n)
              for (const r of converted) {
                const found = row(r.day)
                found.conversions += Number(r.n)
                found.conversionValue += Number(r.amount ?? 0)
              }
              return [...rows.entries()].sort(([a], [b]) => a - b).map(([, found]) => found)
            }
          )
        )
      }),
    eraseVisitor: (tenant, visitor) =>
      guard(
        "Erasing a visitor's ad log",
        sql.withTransaction(
          Effect.map(
            Effect.all([
              sql`DELETE FROM ad_decisions WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING id`,
              sql`DELETE FROM ad_conversions WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING order_id`
            ]),
            ([decisions, conversions]) => decisions.length + conversions.length
          )
        )
      )
  })
})

/**
 * The SQL ad log: runs its migrations, then serves `AdLog` over the `SqlClient` in context.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer: Layer.Layer<AdLog.AdLog, StorageError, SqlClient.SqlClient> = Layer.effect(
  AdLog.AdLog,
  Effect.zipRight(migrate, make)
)

/**
 * The SQL ad log and delivery store behind @openaudience/ad-selector's `WriteBehind`: the ad server's decisions and
 * budget charges are written every `interval` (50 ms by default) in one transaction, instead of a commit each per
 * answer; budgets are checked against the write-behind's ledger. Provides `AdLog`, `DeliveryStore` and
 * `WriteBehind` (whose `flush` stores everything waiting). See `WriteBehind` for what a crash can lose.
 *
 * @since 0.5.0
 * @category layers
 */
export const layerWriteBehind = (
  options: Omit<WriteBehind.Options, "transaction" | "store"> = {}
): Layer.Layer<AdLog.AdLog | Budget.DeliveryStore | WriteBehind.WriteBehind, StorageError, SqlClient.SqlClient> =>
  behind(layer, options)

/** `WriteBehind` over `adLog` and `SqlDeliveryStore`, each flush in one transaction of the `SqlClient`. */
const behind = (
  adLog: Layer.Layer<AdLog.AdLog, StorageError, SqlClient.SqlClient>,
  options: Omit<WriteBehind.Options, "transaction">
): Layer.Layer<AdLog.AdLog | Budget.DeliveryStore | WriteBehind.WriteBehind, StorageError, SqlClient.SqlClient> =>
  Layer.unwrapEffect(
    Effect.map(SqlClient.SqlClient, (sql) =>
      WriteBehind.layer({ ...options, transaction: (effect) => sql.withTransaction(effect) })
    )
  ).pipe(Layer.provide(Layer.merge(adLog, SqlDeliveryStore.layer)))

/**
 * `layerWriteBehind` for the database at `databaseUrl` (the `SqlClient`'s own): on a SQLite file, each flush's
 * decisions and budget charges are written by a thread with a connection of its own, in one transaction (statements,
 * commit and fsync off the thread answering ads, and a flush's decisions stored with the spend they cost or not at
 * all); on PostgreSQL or SQLite in memory, as `layerWriteBehind`. If the thread cannot start or stops, flushes go
 * through the `SqlClient` again (with a warning).
 *
 * @since 0.6.0
 * @category layers
 */
export const layerWriteBehindFromUrl = (
  databaseUrl: string,
  options: Omit<WriteBehind.Options, "transaction" | "store"> = {}
): Layer.Layer<AdLog.AdLog | Budget.DeliveryStore | WriteBehind.WriteBehind, StorageError, SqlClient.SqlClient> => {
  const url = parseUrl(databaseUrl)
  if (url._tag === "Left") return Layer.fail(url.left)
  if (url.right._tag !== "Sqlite" || url.right.filename === ":memory:") return layerWriteBehind(options)
  const filename = url.right.filename
  return Layer.unwrapScoped(
    Effect.gen(function* () {
      yield* migrate
      const runtime = yield* Effect.runtime<never>()
      const warn = (message: string) => Runtime.runFork(runtime)(Effect.logWarning(message))
      const writer = yield* AdDecisionWriter.make(filename, warn)
      const threaded = Layer.effect(AdLog.AdLog, Effect.provideService(make, AdDecisionWriter.AdDecisionWriter, writer))
      return behind(threaded, { ...options, store: storeOn(writer) })
    })
  )
}

/**
 * A flush's decisions and charges in one transaction of the decision thread (nothing of it on the `SqlClient`), with
 * the charged campaigns' deliveries read in it; `undefined` once the thread is gone (the flush then goes through the
 * `SqlClient`).
 */
const storeOn =
  (writer: AdDecisionWriter.Service): NonNullable<WriteBehind.Options["store"]> =>
  (decisions, charges) => {
    const rows = decisionRows(decisions)
    if (typeof rows === "string") return Effect.fail({ message: rows })
    const written = writer.write(
      rows,
      charges.map((c) => [c.campaignId, Budget.add(Budget.zero, 0, c.at).day, c.cost] as const)
    )
    return written === undefined
      ? undefined
      : Effect.flatMap(written, (outcome) =>
          outcome._tag === "Stored"
            ? Effect.succeed(new Map(outcome.deliveries.map(([id, row]) => [id, deliveryOf(row)] as const)))
            : Effect.as(stored("Recording decisions and charges", outcome), undefined)
        )
  }
