/**
 * @openaudience/dsar's `DsarStore` over SQL (SQLite and PostgreSQL through `SqlClient`): the state of data-subject
 * requests in seven tables, each with the tenant in a column that every tenant-scoped statement filters on (another
 * tenant's id is `NotFound`, never listed):
 *
 * - `dsar_requests`: a request's id, tenant, version, status and times in columns, and the whole request as JSON
 *   (`Request.Request` encoded through its Schema, decoded again on every read). `update` is one
 *   `UPDATE … WHERE tenant AND id AND version` whose `RETURNING` row tells whether it applied, so of two writers
 *   holding one version exactly one wins and the other gets `Conflict`. `due` reads a partial index of open
 *   requests by deadline;
 * - `dsar_holds`: legal holds (the `Hold.Hold` as JSON, its creation and release times in columns); a release
 *   applies only to an unreleased hold;
 * - `dsar_reports`: a request's signed erasure report (its JSON text), one per request id;
 * - `dsar_recipients`: webhook recipients, the secret column holding the caller's ciphertext, never the secret;
 * - `dsar_deliveries`: webhook deliveries and their retry state, drained by `due` on `(status, next_attempt_at)`;
 *   an attempt is recorded by one `UPDATE … WHERE status = 'pending'`;
 * - `dsar_objections`: the visitors who objected to direct marketing, `(tenant, visitor)` once each;
 * - `dsar_policies` (migration 2): a tenant's own deadline policy (`Deadline.Policy` as JSON), one row per tenant,
 *   replaced when set again.
 *
 * Subject identifiers live in `dsar_requests.document` (the request's subjects), `dsar_holds.document` (a hold's
 * subject) and `dsar_objections.visitor`. A database that cannot be reached is `Unavailable`; any other failed
 * statement, and a stored row that no longer decodes, is a defect. The tables have their own migration table
 * (`dsar_migrations`), applied by `layer`.
 *
 * @since 0.5.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Deadline, DsarStore, Hold, Request } from "@openaudience/dsar"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Migrations from "./Migrations.js"
import { run } from "./Migrations.js"
import { fromSqlError, StorageError } from "./StorageError.js"

/**
 * The name of the table that records which DSAR store migrations were applied.
 *
 * @since 0.5.0
 * @category models
 */
export const table = "dsar_migrations"

/**
 * The DSAR store migrations, in order.
 *
 * @since 0.5.0
 * @category models
 */
export const migrations: ReadonlyArray<Migrations.Migration> = [
  {
    id: 1,
    name: "create_dsar_tables",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      // Byte order for ids on PostgreSQL too, the order the in-memory store sorts ties by.
      const key = sql.onDialectOrElse({ pg: () => sql.literal(`TEXT COLLATE "C"`), orElse: () => sql.literal("TEXT") })
      yield* sql`CREATE TABLE dsar_requests (
        id ${key} PRIMARY KEY,
        tenant TEXT NOT NULL,
        version ${int64} NOT NULL,
        status TEXT NOT NULL,
        due_at ${int64} NOT NULL,
        received_at ${int64} NOT NULL,
        document TEXT NOT NULL
      )`
      yield* sql`CREATE INDEX dsar_requests_tenant_received ON dsar_requests (tenant, received_at, id)`
      yield* sql`CREATE INDEX dsar_requests_tenant_status ON dsar_requests (tenant, status, received_at, id)`
      // Only open requests are ever due; the statuses are Request.openStatuses (`due` repeats them literally so
      // that SQLite's planner can prove the index applies).
      yield* sql`CREATE INDEX dsar_requests_open_due ON dsar_requests (due_at, id)
        WHERE status IN ('received', 'verifying', 'in-progress')`
      yield* sql`CREATE TABLE dsar_holds (
        id ${key} PRIMARY KEY,
        tenant TEXT NOT NULL,
        created_at ${int64} NOT NULL,
        released_at ${int64},
        document TEXT NOT NULL
      )`
      yield* sql`CREATE INDEX dsar_holds_tenant_created ON dsar_holds (tenant, created_at, id)`
      yield* sql`CREATE TABLE dsar_reports (
        request_id ${key} PRIMARY KEY,
        tenant TEXT NOT NULL,
        report TEXT NOT NULL
      )`
      yield* sql`CREATE TABLE dsar_recipients (
        id ${key} PRIMARY KEY,
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at ${int64} NOT NULL
      )`
      yield* sql`CREATE INDEX dsar_recipients_tenant_created ON dsar_recipients (tenant, created_at, id)`
      yield* sql`CREATE TABLE dsar_deliveries (
        id ${key} PRIMARY KEY,
        tenant TEXT NOT NULL,
        recipient_id TEXT NOT NULL,
        event TEXT NOT NULL,
        body TEXT NOT NULL,
        first_attempt_at ${int64} NOT NULL,
        next_attempt_at ${int64} NOT NULL,
        attempts INTEGER NOT NULL,
        last_error TEXT,
        status TEXT NOT NULL
      )`
      yield* sql`CREATE INDEX dsar_deliveries_due ON dsar_deliveries (status, next_attempt_at, id)`
      yield* sql`CREATE INDEX dsar_deliveries_tenant_first ON dsar_deliveries (tenant, first_attempt_at, id)`
      yield* sql`CREATE TABLE dsar_objections (
        tenant TEXT NOT NULL,
        visitor TEXT NOT NULL,
        at ${int64} NOT NULL,
        PRIMARY KEY (tenant, visitor)
      )`
    })
  },
  {
    id: 2,
    name: "create_dsar_policies",
    up: Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const int64 = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
      // No subject in it: a tenant's deadline policy is configuration, kept through every erasure.
      yield* sql`CREATE TABLE dsar_policies (
        tenant TEXT PRIMARY KEY,
        policy TEXT NOT NULL,
        updated_at ${int64} NOT NULL
      )`
    })
  }
]

/**
 * Brings the DSAR store tables up to date; returns the ids of the migrations applied now.
 *
 * @since 0.5.0
 * @category combinators
 */
export const migrate: Effect.Effect<ReadonlyArray<number>, StorageError, SqlClient.SqlClient> = run({
  table,
  migrations
})

type Int = number | string

interface DeliveryRow {
  readonly id: string
  readonly tenant: string
  readonly recipient_id: string
  readonly event: string
  readonly body: string
  readonly first_attempt_at: Int
  readonly next_attempt_at: Int
  readonly attempts: Int
  readonly last_error: string | null
  readonly status: string
}

interface RecipientRow {
  readonly id: string
  readonly tenant: string
  readonly name: string
  readonly kind: string
  readonly url: string
  readonly secret: string
  readonly created_at: Int
}

const RequestJson = Schema.parseJson(Request.Request)
const HoldJson = Schema.parseJson(Hold.Hold)
const PolicyJson = Schema.parseJson(Deadline.Policy)

const notFound = (what: string, id: string) =>
  new DsarStore.DsarStoreError({ reason: "NotFound", message: `${what} ${JSON.stringify(id)} not found` })

const conflict = (message: string) => new DsarStore.DsarStoreError({ reason: "Conflict", message })

/** A database that cannot be reached is `Unavailable`; any other failed statement is a defect of this store. */
const failed =
  (operation: string) =>
  (error: SqlError): Effect.Effect<never, DsarStore.DsarStoreError> => {
    const storage = fromSqlError(operation)(error)
    return storage.reason === "Unavailable"
      ? Effect.fail(new DsarStore.DsarStoreError({ reason: "Unavailable", message: storage.message, cause: storage }))
      : Effect.die(storage)
  }

// A row that cannot be read back was not written by this store (or its model changed without a migration): a
// defect, not an answer. A model that cannot be encoded was built around its constructor's checks: a defect too.
const corrupt =
  (what: string) =>
  (error: ParseResult.ParseError): StorageError =>
    new StorageError({ reason: "CorruptData", message: `${what}: ${error.message}`, cause: error })

const decodeRequest = (document: string) =>
  Effect.orDieWith(Schema.decodeUnknown(RequestJson)(document), corrupt("A stored request does not decode"))

const encodeRequest = (request: Request.Request) =>
  Effect.orDieWith(Schema.encode(RequestJson)(request), corrupt("A request does not encode"))

const decodeHold = (document: string) =>
  Effect.orDieWith(Schema.decodeUnknown(HoldJson)(document), corrupt("A stored hold does not decode"))

const encodeHold = (hold: Hold.Hold) =>
  Effect.orDieWith(Schema.encode(HoldJson)(hold), corrupt("A hold does not encode"))

const decodePolicy = (policy: string) =>
  Effect.orDieWith(Schema.decodeUnknown(PolicyJson)(policy), corrupt("A stored deadline policy does not decode"))

const encodePolicy = (policy: Deadline.Policy) =>
  Effect.orDieWith(Schema.encode(PolicyJson)(policy), corrupt("A deadline policy does not encode"))

const decodeRecipient = (row: RecipientRow) =>
  Effect.orDieWith(
    Schema.decodeUnknown(DsarStore.Recipient)({
      id: row.id,
      tenant: row.tenant,
      name: row.name,
      kind: row.kind,
      url: row.url,
      secret: row.secret,
      createdAt: Number(row.created_at)
    }),
    corrupt("A stored recipient does not decode")
  )

const decodeDelivery = (row: DeliveryRow) =>
  Effect.orDieWith(
    Schema.decodeUnknown(DsarStore.Delivery)({
      id: row.id,
      tenant: row.tenant,
      recipientId: row.recipient_id,
      event: row.event,
      body: row.body,
      firstAttemptAt: Number(row.first_attempt_at),
      nextAttemptAt: Number(row.next_attempt_at),
      attempts: Number(row.attempts),
      ...(row.last_error === null ? {} : { lastError: row.last_error }),
      status: row.status
    }),
    corrupt("A stored delivery does not decode")
  )

/**
 * Builds the SQL DSAR store over the `SqlClient` in context (the tables must exist: see `migrate` and `layer`).
 *
 * @since 0.5.0
 * @category constructors
 */
export const make: Effect.Effect<DsarStore.DsarStoreShape, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  const guard = <A, R>(operation: string, effect: Effect.Effect<A, DsarStore.DsarStoreError | SqlError, R>) =>
    effect.pipe(Effect.catchTag("SqlError", failed(operation)))

  const requestRows = (rows: ReadonlyArray<{ readonly document: string }>) =>
    Effect.forEach(rows, (row) => decodeRequest(row.document))

  const holdRows = (rows: ReadonlyArray<{ readonly document: string }>) =>
    Effect.forEach(rows, (row) => decodeHold(row.document))

  const getRequest = (tenant: string, id: string) =>
    Effect.flatMap(
      sql<{ readonly document: string }>`SELECT document FROM dsar_requests WHERE tenant = ${tenant} AND id = ${id}`,
      (rows) => (rows[0] === undefined ? Effect.fail(notFound("Request", id)) : decodeRequest(rows[0].document))
    )

  const getHold = (tenant: string, id: string) =>
    Effect.flatMap(
      sql<{ readonly document: string }>`SELECT document FROM dsar_holds WHERE tenant = ${tenant} AND id = ${id}`,
      (rows) => (rows[0] === undefined ? Effect.fail(notFound("Hold", id)) : decodeHold(rows[0].document))
    )

  const activeHolds = (tenant: string) =>
    Effect.flatMap(
      sql<{ readonly document: string }>`SELECT document FROM dsar_holds
        WHERE tenant = ${tenant} AND released_at IS NULL ORDER BY created_at, id`,
      holdRows
    )

  return DsarStore.DsarStore.of({
    requests: {
      insert: (request) =>
        guard(
          "Storing a request",
          Effect.gen(function* () {
            const stored = request.version === 0 ? request : new Request.Request({ ...request, version: 0 })
            const document = yield* encodeRequest(stored)
            const rows = yield* sql`INSERT INTO dsar_requests ${sql.insert({
              id: stored.id,
              tenant: stored.tenant,
              version: 0,
              status: stored.status,
              due_at: stored.dueAt,
              received_at: stored.receivedAt,
              document
            })} ON CONFLICT (id) DO NOTHING RETURNING id`
            if (rows.length === 0) return yield* conflict(`Request id ${request.id} is taken`)
            return stored
          })
        ),
      get: (tenant, id) => guard("Reading a request", getRequest(tenant, id)),
      list: (tenant, options) =>
        guard(
          "Listing requests",
          Effect.flatMap(
            options?.status === undefined
              ? sql<{ readonly document: string }>`SELECT document FROM dsar_requests WHERE tenant = ${tenant}
                  ORDER BY received_at, id`
              : sql<{ readonly document: string }>`SELECT document FROM dsar_requests
                  WHERE tenant = ${tenant} AND status = ${options.status} ORDER BY received_at, id`,
            requestRows
          )
        ),
      update: (request) =>
        guard(
          "Updating a request",
          Effect.gen(function* () {
            const next = new Request.Request({ ...request, version: request.version + 1 })
            const document = yield* encodeRequest(next)
            // Only from the version the caller read: the row count says whether this writer won.
            const rows = yield* sql`UPDATE dsar_requests SET version = ${next.version}, status = ${next.status},
                due_at = ${next.dueAt}, received_at = ${next.receivedAt}, document = ${document}
                WHERE tenant = ${request.tenant} AND id = ${request.id} AND version = ${request.version}
                RETURNING id`
            if (rows.length > 0) return next
            const current = yield* sql<{ readonly version: Int }>`SELECT version FROM dsar_requests
                WHERE tenant = ${request.tenant} AND id = ${request.id}`
            if (current[0] === undefined) return yield* notFound("Request", request.id)
            return yield* conflict(
              `Request ${JSON.stringify(request.id)} changed since it was read (version ${request.version}, now ${Number(
                current[0].version
              )})`
            )
          })
        ),
      due: (now, options) =>
        guard(
          "Finding due requests",
          Effect.flatMap(
            sql<{ readonly document: string }>`SELECT document FROM dsar_requests
              WHERE status IN ('received', 'verifying', 'in-progress')
                AND due_at <= ${now + (options?.within ?? DsarStore.defaultDueWithin)}
              ORDER BY due_at, id LIMIT ${options?.limit ?? 100}`,
            requestRows
          )
        )
    },
    holds: {
      add: (hold) =>
        guard(
          "Storing a hold",
          Effect.gen(function* () {
            const document = yield* encodeHold(hold)
            const rows = yield* sql`INSERT INTO dsar_holds ${sql.insert({
              id: hold.id,
              tenant: hold.tenant,
              created_at: hold.createdAt,
              released_at: hold.releasedAt ?? null,
              document
            })} ON CONFLICT (id) DO NOTHING RETURNING id`
            if (rows.length === 0) return yield* conflict(`Hold id ${hold.id} is taken`)
            return hold
          })
        ),
      release: (tenant, id, at, by) =>
        guard(
          "Releasing a hold",
          Effect.gen(function* () {
            const hold = yield* getHold(tenant, id)
            if (hold.releasedAt !== undefined) return yield* conflict(`Hold ${JSON.stringify(id)} is released`)
            const released = new Hold.Hold({ ...hold, releasedAt: at, releasedBy: by })
            const document = yield* encodeHold(released)
            // Only an unreleased hold: of two concurrent releases one wins, the other is a Conflict.
            const rows = yield* sql`UPDATE dsar_holds SET released_at = ${at}, document = ${document}
                WHERE tenant = ${tenant} AND id = ${id} AND released_at IS NULL RETURNING id`
            if (rows.length === 0) return yield* conflict(`Hold ${JSON.stringify(id)} is released`)
            return released
          })
        ),
      list: (tenant, options) =>
        guard(
          "Listing holds",
          options?.active === true
            ? activeHolds(tenant)
            : Effect.flatMap(
                options?.active === false
                  ? sql<{ readonly document: string }>`SELECT document FROM dsar_holds
                      WHERE tenant = ${tenant} AND released_at IS NOT NULL ORDER BY created_at, id`
                  : sql<{ readonly document: string }>`SELECT document FROM dsar_holds WHERE tenant = ${tenant}
                      ORDER BY created_at, id`,
                holdRows
              )
        ),
      activeFor: (tenant) => guard("Reading active holds", activeHolds(tenant))
    },
    reports: {
      put: (requestId, tenant, report) =>
        guard(
          "Storing a report",
          Effect.gen(function* () {
            // One statement: the row is replaced only when it is this tenant's, else nothing is returned.
            const rows = yield* sql`INSERT INTO dsar_reports ${sql.insert({ request_id: requestId, tenant, report })}
                ON CONFLICT (request_id) DO UPDATE SET report = excluded.report
                WHERE dsar_reports.tenant = excluded.tenant RETURNING request_id`
            if (rows.length === 0) {
              return yield* conflict(`Report of request ${JSON.stringify(requestId)} belongs to another tenant`)
            }
          })
        ),
      get: (tenant, requestId) =>
        guard(
          "Reading a report",
          Effect.flatMap(
            sql<{ readonly report: string }>`SELECT report FROM dsar_reports
              WHERE tenant = ${tenant} AND request_id = ${requestId}`,
            (rows) =>
              rows[0] === undefined
                ? Effect.fail(notFound("Report of request", requestId))
                : Effect.succeed(rows[0].report)
          )
        )
    },
    recipients: {
      put: (recipient) =>
        guard(
          "Storing a recipient",
          Effect.gen(function* () {
            const rows = yield* sql`INSERT INTO dsar_recipients ${sql.insert({
              id: recipient.id,
              tenant: recipient.tenant,
              name: recipient.name,
              kind: recipient.kind,
              url: recipient.url,
              secret: recipient.secret,
              created_at: recipient.createdAt
            })} ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, url = excluded.url,
                secret = excluded.secret, created_at = excluded.created_at
              WHERE dsar_recipients.tenant = excluded.tenant RETURNING id`
            if (rows.length === 0) return yield* conflict(`Recipient id ${recipient.id} is taken`)
            return recipient
          })
        ),
      list: (tenant) =>
        guard(
          "Listing recipients",
          Effect.flatMap(
            sql<RecipientRow>`SELECT * FROM dsar_recipients WHERE tenant = ${tenant} ORDER BY created_at, id`,
            (rows) => Effect.forEach(rows, decodeRecipient)
          )
        ),
      remove: (tenant, id) =>
        guard(
          "Removing a recipient",
          Effect.map(
            sql`DELETE FROM dsar_recipients WHERE tenant = ${tenant} AND id = ${id} RETURNING id`,
            (rows) => rows.length > 0
          )
        )
    },
    deliveries: {
      enqueue: (delivery) =>
        guard(
          "Queueing a delivery",
          Effect.gen(function* () {
            const rows = yield* sql`INSERT INTO dsar_deliveries ${sql.insert({
              id: delivery.id,
              tenant: delivery.tenant,
              recipient_id: delivery.recipientId,
              event: delivery.event,
              body: delivery.body,
              first_attempt_at: delivery.firstAttemptAt,
              next_attempt_at: delivery.nextAttemptAt,
              attempts: delivery.attempts,
              last_error: delivery.lastError ?? null,
              status: delivery.status
            })} ON CONFLICT (id) DO NOTHING RETURNING id`
            if (rows.length === 0) return yield* conflict(`Delivery id ${delivery.id} is taken`)
            return delivery
          })
        ),
      due: (now, limit) =>
        guard(
          "Finding due deliveries",
          Effect.flatMap(
            sql<DeliveryRow>`SELECT * FROM dsar_deliveries WHERE status = 'pending' AND next_attempt_at <= ${now}
              ORDER BY next_attempt_at, id LIMIT ${limit}`,
            (rows) => Effect.forEach(rows, decodeDelivery)
          )
        ),
      recordAttempt: (id, outcome) =>
        guard(
          "Recording a delivery attempt",
          Effect.gen(function* () {
            // One statement, from pending only: two workers recording one attempt cannot both count it.
            const rows =
              outcome._tag === "Delivered"
                ? yield* sql<DeliveryRow>`UPDATE dsar_deliveries
                    SET attempts = attempts + 1, status = 'delivered', next_attempt_at = ${outcome.at}
                    WHERE id = ${id} AND status = 'pending' RETURNING *`
                : yield* sql<DeliveryRow>`UPDATE dsar_deliveries
                    SET attempts = attempts + 1, last_error = ${outcome.error},
                      status = ${outcome.retryAt === undefined ? "dead" : "pending"},
                      next_attempt_at = ${outcome.retryAt ?? outcome.at}
                    WHERE id = ${id} AND status = 'pending' RETURNING *`
            if (rows[0] !== undefined) return yield* decodeDelivery(rows[0])
            const current = yield* sql<{ readonly status: string }>`SELECT status FROM dsar_deliveries
                WHERE id = ${id}`
            if (current[0] === undefined) return yield* notFound("Delivery", id)
            return yield* conflict(`Delivery ${JSON.stringify(id)} is ${current[0].status}`)
          })
        ),
      list: (tenant, options) =>
        guard(
          "Listing deliveries",
          Effect.flatMap(
            options?.status === undefined
              ? sql<DeliveryRow>`SELECT * FROM dsar_deliveries WHERE tenant = ${tenant}
                  ORDER BY first_attempt_at, id`
              : sql<DeliveryRow>`SELECT * FROM dsar_deliveries WHERE tenant = ${tenant} AND status = ${options.status}
                  ORDER BY first_attempt_at, id`,
            (rows) => Effect.forEach(rows, decodeDelivery)
          )
        )
    },
    objections: {
      add: (tenant, visitor, at) =>
        guard(
          "Recording an objection",
          sql`INSERT INTO dsar_objections ${sql.insert({ tenant, visitor, at })}
            ON CONFLICT (tenant, visitor) DO NOTHING`.pipe(Effect.asVoid)
        ),
      has: (tenant, visitor) =>
        guard(
          "Reading an objection",
          Effect.map(
            sql`SELECT 1 AS found FROM dsar_objections WHERE tenant = ${tenant} AND visitor = ${visitor}`,
            (rows) => rows.length > 0
          )
        )
    },
    policies: {
      get: (tenant) =>
        guard(
          "Reading a deadline policy",
          Effect.flatMap(
            sql<{ readonly policy: string }>`SELECT policy FROM dsar_policies WHERE tenant = ${tenant}`,
            (rows) =>
              rows[0] === undefined ? Effect.succeed(Option.none()) : Effect.asSome(decodePolicy(rows[0].policy))
          )
        ),
      put: (tenant, policy, at) =>
        guard(
          "Storing a deadline policy",
          Effect.flatMap(encodePolicy(policy), (document) =>
            sql`INSERT INTO dsar_policies ${sql.insert({ tenant, policy: document, updated_at: at })}
              ON CONFLICT (tenant) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at`.pipe(
              Effect.asVoid
            )
          )
        )
    }
  })
})

/**
 * The SQL DSAR store: runs its migrations, then serves `DsarStore` over the `SqlClient` in context.
 *
 * @since 0.5.0
 * @category layers
 */
export const layer: Layer.Layer<DsarStore.DsarStore, StorageError, SqlClient.SqlClient> = Layer.effect(
  DsarStore.DsarStore,
  Effect.zipRight(migrate, make)
)
