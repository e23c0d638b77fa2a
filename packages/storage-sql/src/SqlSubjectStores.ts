/**
 * The stores of subject data of @openaudience/storage-sql, registered with @openaudience/dsar's subject-data
 * registry: for every table of this package that holds data about a visitor, a browser or an application user, how
 * to count, export and erase one subject's rows, with one parameterised statement per table on an index that starts
 * with the subject's columns (`(tenant, visitor)`, `(tenant, browser_key)`, `(tenant, user_id)`, …).
 *
 * - A **visitor** of a tenant: events (and objection records), membership change records of the event log, the
 *   audience job's visitor state and memberships, ad decisions (impressions and clicks), attributed conversions,
 *   frequency caps and browser links.
 * - A **browser** of a tenant: its browser links (`ad_browser_links.browser_key`).
 * - An **application user** of a tenant: the account row with the login failures under its email's keys, sessions,
 *   invitation and reset tokens, payment methods (the accounts module deletes them with the user: no billing record
 *   is kept here), and the vault data key (erasing it crypto-shreds every ciphertext of the user, anywhere).
 * - **Retained**: the audit log (who did what, a tamper-evident hash chain) and inquiries (found by the operator, not
 *   by subject: their email is a vault ciphertext). Their `count` is 0: nothing erasable is left in them.
 *
 * `check` compares the live schema (`liveColumns`) with the stores, so a table added with a subject column and no
 * store fails the start. `transaction` wraps an erasure in one database transaction (`Erasure.erase`'s option).
 *
 * @since 0.5.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Registry, type Subject } from "@openaudience/dsar"
import { StoredEvents } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as AudienceStore from "./AudienceStore.js"
import * as DailyCounts from "./DailyCounts.js"
import * as ErasureLock from "./internal/erasureLock.js"
import * as Migrations from "./Migrations.js"
import * as SqlAdLog from "./SqlAdLog.js"
import * as SqlAuditLog from "./SqlAuditLog.js"
import * as SqlBrowserLinks from "./SqlBrowserLinks.js"
import * as SqlCampaignStore from "./SqlCampaignStore.js"
import * as SqlCapStore from "./SqlCapStore.js"
import * as SqlCatalogStore from "./SqlCatalogStore.js"
import * as SqlDeliveryStore from "./SqlDeliveryStore.js"
import * as SqlDsarStore from "./SqlDsarStore.js"
import * as SqlErasedVisitors from "./SqlErasedVisitors.js"
import * as SqlEventLog from "./SqlEventLog.js"
import * as SqlInquiryStore from "./SqlInquiryStore.js"
import * as SqlKeyStore from "./SqlKeyStore.js"
import * as SqlMembershipStore from "./SqlMembershipStore.js"
import * as SqlPrivacyBudget from "./SqlPrivacyBudget.js"
import * as SqlSyncStore from "./SqlSyncStore.js"
import * as SqlTenancyStore from "./SqlTenancyStore.js"
import * as SqlUserStore from "./SqlUserStore.js"
import { fromSqlError } from "./StorageError.js"

type Visitor = Subject.Visitor
type Browser = Subject.Browser
type User = Subject.User
type Exported = Registry.ExportedRecord
type Int = number | string | bigint

/**
 * Every migration of this package, as a deployment that runs all its stores applies them: the schema `check` is meant
 * for (the CLI, benchmarks and tests bring a database up to it before reading or erasing subject data).
 *
 * @since 0.5.0
 * @category combinators
 */
export const migrateAll = Effect.all(
  [
    Migrations.migrate,
    AudienceStore.migrate,
    DailyCounts.migrate,
    SqlAdLog.migrate,
    SqlAuditLog.migrate,
    SqlBrowserLinks.migrate,
    SqlCampaignStore.migrate,
    SqlCapStore.migrate,
    SqlCatalogStore.migrate,
    SqlDeliveryStore.migrate,
    SqlEventLog.migrate,
    SqlInquiryStore.migrate,
    SqlKeyStore.migrate,
    SqlMembershipStore.migrate,
    SqlPrivacyBudget.migrate,
    SqlSyncStore.migrate,
    SqlTenancyStore.migrate,
    SqlUserStore.migrate,
    SqlDsarStore.migrate,
    SqlErasedVisitors.migrate
  ],
  { discard: true }
)

/**
 * The migration bookkeeping tables of this package (no subject data: `check` ignores them).
 *
 * @since 0.5.0
 * @category models
 */
export const migrationTables: ReadonlyArray<string> = [
  Migrations.table,
  AudienceStore.table,
  DailyCounts.migrationsTable,
  SqlAdLog.table,
  SqlAuditLog.table,
  SqlBrowserLinks.table,
  SqlCampaignStore.table,
  SqlCapStore.table,
  SqlCatalogStore.table,
  SqlDeliveryStore.table,
  SqlEventLog.migrationsTable,
  SqlInquiryStore.table,
  SqlKeyStore.table,
  SqlMembershipStore.table,
  SqlPrivacyBudget.table,
  SqlSyncStore.table,
  SqlTenancyStore.table,
  SqlUserStore.table,
  SqlDsarStore.table,
  SqlErasedVisitors.table
]

/** What one store does for one kind of subject, over SQL (errors mapped by `store`). */
interface KindOps<S> {
  readonly count: (subject: S) => Effect.Effect<number, SqlError>
  readonly export: (subject: S, limit: number) => Effect.Effect<ReadonlyArray<Exported>, SqlError>
  readonly erase: (subject: S) => Effect.Effect<number, SqlError>
}

interface StoreSpec {
  readonly name: string
  readonly tables: ReadonlyArray<Registry.CoveredTable>
  readonly retained?: ReadonlyArray<Omit<Registry.Retained, "store">>
  /** The kinds it holds data of, when not those it has operations for (retained-only stores). */
  readonly kinds?: ReadonlyArray<Subject.Kind>
  readonly Visitor?: KindOps<Visitor>
  readonly Browser?: KindOps<Browser>
  readonly User?: KindOps<User>
}

const none = Effect.succeed(0)

const opsOf = (spec: StoreSpec, subject: Subject.Subject): KindOps<Subject.Subject> | undefined =>
  spec[subject._tag] as KindOps<Subject.Subject> | undefined

const store = (spec: StoreSpec): Registry.SubjectStore => {
  const unavailable = (operation: string) => (error: SqlError) =>
    new Registry.StoreUnavailable({ store: spec.name, message: fromSqlError(operation)(error).message })
  return {
    name: spec.name,
    kinds: spec.kinds ?? (["Visitor", "Browser", "User"] as const).filter((kind) => spec[kind] !== undefined),
    tables: spec.tables,
    retained: (spec.retained ?? []).map((entry) => ({ store: spec.name, ...entry })),
    count: (subject) => {
      const ops = opsOf(spec, subject)
      return ops === undefined ? none : ops.count(subject).pipe(Effect.mapError(unavailable(`Counting ${spec.name}`)))
    },
    export: (subject, { limit }) => {
      const ops = opsOf(spec, subject)
      const max = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0
      return ops === undefined || max === 0
        ? Effect.succeed([])
        : ops.export(subject, max).pipe(Effect.mapError(unavailable(`Exporting ${spec.name}`)))
    },
    erase: (subject) => {
      const ops = opsOf(spec, subject)
      return ops === undefined ? none : ops.erase(subject).pipe(Effect.mapError(unavailable(`Erasing ${spec.name}`)))
    }
  }
}

const isSqlError = (error: unknown): error is SqlError =>
  typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "SqlError"

const toInt = (value: Int): number => (typeof value === "number" ? value : Number(value))

const toIntOrUndefined = (value: Int | null | undefined): number | undefined =>
  value === null || value === undefined ? undefined : toInt(value)

const counted = (rows: ReadonlyArray<{ readonly n: Int }>): number => (rows.length === 0 ? 0 : toInt(rows[0]!.n))

/** Records of several tables of one store, oldest first, at most `limit`. */
const oldestFirst = (lists: ReadonlyArray<ReadonlyArray<Exported>>, limit: number): ReadonlyArray<Exported> =>
  lists
    .flat()
    .sort((a, b) => (a.at ?? 0) - (b.at ?? 0))
    .slice(0, limit)

/** A JSON column: parsed by PostgreSQL's driver (JSONB), text on SQLite; `undefined` when it does not read. */
const readJson = (value: unknown, asText: boolean): unknown => {
  if (!asText || typeof value !== "string") return value
  try {
    return JSON.parse(value)
  } catch {
    return undefined
  }
}

const isObject = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The fields of an event payload a visitor would recognise (what they viewed, bought, where, with what device). */
const eventFields = [
  "url",
  "referrer",
  "productId",
  "category",
  "quantity",
  "unitPrice",
  "currency",
  "conversionType",
  "value",
  "items",
  "element",
  "scrollDepth",
  "timeOnPage",
  "context"
] as const

const pick = (source: unknown, keys: ReadonlyArray<string>): { [key: string]: unknown } => {
  const out: { [key: string]: unknown } = {}
  if (!isObject(source)) return out
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key]
  return out
}

/**
 * The stores of subject data of this package (see the module doc), over the `SqlClient` in context. On SQLite the
 * connection deletes with `secure_delete`, so erased rows are zeroed in the file rather than left in free pages.
 *
 * @since 0.5.0
 * @category constructors
 */
export const stores: Effect.Effect<ReadonlyArray<Registry.SubjectStore>, never, SqlClient.SqlClient> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient
    // Best effort, as the user and key stores do: a connection that refuses it still erases.
    yield* sql
      .onDialectOrElse({ sqlite: () => sql`PRAGMA secure_delete = ON`, orElse: () => Effect.void })
      .pipe(Effect.ignore)
    const jsonAsText = sql.onDialectOrElse({ pg: () => false, orElse: () => true })
    // After shredding a data key on SQLite the write-ahead log, which still holds the key, is emptied (best effort:
    // inside a transaction the next checkpoint does it).
    const flushLog = sql
      .onDialectOrElse({ sqlite: () => sql`PRAGMA wal_checkpoint(TRUNCATE)`, orElse: () => Effect.void })
      .pipe(Effect.ignore)
    const removed = Effect.map((rows: ReadonlyArray<unknown>) => rows.length)

    const events = store({
      name: "events",
      tables: [{ table: "events", subjectColumns: ["visitor"] }],
      Visitor: {
        count: ({ tenant, visitor }) =>
          Effect.map(
            sql<{ n: Int }>`SELECT COUNT(*) AS n FROM events WHERE tenant = ${tenant} AND visitor = ${visitor}`,
            counted
          ),
        export: ({ tenant, visitor }, limit) =>
          Effect.map(
            sql<{
              readonly event_id: string
              readonly type: string
              readonly site: string
              readonly received_at: Int
              readonly client_ts: Int | null
              readonly payload: unknown
              readonly consent: unknown
            }>`SELECT event_id, type, site, received_at, client_ts, payload, consent FROM events
              WHERE tenant = ${tenant} AND visitor = ${visitor} ORDER BY seq LIMIT ${limit}`,
            (rows) =>
              rows.map(
                (row): Exported => ({
                  store: "events",
                  kind: row.type,
                  at: toInt(row.received_at),
                  fields: {
                    eventId: row.event_id,
                    type: row.type,
                    site: row.site,
                    receivedAt: toInt(row.received_at),
                    clientTs: toIntOrUndefined(row.client_ts),
                    ...pick(readJson(row.payload, jsonAsText), eventFields),
                    consent: readJson(row.consent, jsonAsText) ?? null
                  }
                })
              )
          ),
        erase: ({ tenant, visitor }) =>
          removed(sql`DELETE FROM events WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING seq`)
      }
    })

    // Membership change records are keyed by visitor; event records by `StoredEvents.key` (no visitor at all), which
    // is not a pseudonym, so a "visitor" by that name never reaches the shared records.
    const isLogKey = (visitor: string) => visitor !== StoredEvents.key
    const eventLog = store({
      name: "event-log",
      tables: [{ table: "event_log", subjectColumns: ["partition_key"] }],
      Visitor: {
        count: ({ tenant, visitor }) =>
          isLogKey(visitor)
            ? Effect.map(
                sql<{ n: Int }>`SELECT COUNT(*) AS n FROM event_log
                  WHERE tenant = ${tenant} AND partition_key = ${visitor}`,
                counted
              )
            : none,
        export: ({ tenant, visitor }, limit) =>
          isLogKey(visitor)
            ? Effect.map(
                sql<{ readonly payload: unknown; readonly appended_at: Int }>`SELECT payload, appended_at FROM event_log
                  WHERE tenant = ${tenant} AND partition_key = ${visitor} ORDER BY log_offset LIMIT ${limit}`,
                (rows) =>
                  rows.map((row): Exported => {
                    const payload = readJson(row.payload, jsonAsText)
                    const { visitor: _visitor, ...fields } = isObject(payload) ? payload : { payload }
                    return { store: "event-log", kind: "log-record", at: toInt(row.appended_at), fields }
                  })
              )
            : Effect.succeed([]),
        erase: ({ tenant, visitor }) =>
          isLogKey(visitor)
            ? removed(
                sql`DELETE FROM event_log WHERE tenant = ${tenant} AND partition_key = ${visitor} RETURNING log_offset`
              )
            : none
      }
    })

    const audienceVisitors = store({
      name: "audience-visitors",
      tables: [{ table: "audience_visitors", subjectColumns: ["visitor"] }],
      Visitor: {
        count: ({ tenant, visitor }) =>
          Effect.map(
            sql<{ n: Int }>`SELECT COUNT(*) AS n FROM audience_visitors
              WHERE tenant = ${tenant} AND visitor = ${visitor}`,
            counted
          ),
        export: ({ tenant, visitor }) =>
          Effect.map(
            sql<{ readonly state: unknown; readonly next_check_at: Int | null }>`SELECT state, next_check_at
              FROM audience_visitors WHERE tenant = ${tenant} AND visitor = ${visitor}`,
            (rows) =>
              rows.map(
                (row): Exported => ({
                  store: "audience-visitors",
                  kind: "audience-state",
                  fields: {
                    description: "the state the audience rules keep about your recent activity",
                    stateBytes: row.state instanceof Uint8Array ? row.state.byteLength : 0,
                    nextCheckAt: toIntOrUndefined(row.next_check_at)
                  }
                })
              )
          ),
        erase: ({ tenant, visitor }) =>
          removed(
            sql`DELETE FROM audience_visitors WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING visitor`
          )
      }
    })

    const audienceMemberships = store({
      name: "audience-memberships",
      tables: [{ table: "audience_memberships", subjectColumns: ["visitor"] }],
      Visitor: {
        count: ({ tenant, visitor }) =>
          Effect.map(
            sql<{ n: Int }>`SELECT COUNT(*) AS n FROM audience_memberships
              WHERE tenant = ${tenant} AND visitor = ${visitor}`,
            counted
          ),
        export: ({ tenant, visitor }, limit) =>
          Effect.map(
            sql<{
              readonly audience_id: string
              readonly entered_at: Int
              readonly expires_at: Int
              readonly exited_at: Int | null
              readonly products: unknown
              readonly audience_name: string | null
              readonly audience_rule: string | null
            }>`SELECT m.audience_id, m.entered_at, m.expires_at, m.exited_at, m.products,
                a.name AS audience_name, a.rule AS audience_rule
              FROM audience_memberships m
              LEFT JOIN audiences a ON a.tenant = m.tenant AND a.id = m.audience_id
              WHERE m.tenant = ${tenant} AND m.visitor = ${visitor} ORDER BY m.entered_at, m.id LIMIT ${limit}`,
            (rows) =>
              rows.map(
                (row): Exported => ({
                  store: "audience-memberships",
                  kind: "membership",
                  at: toInt(row.entered_at),
                  fields: {
                    audienceId: row.audience_id,
                    // Why the visitor is in it: the audience's name and the rule that admitted them.
                    audience: row.audience_name ?? undefined,
                    rule: row.audience_rule ?? undefined,
                    enteredAt: toInt(row.entered_at),
                    expiresAt: toInt(row.expires_at),
                    exitedAt: toIntOrUndefined(row.exited_at),
                    products: readJson(row.products, jsonAsText) ?? []
                  }
                })
              )
          ),
        erase: ({ tenant, visitor }) =>
          removed(sql`DELETE FROM audience_memberships WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING id`)
      }
    })

    const adDecisions = store({
      name: "ad-decisions",
      tables: [{ table: "ad_decisions", subjectColumns: ["visitor"] }],
      Visitor: {
        count: ({ tenant, visitor }) =>
          Effect.map(
            sql<{ n: Int }>`SELECT COUNT(*) AS n FROM ad_decisions WHERE tenant = ${tenant} AND visitor = ${visitor}`,
            counted
          ),
        export: ({ tenant, visitor }, limit) =>
          Effect.map(
            sql<{
              readonly id: string
              readonly campaign_id: string
              readonly creative_id: string
              readonly product_ids: string
              readonly publisher: string
              readonly slot: string
              readonly personalized: Int | boolean
              readonly decided_at: Int
              readonly rendered_at: Int | null
              readonly viewable_at: Int | null
              readonly clicked_at: Int | null
            }>`SELECT id, campaign_id, creative_id, product_ids, publisher, slot, personalized, decided_at, rendered_at,
                viewable_at, clicked_at
              FROM ad_decisions WHERE tenant = ${tenant} AND visitor = ${visitor}
              ORDER BY decided_at, id LIMIT ${limit}`,
            (rows) =>
              rows.map(
                (row): Exported => ({
                  store: "ad-decisions",
                  kind: row.clicked_at !== null ? "click" : row.rendered_at !== null ? "impression" : "decision",
                  at: toInt(row.decided_at),
                  fields: {
                    decisionId: row.id,
                    campaignId: row.campaign_id,
                    creativeId: row.creative_id,
                    productIds: readJson(row.product_ids, true) ?? [],
                    publisher: row.publisher,
                    slot: row.slot,
                    personalized: Boolean(Number(row.personalized)),
                    decidedAt: toInt(row.decided_at),
                    renderedAt: toIntOrUndefined(row.rendered_at),
                    viewableAt: toIntOrUndefined(row.viewable_at),
                    clickedAt: toIntOrUndefined(row.clicked_at)
                  }
                })
              )
          ),
        erase: ({ tenant, visitor }) =>
          removed(sql`DELETE FROM ad_decisions WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING id`)
      }
    })

    const adConversions = store({
      name: "ad-conversions",
      tables: [{ table: "ad_conversions", subjectColumns: ["visitor"] }],
      Visitor: {
        count: ({ tenant, visitor }) =>
          Effect.map(
            sql<{ n: Int }>`SELECT COUNT(*) AS n FROM ad_conversions WHERE tenant = ${tenant} AND visitor = ${visitor}`,
            counted
          ),
        export: ({ tenant, visitor }, limit) =>
          Effect.map(
            sql<{
              readonly order_id: string
              readonly decision_id: string
              readonly campaign_id: string
              readonly value: number | string
              readonly currency: string
              readonly converted_at: Int
            }>`SELECT order_id, decision_id, campaign_id, value, currency, converted_at FROM ad_conversions
              WHERE tenant = ${tenant} AND visitor = ${visitor} ORDER BY converted_at, order_id LIMIT ${limit}`,
            (rows) =>
              rows.map(
                (row): Exported => ({
                  store: "ad-conversions",
                  kind: "conversion",
                  at: toInt(row.converted_at),
                  fields: {
                    orderId: row.order_id,
                    decisionId: row.decision_id,
                    campaignId: row.campaign_id,
                    value: Number(row.value),
                    currency: row.currency,
                    convertedAt: toInt(row.converted_at)
                  }
                })
              )
          ),
        erase: ({ tenant, visitor }) =>
          removed(sql`DELETE FROM ad_conversions WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING order_id`)
      }
    })

    const adCaps = store({
      name: "ad-caps",
      tables: [{ table: "ad_caps", subjectColumns: ["visitor"] }],
      Visitor: {
        count: ({ tenant, visitor }) =>
          Effect.map(
            sql<{ n: Int }>`SELECT COUNT(*) AS n FROM ad_caps WHERE tenant = ${tenant} AND visitor = ${visitor}`,
            counted
          ),
        export: ({ tenant, visitor }, limit) =>
          Effect.map(
            sql<{ readonly cap_key: string; readonly total: Int; readonly last_at: Int }>`SELECT cap_key, total, last_at
              FROM ad_caps WHERE tenant = ${tenant} AND visitor = ${visitor} ORDER BY last_at, cap_key LIMIT ${limit}`,
            (rows) =>
              rows.map(
                (row): Exported => ({
                  store: "ad-caps",
                  kind: "frequency-cap",
                  at: toInt(row.last_at),
                  fields: { capKey: row.cap_key, impressions: toInt(row.total), lastAt: toInt(row.last_at) }
                })
              )
          ),
        erase: ({ tenant, visitor }) =>
          removed(sql`DELETE FROM ad_caps WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING cap_key`)
      }
    })

    // The other side of a link (the browser key for a visitor, the visitor for a browser) is another subject's
    // identifier: an export shows the link and its time only.
    const linkRecords = Effect.map((rows: ReadonlyArray<{ readonly linked_at: Int }>) =>
      rows.map(
        (row): Exported => ({
          store: "browser-links",
          kind: "browser-link",
          at: toInt(row.linked_at),
          fields: { linkedAt: toInt(row.linked_at) }
        })
      )
    )
    const browserLinks = store({
      name: "browser-links",
      tables: [{ table: "ad_browser_links", subjectColumns: ["visitor", "browser_key"] }],
      Visitor: {
        count: ({ tenant, visitor }) =>
          Effect.map(
            sql<{
              n: Int
            }>`SELECT COUNT(*) AS n FROM ad_browser_links WHERE tenant = ${tenant} AND visitor = ${visitor}`,
            counted
          ),
        export: ({ tenant, visitor }, limit) =>
          linkRecords(sql<{ readonly linked_at: Int }>`SELECT linked_at FROM ad_browser_links
            WHERE tenant = ${tenant} AND visitor = ${visitor} ORDER BY linked_at, browser_key LIMIT ${limit}`),
        erase: ({ tenant, visitor }) =>
          removed(
            sql`DELETE FROM ad_browser_links WHERE tenant = ${tenant} AND visitor = ${visitor} RETURNING browser_key`
          )
      },
      Browser: {
        count: ({ tenant, browser }) =>
          Effect.map(
            sql<{ n: Int }>`SELECT COUNT(*) AS n FROM ad_browser_links
              WHERE tenant = ${tenant} AND browser_key = ${browser}`,
            counted
          ),
        export: ({ tenant, browser }, limit) =>
          linkRecords(sql<{ readonly linked_at: Int }>`SELECT linked_at FROM ad_browser_links
            WHERE tenant = ${tenant} AND browser_key = ${browser} LIMIT ${limit}`),
        erase: ({ tenant, browser }) =>
          removed(
            sql`DELETE FROM ad_browser_links WHERE tenant = ${tenant} AND browser_key = ${browser} RETURNING browser_key`
          )
      }
    })

    // The account row and the login failures recorded under its email's blind index (`email:` and `reset:` keys,
    // as `SqlUserStore.remove` deletes them) are one store: the keys are found through the row, so both go in one
    // transaction, failures first, and a retry after a failure still finds them.
    const failureKeys = (emailIndex: string) => [`email:${emailIndex}`, `reset:${emailIndex}`] as const
    const emailIndexOf = ({ tenant, user }: User) =>
      Effect.map(
        sql<{ readonly email_index: string }>`SELECT email_index FROM users WHERE tenant = ${tenant} AND id = ${user}`,
        (rows) => rows.map((row) => row.email_index)
      )
    const accounts = store({
      name: "accounts",
      tables: [
        { table: "users", subjectColumns: ["id", "email", "email_index"] },
        { table: "user_login_failures", subjectColumns: ["key"] }
      ],
      User: {
        count: (subject) =>
          Effect.flatMap(emailIndexOf(subject), (indexes) =>
            Effect.map(
              Effect.forEach(indexes, (index) => {
                const [email, reset] = failureKeys(index)
                return Effect.map(
                  sql<{ n: Int }>`SELECT COUNT(*) AS n FROM user_login_failures WHERE key IN (${email}, ${reset})`,
                  counted
                )
              }),
              (failures) => indexes.length + failures.reduce((sum, n) => sum + n, 0)
            )
          ),
        export: (subject, limit) =>
          Effect.gen(function* () {
            const users = yield* sql<{
              readonly email_index: string
              readonly first_name: string | null
              readonly last_name: string | null
              readonly phone: string | null
              readonly mailing_address: string | null
              readonly iban: string | null
              readonly bic: string | null
              readonly role: string
              readonly status: string
              readonly created_at: Int
              readonly updated_at: Int
              readonly totp_enabled: Int | boolean
            }>`SELECT email_index, first_name, last_name, phone, mailing_address, iban, bic, role, status, created_at,
                updated_at, totp_enabled
              FROM users WHERE tenant = ${subject.tenant} AND id = ${subject.user}`
            const records: Array<Exported> = users.map((row) => ({
              store: "accounts",
              kind: "account",
              at: toInt(row.created_at),
              fields: {
                role: row.role,
                status: row.status,
                createdAt: toInt(row.created_at),
                updatedAt: toInt(row.updated_at),
                twoFactor: Boolean(Number(row.totp_enabled)),
                // Held as vault ciphertexts: the accounts service decrypts them (`Accounts.get`).
                encryptedFields: [
                  "email",
                  ...(["first_name", "last_name", "phone", "mailing_address", "iban", "bic"] as const).filter(
                    (field) => row[field] !== null
                  )
                ]
              }
            }))
            for (const row of users) {
              const [email, reset] = failureKeys(row.email_index)
              const failures = yield* sql<{ readonly key: string; readonly at: Int }>`SELECT key, at
                FROM user_login_failures WHERE key IN (${email}, ${reset}) ORDER BY at LIMIT ${limit}`
              for (const failure of failures) {
                records.push({
                  store: "accounts",
                  kind: failure.key === email ? "login-failure" : "reset-request",
                  at: toInt(failure.at),
                  fields: { at: toInt(failure.at) }
                })
              }
            }
            return oldestFirst([records], limit)
          }),
        erase: (subject) =>
          sql.withTransaction(
            Effect.gen(function* () {
              let erased = 0
              for (const index of yield* emailIndexOf(subject)) {
                const [email, reset] = failureKeys(index)
                erased += (yield* sql`DELETE FROM user_login_failures WHERE key IN (${email}, ${reset}) RETURNING key`)
                  .length
              }
              erased += (yield* sql`DELETE FROM users WHERE tenant = ${subject.tenant} AND id = ${subject.user}
                RETURNING id`).length
              return erased
            })
          )
      }
    })

    const userRows = (
      table: "user_sessions" | "user_invitations" | "user_resets" | "payment_methods"
    ): Pick<KindOps<User>, "count" | "erase"> => ({
      count: ({ tenant, user }) =>
        Effect.map(
          sql<{ n: Int }>`SELECT COUNT(*) AS n FROM ${sql(table)} WHERE tenant = ${tenant} AND user_id = ${user}`,
          counted
        ),
      erase: ({ tenant, user }) =>
        removed(
          sql`DELETE FROM ${sql(table)} WHERE tenant = ${tenant} AND user_id = ${user} RETURNING ${sql(
            table === "payment_methods" ? "id" : "digest"
          )}`
        )
    })

    const sessions = store({
      name: "user-sessions",
      tables: [{ table: "user_sessions", subjectColumns: ["user_id"] }],
      User: {
        ...userRows("user_sessions"),
        export: ({ tenant, user }, limit) =>
          Effect.map(
            sql<{ readonly created_at: Int; readonly last_seen_at: Int; readonly expires_at: Int }>`SELECT created_at,
                last_seen_at, expires_at FROM user_sessions WHERE tenant = ${tenant} AND user_id = ${user}
              ORDER BY created_at LIMIT ${limit}`,
            (rows) =>
              rows.map(
                (row): Exported => ({
                  store: "user-sessions",
                  kind: "session",
                  at: toInt(row.created_at),
                  fields: {
                    createdAt: toInt(row.created_at),
                    lastSeenAt: toInt(row.last_seen_at),
                    expiresAt: toInt(row.expires_at)
                  }
                })
              )
          )
      }
    })

    const tokenRecords = (kind: string, table: "user_invitations" | "user_resets", user: User, limit: number) =>
      Effect.map(
        sql<{ readonly created_at: Int; readonly expires_at: Int }>`SELECT created_at, expires_at FROM ${sql(table)}
          WHERE tenant = ${user.tenant} AND user_id = ${user.user} ORDER BY created_at LIMIT ${limit}`,
        (rows) =>
          rows.map(
            (row): Exported => ({
              store: "user-tokens",
              kind,
              at: toInt(row.created_at),
              fields: { createdAt: toInt(row.created_at), expiresAt: toInt(row.expires_at) }
            })
          )
      )
    const invitations = userRows("user_invitations")
    const resets = userRows("user_resets")
    const tokens = store({
      name: "user-tokens",
      tables: [
        { table: "user_invitations", subjectColumns: ["user_id"] },
        { table: "user_resets", subjectColumns: ["user_id"] }
      ],
      User: {
        count: (user) => Effect.map(Effect.all([invitations.count(user), resets.count(user)]), ([a, b]) => a + b),
        export: (user, limit) =>
          Effect.map(
            Effect.all([
              tokenRecords("invitation", "user_invitations", user, limit),
              tokenRecords("password-reset", "user_resets", user, limit)
            ]),
            (lists) => oldestFirst(lists, limit)
          ),
        erase: (user) => Effect.map(Effect.all([invitations.erase(user), resets.erase(user)]), ([a, b]) => a + b)
      }
    })

    const paymentMethods = store({
      name: "payment-methods",
      tables: [{ table: "payment_methods", subjectColumns: ["user_id"] }],
      User: {
        ...userRows("payment_methods"),
        export: ({ tenant, user }, limit) =>
          Effect.map(
            sql<{
              readonly processor: string
              readonly brand: string
              readonly last4: string
              readonly created_at: Int
            }>`SELECT processor, brand, last4, created_at FROM payment_methods
              WHERE tenant = ${tenant} AND user_id = ${user} ORDER BY created_at, id LIMIT ${limit}`,
            (rows) =>
              rows.map(
                (row): Exported => ({
                  store: "payment-methods",
                  kind: "payment-method",
                  at: toInt(row.created_at),
                  // The processor's token is a secret reference: never exported.
                  fields: {
                    processor: row.processor,
                    brand: row.brand,
                    last4: row.last4,
                    createdAt: toInt(row.created_at)
                  }
                })
              )
          )
      }
    })

    const dataKeys = store({
      name: "vault-data-keys",
      tables: [{ table: "vault_data_keys", subjectColumns: ["subject"] }],
      User: {
        count: ({ tenant, user }) =>
          Effect.map(
            sql<{ n: Int }>`SELECT COUNT(*) AS n FROM vault_data_keys WHERE tenant = ${tenant} AND subject = ${user}`,
            counted
          ),
        export: ({ tenant, user }) =>
          Effect.map(
            sql<{ readonly version: Int }>`SELECT version FROM vault_data_keys
              WHERE tenant = ${tenant} AND subject = ${user}`,
            (rows) =>
              rows.map(
                (row): Exported => ({
                  store: "vault-data-keys",
                  kind: "data-key",
                  // The wrapped key itself is a secret: only that one exists, and under which master secret version.
                  fields: { description: "the key that encrypts your personal fields", version: toInt(row.version) }
                })
              )
          ),
        erase: ({ tenant, user }) =>
          sql`DELETE FROM vault_data_keys WHERE tenant = ${tenant} AND subject = ${user} RETURNING subject`.pipe(
            Effect.map((rows) => rows.length),
            Effect.tap((n) => (n > 0 ? flushLog : Effect.void))
          )
      }
    })

    const auditLog = store({
      name: "audit-log",
      tables: [{ table: "audit_log", subjectColumns: ["actor_id"] }],
      kinds: ["User"],
      retained: [
        {
          what: "audit log entries naming the user as the actor (action, target, outcome, time)",
          why:
            "the audit log is a tamper-evident hash chain kept to account for every change to accounts, keys and " +
            "data (legal obligation and security); removing or changing an entry would break the chain"
        }
      ]
    })

    const inquiries = store({
      name: "inquiries",
      tables: [{ table: "inquiries", subjectColumns: ["email"] }],
      kinds: ["Visitor", "Browser", "User"],
      retained: [
        {
          what: "contact inquiries (name, email address and message, as vault ciphertexts)",
          why:
            "an inquiry cannot be found by visitor, browser or user id (its email address is encrypted): the " +
            "operator finds the requester's inquiries on request, and every inquiry is purged with its data key " +
            "after it is closed (retention purge)"
        }
      ]
    })

    const dsarRecords = store({
      name: "dsar-records",
      tables: [
        { table: "dsar_requests", subjectColumns: [] },
        { table: "dsar_holds", subjectColumns: [] },
        { table: "dsar_objections", subjectColumns: ["visitor"] },
        { table: "dsar_reports", subjectColumns: [] },
        { table: "erased_visitors", subjectColumns: [] }
      ],
      kinds: ["Visitor", "Browser", "User"],
      retained: [
        {
          what: "the data-subject request itself (type, dates, history, the subjects' pseudonyms) and its signed report (subject digests only)",
          why:
            "kept as the record that the request was received and answered on time (accountability, GDPR Art. 5(2) " +
            "and 12); it holds no event, profile or ad data"
        },
        {
          what: "an objection to personalized ads (the visitor's pseudonym and when)",
          why: "kept so that the objection keeps being honoured: erasing it would undo the opt-out"
        },
        {
          what: "a legal hold naming the subject, until it is released",
          why: "a court order or legal claim requires the data to be kept; the hold is released by the privacy team"
        },
        {
          what: "a tombstone of the erased visitor pseudonym (its SHA-256, which cannot be turned back into it)",
          why: "lets the collector give the browser a new pseudonym on its next visit instead of the erased one"
        }
      ]
    })

    return [
      events,
      eventLog,
      audienceVisitors,
      audienceMemberships,
      adDecisions,
      adConversions,
      adCaps,
      browserLinks,
      accounts,
      sessions,
      tokens,
      paymentMethods,
      dataKeys,
      auditLog,
      inquiries,
      dsarRecords
    ]
  }
)

/**
 * The columns of the live database: PostgreSQL's `information_schema.columns` of the current schema, SQLite's
 * `pragma_table_info` of every table in `sqlite_master`.
 *
 * @since 0.5.0
 * @category combinators
 */
export const liveColumns: Effect.Effect<
  ReadonlyArray<Registry.LiveColumn>,
  Registry.StoreUnavailable,
  SqlClient.SqlClient
> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql.onDialectOrElse({
    pg: () =>
      sql<Registry.LiveColumn>`SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns
        WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
    orElse: () =>
      sql<Registry.LiveColumn>`SELECT m.name AS "table", p.name AS "column"
        FROM sqlite_master AS m, pragma_table_info(m.name) AS p
        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`
  })
  return rows.map((row) => ({ table: row.table, column: row.column }))
}).pipe(
  Effect.catchTag("SqlError", (error) =>
    Effect.fail(
      new Registry.StoreUnavailable({
        store: "schema",
        message: fromSqlError("Reading the live schema")(error).message
      })
    )
  )
)

/**
 * Checks the live schema against `stores` (`Registry.checkSchema`, ignoring this package's migration tables and
 * `ignore`): fails with `UnregisteredTable` naming every table with a subject column that no store covers.
 *
 * @since 0.5.0
 * @category combinators
 */
export const check = (options?: {
  readonly stores?: ReadonlyArray<Registry.SubjectStore>
  readonly ignore?: ReadonlyArray<string>
}): Effect.Effect<void, Registry.UnregisteredTable | Registry.StoreUnavailable, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const registered = options?.stores ?? (yield* stores)
    const live = yield* liveColumns
    return yield* Either.match(
      Registry.checkSchema(registered, live, { ignore: [...migrationTables, ...(options?.ignore ?? [])] }),
      { onLeft: Effect.fail, onRight: () => Effect.void }
    )
  })

/**
 * A transaction for `Erasure.erase`'s `transaction` option over this client: the erasure commits as a whole or not
 * at all, and a database failure of the transaction itself (begin, commit) is `StoreUnavailable`.
 *
 * @since 0.5.0
 * @category combinators
 */
export const makeTransaction =
  (sql: SqlClient.SqlClient) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | Registry.StoreUnavailable, R> =>
    sql.withTransaction(Effect.zipRight(ErasureLock.exclusive(sql), self)).pipe(
      Effect.mapError((error) =>
        isSqlError(error)
          ? new Registry.StoreUnavailable({
              store: "transaction",
              message: fromSqlError("The erasure")(error).message
            })
          : (error as E)
      )
    )

/**
 * `makeTransaction` over the `SqlClient` in context.
 *
 * @since 0.5.0
 * @category combinators
 */
export const transaction: Effect.Effect<
  <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Registry.StoreUnavailable, R>,
  never,
  SqlClient.SqlClient
> = Effect.map(SqlClient.SqlClient, makeTransaction)

/**
 * The subject-data registry with this package's stores, over the `SqlClient` in context.
 *
 * @since 0.5.0
 * @category layers
 */
export const layer: Layer.Layer<Registry.Registry, never, SqlClient.SqlClient> = Layer.effect(
  Registry.Registry,
  Effect.map(stores, (list) => ({ stores: list }))
)
