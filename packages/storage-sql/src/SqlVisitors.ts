/**
 * @openaudience/ad-selector's `Visitors` over the tables this package already keeps (no table of its own): audience
 * definitions (`audiences`, see `AudienceStore`), memberships (`audience_memberships`, see `SqlMembershipStore`) and
 * stored events (`events`, see `EventStore`). Every read names the tenant.
 *
 * - `targetable(tenant)`: the tenant's `active` audiences with at least k current members (k = `Size.defaultK`
 *   unless `makeWith` is given another), decided as the server's audience statistics do
 *   (`Size.isTargetable(members, k)` over the members counted at the `Clock`'s now). One query: for each active
 *   audience, a count of its open unexpired memberships on the index `audience_memberships_active` that stops at k
 *   rows (`LIMIT k`), so the cost is at most k index entries per audience, however large the audience. A visitor has
 *   at most one open membership per audience (`audience_memberships_open` is unique), so rows are members.
 * - `profile(tenant, visitor)`: the visitor's open memberships unexpired at the `Clock`'s now of those same
 *   audiences (active, at or above k: never an audience below the floor), and `lastSeen`, the receive time of the
 *   visitor's newest event that may personalize (`VisitorEvent.counts` of @openaudience/audience: consent for
 *   personalization, never a child's) among the newest `lastSeenWindow` events, unless an objection record is newer.
 *   Two queries, one on `audience_memberships_visitor` and one on the events index `(tenant, visitor)`. `None` when
 *   the tenant has neither an event nor such a membership of the visitor (unknown or erased).
 * - `history(tenant, visitor, since)`: the visitor's product views and purchases received at or after `since`, from
 *   events that may personalize only, and none from before the visitor's newest objection record, as
 *   `Recommend.historyOf` of @openaudience/catalog reads them, oldest first. One query on the events index
 *   `(tenant, visitor)` reading the newest `historyLimit` (500 by default) product views, conversions and objections
 *   received since `since`: older ones are not read, so a visitor with a longer recent history is answered from its
 *   newest part (what product recommendations use). A payload that does not read is skipped.
 *
 * `layer` runs the migrations of the three tables it reads (`migrate`), then serves `Visitors`.
 *
 * @since 0.4.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Visitors } from "@openaudience/ad-selector"
import { Size, VisitorEvent } from "@openaudience/audience"
import { Recommend } from "@openaudience/catalog"
import { StoredEvent } from "@openaudience/event-schema"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as AudienceStore from "./AudienceStore.js"
import { jsonColumnAsText, receiptFromText } from "./internal/eventCodec.js"
import * as Migrations from "./Migrations.js"
import * as SqlMembershipStore from "./SqlMembershipStore.js"
import { fromSqlError, type StorageError } from "./StorageError.js"

/**
 * How many of a visitor's newest product events `history` reads at most, by default.
 *
 * @since 0.4.0
 * @category models
 */
export const defaultHistoryLimit = 500

/**
 * How many of a visitor's newest events `profile` looks through for the last visit that may personalize.
 *
 * @since 0.4.0
 * @category models
 */
export const lastSeenWindow = 50

/**
 * Options of `makeWith`: the k floor (a positive integer, `Size.defaultK` by default) and how many product events
 * `history` reads at most (a positive integer, `defaultHistoryLimit` by default).
 *
 * @since 0.4.0
 * @category models
 */
export interface Options {
  readonly k?: number | undefined
  readonly historyLimit?: number | undefined
}

/**
 * An active audience and its members counted up to a cap (`members` is the smaller of the count and the cap).
 *
 * @since 0.4.0
 * @category models
 */
export interface AudienceMembers {
  readonly audienceId: string
  readonly members: number
}

const isPositiveInteger = (n: number): boolean => Number.isSafeInteger(n) && n > 0

/** The open memberships of audience `a` unexpired at `now`, counted up to `cap`. */
const membersOf = (sql: SqlClient.SqlClient, now: number, cap: number) =>
  sql`(SELECT COUNT(*) FROM (SELECT 1 FROM audience_memberships c
      WHERE c.tenant = a.tenant AND c.audience_id = a.id AND c.exited_at IS NULL AND c.expires_at > ${now}
      LIMIT ${cap}) AS counted)`

const toMembers = (rows: ReadonlyArray<{ readonly audience_id: string; readonly members: number | string }>) =>
  rows.map((row): AudienceMembers => ({ audienceId: row.audience_id, members: Number(row.members) }))

/**
 * The tenant's `active` audiences with their members at `now` (open memberships that expire after `now`) counted up
 * to `cap` (a positive integer): `Size.isTargetable(members, k)` with `cap` = k tells the targetable ones exactly.
 * One query, at most `cap` index entries read per audience. Ordered by audience id.
 *
 * @since 0.4.0
 * @category reads
 */
export const activeAudienceMembers = (
  tenant: string,
  now: number,
  cap: number
): Effect.Effect<ReadonlyArray<AudienceMembers>, StorageError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly audience_id: string; readonly members: number | string }>`SELECT a.id AS audience_id,
        ${membersOf(sql, now, cap)} AS members
      FROM audiences a WHERE a.tenant = ${tenant} AND a.status = 'active' ORDER BY a.id`.pipe(
      Effect.map(toMembers),
      Effect.mapError(fromSqlError("Counting the members of a tenant's audiences"))
    )
  )

/**
 * The `active` audiences a visitor of the tenant is a member of at `now` (an open membership that expires after
 * `now`), each with its members counted up to `cap` as `activeAudienceMembers` does. One query on the memberships'
 * visitor index. Ordered by audience id.
 *
 * @since 0.4.0
 * @category reads
 */
export const visitorAudienceMembers = (
  tenant: string,
  visitor: string,
  now: number,
  cap: number
): Effect.Effect<ReadonlyArray<AudienceMembers>, StorageError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly audience_id: string; readonly members: number | string }>`SELECT a.id AS audience_id,
        ${membersOf(sql, now, cap)} AS members
      FROM audience_memberships m
      JOIN audiences a ON a.tenant = m.tenant AND a.id = m.audience_id
      WHERE m.tenant = ${tenant} AND m.visitor = ${visitor} AND m.exited_at IS NULL AND m.expires_at > ${now}
        AND a.status = 'active'
      ORDER BY a.id`.pipe(Effect.map(toMembers), Effect.mapError(fromSqlError("Reading a visitor's audiences")))
  )

interface EventRow {
  readonly type: string
  readonly received_at: number | string
  readonly payload: unknown
  readonly consent: unknown
}

/**
 * Brings the tables `SqlVisitors` reads up to date (events, audiences, memberships); returns the ids of the
 * migrations applied now, in that order.
 *
 * @since 0.4.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = Effect.map(
  Effect.all([Migrations.migrate, AudienceStore.migrate, SqlMembershipStore.migrate]),
  (applied) => applied.flat()
)

const failed =
  (operation: string) =>
  (error: SqlError | StorageError): Visitors.VisitorsError => {
    const storage = error._tag === "SqlError" ? fromSqlError(operation)(error) : error
    return new Visitors.VisitorsError({
      reason: storage.reason === "Unavailable" ? "Unavailable" : "Failed",
      message: storage.message,
      cause: storage
    })
  }

/**
 * Builds `Visitors` over the `SqlClient` in context (the tables must exist: see `migrate` and `layer`) with the given
 * k floor and history limit; dies when either is not a positive integer.
 *
 * @since 0.4.0
 * @category constructors
 */
export const makeWith = (options: Options = {}): Effect.Effect<Visitors.Service, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const k = options.k ?? Size.defaultK
    const historyLimit = options.historyLimit ?? defaultHistoryLimit
    if (!isPositiveInteger(k)) return yield* Effect.dieMessage(`SqlVisitors: k must be a positive integer, got ${k}`)
    if (!isPositiveInteger(historyLimit)) {
      return yield* Effect.dieMessage(`SqlVisitors: historyLimit must be a positive integer, got ${historyLimit}`)
    }
    const sql = yield* SqlClient.SqlClient
    const provide = Effect.provideService(SqlClient.SqlClient, sql)
    const targetableOf = (found: ReadonlyArray<AudienceMembers>) =>
      found.filter((a) => Size.isTargetable(a.members, k)).map((a) => a.audienceId)

    /** The events of rows read newest first, as `VisitorEvent`s, up to (excluding) the newest objection. */
    const eventsOf = (visitor: string, rows: ReadonlyArray<EventRow>): Array<VisitorEvent.VisitorEvent> => {
      const receipts = new Map()
      const out: Array<VisitorEvent.VisitorEvent> = []
      for (const row of rows) {
        if (row.type === StoredEvent.objectionType) break
        let payload: unknown = null
        if (typeof row.payload === "string") {
          try {
            payload = JSON.parse(row.payload)
          } catch {
            payload = null
          }
        }
        out.push({
          type: row.type,
          receivedAt: Number(row.received_at),
          visitor,
          payload,
          consent: receiptFromText(row.consent, receipts)
        })
      }
      return out
    }

    return Visitors.Visitors.of({
      targetable: (tenant) =>
        Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => activeAudienceMembers(tenant, now, k)),
          Effect.map((found): ReadonlySet<string> => new Set(targetableOf(found))),
          provide,
          Effect.mapError(failed("Reading a tenant's targetable audiences"))
        ),
      profile: (tenant, visitor) =>
        Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) =>
            Effect.all(
              [
                visitorAudienceMembers(tenant, visitor, now, k).pipe(provide),
                sql<EventRow>`SELECT type, received_at, NULL AS payload, ${jsonColumnAsText(sql, "consent")} FROM events
                  WHERE tenant = ${tenant} AND visitor = ${visitor} ORDER BY seq DESC LIMIT ${lastSeenWindow}`
              ],
              { concurrency: 2 }
            )
          ),
          Effect.map(([memberships, rows]) => {
            if (memberships.length === 0 && rows.length === 0) return Option.none()
            const seen = eventsOf(visitor, rows).find(VisitorEvent.counts)
            const profile: Visitors.Profile = { audiences: targetableOf(memberships), lastSeen: seen?.receivedAt }
            return Option.some(profile)
          }),
          Effect.mapError(failed("Reading a visitor's profile"))
        ),
      history: (tenant, visitor, since) =>
        Effect.suspend(() => {
          // Stored receive times are integers from 0 to `StoredEvent.maxReceivedAt`: at or after `since` is at or
          // after its ceiling, and a bound outside that range is none or excludes everything.
          if (!(since <= StoredEvent.maxReceivedAt)) return Effect.succeed([])
          const from = since > 0 ? sql`AND received_at >= ${Math.ceil(since)}` : sql.literal("")
          const types = ["product_view", "conversion", StoredEvent.objectionType]
          return sql<EventRow>`SELECT type, received_at, ${jsonColumnAsText(sql, "payload")}, ${jsonColumnAsText(sql, "consent")} FROM events
              WHERE tenant = ${tenant} AND visitor = ${visitor} AND type IN ${sql.in(types)} ${from}
              ORDER BY seq DESC LIMIT ${historyLimit}`.pipe(
            Effect.map((rows) => Recommend.historyOf(eventsOf(visitor, rows).filter(VisitorEvent.counts).reverse())),
            Effect.mapError(failed("Reading a visitor's product history"))
          )
        })
    })
  })

/**
 * `makeWith` with the defaults: k = `Size.defaultK`, history limit `defaultHistoryLimit`.
 *
 * @since 0.4.0
 * @category constructors
 */
export const make: Effect.Effect<Visitors.Service, never, SqlClient.SqlClient> = makeWith()

/**
 * Runs `migrate`, then serves `Visitors` (`makeWith(options)`) over the `SqlClient` in context.
 *
 * @since 0.4.0
 * @category layers
 */
export const layerWith = (options: Options = {}): Layer.Layer<Visitors.Visitors, StorageError, SqlClient.SqlClient> =>
  Layer.effect(Visitors.Visitors, Effect.zipRight(migrate, makeWith(options)))

/**
 * Runs `migrate`, then serves `Visitors` with the defaults over the `SqlClient` in context.
 *
 * @since 0.4.0
 * @category layers
 */
export const layer: Layer.Layer<Visitors.Visitors, StorageError, SqlClient.SqlClient> = layerWith()
