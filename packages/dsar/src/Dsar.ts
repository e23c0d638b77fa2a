/**
 * The data-subject request service: the operations a privacy team and a visitor's privacy center need, composed
 * from the registry (where subject data is), the DSAR store (requests, holds, reports, recipients, deliveries,
 * objections), the erasure orchestrator and the report signer.
 *
 * - Requests are received, acknowledged at once, and answered by `process`: an access request completes (its export
 *   is read with `exportJson`/`exportZip`); an erasure or a child's removal checks the legal holds, erases through
 *   every registered store, verifies, signs and stores the report, then tells the recipients; an objection or a
 *   restriction records the subjects' permanent opt-out of personalized ads and tells the recipients.
 * - An erasure that fails (a store unreachable, rows left) fails whole: the request stays in progress with the
 *   error in its history, nothing is reported as done, and `retryPending` runs it again.
 * - Every step an operator or the service takes is audited through the `audit` hook (never with a subject's
 *   identifier: the audit log outlives erasures).
 * - Webhooks are queued in the store and sent by `deliverDue` (HMAC-signed, retried with backoff for 72 hours,
 *   then dead-lettered), so a recipient that is down delays nothing.
 * - A tenant's deadlines follow its own `Deadline.Policy` when one is stored (`setPolicy`), else the deployment's
 *   `policyOf`: read when a request is received, extended, and reminded of.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Deadline from "./Deadline.js"
import { Delivery, DsarStore, type DsarStoreError, Recipient } from "./DsarStore.js"
import * as Erasure from "./Erasure.js"
import * as Export from "./Export.js"
import * as Hold from "./Hold.js"
import * as Registry from "./Registry.js"
import * as Report from "./Report.js"
import * as Request from "./Request.js"
import type * as Subject from "./Subject.js"
import * as Webhook from "./Webhook.js"

/**
 * An audit entry the service asks the deployment to append (no subject identifier in it).
 *
 * @since 0.1.0
 * @category models
 */
export interface AuditEntry {
  readonly tenant: string
  readonly actor: string
  readonly action: string
  readonly target: string
  readonly details: Readonly<Record<string, string | number | boolean>>
}

/**
 * One webhook to send: where, the headers (with the signature) and the body.
 *
 * @since 0.1.0
 * @category models
 */
export interface OutgoingWebhook {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * What the service is built with.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Signs erasure reports (derive it with `Report.SigningKey.fromSecret`). */
  readonly signingKey: Report.SigningKey
  /** A tenant's deadline policy when it has none stored (see `setPolicy`; default: GDPR). */
  readonly policyOf?: ((tenant: string) => Deadline.Policy) | undefined
  /** Wraps the erase phase (one SQL transaction for the SQL stores). */
  readonly transaction?: Erasure.Options["transaction"]
  /** Appends to the audit log. */
  readonly audit?: ((entry: AuditEntry) => Effect.Effect<void>) | undefined
  /** Runs after a verified erasure (tombstones, caches); a failure fails the erasure, which is retried. */
  /**
   * Runs before the erasure (so that nothing new is recorded under the subjects meanwhile, e.g. tombstones that give
   * an erased visitor's next visit a new pseudonym); a failure fails the erasure, which is retried.
   */
  readonly beforeErase?:
    | ((subjects: ReadonlyArray<Subject.Subject>) => Effect.Effect<void, Registry.StoreUnavailable>)
    | undefined
  readonly afterErase?:
    | ((subjects: ReadonlyArray<Subject.Subject>) => Effect.Effect<void, Registry.StoreUnavailable>)
    | undefined
  /** Runs after an objection or restriction is recorded (ends memberships, unlinks browsers). */
  readonly afterObjection?:
    | ((subjects: ReadonlyArray<Subject.Subject>) => Effect.Effect<void, Registry.StoreUnavailable>)
    | undefined
  /** Seals a recipient's webhook secret for the store, and opens it again (e.g. with @openaudience/vault). */
  readonly sealSecret: (tenant: string, secret: Redacted.Redacted<string>) => Effect.Effect<string, DsarStoreError>
  readonly openSecret: (tenant: string, sealed: string) => Effect.Effect<Redacted.Redacted<string>, DsarStoreError>
  /** Sends a webhook: resolves with the HTTP status, fails with a message when nothing was answered. */
  readonly send: (webhook: OutgoingWebhook) => Effect.Effect<number, string>
  /** Records per store and kind an export holds at most (default 100,000). */
  readonly exportLimit?: number | undefined
}

/**
 * A request could not be answered now: the erasure failed (retried later) or the store failed.
 *
 * @since 0.1.0
 * @category errors
 */
export type ProcessError = Request.DsarError | Erasure.ErasureFailed | DsarStoreError | Registry.StoreUnavailable

/**
 * A recipient as shown to operators (never its secret).
 *
 * @since 0.1.0
 * @category models
 */
export interface RecipientView {
  readonly id: string
  readonly tenant: string
  readonly name: string
  readonly kind: "sub-processor" | "partner"
  readonly url: string
  readonly createdAt: number
}

/**
 * The outcome of a visitor's erasure in one tenant: the request as stored, and its signed report when it completed
 * (absent when a legal hold defers it: the request stays in progress and `heldBy` names the holds' ids).
 *
 * @since 0.1.0
 * @category models
 */
export interface TenantErasure {
  readonly request: Request.Request
  readonly report?: Report.Signed | undefined
  readonly heldBy?: ReadonlyArray<string> | undefined
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category services
 */
export interface DsarShape {
  /** The public key reports verify with (published at `/.well-known/openaudience-dsar-key`). */
  readonly publicJwk: Report.PublicJwk
  /** What every registered store holds about the subjects, at most `limitPerStore` records each. */
  readonly collect: (
    subjects: ReadonlyArray<Subject.Subject>,
    limitPerStore: number
  ) => Effect.Effect<Export.Collected, Registry.StoreUnavailable>
  /** The subjects' data as one JSON document. */
  readonly exportJson: (subjects: ReadonlyArray<Subject.Subject>) => Effect.Effect<string, Registry.StoreUnavailable>
  /** The subjects' data as a ZIP of CSV files. */
  readonly exportZip: (subjects: ReadonlyArray<Subject.Subject>) => Effect.Effect<Uint8Array, Registry.StoreUnavailable>
  /** What stores keep after an erasure, and why. */
  readonly retained: ReadonlyArray<Registry.Retained>
  /** Receives (and acknowledges) a request. */
  readonly submit: (input: {
    readonly tenant: string
    readonly type: Request.RequestType
    readonly subjects: ReadonlyArray<Subject.Subject>
    readonly actor: string
    readonly note?: string | undefined
  }) => Effect.Effect<Request.Request, Request.DsarError | DsarStoreError>
  readonly get: (tenant: string, id: string) => Effect.Effect<Request.Request, DsarStoreError>
  readonly list: (
    tenant: string,
    status?: Request.Status | undefined
  ) => Effect.Effect<ReadonlyArray<Request.Request>, DsarStoreError>
  /** Answers a request (see the module's description). */
  readonly process: (tenant: string, id: string, actor: string) => Effect.Effect<Request.Request, ProcessError>
  /** Verifies a child's removal (an operator checked the parent or guardian): the request may then be processed. */
  readonly verify: (
    tenant: string,
    id: string,
    actor: string
  ) => Effect.Effect<Request.Request, Request.DsarError | DsarStoreError>
  readonly extend: (
    tenant: string,
    id: string,
    reason: string,
    actor: string
  ) => Effect.Effect<Request.Request, Request.DsarError | DsarStoreError>
  readonly refuse: (
    tenant: string,
    id: string,
    reason: string,
    actor: string
  ) => Effect.Effect<Request.Request, Request.DsarError | DsarStoreError>
  /** The signed report of a completed erasure. */
  readonly report: (tenant: string, requestId: string) => Effect.Effect<Report.Signed, DsarStoreError>
  /** Erases a visitor's subjects, one request per tenant, processed at once (the privacy center's button). */
  readonly eraseNow: (
    subjects: ReadonlyArray<Subject.Subject>,
    actor: string
  ) => Effect.Effect<ReadonlyArray<TenantErasure>, ProcessError>
  readonly addHold: (input: {
    readonly tenant: string
    readonly subject?: Subject.Subject | undefined
    readonly reason: string
    readonly reference: string
    readonly actor: string
  }) => Effect.Effect<Hold.Hold, DsarStoreError>
  readonly releaseHold: (tenant: string, id: string, actor: string) => Effect.Effect<Hold.Hold, DsarStoreError>
  readonly holds: (
    tenant: string,
    active?: boolean | undefined
  ) => Effect.Effect<ReadonlyArray<Hold.Hold>, DsarStoreError>
  /** Records a release of data under a legal order in the audit log. */
  readonly recordRelease: (release: Hold.LegalRelease) => Effect.Effect<void>
  readonly putRecipient: (input: {
    readonly tenant: string
    readonly id?: string | undefined
    readonly name: string
    readonly kind: "sub-processor" | "partner"
    readonly url: string
    readonly secret: Redacted.Redacted<string>
    readonly actor: string
  }) => Effect.Effect<RecipientView, DsarStoreError>
  readonly recipients: (tenant: string) => Effect.Effect<ReadonlyArray<RecipientView>, DsarStoreError>
  readonly removeRecipient: (tenant: string, id: string, actor: string) => Effect.Effect<boolean, DsarStoreError>
  readonly deliveries: (
    tenant: string,
    status?: Delivery["status"] | undefined
  ) => Effect.Effect<ReadonlyArray<Delivery>, DsarStoreError>
  /** Sends the webhooks that are due; how many were attempted. */
  readonly deliverDue: (limit?: number) => Effect.Effect<number, DsarStoreError>
  /** The tenant's effective deadline policy: its own when stored, else the deployment's `policyOf`. */
  readonly policy: (tenant: string) => Effect.Effect<Deadline.Policy, DsarStoreError>
  /**
   * Stores the tenant's deadline policy (audited as `dsar.policy`): requests received and extended from now on, and
   * the reminders of open ones, follow it; deadlines already set stay.
   */
  readonly setPolicy: (
    tenant: string,
    policy: Deadline.Policy,
    actor: string
  ) => Effect.Effect<Deadline.Policy, DsarStoreError>
  /**
   * Runs again the erasures left in progress (failed, or deferred by holds since released; those still held are left
   * alone), and records the reminders due; how many requests were touched.
   */
  readonly retryPending: Effect.Effect<number, DsarStoreError>
}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category services
 */
export class Dsar extends Context.Tag("@openaudience/dsar/Dsar")<Dsar, DsarShape>() {}

const randomId = (prefix: string): Effect.Effect<string> =>
  Effect.map(
    Effect.all(Array.from({ length: 4 }, () => Random.nextIntBetween(0, 0x10000 * 0x10000))),
    (words) => `${prefix}${words.map((word) => word.toString(16).padStart(8, "0")).join("")}`
  )

const fromEither = <A, E>(either: Either.Either<A, E>): Effect.Effect<A, E> =>
  Either.isRight(either) ? Effect.succeed(either.right) : Effect.fail(either.left)

const view = (recipient: Recipient): RecipientView => ({
  id: recipient.id,
  tenant: recipient.tenant,
  name: recipient.name,
  kind: recipient.kind,
  url: recipient.url,
  createdAt: recipient.createdAt
})

const erases = (type: Request.RequestType): boolean => type === "erasure" || type === "child-removal"

const decodeSigned = Schema.decodeUnknown(Report.SignedFromJson)

/**
 * Builds the service over a registry and a store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<DsarShape, never, Registry.Registry | DsarStore> =>
  Effect.gen(function* () {
    const { stores } = yield* Registry.Registry
    const store = yield* DsarStore
    const policyOf = options.policyOf ?? (() => Deadline.defaultPolicy)
    const audit = options.audit ?? (() => Effect.void)
    const exportLimit = options.exportLimit ?? 100_000
    const retained = stores.flatMap((entry) => entry.retained)

    const update = (next: Either.Either<Request.Request, Request.DsarError>) =>
      Effect.flatMap(fromEither(next), (changed) => store.requests.update(changed))

    const at = Clock.currentTimeMillis

    const policyFor = (tenant: string): Effect.Effect<Deadline.Policy, DsarStoreError> =>
      Effect.map(
        store.policies.get(tenant),
        Option.getOrElse(() => policyOf(tenant))
      )

    const enqueue = (request: Request.Request, event: Webhook.Event) =>
      Effect.gen(function* () {
        const recipients = yield* store.recipients.list(request.tenant)
        const now = yield* at
        yield* Effect.forEach(recipients, (recipient) =>
          Effect.flatMap(randomId("dlv_"), (id) =>
            store.deliveries.enqueue(
              new Delivery({
                id,
                tenant: request.tenant,
                recipientId: recipient.id,
                event: event.type,
                body: JSON.stringify(event),
                firstAttemptAt: now,
                nextAttemptAt: now,
                attempts: 0,
                status: "pending"
              })
            )
          )
        )
      })

    const webhookEvent = (request: Request.Request, make: typeof Webhook.erasureEvent) =>
      Effect.gen(function* () {
        const id = yield* randomId("evt_")
        const now = yield* at
        return make({ id, tenant: request.tenant, subjects: request.subjects, requestId: request.id, at: now })
      })

    /** Marks an erasure that failed in the request's history (it stays in progress and is retried). */
    const noteFailure = (request: Request.Request, message: string): Effect.Effect<void> =>
      Effect.gen(function* () {
        const now = yield* at
        const last = request.history.at(-1)
        if (last?.action === "erasure-failed" && last.note === message) return
        return yield* store.requests.update(
          new Request.Request({
            ...request,
            history: [
              ...request.history,
              new Request.Transition({
                at: now,
                from: request.status,
                to: request.status,
                action: "erasure-failed",
                actor: "system",
                note: message
              })
            ]
          })
        )
      }).pipe(Effect.ignore)

    const runErasure = (request: Request.Request, actor: string) =>
      Effect.gen(function* () {
        const holds = yield* store.holds.activeFor(request.tenant)
        const now = yield* at
        const held = Request.blockingHolds(request, holds, now)
        if (held.length > 0) {
          yield* audit({
            tenant: request.tenant,
            actor,
            action: "dsar.held",
            target: request.id,
            details: { holds: held.map((hold) => hold.id).join(","), type: request.type }
          })
          return yield* Effect.fail(
            new Request.DsarError({
              reason: "Held",
              message: `request ${request.id}: erasure deferred by legal hold ${held.map((hold) => `${hold.id} (${hold.reference})`).join(", ")}`
            })
          )
        }
        if (options.beforeErase !== undefined) {
          yield* options.beforeErase(request.subjects).pipe(
            Effect.mapError(
              (error) =>
                new Erasure.ErasureFailed({ reason: "Unreachable", store: error.store, message: error.message })
            ),
            Effect.tapError((error) => noteFailure(request, error.message))
          )
        }
        const outcome = yield* Erasure.erase(stores, request.subjects, {
          ...(options.transaction === undefined ? {} : { transaction: options.transaction })
        }).pipe(Effect.tapError((error) => noteFailure(request, error.message)))
        if (options.afterErase !== undefined) {
          yield* options.afterErase(request.subjects).pipe(
            Effect.mapError(
              (error) =>
                new Erasure.ErasureFailed({ reason: "EraseFailed", store: error.store, message: error.message })
            ),
            Effect.tapError((error) => noteFailure(request, error.message))
          )
        }
        const signed = Report.sign(
          options.signingKey,
          Report.fromOutcome({
            requestId: request.id,
            tenant: request.tenant,
            type: request.type,
            subjects: request.subjects,
            outcome
          })
        )
        yield* store.reports.put(request.id, request.tenant, JSON.stringify(signed))
        const fresh = yield* store.requests.get(request.tenant, request.id)
        // Completed when the erasure was verified, the time the report states.
        const completed = yield* update(
          Request.transition(fresh, { _tag: "Complete", holds }, outcome.completedAt, actor)
        )
        yield* enqueue(completed, yield* webhookEvent(completed, Webhook.erasureEvent))
        yield* audit({
          tenant: request.tenant,
          actor,
          action: "dsar.erase",
          target: request.id,
          details: {
            type: request.type,
            subjects: request.subjects.length,
            erased: outcome.stores.reduce((sum, entry) => sum + entry.erased, 0),
            stores: outcome.stores.length
          }
        })
        return completed
      })

    const process = (tenant: string, id: string, actor: string): Effect.Effect<Request.Request, ProcessError> =>
      Effect.gen(function* () {
        let request = yield* store.requests.get(tenant, id)
        const now = yield* at
        if (request.status === "received") {
          request = yield* update(Request.transition(request, { _tag: "Start" }, now, actor))
        }
        if (request.status !== "in-progress") {
          return yield* Effect.fail(
            new Request.DsarError({
              reason: "InvalidTransition",
              message: `request ${id} is ${request.status}: it cannot be processed`
            })
          )
        }
        if (erases(request.type)) return yield* runErasure(request, actor)
        if (request.type === "objection" || request.type === "restriction") {
          for (const subject of request.subjects) {
            if (subject._tag === "Visitor") yield* store.objections.add(tenant, subject.visitor, now)
          }
          if (options.afterObjection !== undefined) yield* options.afterObjection(request.subjects)
          yield* enqueue(request, yield* webhookEvent(request, Webhook.objectionEvent))
        }
        const completed = yield* update(Request.transition(request, { _tag: "Complete" }, now, actor))
        yield* audit({
          tenant,
          actor,
          action: `dsar.${request.type}`,
          target: id,
          details: { subjects: request.subjects.length }
        })
        return completed
      })

    const submit: DsarShape["submit"] = (input) =>
      Effect.gen(function* () {
        const id = yield* Request.makeId
        const now = yield* at
        const policy = yield* policyFor(input.tenant)
        const made = yield* fromEither(
          Request.make({
            id,
            tenant: input.tenant,
            type: input.type,
            subjects: input.subjects,
            receivedAt: now,
            policy,
            actor: input.actor,
            note: input.note
          })
        )
        const acknowledged = yield* fromEither(Request.transition(made, { _tag: "Acknowledge" }, now, "system"))
        const stored = yield* store.requests.insert(acknowledged)
        yield* audit({
          tenant: input.tenant,
          actor: input.actor,
          action: "dsar.submit",
          target: id,
          details: { type: input.type, subjects: input.subjects.length, dueAt: stored.dueAt }
        })
        return stored
      })

    const simple =
      (action: (reason: string) => Request.Action, name: string) =>
      (tenant: string, id: string, reason: string, actor: string) =>
        Effect.gen(function* () {
          const request = yield* store.requests.get(tenant, id)
          const now = yield* at
          const changed = yield* update(Request.transition(request, action(reason), now, actor))
          yield* audit({ tenant, actor, action: `dsar.${name}`, target: id, details: { reason } })
          return changed
        })

    const service: DsarShape = {
      publicJwk: Report.publicJwk(options.signingKey),
      retained,
      collect: (subjects, limitPerStore) => Export.collect(stores, subjects, { limitPerStore }),
      exportJson: (subjects) =>
        Effect.gen(function* () {
          const collected = yield* Export.collect(stores, subjects, { limitPerStore: exportLimit })
          return Export.toJson(subjects.map(Report.digest), collected, yield* at)
        }),
      exportZip: (subjects) =>
        Effect.gen(function* () {
          const collected = yield* Export.collect(stores, subjects, { limitPerStore: exportLimit })
          return Export.toCsvZip(collected, yield* at)
        }),
      submit,
      get: (tenant, id) => store.requests.get(tenant, id),
      list: (tenant, status) => store.requests.list(tenant, { status }),
      process,
      verify: (tenant, id, actor) =>
        Effect.gen(function* () {
          let request = yield* store.requests.get(tenant, id)
          const now = yield* at
          if (request.status === "received") {
            request = yield* update(Request.transition(request, { _tag: "StartVerification" }, now, actor))
          }
          const verified = yield* update(Request.transition(request, { _tag: "Verify" }, now, actor))
          yield* audit({ tenant, actor, action: "dsar.verify", target: id, details: { type: request.type } })
          return verified
        }),
      extend: (tenant, id, reason, actor) =>
        Effect.flatMap(policyFor(tenant), (policy) =>
          simple((why) => ({ _tag: "Extend", reason: why, policy }), "extend")(tenant, id, reason, actor)
        ),
      refuse: simple((why) => ({ _tag: "Refuse", reason: why }), "refuse"),
      report: (tenant, requestId) =>
        Effect.flatMap(store.reports.get(tenant, requestId), (text) => decodeSigned(text).pipe(Effect.orDie)),
      eraseNow: (subjects, actor) =>
        Effect.gen(function* () {
          const byTenant = new Map<string, Array<Subject.Subject>>()
          for (const subject of subjects) {
            const list = byTenant.get(subject.tenant) ?? []
            list.push(subject)
            byTenant.set(subject.tenant, list)
          }
          const results: Array<TenantErasure> = []
          for (const [tenant, own] of byTenant) {
            const request = yield* submit({ tenant, type: "erasure", subjects: own, actor, note: "privacy center" })
            const held = yield* process(tenant, request.id, actor).pipe(
              Effect.as(false),
              Effect.catchIf(
                (error): error is Request.DsarError => error._tag === "DsarError" && error.reason === "Held",
                () => Effect.succeed(true)
              )
            )
            // The request as stored now: completed, or in progress and waiting for the holds to be released.
            const current = yield* store.requests.get(tenant, request.id)
            if (held) {
              const holds = Request.blockingHolds(current, yield* store.holds.activeFor(tenant), yield* at)
              results.push({ request: current, heldBy: holds.map((hold) => hold.id) })
            } else {
              results.push({ request: current, report: yield* service.report(tenant, request.id) })
            }
          }
          return results
        }),
      addHold: (input) =>
        Effect.gen(function* () {
          const id = yield* randomId("hold_")
          const now = yield* at
          const hold = yield* store.holds.add(
            new Hold.Hold({
              id,
              tenant: input.tenant,
              ...(input.subject === undefined ? {} : { subject: input.subject }),
              reason: input.reason,
              reference: input.reference,
              createdAt: now,
              createdBy: input.actor
            })
          )
          yield* audit({
            tenant: input.tenant,
            actor: input.actor,
            action: "dsar.hold",
            target: id,
            details: { scope: input.subject === undefined ? "tenant" : "subject", reference: input.reference }
          })
          return hold
        }),
      releaseHold: (tenant, id, actor) =>
        Effect.gen(function* () {
          const hold = yield* store.holds.release(tenant, id, yield* at, actor)
          yield* audit({
            tenant,
            actor,
            action: "dsar.hold-release",
            target: id,
            details: { reference: hold.reference }
          })
          return hold
        }),
      holds: (tenant, active) => store.holds.list(tenant, { active }),
      recordRelease: (release) =>
        audit({
          tenant: release.tenant,
          actor: release.releasedBy,
          action: Hold.releaseAuditAction,
          target: release.id,
          details: Hold.auditDetails(release)
        }),
      putRecipient: (input) =>
        Effect.gen(function* () {
          const id = input.id ?? (yield* randomId("rcp_"))
          const sealed = yield* options.sealSecret(input.tenant, input.secret)
          const stored = yield* store.recipients.put(
            new Recipient({
              id,
              tenant: input.tenant,
              name: input.name,
              kind: input.kind,
              url: input.url,
              secret: sealed,
              createdAt: yield* at
            })
          )
          yield* audit({
            tenant: input.tenant,
            actor: input.actor,
            action: "dsar.recipient-put",
            target: id,
            details: { name: input.name, kind: input.kind }
          })
          return view(stored)
        }),
      recipients: (tenant) => Effect.map(store.recipients.list(tenant), (list) => list.map(view)),
      removeRecipient: (tenant, id, actor) =>
        Effect.tap(store.recipients.remove(tenant, id), (removed) =>
          removed ? audit({ tenant, actor, action: "dsar.recipient-remove", target: id, details: {} }) : Effect.void
        ),
      deliveries: (tenant, status) => store.deliveries.list(tenant, { status }),
      policy: policyFor,
      setPolicy: (tenant, policy, actor) =>
        Effect.gen(function* () {
          yield* store.policies.put(tenant, policy, yield* at)
          yield* audit({
            tenant,
            actor,
            action: "dsar.policy",
            target: `tenant:${tenant}`,
            details: {
              regime: policy.regime,
              ...(policy.custom === undefined
                ? {}
                : { days: policy.custom.days, extensionDays: policy.custom.extensionDays }),
              reminderDaysBefore: policy.reminderDaysBefore.join(",")
            }
          })
          return policy
        }),
      deliverDue: (limit = 50) =>
        Effect.gen(function* () {
          const now = yield* at
          const due = yield* store.deliveries.due(now, limit)
          for (const delivery of due) {
            const recipients = yield* store.recipients.list(delivery.tenant)
            const recipient = recipients.find((entry) => entry.id === delivery.recipientId)
            const attemptAt = yield* at
            if (recipient === undefined) {
              yield* store.deliveries.recordAttempt(delivery.id, {
                _tag: "Failed",
                at: attemptAt,
                error: "the recipient was removed"
              })
              continue
            }
            // A secret that cannot be opened fails this delivery (retried), not the whole batch behind it.
            const result = yield* options.openSecret(delivery.tenant, recipient.secret).pipe(
              Effect.mapError((error) => `the recipient's secret could not be opened: ${error.message}`),
              Effect.flatMap((secret) =>
                options.send({
                  url: recipient.url,
                  headers: {
                    "content-type": "application/json",
                    "openaudience-signature": Webhook.sign(secret, attemptAt, delivery.body),
                    "openaudience-event": delivery.event,
                    "openaudience-delivery": delivery.id
                  },
                  body: delivery.body
                })
              ),
              Effect.either
            )
            const ok = Either.isRight(result) && result.right >= 200 && result.right < 300
            if (ok) {
              yield* store.deliveries.recordAttempt(delivery.id, { _tag: "Delivered", at: attemptAt })
            } else {
              const next = Webhook.nextAttempt(
                { firstAttemptAt: delivery.firstAttemptAt, attempts: delivery.attempts + 1 },
                attemptAt,
                yield* Random.next
              )
              yield* store.deliveries.recordAttempt(delivery.id, {
                _tag: "Failed",
                at: attemptAt,
                error: Either.isLeft(result) ? result.left : `HTTP ${result.right}`,
                ...(next._tag === "Retry" ? { retryAt: next.at } : {})
              })
            }
          }
          return due.length
        }),
      retryPending: Effect.gen(function* () {
        const now = yield* at
        const open = yield* store.requests.due(now, { within: 400 * Deadline.day, limit: 500 })
        // One read of each tenant's policy per run, however many of its requests are due.
        const policies = new Map<string, Deadline.Policy>()
        let touched = 0
        for (const request of open) {
          let policy = policies.get(request.tenant)
          if (policy === undefined) {
            policy = yield* policyFor(request.tenant)
            policies.set(request.tenant, policy)
          }
          const reminders = Request.remindersDue(request, policy, now)
          if (reminders.length > 0) {
            touched++
            yield* store.requests.update(Request.markReminded(request, reminders))
            yield* audit({
              tenant: request.tenant,
              actor: "system",
              action: "dsar.reminder",
              target: request.id,
              details: { dueAt: request.dueAt }
            })
          }
          if (request.status === "in-progress" && erases(request.type)) {
            // A held erasure waits for its holds to be released: trying it on every poll would only fill the audit
            // log with `dsar.held` entries.
            const holds = yield* store.holds.activeFor(request.tenant)
            if (Request.blockingHolds(request, holds, now).length > 0) continue
            touched++
            yield* process(request.tenant, request.id, "system").pipe(
              Effect.catchAll((error) =>
                Effect.logWarning(`data-subject request ${request.id} not completed yet`, error.message)
              )
            )
          }
        }
        return touched
      })
    }
    return service
  })

/**
 * The service as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Dsar, never, Registry.Registry | DsarStore> =>
  Layer.effect(Dsar, make(options))
