/**
 * RFC 9457 problem details: every error the server answers is `application/problem+json` with a stable
 * `type` URI, a human title, the HTTP status and, for input problems, the field at fault. Never a stack trace.
 * The model and the collector's problems are @openaudience/collector's `Problem`; the admin routes add their own.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Problem as CollectorProblem } from "@openaudience/collector"
import { StorageError } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { ServerResponse } from "node:http"

export const contentType = CollectorProblem.contentType

/** The collector's problems and the server's own. */
export type ProblemType =
  | CollectorProblem.Type
  | "unknown-site"
  | "forbidden"
  | "not-found"
  | "invalid-parameter"
  | "invalid-rule"
  | "conflict"
  | "privacy-budget-exhausted"
  | "too-many-requests"

const definitions: Record<ProblemType, CollectorProblem.Definition> = {
  ...CollectorProblem.definitions,
  "unknown-site": { title: "Unknown site key", status: 400 },
  forbidden: { title: "Forbidden", status: 403 },
  "not-found": { title: "Not found", status: 404 },
  "invalid-parameter": { title: "Invalid query parameter", status: 400 },
  "invalid-rule": { title: "The audience rule is invalid", status: 422 },
  conflict: { title: "Conflict", status: 409 },
  "privacy-budget-exhausted": { title: "Privacy budget exhausted", status: 429 },
  "too-many-requests": { title: "Too many requests", status: 429 }
}

export type Problem = CollectorProblem.Problem

export const make = (type: ProblemType, detail: string, extensions: Record<string, unknown> = {}): Problem =>
  CollectorProblem.of(type, definitions[type], detail, extensions)

/**
 * A body refused for its size is not read to its end, so the connection cannot carry another request: the answer
 * asks to close it (the listener's lingering close lets a client still sending read it first).
 */
const closing = (problem: Problem): Record<string, string> => (problem.status === 413 ? { connection: "close" } : {})

/** Writes a problem on a raw node response (hot path). */
export const send = (res: ServerResponse, problem: Problem, headers: Record<string, string> = {}): void => {
  const body = JSON.stringify(problem)
  res.writeHead(problem.status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...closing(problem),
    ...headers
  })
  res.end(body)
}

/** A problem as an Effect platform response. */
export const response = (problem: Problem, headers: Record<string, string> = {}) =>
  HttpServerResponse.text(JSON.stringify(problem), {
    status: problem.status,
    contentType,
    headers: { "cache-control": "no-store", ...closing(problem), ...headers }
  })

/** A failure that answers with a problem (Effect routes turn it into the response). */
export class ProblemError {
  readonly _tag = "ProblemError"
  constructor(readonly problem: Problem) {}
}

/** Fails with a problem. */
export const fail = (type: ProblemType, detail: string, extensions: Record<string, unknown> = {}) =>
  Effect.fail(new ProblemError(make(type, detail, extensions)))

/**
 * A `ProblemError` as a schema, for the admin API's declared errors (OpenAPI documents it as a problem details
 * object; the router answers it with the problem's own status).
 */
export const ProblemSchema = Schema.declare((input: unknown): input is ProblemError => input instanceof ProblemError, {
  identifier: "Problem",
  description: "RFC 9457 problem details",
  jsonSchema: {
    type: "object",
    required: ["type", "title", "status"],
    properties: {
      type: { type: "string", format: "uri", description: "a stable URI naming the kind of problem" },
      title: { type: "string" },
      status: { type: "integer" },
      detail: { type: "string" },
      field: { type: "string", description: "the field at fault, as a path such as `origins[0]`" },
      errors: {
        type: "array",
        description: "every field at fault",
        items: {
          type: "object",
          required: ["field", "message"],
          properties: { field: { type: "string" }, message: { type: "string" } }
        }
      }
    }
  }
})

/** A path of a decoding issue as a field name: `origins[0]`, `policy.jurisdictions`. */
export const fieldPath = (path: ReadonlyArray<PropertyKey>): string =>
  path
    .map((key, i) =>
      typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${typeof key === "symbol" ? String(key) : key}`
    )
    .join("")

/** Issues of a decoding (`{ path, message }`), as a problem of `type` naming every field at fault. */
export const fromIssues = (
  type: "invalid-body" | "invalid-parameter",
  issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>
): Problem => {
  // One entry per field (a union's members each report on the same field), at most 20.
  const errors: Array<{ field: string; message: string }> = []
  for (const issue of issues) {
    const field = fieldPath(issue.path)
    if (errors.some((error) => error.field === field)) continue
    errors.push({ field, message: issue.message.length > 300 ? `${issue.message.slice(0, 300)}…` : issue.message })
    if (errors.length === 20) break
  }
  const first = errors[0] ?? { field: "", message: "invalid" }
  return make(type, first.field === "" ? first.message : `${first.field}: ${first.message}`, {
    ...(first.field === "" ? {} : { field: first.field }),
    errors
  })
}

/** A schema's parse error as a problem of `type` naming every field at fault. */
export const fromParseError = (type: "invalid-body" | "invalid-parameter", error: ParseResult.ParseError): Problem =>
  fromIssues(type, ParseResult.ArrayFormatter.formatErrorSync(error))

/**
 * An effect whose failures are all problems: a storage value the database cannot take is the request's fault (400),
 * a database that is down is temporary (503, logged); any other failure that is not already a problem is a defect
 * (answered 500 and logged by the router).
 */
export const orStorageProblem = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, ProblemError, R> =>
  Effect.catchAll(effect, (error: E): Effect.Effect<never, ProblemError> => {
    if (error instanceof ProblemError) return Effect.fail(error)
    if (error instanceof StorageError) {
      return error.reason === "InvalidInput"
        ? fail("invalid-parameter", "a value of the request cannot be looked up")
        : error.reason === "Unavailable"
          ? Effect.zipRight(
              Effect.logWarning("database unavailable", error.message),
              fail("unavailable", "the database is unavailable; try again shortly")
            )
          : Effect.die(error)
    }
    return Effect.die(error)
  })
