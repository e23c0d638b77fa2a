/**
 * RFC 9457 problem details: every error the server answers is `application/problem+json` with a stable
 * `type` URI, a human title, the HTTP status and, for input problems, the field at fault. Never a stack trace.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type { ServerResponse } from "node:http"

export const contentType = "application/problem+json"

export type ProblemType =
  | "invalid-event"
  | "invalid-body"
  | "body-too-large"
  | "unsupported-media-type"
  | "unknown-site"
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "method-not-allowed"
  | "invalid-parameter"
  | "invalid-rule"
  | "conflict"
  | "privacy-budget-exhausted"
  | "unavailable"
  | "internal"

const titles: Record<ProblemType, string> = {
  "invalid-event": "The event is invalid",
  "invalid-body": "The request body is invalid",
  "body-too-large": "The request body is too large",
  "unsupported-media-type": "Unsupported media type",
  "unknown-site": "Unknown site key",
  unauthorized: "Missing or invalid API key",
  forbidden: "Forbidden",
  "not-found": "Not found",
  "method-not-allowed": "Method not allowed",
  "invalid-parameter": "Invalid query parameter",
  "invalid-rule": "The audience rule is invalid",
  conflict: "Conflict",
  "privacy-budget-exhausted": "Privacy budget exhausted",
  unavailable: "Temporarily unavailable",
  internal: "Internal error"
}

const statuses: Record<ProblemType, number> = {
  "invalid-event": 400,
  "invalid-body": 400,
  "body-too-large": 413,
  "unsupported-media-type": 415,
  "unknown-site": 400,
  unauthorized: 401,
  forbidden: 403,
  "not-found": 404,
  "method-not-allowed": 405,
  "invalid-parameter": 400,
  "invalid-rule": 422,
  conflict: 409,
  "privacy-budget-exhausted": 429,
  unavailable: 503,
  internal: 500
}

export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly field?: string
  readonly [extension: string]: unknown
}

export const make = (type: ProblemType, detail: string, extensions: Record<string, unknown> = {}): Problem => ({
  type: `https://openaudience.dev/problems/${type}`,
  title: titles[type],
  status: statuses[type],
  detail,
  ...extensions
})

/** Writes a problem on a raw node response (hot path). */
export const send = (res: ServerResponse, problem: Problem, headers: Record<string, string> = {}): void => {
  const body = JSON.stringify(problem)
  res.writeHead(problem.status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    ...headers
  })
  res.end(body)
}

/** A problem as an Effect platform response. */
export const response = (problem: Problem, headers: Record<string, string> = {}) =>
  HttpServerResponse.text(JSON.stringify(problem), {
    status: problem.status,
    contentType,
    headers: { "cache-control": "no-store", ...headers }
  })

/** A failure that answers with a problem (Effect routes turn it into the response). */
export class ProblemError {
  readonly _tag = "ProblemError"
  constructor(readonly problem: Problem) {}
}

/** Fails with a problem. */
export const fail = (type: ProblemType, detail: string, extensions: Record<string, unknown> = {}) =>
  Effect.fail(new ProblemError(make(type, detail, extensions)))
