/**
 * The audit trail of the admin API, on @openaudience/audit's hash-chained log: every change to tenants, sites,
 * keys and audiences, every read of raw events or of a visitor's state, and every refusal of a valid key, with who
 * (the key's id or the operator, never a key), the tenant, the action, the target, the time and the outcome.
 * `GET /v1/audit` lists a tenant's entries (`audit:read`).
 *
 * An entry is appended after the action: when the log cannot be written, the request fails with a 503 and the
 * error is logged (an action already done stays done; the log says so by its absence, which `verify` cannot see).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { AuditEntry, AuditLog } from "@openaudience/audit"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Access from "./Access.js"
import * as Problem from "./Problem.js"

/** Who acted: an API key (by id), a console user (by id) or the operator. */
export type Actor =
  | { readonly kind: "key"; readonly id: string }
  | { readonly kind: "user"; readonly id: string }
  | { readonly kind: "operator"; readonly id: "operator" }

/** The operator, as an actor. */
export const operator: Actor = { kind: "operator", id: "operator" }

/**
 * Appends one entry; a log that cannot be written is a 503 (and logged). Details that look personal (a site key
 * that reads as a card number, say) are redacted rather than refused: the action is recorded all the same.
 */
export const append = (entry: {
  readonly tenant: string | null
  readonly actor: Actor
  readonly action: string
  readonly target: string
  readonly outcome: "success" | "denied" | "failed"
  readonly details?: Record<string, string | number | boolean | null> | undefined
}) =>
  Effect.flatMap(AuditLog.AuditLog, (log) =>
    log.append({ ...entry, details: AuditEntry.redactDetails(entry.details ?? {}) })
  ).pipe(
    // A busy or briefly unreachable database (another process writing, a failover) is retried for about 5 s before
    // the request is refused: an action that was done should not be answered 503 for a moment's contention.
    Effect.retry({
      while: (error) => error.reason === "Unavailable",
      schedule: Schedule.exponential("50 millis", 2).pipe(
        Schedule.modifyDelay((delay) => Duration.min(delay, Duration.seconds(1))),
        Schedule.intersect(Schedule.recurs(8))
      )
    }),
    Effect.asVoid,
    Effect.catchAll((error) =>
      Effect.zipRight(
        Effect.logError("Could not write the audit log", error),
        Problem.fail("unavailable", "the audit log cannot be written; try again shortly")
      )
    )
  )

/**
 * Runs `effect` (an action of `actor` in `tenant`) and records it: `success`, or `failed` when it fails (with the
 * problem's status in the details); the failure goes on to the client.
 */
export const audited = <A, E, R>(
  scope: { readonly tenant: string | null; readonly actor: Actor; readonly action: string; readonly target: string },
  effect: Effect.Effect<A, E, R>,
  details?: (value: A) => Record<string, string | number | boolean | null>
) =>
  effect.pipe(
    // A failed action is recorded without holding its answer back (a refused oversized body must be answered while
    // the client is still sending it, not after a database round trip).
    Effect.tapError((error) =>
      Effect.forkDaemon(
        append({
          ...scope,
          outcome: "failed",
          details:
            error instanceof Problem.ProblemError ? { status: error.problem.status, problem: error.problem.type } : {}
        })
      )
    ),
    Effect.tap((value) => append({ ...scope, outcome: "success", details: details?.(value) }))
  )

/** `GET /v1/audit?after=SEQ&limit=N`: the tenant's entries, oldest first (`audit:read`). */
export const list = Effect.gen(function* () {
  const { tenant } = yield* Access.principal
  const params = yield* HttpServerRequest.ParsedSearchParams
  const number = (raw: unknown, field: string, min: number, max: number, fallback: number) => {
    if (raw === undefined) return Effect.succeed(fallback)
    const n = typeof raw === "string" && /^\d{1,12}$/.test(raw) ? Number(raw) : Number.NaN
    return n >= min && n <= max
      ? Effect.succeed(n)
      : Problem.fail("invalid-parameter", `${field}: expected an integer from ${min} to ${max}`, { field })
  }
  const after = yield* number(params.after, "after", 0, Number.MAX_SAFE_INTEGER, 0)
  const limit = yield* number(params.limit, "limit", 1, 1000, 100)
  const log = yield* AuditLog.AuditLog
  const entries = yield* log
    .list({ tenant: tenant.id, after, limit })
    .pipe(Effect.catchAll(() => Problem.fail("unavailable", "the audit log cannot be read; try again shortly")))
  return HttpServerResponse.unsafeJson({ entries }, { headers: { "cache-control": "no-store" } })
})

/**
 * A route handler audited as `action` on `target(params)` by the request's principal (authorized for what the route
 * declares).
 */
export const route = <A, E, R>(
  action: string,
  target: (params: Readonly<Record<string, string | undefined>>) => string,
  handler: Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const { tenant, keyId } = yield* Access.principal
    const params = yield* HttpRouter.params
    return yield* audited(
      { tenant: tenant.id, actor: { kind: "key", id: keyId }, action, target: target(params) },
      handler
    )
  })
