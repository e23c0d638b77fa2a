/**
 * RFC 9457 problem details, as the collector answers its errors: `application/problem+json` with a stable `type`
 * URI (`https://openaudience.dev/problems/<type>`), a human title, the HTTP status, a detail and, for input
 * problems, the field at fault. Never a stack trace. A server that answers other problems of its own extends
 * `definitions` and builds them with `of`, so every answer has the same shape.
 *
 * @since 0.1.0
 */

/**
 * The media type of a problem answer.
 *
 * @since 0.1.0
 * @category constants
 */
export const contentType = "application/problem+json"

/**
 * The problems the collector answers.
 *
 * @since 0.1.0
 * @category models
 */
export type Type =
  | "invalid-event"
  | "invalid-body"
  | "body-too-large"
  | "unsupported-media-type"
  | "unauthorized"
  | "method-not-allowed"
  | "unavailable"
  | "internal"

/**
 * The title and HTTP status of one problem type.
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition {
  readonly title: string
  readonly status: number
}

/**
 * The titles and statuses of the collector's problems.
 *
 * @since 0.1.0
 * @category constants
 */
export const definitions: { readonly [type in Type]: Definition } = {
  "invalid-event": { title: "The event is invalid", status: 400 },
  "invalid-body": { title: "The request body is invalid", status: 400 },
  "body-too-large": { title: "The request body is too large", status: 413 },
  "unsupported-media-type": { title: "Unsupported media type", status: 415 },
  unauthorized: { title: "Missing or invalid API key", status: 401 },
  "method-not-allowed": { title: "Method not allowed", status: 405 },
  unavailable: { title: "Temporarily unavailable", status: 503 },
  internal: { title: "Internal error", status: 500 }
}

/**
 * A problem answer's body.
 *
 * @since 0.1.0
 * @category models
 */
export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly field?: string
  readonly [extension: string]: unknown
}

/**
 * The `type` URI of a problem type.
 *
 * @since 0.1.0
 * @category constructors
 */
export const uri = (type: string): string => `https://openaudience.dev/problems/${type}`

/**
 * A problem of any type, from its definition (for servers with problems of their own).
 *
 * @since 0.1.0
 * @category constructors
 */
export const of = (
  type: string,
  definition: Definition,
  detail: string,
  extensions: Readonly<Record<string, unknown>> = {}
): Problem => ({
  type: uri(type),
  title: definition.title,
  status: definition.status,
  detail,
  ...extensions
})

/**
 * One of the collector's problems.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (type: Type, detail: string, extensions: Readonly<Record<string, unknown>> = {}): Problem =>
  of(type, definitions[type], detail, extensions)
