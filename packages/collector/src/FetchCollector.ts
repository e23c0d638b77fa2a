/**
 * The collector in any fetch-style server (WHATWG `Request` → `Response`: Hono, Next route handlers, Bun, Deno,
 * `node:http` through an adapter): `handle(request, remoteAddress)` answers the collector's three routes and
 * resolves to `undefined` for any other request. The client's address is not part of a `Request`, so the server
 * passes its peer address (Bun's `server.requestIP(request)`, Deno's `info.remoteAddr`, the Node socket's
 * `remoteAddress`); without it the truncated address is `"unknown"` and cookieless tenants key no visitor.
 *
 * The body is read up to the collector's limit and answered 413 as soon as it passes it. Nothing thrown escapes:
 * a bug is answered 500.
 *
 * @since 0.1.0
 */
import type { Answer, Collector } from "./Collector.js"
import { problemAnswer } from "./Collector.js"
import type { Route } from "./Metrics.js"
import * as Problem from "./Problem.js"

/**
 * Where the routes are mounted (defaults `/px.gif`, `/collect`, `/v1/events`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Paths {
  readonly pixel?: string | undefined
  readonly collect?: string | undefined
  readonly events?: string | undefined
}

/**
 * Answers a request when it is one of the collector's routes, or resolves to `undefined`.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler = (request: Request, remoteAddress?: string | undefined) => Promise<Response | undefined>

/**
 * An answer as a `Response` (without a body for `HEAD`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const toResponse = (answer: Answer, head = false): Response =>
  new Response(head ? null : (answer.body as ConstructorParameters<typeof Response>[0]), {
    status: answer.status,
    // Every answer: never MIME-sniffed, never leaking the collector's URL (with its query) as a referrer.
    headers: { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", ...answer.headers }
  })

const internal = problemAnswer(Problem.make("internal", "the request could not be completed"))
const unreadable = problemAnswer(Problem.make("invalid-body", "the body could not be read"))

const utf8 = new TextDecoder("utf-8", { fatal: true })

const cancel = (request: Request): void => {
  request.body?.cancel().catch(() => {})
}

/**
 * The collector as a fetch handler.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (collector: Collector, paths: Paths = {}): Handler => {
  const pixelPath = paths.pixel ?? "/px.gif"
  const collectPath = paths.collect ?? "/collect"
  const eventsPath = paths.events ?? "/v1/events"
  const { maxBodyBytes } = collector

  /** The body as UTF-8 text, read up to `maxBodyBytes`, or the answer to give instead. */
  const readText = async (request: Request, route: Route): Promise<string | Answer> => {
    if (Number(request.headers.get("content-length") ?? "0") > maxBodyBytes) {
      cancel(request)
      return collector.tooLarge(route)
    }
    if (request.body === null) return ""
    const reader = request.body.getReader()
    const chunks: Array<Uint8Array> = []
    let size = 0
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        size += value.byteLength
        if (size > maxBodyBytes) {
          reader.cancel().catch(() => {})
          return collector.tooLarge(route)
        }
        chunks.push(value)
      }
    } catch {
      return unreadable
    }
    let bytes: Uint8Array
    if (chunks.length === 1) bytes = chunks[0]!
    else {
      bytes = new Uint8Array(size)
      let at = 0
      for (const chunk of chunks) {
        bytes.set(chunk, at)
        at += chunk.byteLength
      }
    }
    try {
      return utf8.decode(bytes)
    } catch {
      return collector.notUtf8(route)
    }
  }

  const answered = (run: (answer: (answer: Answer) => void) => void): Promise<Answer> =>
    new Promise((resolve) => run(resolve))

  const route = async (request: Request, remoteAddress: string | undefined): Promise<Response | undefined> => {
    const url = request.url
    const q = url.indexOf("?")
    const path = new URL(url).pathname
    if (path === pixelPath) {
      const head = request.method === "HEAD"
      if (request.method !== "GET" && !head) {
        cancel(request)
        return toResponse(problemAnswer(Problem.make("method-not-allowed", "use GET"), { allow: "GET, HEAD" }))
      }
      const hash = url.indexOf("#")
      const query = q === -1 ? "" : url.slice(q + 1, hash === -1 ? undefined : hash)
      const context = collector.browserContext(request.headers, remoteAddress)
      return toResponse(await answered((answer) => collector.pixel(context, query, answer)), head)
    }
    if (path === collectPath) {
      if (request.method !== "POST") {
        cancel(request)
        return toResponse(problemAnswer(Problem.make("method-not-allowed", "use POST"), { allow: "POST" }))
      }
      const text = await readText(request, "collect")
      if (typeof text !== "string") return toResponse(text)
      const context = collector.browserContext(request.headers, remoteAddress)
      return toResponse(await answered((answer) => collector.collect(context, text, answer)))
    }
    if (path === eventsPath && request.method === "POST") {
      const authorization = collector.authorize(request.headers)
      if (authorization._tag === "Refused") {
        cancel(request)
        return toResponse(authorization.answer)
      }
      const text = await readText(request, "events")
      if (typeof text !== "string") return toResponse(text)
      return toResponse(
        await answered((answer) => collector.events(authorization.tenant, request.headers, text, answer))
      )
    }
    return undefined
  }

  return async (request, remoteAddress) => {
    try {
      return await route(request, remoteAddress)
    } catch {
      // A bug must cost one request, never the server.
      return toResponse(internal)
    }
  }
}
