/**
 * RFC 9457 problem details: every error the server answers is `application/problem+json` with a stable
 * `type` URI, a human title, the HTTP status and, for input problems, the field at fault. Never a stack trace.
 * The model and the collector's problems are @openaudience/collector's `Problem`; the admin routes add their own.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Problem as CollectorProblem } from "@openaudience/collector"
import * as Effect from "effect/Effect"
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
