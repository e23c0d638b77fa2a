/**
 * The operators' data-subject request API: HTTP adapters over @openaudience/dsar's `Dsar` service (provided by
 * Privacy.ts), every route needing `privacy:manage` (owner and privacy keys) and acting on the key's tenant only.
 *
 * - Requests: `POST /v1/dsar` (`{ type, subjects: [{ kind, id }], note?, process? }`; a visitor is the tenant's
 *   pseudonym as the events inspector shows it), `GET /v1/dsar?status=`, `GET /v1/dsar/:id`, and the steps
 *   `process`, `verify`, `extend` and `refuse`; a completed erasure's signed report (`/report`) and an access
 *   request's export (`/export`, JSON or `?format=zip`).
 * - The tenant's deadline policy: `GET /v1/dsar/policy` (its own, else the server's default, GDPR) and
 *   `PUT /v1/dsar/policy` (`{ regime, custom?: { days, extensionDays }, reminderDaysBefore? }`, audited).
 * - Legal holds (`/v1/holds`), releases of data under a legal order (`POST /v1/dsar/releases`, recorded in the
 *   audit log) and webhook recipients (`/v1/recipients`, their deliveries with the dead letters).
 *
 * An id of another tenant is a 404, exactly like one that does not exist. The service audits every step itself; the
 * only read it does not audit, an export of a subject's data, is audited here.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Deadline, Dsar, type DsarStore, Hold, Report, Request, Subject } from "@openaudience/dsar"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Access from "./Access.js"
import * as AdminApi from "./AdminApi.js"
import * as Audit from "./Audit.js"
import * as JsonBody from "./JsonBody.js"
import * as Problem from "./Problem.js"

const maxBodyBytes = 64 * 1024

const json = (value: unknown, status = 200) =>
  HttpServerResponse.unsafeJson(value, { status, headers: { "cache-control": "no-store" } })

/** A failure of the service as the problem a client reads. */
export const problemOf = (error: Dsar.ProcessError): Effect.Effect<never, Problem.ProblemError> => {
  switch (error._tag) {
    case "DsarStoreError":
      return error.reason === "NotFound"
        ? Problem.fail("not-found", error.message)
        : error.reason === "Conflict"
          ? Problem.fail("conflict", error.message)
          : Effect.zipRight(
              Effect.logWarning("the DSAR store is unavailable", error.message),
              Problem.fail("unavailable", "data-subject requests cannot be reached right now; try again shortly")
            )
    case "DsarError":
      return error.reason === "InvalidRequest"
        ? Problem.fail("invalid-body", error.message)
        : error.reason === "NotFound"
          ? Problem.fail("not-found", error.message)
          : Problem.fail("conflict", error.message, { reason: error.reason })
    // The erasure failed whole and is retried: the request stays in progress.
    case "ErasureFailed":
      return Problem.fail("unavailable", error.message, { reason: error.reason })
    case "StoreUnavailable":
      return Problem.fail("unavailable", error.message)
  }
}

const service = <A, E extends Dsar.ProcessError>(f: (dsar: Dsar.DsarShape) => Effect.Effect<A, E>) =>
  Effect.flatMap(Dsar.Dsar, f).pipe(Effect.catchAll((error: Dsar.ProcessError) => problemOf(error)))

/** The principal of the request, with its tenant and the actor the service records. */
const caller = Effect.map(Access.principal, ({ tenant, keyId }) => ({
  tenant: tenant.id,
  keyId,
  actor: `key:${keyId}`
}))

/** The ids the service makes: a prefix and 32 hex digits. Anything else names nothing (and never reaches a store). */
const idPatterns = {
  request: /^dsr_[0-9a-f]{32}$/,
  hold: /^hold_[0-9a-f]{32}$/,
  recipient: /^rcp_[0-9a-f]{32}$/
} as const

const pathId = (kind: keyof typeof idPatterns) =>
  Effect.flatMap(HttpRouter.params, (params) => {
    const id = params.id ?? ""
    return idPatterns[kind].test(id) ? Effect.succeed(id) : Problem.fail("not-found", `no ${kind} ${id}`)
  })

type SubjectRef = typeof AdminApi.SubjectRef.Type

/** A subject of the body, always of the key's tenant. */
const subjectOf = (tenant: string, ref: SubjectRef): Subject.Subject =>
  ref.kind === "visitor"
    ? new Subject.Visitor({ tenant, visitor: ref.id })
    : ref.kind === "browser"
      ? new Subject.Browser({ tenant, browser: ref.id })
      : new Subject.User({ tenant, user: ref.id })

const refOf = (subject: Subject.Subject): SubjectRef => ({
  kind: subject._tag === "Visitor" ? "visitor" : subject._tag === "Browser" ? "browser" : "user",
  id: Subject.idOf(subject)
})

const requestView = (request: Request.Request) => ({
  id: request.id,
  type: request.type,
  status: request.status,
  subjects: request.subjects.map(refOf),
  regime: request.regime,
  receivedAt: request.receivedAt,
  dueAt: request.dueAt,
  initialDueAt: request.initialDueAt,
  acknowledgedAt: request.acknowledgedAt,
  extendedAt: request.extendedAt,
  extensionReason: request.extensionReason,
  completedAt: request.completedAt,
  refusedAt: request.refusedAt,
  refusedReason: request.refusedReason,
  history: request.history.map((step) => ({
    at: step.at,
    from: step.from,
    to: step.to,
    action: step.action,
    actor: step.actor,
    note: step.note
  }))
})

const holdView = (hold: Hold.Hold) => ({
  id: hold.id,
  subject: hold.subject === undefined ? undefined : refOf(hold.subject),
  reason: hold.reason,
  reference: hold.reference,
  createdAt: hold.createdAt,
  createdBy: hold.createdBy,
  releasedAt: hold.releasedAt,
  releasedBy: hold.releasedBy
})

const recipientView = (recipient: Dsar.RecipientView) => ({
  id: recipient.id,
  name: recipient.name,
  kind: recipient.kind,
  url: recipient.url,
  createdAt: recipient.createdAt
})

/** A delivery without its body (which names the subjects). */
const deliveryView = (delivery: DsarStore.Delivery) => ({
  id: delivery.id,
  recipientId: delivery.recipientId,
  event: delivery.event,
  status: delivery.status,
  attempts: delivery.attempts,
  firstAttemptAt: delivery.firstAttemptAt,
  nextAttemptAt: delivery.nextAttemptAt,
  lastError: delivery.lastError
})

/**
 * Processes a request; a legal hold is a 409 naming the holds in force (`holds`), an unreachable store a 503 (the
 * request stays in progress and is retried).
 */
const processRequest = (tenant: string, id: string, actor: string) =>
  Effect.gen(function* () {
    const dsar = yield* Dsar.Dsar
    return yield* dsar.process(tenant, id, actor).pipe(
      Effect.catchAll((error) => {
        if (error._tag !== "DsarError" || error.reason !== "Held") return problemOf(error)
        return Effect.gen(function* () {
          const request = yield* dsar.get(tenant, id)
          const holds = yield* dsar.holds(tenant, true)
          const blocking = Request.blockingHolds(request, holds, yield* Clock.currentTimeMillis)
          return yield* Problem.fail("conflict", error.message, {
            reason: "Held",
            holds: blocking.map((hold) => ({ id: hold.id, reference: hold.reference }))
          })
        }).pipe(Effect.catchTag("DsarStoreError", problemOf))
      })
    )
  })

const submit = Effect.gen(function* () {
  const { tenant, actor } = yield* caller
  const input = yield* JsonBody.decode(AdminApi.DsarRequest, maxBodyBytes)
  const request = yield* service((dsar) =>
    dsar.submit({
      tenant,
      type: input.type,
      subjects: input.subjects.map((ref) => subjectOf(tenant, ref)),
      actor,
      note: input.note
    })
  )
  if (input.process !== true) return json(requestView(request), 201)
  // The request is recorded whatever processing answers: a refusal names it, so it can be processed later.
  const processed = yield* processRequest(tenant, request.id, actor).pipe(
    Effect.mapError((error) => new Problem.ProblemError({ ...error.problem, request: request.id } as Problem.Problem))
  )
  return json(requestView(processed), 201)
})

const statusParam = Effect.map(HttpServerRequest.ParsedSearchParams, (params) =>
  typeof params.status === "string" ? params.status : undefined
)

const list = Effect.gen(function* () {
  const { tenant } = yield* caller
  const status = (yield* statusParam) as Request.Status | undefined
  const requests = yield* service((dsar) => dsar.list(tenant, status))
  return json({ requests: requests.map(requestView) })
})

const read = Effect.gen(function* () {
  const { tenant } = yield* caller
  const id = yield* pathId("request")
  return json(requestView(yield* service((dsar) => dsar.get(tenant, id))))
})

const process = Effect.gen(function* () {
  const { tenant, actor } = yield* caller
  const id = yield* pathId("request")
  return json(requestView(yield* processRequest(tenant, id, actor)))
})

const verify = Effect.gen(function* () {
  const { tenant, actor } = yield* caller
  const id = yield* pathId("request")
  return json(requestView(yield* service((dsar) => dsar.verify(tenant, id, actor))))
})

/** `extend` and `refuse`: a step with the reason given to the requester. */
const withReason = (step: "extend" | "refuse") =>
  Effect.gen(function* () {
    const { tenant, actor } = yield* caller
    const id = yield* pathId("request")
    // Another tenant's request is a 404 whatever the body says.
    yield* service((dsar) => dsar.get(tenant, id))
    const { reason } = yield* JsonBody.decode(AdminApi.DsarReason, maxBodyBytes)
    return json(requestView(yield* service((dsar) => dsar[step](tenant, id, reason, actor))))
  })

const policyView = (policy: Deadline.Policy) => ({
  regime: policy.regime,
  custom:
    policy.custom === undefined ? undefined : { days: policy.custom.days, extensionDays: policy.custom.extensionDays },
  reminderDaysBefore: policy.reminderDaysBefore
})

/** `GET /v1/dsar/policy`: the tenant's effective deadline policy. */
const readPolicy = Effect.gen(function* () {
  const { tenant } = yield* caller
  return json(policyView(yield* service((dsar) => dsar.policy(tenant))))
})

/** `PUT /v1/dsar/policy`: the tenant's own deadline policy, as stored. */
const putPolicy = Effect.gen(function* () {
  const { tenant, actor } = yield* caller
  const input = yield* JsonBody.decode(AdminApi.DsarPolicyRequest, maxBodyBytes)
  if (input.regime === "custom" && input.custom === undefined) {
    return yield* Problem.fail("invalid-body", "custom: the regime custom needs { days, extensionDays }", {
      field: "custom"
    })
  }
  if (input.regime !== "custom" && input.custom !== undefined) {
    return yield* Problem.fail("invalid-body", `custom: only with the regime custom (not ${input.regime})`, {
      field: "custom"
    })
  }
  const policy = new Deadline.Policy({
    regime: input.regime,
    ...(input.custom === undefined ? {} : { custom: new Deadline.Custom(input.custom) }),
    ...(input.reminderDaysBefore === undefined ? {} : { reminderDaysBefore: input.reminderDaysBefore })
  })
  return json(policyView(yield* service((dsar) => dsar.setPolicy(tenant, policy, actor))))
})

const encodeSigned = Schema.encodeSync(Report.Signed)

const report = Effect.gen(function* () {
  const { tenant } = yield* caller
  const id = yield* pathId("request")
  yield* service((dsar) => dsar.get(tenant, id))
  const signed = yield* service((dsar) => dsar.report(tenant, id)).pipe(
    Effect.catchIf(
      (error) => error.problem.status === 404,
      () => Problem.fail("not-found", `request ${id} has no report: only a completed erasure has one`)
    )
  )
  return json(encodeSigned(signed))
})

/** `GET /v1/dsar/:id/export?format=json|zip`: a completed access request's subjects' data (audited). */
const exportData = Effect.gen(function* () {
  const { tenant, keyId } = yield* caller
  const id = yield* pathId("request")
  const params = yield* HttpServerRequest.ParsedSearchParams
  const zip = params.format === "zip"
  const request = yield* service((dsar) => dsar.get(tenant, id))
  if (request.type !== "access") {
    return yield* Problem.fail(
      "conflict",
      `request ${id} is ${request.type === "erasure" ? "an" : "a"} ${request.type} request: only an access request has an export`
    )
  }
  if (request.status !== "completed") {
    return yield* Problem.fail("conflict", `request ${id} is ${request.status}: process it first`)
  }
  const audited = <A>(read: (dsar: Dsar.DsarShape) => Effect.Effect<A, Dsar.ProcessError>) =>
    Audit.audited(
      {
        tenant,
        actor: { kind: "key", id: keyId },
        action: "dsar.export",
        target: id
      },
      service(read),
      () => ({ format: zip ? "zip" : "json", subjects: request.subjects.length })
    )
  if (zip) {
    const bytes = yield* audited((dsar) => dsar.exportZip(request.subjects))
    return HttpServerResponse.uint8Array(bytes, {
      contentType: "application/zip",
      headers: { "cache-control": "no-store", "content-disposition": `attachment; filename="${id}.zip"` }
    })
  }
  const text = yield* audited((dsar) => dsar.exportJson(request.subjects))
  return HttpServerResponse.text(text, { contentType: "application/json", headers: { "cache-control": "no-store" } })
})

const randomId = (prefix: string) =>
  Effect.map(
    Effect.all(Array.from({ length: 4 }, () => Random.nextIntBetween(0, 0x10000 * 0x10000))),
    (words) => `${prefix}${words.map((word) => word.toString(16).padStart(8, "0")).join("")}`
  )

/** `POST /v1/dsar/releases`: data handed over under a legal order, recorded in the audit log. */
const release = Effect.gen(function* () {
  const { tenant, actor } = yield* caller
  const input = yield* JsonBody.decode(AdminApi.ReleaseRequest, maxBodyBytes)
  if (input.hold !== undefined) {
    const holds = yield* service((dsar) => dsar.holds(tenant))
    if (!holds.some((hold) => hold.id === input.hold)) {
      return yield* Problem.fail("not-found", `no hold ${input.hold}`, { field: "hold" })
    }
  }
  const recorded = new Hold.LegalRelease({
    id: yield* randomId("rel_"),
    tenant,
    subjects: input.subjects.map((ref) => subjectOf(tenant, ref)),
    what: input.what,
    recipient: input.recipient,
    reference: input.reference,
    releasedAt: yield* Clock.currentTimeMillis,
    releasedBy: actor,
    ...(input.hold === undefined ? {} : { hold: input.hold })
  })
  yield* service((dsar) => dsar.recordRelease(recorded))
  return json(
    {
      id: recorded.id,
      subjects: recorded.subjects.map(refOf),
      what: recorded.what,
      recipient: recorded.recipient,
      reference: recorded.reference,
      releasedAt: recorded.releasedAt,
      releasedBy: recorded.releasedBy,
      hold: recorded.hold
    },
    201
  )
})

const addHold = Effect.gen(function* () {
  const { tenant, actor } = yield* caller
  const input = yield* JsonBody.decode(AdminApi.HoldRequest, maxBodyBytes)
  const hold = yield* service((dsar) =>
    dsar.addHold({
      tenant,
      subject: input.subject === undefined ? undefined : subjectOf(tenant, input.subject),
      reason: input.reason,
      reference: input.reference,
      actor
    })
  )
  return json(holdView(hold), 201)
})

const listHolds = Effect.gen(function* () {
  const { tenant } = yield* caller
  const params = yield* HttpServerRequest.ParsedSearchParams
  const active = params.active === "true" ? true : params.active === "false" ? false : undefined
  const holds = yield* service((dsar) => dsar.holds(tenant, active))
  return json({ holds: holds.map(holdView) })
})

const releaseHold = Effect.gen(function* () {
  const { tenant, actor } = yield* caller
  const id = yield* pathId("hold")
  return json(holdView(yield* service((dsar) => dsar.releaseHold(tenant, id, actor))))
})

/** Whether a host is a loopback address (the only hosts a webhook may reach over plain http). */
const loopback = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname)

/** The recipient's URL: https (http only for loopback), no credentials, or a 400 problem naming `url`. */
const webhookUrl = (raw: string) => {
  const refuse = (why: string) => Problem.fail("invalid-body", `url: ${why}`, { field: "url" })
  if (!URL.canParse(raw)) return refuse("expected an absolute URL")
  const url = new URL(raw)
  if (url.username !== "" || url.password !== "") return refuse("credentials do not belong in a URL")
  if (url.protocol === "https:") return Effect.succeed(url.href)
  if (url.protocol === "http:" && loopback(url.hostname)) return Effect.succeed(url.href)
  return refuse("expected https (http only for a loopback address)")
}

const addRecipient = Effect.gen(function* () {
  const { tenant, actor } = yield* caller
  const input = yield* JsonBody.decode(AdminApi.RecipientRequest, maxBodyBytes)
  const url = yield* webhookUrl(input.url)
  const recipient = yield* service((dsar) =>
    dsar.putRecipient({
      tenant,
      name: input.name,
      kind: input.kind,
      url,
      secret: Redacted.make(input.secret),
      actor
    })
  )
  return json(recipientView(recipient), 201)
})

const listRecipients = Effect.gen(function* () {
  const { tenant } = yield* caller
  return json({ recipients: (yield* service((dsar) => dsar.recipients(tenant))).map(recipientView) })
})

const removeRecipient = Effect.gen(function* () {
  const { tenant, actor } = yield* caller
  const id = yield* pathId("recipient")
  const removed = yield* service((dsar) => dsar.removeRecipient(tenant, id, actor))
  if (!removed) return yield* Problem.fail("not-found", `no recipient ${id}`)
  return HttpServerResponse.empty({ status: 204 })
})

const listDeliveries = Effect.gen(function* () {
  const { tenant } = yield* caller
  const status = (yield* statusParam) as DsarStore.DeliveryStatus | undefined
  const deliveries = yield* service((dsar) => dsar.deliveries(tenant, status))
  return json({ deliveries: deliveries.map(deliveryView) })
})

/** Data-subject requests, holds and recipients (`AdminApi` group `dsar`). */
export const group = HttpApiBuilder.group(AdminApi.AdminApi, "dsar", (handlers) =>
  handlers
    .handleRaw("submitDsar", () => Problem.orStorageProblem(submit))
    .handleRaw("listDsar", () => Problem.orStorageProblem(list))
    .handleRaw("recordRelease", () => Problem.orStorageProblem(release))
    .handleRaw("dsarPolicy", () => Problem.orStorageProblem(readPolicy))
    .handleRaw("setDsarPolicy", () => Problem.orStorageProblem(putPolicy))
    .handleRaw("readDsar", () => Problem.orStorageProblem(read))
    .handleRaw("processDsar", () => Problem.orStorageProblem(process))
    .handleRaw("verifyDsar", () => Problem.orStorageProblem(verify))
    .handleRaw("extendDsar", () => Problem.orStorageProblem(withReason("extend")))
    .handleRaw("refuseDsar", () => Problem.orStorageProblem(withReason("refuse")))
    .handleRaw("dsarReport", () => Problem.orStorageProblem(report))
    .handleRaw("dsarExport", () => Problem.orStorageProblem(exportData))
    .handleRaw("addHold", () => Problem.orStorageProblem(addHold))
    .handleRaw("listHolds", () => Problem.orStorageProblem(listHolds))
    .handleRaw("releaseHold", () => Problem.orStorageProblem(releaseHold))
    .handleRaw("addRecipient", () => Problem.orStorageProblem(addRecipient))
    .handleRaw("listRecipients", () => Problem.orStorageProblem(listRecipients))
    .handleRaw("listDeliveries", () => Problem.orStorageProblem(listDeliveries))
    .handleRaw("removeRecipient", () => Problem.orStorageProblem(removeRecipient))
)
