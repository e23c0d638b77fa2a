/**
 * A data-subject request and its lifecycle, as pure functions over epoch-millisecond times the caller reads from
 * `Clock`. A request is received, optionally goes through identity verification, is worked on and ends completed
 * or refused (with a reason):
 *
 * ```text
 * received ──StartVerification──▶ verifying ──Verify──▶ in-progress ──Complete──▶ completed
 *     └──────────────────Start (identity already proven)───▲
 * received | verifying | in-progress ──Refuse(reason)──▶ refused
 * ```
 *
 * Alongside the status, a request may be extended once (`Extend`, a new `dueAt`, only while the first deadline has
 * not passed), acknowledged (`Acknowledge`, the receipt confirmed to the requester) and reminded (`markReminded`).
 * A child's data removal reported by a parent or guardian needs operator verification: it cannot skip `verifying`.
 * An erasure or child removal cannot complete while a legal hold covers one of its subjects (`Held`). Every change
 * is appended to `history`; an illegal change is a `DsarError`, never a throw.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Deadline from "./Deadline.js"
import * as Hold from "./Hold.js"
import { decoder } from "./internal/decoder.js"
import { Subject } from "./Subject.js"

/**
 * What a request asks for:
 *
 * - `access`: a copy of the subject's data (the export);
 * - `erasure`: the subject's data erased everywhere;
 * - `rectification`: an application user's account data corrected;
 * - `objection`: objection to direct marketing — a permanent opt-out of personalized ads for that subject;
 * - `restriction`: processing restricted while a dispute is settled;
 * - `child-removal`: a child's data removed at the request of a parent or guardian (verified by an operator).
 *
 * @since 0.1.0
 * @category models
 */
export const RequestType = Schema.Literal(
  "access",
  "erasure",
  "rectification",
  "objection",
  "restriction",
  "child-removal"
)

/**
 * What a request asks for.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestType = typeof RequestType.Type

/**
 * Where a request is. `completed` and `refused` are final.
 *
 * @since 0.1.0
 * @category models
 */
export const Status = Schema.Literal("received", "verifying", "in-progress", "completed", "refused")

/**
 * Where a request is.
 *
 * @since 0.1.0
 * @category models
 */
export type Status = typeof Status.Type

/**
 * The statuses of a request still to be answered.
 *
 * @since 0.1.0
 * @category models
 */
export const openStatuses: ReadonlyArray<Status> = ["received", "verifying", "in-progress"]

/**
 * Why a change to a request (or a request itself) was refused:
 *
 * - `InvalidRequest`: the request cannot be made as given (no subject, a subject of another tenant, a type that
 *   does not apply to its subjects);
 * - `InvalidTransition`: the action does not apply to the request's status (or an extension or refusal gives no
 *   reason);
 * - `VerificationRequired`: a child removal must be verified by an operator first;
 * - `ExtensionTooLate`: notice of an extension must be given before the first deadline;
 * - `AlreadyExtended`: a request is extended at most once;
 * - `NotExtendable`: the policy allows no extension;
 * - `Held`: a legal hold defers the erasure;
 * - `NotFound`: no such request for this tenant (for callers reading a store).
 *
 * @since 0.1.0
 * @category errors
 */
export const DsarErrorReason = Schema.Literal(
  "InvalidRequest",
  "InvalidTransition",
  "VerificationRequired",
  "ExtensionTooLate",
  "AlreadyExtended",
  "NotExtendable",
  "Held",
  "NotFound"
)

/**
 * Why a change to a request was refused.
 *
 * @since 0.1.0
 * @category errors
 */
export type DsarErrorReason = typeof DsarErrorReason.Type

/**
 * A request or a change to it was refused, with a reason callers match on.
 *
 * @since 0.1.0
 * @category errors
 */
export class DsarError extends Schema.TaggedError<DsarError>("@openaudience/dsar/DsarError")("DsarError", {
  reason: DsarErrorReason,
  message: Schema.String
}) {}

/**
 * One change of a request: when, from which status to which (the same for an extension, an acknowledgement or a
 * reminder), by whom (an actor id such as `user:u_1`, `key:key_1` or `system`), what (`action`) and a note.
 *
 * @since 0.1.0
 * @category models
 */
export class Transition extends Schema.Class<Transition>("@openaudience/dsar/Request/Transition")({
  at: Schema.Int,
  from: Schema.NullOr(Status),
  to: Status,
  action: Schema.String,
  actor: Schema.String,
  note: Schema.optional(Schema.String)
}) {}

/**
 * A data-subject request. `dueAt` is the deadline in force (moved once by an extension; `initialDueAt` keeps the
 * first); `remindersSent` holds the `at` of each reminder sent for the deadline in force; `version` is the store's
 * optimistic-concurrency counter (a pure change keeps it; the store moves it on each update).
 *
 * @since 0.1.0
 * @category models
 */
export class Request extends Schema.Class<Request>("@openaudience/dsar/Request")({
  id: Schema.String,
  tenant: Schema.String,
  type: RequestType,
  subjects: Schema.Array(Subject),
  status: Status,
  regime: Deadline.Regime,
  receivedAt: Schema.Int,
  initialDueAt: Schema.Int,
  dueAt: Schema.Int,
  extendedAt: Schema.optional(Schema.Int),
  extensionReason: Schema.optional(Schema.String),
  acknowledgedAt: Schema.optional(Schema.Int),
  remindersSent: Schema.Array(Schema.Int),
  completedAt: Schema.optional(Schema.Int),
  refusedAt: Schema.optional(Schema.Int),
  refusedReason: Schema.optional(Schema.String),
  history: Schema.Array(Transition),
  version: Schema.Int
}) {}

/**
 * What a request is made of.
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeInput {
  readonly id: string
  readonly tenant: string
  readonly type: RequestType
  readonly subjects: ReadonlyArray<Subject>
  readonly receivedAt: number
  readonly policy: Deadline.Policy
  /** Who recorded it (default `system`). */
  readonly actor?: string | undefined
  readonly note?: string | undefined
}

const fail = (reason: DsarErrorReason, message: string): Either.Either<never, DsarError> =>
  Either.left(new DsarError({ reason, message }))

/**
 * A new request id: `dsr_` and 32 hex digits from `Random`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeId: Effect.Effect<string> = Effect.map(
  Effect.all(Array.from({ length: 4 }, () => Random.nextIntBetween(0, 0x10000 * 0x10000))),
  (words) => `dsr_${words.map((word) => word.toString(16).padStart(8, "0")).join("")}`
)

/**
 * A received request with its deadline under `policy`. Refused (`InvalidRequest`) without a subject, with a subject
 * of another tenant, a rectification of anything but application users, or an objection without a visitor or
 * browser (it opts a visitor out of personalized ads).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: MakeInput): Either.Either<Request, DsarError> => {
  if (input.subjects.length === 0) return fail("InvalidRequest", "a request is about at least one subject")
  if (input.subjects.some((subject) => subject.tenant !== input.tenant)) {
    return fail("InvalidRequest", `every subject of a request of tenant ${JSON.stringify(input.tenant)} is its own`)
  }
  if (input.type === "rectification" && input.subjects.some((subject) => subject._tag !== "User")) {
    return fail("InvalidRequest", "rectification applies to application users' account data only")
  }
  if (input.type === "objection" && !input.subjects.some((subject) => subject._tag !== "User")) {
    return fail("InvalidRequest", "an objection to personalized ads is about a visitor or a browser")
  }
  const due = Deadline.dueAt(input.policy, input.receivedAt)
  return Either.right(
    new Request({
      id: input.id,
      tenant: input.tenant,
      type: input.type,
      subjects: input.subjects,
      status: "received",
      regime: input.policy.regime,
      receivedAt: input.receivedAt,
      initialDueAt: due,
      dueAt: due,
      remindersSent: [],
      history: [
        new Transition({
          at: input.receivedAt,
          from: null,
          to: "received",
          action: "receive",
          actor: input.actor ?? "system",
          ...(input.note === undefined ? {} : { note: input.note })
        })
      ],
      version: 0
    })
  )
}

/**
 * A change to a request. `Extend` carries the tenant's policy (the extension's length) and the reason given to the
 * requester; `Complete` carries the tenant's holds, checked for an erasure or child removal.
 *
 * @since 0.1.0
 * @category models
 */
export const Action = Schema.Union(
  Schema.TaggedStruct("Acknowledge", {}),
  Schema.TaggedStruct("StartVerification", {}),
  Schema.TaggedStruct("Verify", {}),
  Schema.TaggedStruct("Start", {}),
  Schema.TaggedStruct("Extend", { reason: Schema.String, policy: Deadline.Policy }),
  Schema.TaggedStruct("Complete", { holds: Schema.optional(Schema.Array(Hold.Hold)) }),
  Schema.TaggedStruct("Refuse", { reason: Schema.String })
)

/**
 * A change to a request.
 *
 * @since 0.1.0
 * @category models
 */
export type Action = typeof Action.Type

/**
 * Decodes an action from untrusted JSON (`{"_tag": "Refuse", "reason": …}` and so on), failing with a message that
 * names every broken field. Unlike decoding with `Action` directly, it never throws: Effect's union decoding throws on
 * a tag that cannot become text, such as `{"toString": false}`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeAction: (input: unknown) => Either.Either<Action, string> = decoder(Action)

/**
 * Whether a request is still to be answered.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isOpen = (request: Request): boolean => openStatuses.includes(request.status)

/**
 * The holds in force at `at` that defer erasing any of the request's subjects.
 *
 * @since 0.1.0
 * @category combinators
 */
export const blockingHolds = (
  request: Request,
  holds: ReadonlyArray<Hold.Hold>,
  at: number
): ReadonlyArray<Hold.Hold> => {
  const found = new Map<string, Hold.Hold>()
  for (const subject of request.subjects) {
    for (const hold of Hold.blocking(holds, subject, at)) found.set(hold.id, hold)
  }
  return [...found.values()]
}

const erases = (type: RequestType): boolean => type === "erasure" || type === "child-removal"

const actionName = (action: Action): string => {
  switch (action._tag) {
    case "Acknowledge":
      return "acknowledge"
    case "StartVerification":
      return "start-verification"
    case "Verify":
      return "verify"
    case "Start":
      return "start"
    case "Extend":
      return "extend"
    case "Complete":
      return "complete"
    case "Refuse":
      return "refuse"
  }
}

const invalid = (request: Request, action: Action): Either.Either<never, DsarError> =>
  fail(
    "InvalidTransition",
    `request ${JSON.stringify(request.id)} is ${request.status}: ${actionName(action)} does not apply`
  )

/**
 * Applies `action` to `request` at `at` by `actor`, appending to its history; an action that does not apply is a
 * `DsarError` (the request is unchanged).
 *
 * @since 0.1.0
 * @category combinators
 */
export const transition = (
  request: Request,
  action: Action,
  at: number,
  actor: string
): Either.Either<Request, DsarError> => {
  const step = (to: Status, changes: Partial<Request>, note?: string): Either.Either<Request, DsarError> =>
    Either.right(
      new Request({
        ...request,
        ...changes,
        status: to,
        history: [
          ...request.history,
          new Transition({
            at,
            from: request.status,
            to,
            action: actionName(action),
            actor,
            ...(note === undefined ? {} : { note })
          })
        ]
      })
    )
  if (!isOpen(request)) return invalid(request, action)
  // Art. 12(3) and (4) GDPR: the requester is told why a request is extended or refused.
  if ((action._tag === "Refuse" || action._tag === "Extend") && action.reason.trim() === "") {
    return fail("InvalidTransition", `request ${JSON.stringify(request.id)}: ${actionName(action)} states its reason`)
  }
  switch (action._tag) {
    case "Acknowledge":
      return request.acknowledgedAt === undefined
        ? step(request.status, { acknowledgedAt: at })
        : invalid(request, action)
    case "StartVerification":
      return request.status === "received" ? step("verifying", {}) : invalid(request, action)
    case "Verify":
      return request.status === "verifying" ? step("in-progress", {}) : invalid(request, action)
    case "Start":
      if (request.status !== "received") return invalid(request, action)
      if (request.type === "child-removal") {
        return fail(
          "VerificationRequired",
          `request ${JSON.stringify(request.id)} removes a child's data: an operator verifies the parent or guardian first`
        )
      }
      return step("in-progress", {})
    case "Extend": {
      if (request.extendedAt !== undefined) {
        return fail("AlreadyExtended", `request ${JSON.stringify(request.id)} was extended already`)
      }
      if (action.policy.regime !== request.regime) {
        return fail(
          "InvalidTransition",
          `request ${JSON.stringify(request.id)} is under ${request.regime}, not ${action.policy.regime}`
        )
      }
      if (at > request.initialDueAt) {
        return fail(
          "ExtensionTooLate",
          `request ${JSON.stringify(request.id)}: an extension is notified before the first deadline`
        )
      }
      const due = Deadline.extendedDueAt(action.policy, request.receivedAt)
      if (due === undefined) return fail("NotExtendable", `the ${request.regime} policy allows no extension`)
      return step(
        request.status,
        { dueAt: Math.max(due, request.dueAt), extendedAt: at, extensionReason: action.reason, remindersSent: [] },
        action.reason
      )
    }
    case "Complete": {
      if (request.status !== "in-progress") return invalid(request, action)
      if (erases(request.type)) {
        const held = blockingHolds(request, action.holds ?? [], at)
        if (held.length > 0) {
          return fail(
            "Held",
            `request ${JSON.stringify(request.id)}: erasure deferred by legal hold ${held
              .map((hold) => `${hold.id} (${hold.reference})`)
              .join(", ")}`
          )
        }
      }
      return step("completed", { completedAt: at })
    }
    case "Refuse":
      return step("refused", { refusedAt: at, refusedReason: action.reason }, action.reason)
  }
}

/**
 * The reminders of the deadline in force that are due at `now` and not sent yet (none once the request is answered
 * or the deadline has passed: see `overdue`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const remindersDue = (
  request: Request,
  policy: Deadline.Policy,
  now: number
): ReadonlyArray<Deadline.Reminder> => {
  if (!isOpen(request) || now >= request.dueAt) return []
  return Deadline.reminders(policy, request.receivedAt, request.dueAt).filter(
    (reminder) => reminder.at <= now && !request.remindersSent.includes(reminder.at)
  )
}

/**
 * Records reminders as sent (`remindersDue` no longer returns them).
 *
 * @since 0.1.0
 * @category combinators
 */
export const markReminded = (request: Request, sent: ReadonlyArray<Deadline.Reminder>): Request =>
  new Request({
    ...request,
    remindersSent: [...new Set([...request.remindersSent, ...sent.map((reminder) => reminder.at)])].sort(
      (a, b) => a - b
    )
  })

/**
 * Whether a request is still open after its deadline in force.
 *
 * @since 0.1.0
 * @category predicates
 */
export const overdue = (request: Request, now: number): boolean => isOpen(request) && now > request.dueAt
