/**
 * Request bodies under a limit, for the Effect routes (the collector's routes enforce their own). A declared
 * `Content-Length` above the limit is refused with 413 before a byte is read; a chunked or undeclared body is
 * counted while it streams and refused with 413 the moment it passes the limit: nothing past the limit is ever
 * buffered; reading pauses until the 413 is written, then the rest is read and dropped (the listener's lingering
 * close keeps doing so a little after it closes) so the client can still read the answer. `guard` puts every route of
 * the router under the server's limit, so a route that reads its body some other way is bounded too.
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as Problem from "./Problem.js"

const tooLarge = (limit: number) =>
  new Problem.ProblemError(Problem.make("body-too-large", `the body must be at most ${limit} bytes`))

/**
 * The declared length: `undefined` when absent, `NaN` when not a plain decimal (node refuses most of those
 * before a handler runs; this is the second line).
 *
 * @since 0.1.0
 * @category combinators
 */
export const declaredLength = (header: string | undefined): number | undefined =>
  header === undefined ? undefined : /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : Number.NaN

/**
 * Reads a node request's body, at most `limit` bytes; fails with 413 when it is longer. Past the limit it stops
 * reading until the answer is out (so a client still sending is held back by TCP instead of being read and dropped
 * while the answer is prepared), then drains the rest.
 */
const readNode = (req: IncomingMessage, res: ServerResponse, limit: number) =>
  Effect.async<Buffer, Problem.ProblemError>((resume) => {
    const declared = declaredLength(req.headers["content-length"])
    if (declared !== undefined && !(declared <= limit)) {
      req.resume()
      return resume(Effect.fail(tooLarge(limit)))
    }
    if (req.readableEnded) return resume(Effect.succeed(Buffer.alloc(0)))
    const chunks: Array<Buffer> = []
    let size = 0
    let done = false
    const onData = (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        done = true
        chunks.length = 0
        req.pause()
        // Once the answer is written, drain (and drop) the rest so the 413 reaches a client still sending.
        // (A response emits "close" after "finish" too.)
        if (res.writableFinished) req.resume()
        else res.once("close", () => req.resume())
        resume(Effect.fail(tooLarge(limit)))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      if (done) return
      done = true
      resume(Effect.succeed(Buffer.concat(chunks, size)))
    }
    const onError = () => {
      if (done) return
      done = true
      chunks.length = 0
      resume(Effect.fail(new Problem.ProblemError(Problem.make("invalid-body", "the body could not be read"))))
    }
    req.on("data", onData)
    req.once("end", onEnd)
    req.once("error", onError)
    req.once("aborted", onError)
    return Effect.sync(() => {
      // Interrupted (the answer went out another way): stop holding chunks, drain the rest.
      done = true
      chunks.length = 0
    })
  })

/**
 * The request body as bytes, at most `limit` bytes (413 problem otherwise).
 *
 * @since 0.1.0
 * @category combinators
 */
export const bytes = (
  limit: number
): Effect.Effect<Buffer, Problem.ProblemError, HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    readNode(NodeHttpServerRequest.toIncomingMessage(request), NodeHttpServerRequest.toServerResponse(request), limit)
  )

/**
 * The request body as UTF-8 text (invalid sequences become U+FFFD), at most `limit` bytes (413 problem otherwise).
 *
 * @since 0.1.0
 * @category combinators
 */
export const text = (limit: number): Effect.Effect<string, Problem.ProblemError, HttpServerRequest.HttpServerRequest> =>
  Effect.map(bytes(limit), (body) => body.toString("utf8"))

/**
 * Puts a whole app under a body limit (`limitOf` may give a route, by method and path, another one): a declared
 * length above it (or unreadable) is answered 413/400 before the
 * route runs, and the platform's own body readers (`request.text`, `json`, `urlParamsBody`…) fail past it
 * instead of growing without bound.
 *
 * @since 0.1.0
 * @category combinators
 */
export const guard =
  (defaultLimit: number, limitOf: (method: string, path: string) => number | undefined = () => undefined) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E | Problem.ProblemError, R> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = request.url.split("?", 1)[0] ?? ""
      const limit = limitOf(request.method, path) ?? defaultLimit
      const declared = declaredLength(request.headers["content-length"])
      if (declared !== undefined && Number.isNaN(declared)) {
        return yield* Problem.fail("invalid-body", "content-length: expected a decimal number of bytes")
      }
      if (declared !== undefined && declared > limit) {
        NodeHttpServerRequest.toIncomingMessage(request).resume()
        return yield* Effect.fail(tooLarge(limit))
      }
      return yield* app.pipe(HttpIncomingMessage.withMaxBodySize(Option.some(limit)))
    })
