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
 */
import { Role } from "@openaudience/tenancy"

/** What a route needs. */
export type Access = "public" | "metrics" | "operator" | Role.Permission

/** Every route of the server and what it needs, by `METHOD path` as the router lists it. */
export const routes: Readonly<Record<string, Access>> = {
  "GET /px.gif": "public",
  "POST /collect": "public",
  "POST /v1/events": "events:ingest",
  "GET /tag.js": "public",
  "GET /healthz": "public",
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
  "POST /v1/audiences": "audiences:write",
  "GET /v1/audiences": "audiences:read",
  "POST /v1/audiences/preview": "audiences:read",
  "GET /v1/audiences/:id": "audiences:read",
  "PUT /v1/audiences/:id": "audiences:write",
  "DELETE /v1/audiences/:id": "audiences:write",
  "POST /v1/audiences/:id/preview": "audiences:read",
  "GET /v1/audiences/:id/stats": "audiences:read",
  "GET /v1/audiences/:id/explain": "audiences:read"
}

/** What `METHOD path` needs, or undefined when the route is not declared. */
export const of = (method: string, path: string): Access | undefined => routes[`${method} ${path}`]

const describe = (access: Access): string => {
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

/**
 * The README's permission table: every route against every role (✓ where the role's keys may call it).
 */
export const markdownTable = (): string => {
  const header = ["route", "needs", ...Role.all]
  const rows = Object.entries(routes).map(([route, access]) => [
    `\`${route}\``,
    describe(access),
    ...Role.all.map((role) =>
      access === "public" ? "✓" : access === "metrics" || access === "operator" ? "" : Role.can(role, access) ? "✓" : ""
    )
  ])
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}
