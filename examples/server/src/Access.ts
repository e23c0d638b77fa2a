/**
 * Who may call which route. Every route the server serves is declared here (a test derives the route list from
 * the router and fails on a route without a declaration), and the README's permission table is rendered from this
 * declaration and @openaudience/tenancy's `Role.table` (a test fails when they differ).
 *
 * - `public`: anyone (the collector's routes, which authenticate their own way, the tag, the opt-out pages,
 *   health).
 * - `metrics`: `OA_METRICS_TOKEN` when it is set.
 * - `operator`: the operator key (`OA_OPERATOR_KEY`), for tenants themselves.
 * - a permission: an API key of the tenant whose role holds it (`Role.can`).
 * - `session(…)`: a console page, for a user signed in to the console whose role holds the permission (the same
 *   `Role.can` table as keys), or any signed-in user (`session()`); the page checks the session cookie itself
 *   (Console.ts) against this declaration.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { User } from "@openaudience/accounts"
import { AuditLog } from "@openaudience/audit"
import { Role } from "@openaudience/tenancy"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"
import * as Problem from "./Problem.js"
import { bearerKey, Tenants } from "./Tenants.js"

/** A console page: a signed-in user whose role holds `session` (`"any"`: every signed-in user). */
export interface SessionAccess {
  readonly session: Role.Permission | "any"
}

/** What a route needs. */
export type Access = "public" | "metrics" | "operator" | Role.Permission | SessionAccess

/** A console page for signed-in users whose role holds `permission` (by default any signed-in user). */
export const session = (permission: Role.Permission | "any" = "any"): SessionAccess => ({ session: permission })

/** Every route of the server and what it needs, by `METHOD path` as the router lists it. */
export const routes: Readonly<Record<string, Access>> = {
  "GET /px.gif": "public",
  "POST /collect": "public",
  "POST /v1/events": "events:ingest",
  "GET /tag.js": "public",
  "GET /healthz": "public",
  "GET /openapi.json": "public",
  "GET /docs": "public",
  "GET /metrics": "metrics",
  "GET /v1/events": "events:read",
  "GET /v1/stats/daily": "stats:read",
  "GET /v1/reports/:report": "reports:partner",
  "GET /optout": "public",
  "POST /optout": "public",
  "GET /optout/status": "public",
  "GET /.well-known/gpc.json": "public",
  "GET /": "public",
  "GET /demo/*": "public",
  "GET /ad": "public",
  "GET /xsite/link": "public",
  "POST /xsite/link": "public",
  "GET /privacy": "public",
  "POST /privacy": "public",
  "GET /privacy/download.json": "public",
  "GET /privacy/download.zip": "public",
  "GET /privacy/delete": "public",
  "POST /privacy/delete": "public",
  "GET /privacy/report/:id": "public",
  "GET /.well-known/openaudience-dsar-key": "public",
  "GET /click/*": "public",
  "GET /ad/impression/*": "public",
  "POST /ad/impression/*": "public",
  "POST /v1/audiences": "audiences:write",
  "GET /v1/audiences": "audiences:read",
  "POST /v1/audiences/preview": "audiences:read",
  "GET /v1/audiences/:id": "audiences:read",
  "PUT /v1/audiences/:id": "audiences:write",
  "DELETE /v1/audiences/:id": "audiences:write",
  "POST /v1/audiences/:id/preview": "audiences:read",
  "GET /v1/audiences/:id/stats": "audiences:read",
  "GET /v1/audiences/:id/explain": "audiences:read",
  "POST /v1/tenants": "operator",
  "GET /v1/tenants": "operator",
  "GET /v1/tenants/:id": "operator",
  "DELETE /v1/tenants/:id": "operator",
  "POST /v1/tenants/:id/keys": "operator",
  "GET /v1/sites": "sites:manage",
  "POST /v1/sites": "sites:manage",
  "GET /v1/sites/:siteKey": "sites:manage",
  "PATCH /v1/sites/:siteKey": "sites:manage",
  "DELETE /v1/sites/:siteKey": "sites:manage",
  "GET /v1/keys": "keys:manage",
  "POST /v1/keys": "keys:manage",
  "DELETE /v1/keys/:id": "keys:manage",
  "GET /v1/audit": "audit:read",
  "GET /v1/campaigns": "campaigns:read",
  "POST /v1/campaigns": "campaigns:write",
  "GET /v1/campaigns/:id": "campaigns:read",
  "PUT /v1/campaigns/:id": "campaigns:write",
  "DELETE /v1/campaigns/:id": "campaigns:write",
  "GET /v1/campaigns/:id/stats": "campaigns:read",
  "PUT /v1/catalog": "catalog:write",
  "GET /v1/catalog": "campaigns:read",
  "GET /contact": "public",
  "POST /contact": "public",
  "POST /v1/inquiries": "public",
  "GET /v1/inquiries": "privacy:manage",
  "POST /v1/inquiries/:id/close": "privacy:manage",
  "DELETE /v1/inquiries/:id": "privacy:manage",
  "POST /v1/dsar": "privacy:manage",
  "GET /v1/dsar": "privacy:manage",
  "POST /v1/dsar/releases": "privacy:manage",
  "GET /v1/dsar/policy": "privacy:manage",
  "PUT /v1/dsar/policy": "privacy:manage",
  "GET /v1/dsar/:id": "privacy:manage",
  "POST /v1/dsar/:id/process": "privacy:manage",
  "POST /v1/dsar/:id/verify": "privacy:manage",
  "POST /v1/dsar/:id/extend": "privacy:manage",
  "POST /v1/dsar/:id/refuse": "privacy:manage",
  "GET /v1/dsar/:id/report": "privacy:manage",
  "GET /v1/dsar/:id/export": "privacy:manage",
  "POST /v1/holds": "privacy:manage",
  "GET /v1/holds": "privacy:manage",
  "DELETE /v1/holds/:id": "privacy:manage",
  "POST /v1/recipients": "privacy:manage",
  "GET /v1/recipients": "privacy:manage",
  "GET /v1/recipients/deliveries": "privacy:manage",
  "DELETE /v1/recipients/:id": "privacy:manage",
  "POST /v1/users/invitations": "users:manage",
  "GET /v1/users": "users:manage",
  "DELETE /v1/users/:id": "users:manage",
  "GET /console": "public",
  "GET /console/login": "public",
  "POST /console/login": "public",
  "GET /console/accept": "public",
  "POST /console/accept": "public",
  "GET /console/reset": "public",
  "POST /console/reset": "public",
  "GET /console/reset/confirm": "public",
  "POST /console/reset/confirm": "public",
  "POST /console/logout": session(),
  "GET /console/account": session(),
  "POST /console/account": session(),
  "POST /console/account/totp": session(),
  "POST /console/account/totp/confirm": session(),
  "GET /console/account/export": session(),
  "GET /console/account/delete": session(),
  "POST /console/account/delete": session(),
  "GET /console/sites": session("sites:manage"),
  "GET /console/keys": session("keys:manage"),
  "POST /console/keys": session("keys:manage"),
  "POST /console/keys/:id/revoke": session("keys:manage"),
  "GET /console/users": session("users:manage"),
  "POST /console/users": session("users:manage"),
  "POST /console/users/:id/remove": session("users:manage")
}

/** What `METHOD path` needs, or undefined when the route is not declared. */
export const of = (method: string, path: string): Access | undefined => routes[`${method} ${path}`]

const describe = (access: Access): string => {
  if (typeof access !== "string") {
    return access.session === "any" ? "console session" : `console session, \`${access.session}\``
  }
  switch (access) {
    case "public":
      return "anyone"
    case "metrics":
      return "`OA_METRICS_TOKEN` (when set)"
    case "operator":
      return "`OA_OPERATOR_KEY`"
    default:
      return `\`${access}\``
  }
}

/** Whether a key (or, for console pages, a user) of `role` may call a route that needs `access`. */
const allows = (role: Role.Role, access: Access): boolean => {
  if (typeof access !== "string") {
    return (
      (User.UserRole.literals as ReadonlyArray<string>).includes(role) &&
      (access.session === "any" || Role.can(role, access.session))
    )
  }
  return access === "public" ? true : access === "metrics" || access === "operator" ? false : Role.can(role, access)
}

/**
 * The README's permission table: every route against every role (✓ where the role's keys, or for console pages
 * its users, may call it).
 */
export const markdownTable = (): string => {
  const header = ["route", "needs", ...Role.all]
  const rows = Object.entries(routes).map(([route, access]) => [
    `\`${route}\``,
    describe(access),
    ...Role.all.map((role) => (allows(role, access) ? "✓" : ""))
  ])
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}

/**
 * Whether `authorization` is `Bearer <secret>`, compared in constant time (over SHA-256 digests, so lengths leak
 * nothing either; a missing header costs as long as a wrong one).
 */
export const bearerIs = (secret: Redacted.Redacted<string>, authorization: string | undefined): boolean => {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? "")
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest()
  const equal = timingSafeEqual(digest(match?.[1] ?? ""), digest(Redacted.value(secret)))
  return match !== null && equal
}

/** The operator key of a request, or a 401/403 problem (the tenants API is off without `OA_OPERATOR_KEY`). */
export const operator = (operatorKey: Redacted.Redacted<string> | undefined, authorization: string | undefined) =>
  operatorKey === undefined
    ? Problem.fail("forbidden", "the operator API is off: set OA_OPERATOR_KEY to use it")
    : bearerIs(operatorKey, authorization)
      ? Effect.void
      : Problem.fail("unauthorized", "send the operator key as 'Authorization: Bearer <key>'")

/**
 * The API key of a request as a principal of its tenant whose role holds `permission`, or a 401 (no valid key) or
 * 403 (a valid key whose role does not hold it) problem.
 */
export const authorize = (authorization: string | undefined, permission: Role.Permission) =>
  Effect.gen(function* () {
    const tenants = yield* Tenants
    const key = bearerKey(authorization)
    if (key === undefined) {
      return yield* Problem.fail("unauthorized", "send the API key as 'Authorization: Bearer <key>'")
    }
    const found = tenants.authenticate(key)
    if (found === undefined) return yield* Problem.fail("unauthorized", "the API key is not valid")
    if (!Role.can(found.role, permission)) {
      // A valid key refused: recorded (who tried what), then answered.
      const { route } = yield* HttpRouter.RouteContext
      yield* Effect.flatMap(AuditLog.AuditLog, (log) =>
        log.append({
          tenant: found.tenant.id,
          actor: { kind: "key", id: found.keyId },
          action: "access.denied",
          target: `route:${route.method} ${route.path}`,
          outcome: "denied",
          details: { role: found.role, permission }
        })
      ).pipe(Effect.catchAll((error) => Effect.logError("Could not write the audit log", error)))
      return yield* Problem.fail("forbidden", `the role ${found.role} does not have the permission ${permission}`)
    }
    return found
  })

/**
 * The principal of the current request, authorized for what its route declares in `routes` (the declaration is
 * what is enforced: a route cannot need one thing in the README and check another). For routes that need a
 * permission only.
 */
export const principal = Effect.gen(function* () {
  const { route } = yield* HttpRouter.RouteContext
  const request = yield* HttpServerRequest.HttpServerRequest
  const access = of(route.method, route.path)
  if (
    access === undefined ||
    typeof access !== "string" ||
    access === "public" ||
    access === "metrics" ||
    access === "operator"
  ) {
    return yield* Effect.dieMessage(`${route.method} ${route.path} declares no key permission (Access.routes)`)
  }
  return yield* authorize(request.headers.authorization, access)
})
