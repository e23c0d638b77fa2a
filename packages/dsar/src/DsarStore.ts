/**
 * The port a store of data-subject request state implements (`layerMemory` here for tests and a server without a
 * database; the SQL store in @openaudience/storage-sql passes the same suite, `test/dsarStoreSuite.ts`). It keeps:
 *
 * - `requests`, updated with an optimistic version check (two workers never both complete one request);
 * - legal `holds`;
 * - signed erasure `reports` (as their JSON text);
 * - a tenant's `recipients` of erasure webhooks (sub-processors and partners; the secret as the caller's ciphertext);
 * - webhook `deliveries` with their retry state;
 * - `objections`: the visitors who objected to direct marketing, opted out of personalized ads for good;
 * - a tenant's deadline `policies` (its `Deadline.Policy`, when it has one of its own).
 *
 * Every method that reads or changes a tenant's data takes its tenant: another tenant's row is `NotFound`, never
 * `Forbidden`. The exceptions are the two queues a worker drains for every tenant, `requests.due` and
 * `deliveries.due`, and `deliveries.recordAttempt`, which acts on what `due` returned.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Deadline from "./Deadline.js"
import { Hold } from "./Hold.js"
import { openStatuses, Request, type Status } from "./Request.js"

/**
 * Why a store operation failed: `NotFound` (no such row for this tenant), `Conflict` (an id taken, a stale version,
 * a change that no longer applies), `Unavailable` (the database cannot be reached; retrying later may succeed).
 *
 * @since 0.1.0
 * @category errors
 */
export const DsarStoreErrorReason = Schema.Literal("NotFound", "Conflict", "Unavailable")

/**
 * A failed store operation.
 *
 * @since 0.1.0
 * @category errors
 */
export class DsarStoreError extends Schema.TaggedError<DsarStoreError>("@openaudience/dsar/DsarStoreError")(
  "DsarStoreError",
  {
    reason: DsarStoreErrorReason,
    message: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {}

/**
 * Who receives a tenant's erasure webhooks: a sub-processor or a partner, at `url`, signing with `secret` (the
 * caller's ciphertext of it, never the secret in clear).
 *
 * @since 0.1.0
 * @category models
 */
export class Recipient extends Schema.Class<Recipient>("@openaudience/dsar/DsarStore/Recipient")({
  id: Schema.String,
  tenant: Schema.String,
  name: Schema.String,
  kind: Schema.Literal("sub-processor", "partner"),
  url: Schema.String,
  secret: Schema.String,
  createdAt: Schema.Int
}) {}

/**
 * Where a webhook delivery is: `pending` (to be attempted at `nextAttemptAt`), `delivered`, or `dead` (given up).
 *
 * @since 0.1.0
 * @category models
 */
export const DeliveryStatus = Schema.Literal("pending", "delivered", "dead")

/**
 * Where a webhook delivery is.
 *
 * @since 0.1.0
 * @category models
 */
export type DeliveryStatus = typeof DeliveryStatus.Type

/**
 * One webhook to one recipient: the event type, its JSON body, and its retry state.
 *
 * @since 0.1.0
 * @category models
 */
export class Delivery extends Schema.Class<Delivery>("@openaudience/dsar/DsarStore/Delivery")({
  id: Schema.String,
  tenant: Schema.String,
  recipientId: Schema.String,
  event: Schema.String,
  body: Schema.String,
  firstAttemptAt: Schema.Int,
  nextAttemptAt: Schema.Int,
  attempts: Schema.Int,
  lastError: Schema.optional(Schema.String),
  status: DeliveryStatus
}) {}

/**
 * How an attempt went: delivered at `at`, or failed at `at` with `error`, to be retried at `retryAt` (absent: the
 * delivery is given up, `dead`).
 *
 * @since 0.1.0
 * @category models
 */
export type AttemptOutcome =
  | { readonly _tag: "Delivered"; readonly at: number }
  | { readonly _tag: "Failed"; readonly at: number; readonly error: string; readonly retryAt?: number | undefined }

/**
 * A store of data-subject request state.
 *
 * @since 0.1.0
 * @category services
 */
export interface DsarStoreShape {
  readonly requests: {
    /** Stores a new request (`Conflict` when its id is taken), at version 0. */
    readonly insert: (request: Request) => Effect.Effect<Request, DsarStoreError>
    /** One request of the tenant, or `NotFound`. */
    readonly get: (tenant: string, id: string) => Effect.Effect<Request, DsarStoreError>
    /** The tenant's requests, oldest received first (then by id), of one status when given. */
    readonly list: (
      tenant: string,
      options?: { readonly status?: Status | undefined }
    ) => Effect.Effect<ReadonlyArray<Request>, DsarStoreError>
    /**
     * Replaces a request read at `request.version` (`Conflict` when it changed since, `NotFound` when the tenant has
     * no such request); returns it as stored, at the next version.
     */
    readonly update: (request: Request) => Effect.Effect<Request, DsarStoreError>
    /**
     * Up to `limit` (default 100) open requests of every tenant whose deadline falls before `now + within` (default
     * 7 days: the longest reminder window), earliest deadline first: those with a reminder due or a deadline passed
     * are among them (the caller checks with `Request.remindersDue` and `Request.overdue`).
     */
    readonly due: (
      now: number,
      options?: { readonly within?: number | undefined; readonly limit?: number | undefined }
    ) => Effect.Effect<ReadonlyArray<Request>, DsarStoreError>
  }
  readonly holds: {
    /** Stores a new hold (`Conflict` when its id is taken). */
    readonly add: (hold: Hold) => Effect.Effect<Hold, DsarStoreError>
    /** Releases a hold of the tenant at `at` by `by` (`NotFound`; `Conflict` when released already). */
    readonly release: (tenant: string, id: string, at: number, by: string) => Effect.Effect<Hold, DsarStoreError>
    /** The tenant's holds, oldest first: unreleased ones (`active: true`), released ones (`false`) or all. */
    readonly list: (
      tenant: string,
      options?: { readonly active?: boolean | undefined }
    ) => Effect.Effect<ReadonlyArray<Hold>, DsarStoreError>
    /** The tenant's unreleased holds (to pass to `Hold.blocking` or a `Complete` action). */
    readonly activeFor: (tenant: string) => Effect.Effect<ReadonlyArray<Hold>, DsarStoreError>
  }
  readonly reports: {
    /** Stores the signed report (JSON text) of a request of the tenant, replacing an earlier one. */
    readonly put: (requestId: string, tenant: string, report: string) => Effect.Effect<void, DsarStoreError>
    /** The signed report of a request of the tenant, or `NotFound`. */
    readonly get: (tenant: string, requestId: string) => Effect.Effect<string, DsarStoreError>
  }
  readonly recipients: {
    /** Adds or replaces a recipient of the tenant (`Conflict` when its id belongs to another tenant). */
    readonly put: (recipient: Recipient) => Effect.Effect<Recipient, DsarStoreError>
    /** The tenant's recipients, oldest first (then by id). */
    readonly list: (tenant: string) => Effect.Effect<ReadonlyArray<Recipient>, DsarStoreError>
    /** Removes a recipient of the tenant; whether it existed. */
    readonly remove: (tenant: string, id: string) => Effect.Effect<boolean, DsarStoreError>
  }
  readonly deliveries: {
    /** Queues a delivery (`Conflict` when its id is taken). */
    readonly enqueue: (delivery: Delivery) => Effect.Effect<Delivery, DsarStoreError>
    /** Up to `limit` pending deliveries of every tenant with `nextAttemptAt <= now`, earliest first (then by id). */
    readonly due: (now: number, limit: number) => Effect.Effect<ReadonlyArray<Delivery>, DsarStoreError>
    /**
     * Records an attempt of a pending delivery: one more attempt; delivered, or failed with its error and either
     * retried at `retryAt` or given up (`dead`). `NotFound`; `Conflict` when it is not pending any more.
     */
    readonly recordAttempt: (id: string, outcome: AttemptOutcome) => Effect.Effect<Delivery, DsarStoreError>
    /** The tenant's deliveries, oldest first (then by id), of one status when given. */
    readonly list: (
      tenant: string,
      options?: { readonly status?: DeliveryStatus | undefined }
    ) => Effect.Effect<ReadonlyArray<Delivery>, DsarStoreError>
  }
  readonly objections: {
    /** Records that a visitor of the tenant objected at `at` (idempotent: the first time is kept). */
    readonly add: (tenant: string, visitor: string, at: number) => Effect.Effect<void, DsarStoreError>
    /** Whether a visitor of the tenant objected (is opted out of personalized ads for good). */
    readonly has: (tenant: string, visitor: string) => Effect.Effect<boolean, DsarStoreError>
  }
  readonly policies: {
    /** The tenant's own deadline policy, or none (the deployment's default applies). */
    readonly get: (tenant: string) => Effect.Effect<Option.Option<Deadline.Policy>, DsarStoreError>
    /** Sets the tenant's deadline policy at `at`, replacing an earlier one. */
    readonly put: (tenant: string, policy: Deadline.Policy, at: number) => Effect.Effect<void, DsarStoreError>
  }
}

/**
 * A store of data-subject request state.
 *
 * @since 0.1.0
 * @category services
 */
export class DsarStore extends Context.Tag("@openaudience/dsar/DsarStore")<DsarStore, DsarStoreShape>() {}

/**
 * How far ahead of a deadline `requests.due` looks by default: 7 days, the default longest reminder.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultDueWithin = 7 * Deadline.day

const notFound = (what: string, id: string) =>
  new DsarStoreError({ reason: "NotFound", message: `${what} ${JSON.stringify(id)} not found` })

const conflict = (message: string) => new DsarStoreError({ reason: "Conflict", message })

const byId = (a: { readonly id: string }, b: { readonly id: string }): number =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : 0

/**
 * A store in memory, with the semantics every store has.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): DsarStoreShape => {
  const requests = new Map<string, Request>()
  const holds = new Map<string, Hold>()
  const reports = new Map<string, { readonly tenant: string; readonly report: string }>()
  const recipients = new Map<string, Recipient>()
  const deliveries = new Map<string, Delivery>()
  const objections = new Map<string, number>()
  const policies = new Map<string, Deadline.Policy>()

  const ofTenant = <A extends { readonly tenant: string }>(
    map: Map<string, A>,
    what: string,
    tenant: string,
    id: string
  ): Effect.Effect<A, DsarStoreError> => {
    const row = map.get(id)
    return row === undefined || row.tenant !== tenant ? Effect.fail(notFound(what, id)) : Effect.succeed(row)
  }

  return {
    requests: {
      insert: (request) =>
        Effect.suspend(() => {
          if (requests.has(request.id)) return Effect.fail(conflict(`Request id ${request.id} is taken`))
          const stored = request.version === 0 ? request : new Request({ ...request, version: 0 })
          requests.set(request.id, stored)
          return Effect.succeed(stored)
        }),
      get: (tenant, id) => ofTenant(requests, "Request", tenant, id),
      list: (tenant, options) =>
        Effect.sync(() =>
          [...requests.values()]
            .filter((r) => r.tenant === tenant && (options?.status === undefined || r.status === options.status))
            .sort((a, b) => a.receivedAt - b.receivedAt || byId(a, b))
        ),
      update: (request) =>
        Effect.flatMap(ofTenant(requests, "Request", request.tenant, request.id), (stored) => {
          if (stored.version !== request.version) {
            return Effect.fail(
              conflict(
                `Request ${JSON.stringify(request.id)} changed since it was read (version ${request.version}, now ${stored.version})`
              )
            )
          }
          const next = new Request({ ...request, version: stored.version + 1 })
          requests.set(request.id, next)
          return Effect.succeed(next)
        }),
      due: (now, options) =>
        Effect.sync(() => {
          const before = now + (options?.within ?? defaultDueWithin)
          return [...requests.values()]
            .filter((r) => openStatuses.includes(r.status) && r.dueAt <= before)
            .sort((a, b) => a.dueAt - b.dueAt || byId(a, b))
            .slice(0, options?.limit ?? 100)
        })
    },
    holds: {
      add: (hold) =>
        Effect.suspend(() => {
          if (holds.has(hold.id)) return Effect.fail(conflict(`Hold id ${hold.id} is taken`))
          holds.set(hold.id, hold)
          return Effect.succeed(hold)
        }),
      release: (tenant, id, at, by) =>
        Effect.flatMap(ofTenant(holds, "Hold", tenant, id), (hold) => {
          if (hold.releasedAt !== undefined) return Effect.fail(conflict(`Hold ${JSON.stringify(id)} is released`))
          const released = new Hold({ ...hold, releasedAt: at, releasedBy: by })
          holds.set(id, released)
          return Effect.succeed(released)
        }),
      list: (tenant, options) =>
        Effect.sync(() =>
          [...holds.values()]
            .filter(
              (h) =>
                h.tenant === tenant &&
                (options?.active === undefined || options.active === (h.releasedAt === undefined))
            )
            .sort((a, b) => a.createdAt - b.createdAt || byId(a, b))
        ),
      activeFor: (tenant) =>
        Effect.sync(() =>
          [...holds.values()]
            .filter((h) => h.tenant === tenant && h.releasedAt === undefined)
            .sort((a, b) => a.createdAt - b.createdAt || byId(a, b))
        )
    },
    reports: {
      put: (requestId, tenant, report) =>
        Effect.suspend(() => {
          const stored = reports.get(requestId)
          if (stored !== undefined && stored.tenant !== tenant) {
            return Effect.fail(conflict(`Report of request ${JSON.stringify(requestId)} belongs to another tenant`))
          }
          reports.set(requestId, { tenant, report })
          return Effect.void
        }),
      get: (tenant, requestId) =>
        Effect.map(ofTenant(reports, "Report of request", tenant, requestId), (stored) => stored.report)
    },
    recipients: {
      put: (recipient) =>
        Effect.suspend(() => {
          const stored = recipients.get(recipient.id)
          if (stored !== undefined && stored.tenant !== recipient.tenant) {
            return Effect.fail(conflict(`Recipient id ${recipient.id} is taken`))
          }
          recipients.set(recipient.id, recipient)
          return Effect.succeed(recipient)
        }),
      list: (tenant) =>
        Effect.sync(() =>
          [...recipients.values()]
            .filter((r) => r.tenant === tenant)
            .sort((a, b) => a.createdAt - b.createdAt || byId(a, b))
        ),
      remove: (tenant, id) =>
        Effect.sync(() => {
          const stored = recipients.get(id)
          return stored !== undefined && stored.tenant === tenant && recipients.delete(id)
        })
    },
    deliveries: {
      enqueue: (delivery) =>
        Effect.suspend(() => {
          if (deliveries.has(delivery.id)) return Effect.fail(conflict(`Delivery id ${delivery.id} is taken`))
          deliveries.set(delivery.id, delivery)
          return Effect.succeed(delivery)
        }),
      due: (now, limit) =>
        Effect.sync(() =>
          [...deliveries.values()]
            .filter((d) => d.status === "pending" && d.nextAttemptAt <= now)
            .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || byId(a, b))
            .slice(0, limit)
        ),
      recordAttempt: (id, outcome) =>
        Effect.suspend(() => {
          const delivery = deliveries.get(id)
          if (delivery === undefined) return Effect.fail(notFound("Delivery", id))
          if (delivery.status !== "pending") {
            return Effect.fail(conflict(`Delivery ${JSON.stringify(id)} is ${delivery.status}`))
          }
          const attempts = delivery.attempts + 1
          const next =
            outcome._tag === "Delivered"
              ? new Delivery({ ...delivery, attempts, status: "delivered", nextAttemptAt: outcome.at })
              : new Delivery({
                  ...delivery,
                  attempts,
                  lastError: outcome.error,
                  status: outcome.retryAt === undefined ? "dead" : "pending",
                  nextAttemptAt: outcome.retryAt ?? outcome.at
                })
          deliveries.set(id, next)
          return Effect.succeed(next)
        }),
      list: (tenant, options) =>
        Effect.sync(() =>
          [...deliveries.values()]
            .filter((d) => d.tenant === tenant && (options?.status === undefined || d.status === options.status))
            .sort((a, b) => a.firstAttemptAt - b.firstAttemptAt || byId(a, b))
        )
    },
    objections: {
      add: (tenant, visitor, at) =>
        Effect.sync(() => {
          const key = JSON.stringify([tenant, visitor])
          if (!objections.has(key)) objections.set(key, at)
        }),
      has: (tenant, visitor) => Effect.sync(() => objections.has(JSON.stringify([tenant, visitor])))
    },
    policies: {
      get: (tenant) => Effect.sync(() => Option.fromNullable(policies.get(tenant))),
      put: (tenant, policy) =>
        Effect.sync(() => {
          policies.set(tenant, policy)
        })
    }
  }
}

/**
 * The in-memory store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<DsarStore> = Layer.sync(DsarStore, makeMemory)
