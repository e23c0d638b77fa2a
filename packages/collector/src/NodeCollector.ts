/**
 * The collector on `node:http`: `handle(req, res)` answers the collector's three routes and returns `false` for
 * any other request, which the caller answers as it likes (an Effect router, Express, a static file server). The
 * request body is read up to the collector's limit: a body that passes it is answered 413 while it streams, never
 * buffered whole. Nothing thrown escapes: a bug costs one request (answered 500), never the process.
 *
 * Without trusted proxies every request of a keep-alive connection has the same client, so its address is parsed
 * and truncated once per socket.
 *
 * @since 0.1.0
 */
import { Ip } from "@openaudience/anonymizer"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import type { Answer, Collector } from "./Collector.js"
import { problemAnswer } from "./Collector.js"
import type { Route } from "./Metrics.js"
import * as Problem from "./Problem.js"

/**
 * Where the routes are mounted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Paths {
  /** Default `/px.gif`. */
  readonly pixel?: string | undefined
  /** Default `/collect`. */
  readonly collect?: string | undefined
  /** Default `/v1/events`. */
  readonly events?: string | undefined
}

/**
 * Options of {@link make}: where the routes are mounted, and headers every answer carries.
 *
 * @since 0.8.0
 * @category models
 */
export interface Options extends Paths {
  /**
   * Headers added to every answer of the collector's routes (your server's security headers, say); an answer's own
   * header of the same name wins. Pass them here rather than setting them on the response before `handle`: a header
   * set before `writeHead` puts node on its slower path, which merges the answer's headers one by one (measured on a
   * bare node:http server at 15,000 requests a second: about 32 µs of CPU per request against 28, medians of three
   * rounds).
   */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * The collector's routes as node:http handlers.
 *
 * @since 0.1.0
 * @category models
 */
export interface NodeCollector {
  /** Answers the request when it is one of the collector's routes (`true`); `false` otherwise, leaving it untouched. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => boolean
  /** `GET /px.gif?<query>`. */
  readonly pixel: (req: IncomingMessage, res: ServerResponse, query: string) => void
  /** `POST /collect`. */
  readonly collect: (req: IncomingMessage, res: ServerResponse) => void
  /** `POST /v1/events`. */
  readonly events: (req: IncomingMessage, res: ServerResponse) => void
}

/** Every answer's defaults: never MIME-sniffed, never leaking the collector's URL (with its query) as a referrer. */
const defaults = [
  ["x-content-type-options", "nosniff"],
  ["referrer-policy", "no-referrer"]
] as const

/**
 * `own`, then the `extra` headers it does not name, then the `defaults` neither names, as `writeHead`'s flat
 * `[name, value, …]` list: what `write` answers with, the answer's own headers winning.
 */
const flatHeaders = (
  own: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>> | undefined
): Array<string> => {
  const flat: Array<string> = []
  for (const name in own) flat.push(name, own[name]!)
  if (extra !== undefined) for (const name in extra) if (!Object.hasOwn(own, name)) flat.push(name, extra[name]!)
  for (const [name, value] of defaults)
    if (!Object.hasOwn(own, name) && (extra === undefined || !Object.hasOwn(extra, name))) flat.push(name, value)
  return flat
}

/**
 * Writes an answer on a node response, with `headers` (since 0.8.0) added where the answer has none of that name.
 *
 * @since 0.1.0
 * @category combinators
 */
export const write = (
  res: ServerResponse,
  answer: Answer,
  headers?: Readonly<Record<string, string>> | undefined
): void => {
  const flat = flatHeaders(answer.headers, headers)
  if (typeof answer.body !== "string") {
    // A binary answer (a pixel's GIF, which carries its length): one `writeHead` of the flat list, nothing set before
    // it and no merged object made per answer (a header set before `writeHead` puts node on its slower path, which
    // merges the answer's headers one by one).
    res.writeHead(answer.status, flat)
    res.end(answer.body)
    return
  }
  // Headers set one by one (not `writeHead`) so that `end` adds the text's content-length itself.
  res.statusCode = answer.status
  for (let i = 0; i < flat.length; i += 2) res.setHeader(flat[i]!, flat[i + 1]!)
  res.end(answer.body)
}

const internal = problemAnswer(Problem.make("internal", "the request could not be completed"))

/** Writes an answer; a response that can no longer take one is closed instead. */
const answerOn =
  (res: ServerResponse, headers: Readonly<Record<string, string>> | undefined) =>
  (answer: Answer): void => {
    try {
      write(res, answer, headers)
    } catch {
      res.destroy()
    }
  }

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * The collector on node:http.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (collector: Collector, options: Options = {}): NodeCollector => {
  const pixelPath = options.pixel ?? "/px.gif"
  const collectPath = options.collect ?? "/collect"
  const eventsPath = options.events ?? "/v1/events"
  const extra = options.headers === undefined || Object.keys(options.headers).length === 0 ? undefined : options.headers
  const send = (res: ServerResponse, answer: Answer) => write(res, answer, extra)
  const { maxBodyBytes } = collector

  /**
   * The truncated address of each connection's peer, when no proxy is trusted: then every request of a keep-alive
   * connection has the same client address, and it is parsed and truncated once. (With trusted proxies the
   * client may differ per request, read from the forwarding header.)
   */
  const peers = new WeakMap<Socket, Ip.Truncated>()
  const peerOf = (socket: Socket): Ip.Truncated | undefined => {
    if (collector.proxies.cidrs.length > 0) return undefined
    let truncated = peers.get(socket)
    if (truncated === undefined) {
      truncated = Ip.truncate(Ip.clientAddress(socket.remoteAddress, {}, collector.proxies))
      peers.set(socket, truncated)
    }
    return truncated
  }

  const browserContext = (req: IncomingMessage) =>
    collector.browserContext(req.headers, req.socket.remoteAddress, peerOf(req.socket))

  /** Reads a request body up to `maxBodyBytes`, as UTF-8 text; answers 413/400 itself on failure. */
  const readText = (req: IncomingMessage, res: ServerResponse, route: Route, then: (text: string) => void) => {
    const declared = Number(req.headers["content-length"] ?? "0")
    if (declared > maxBodyBytes) {
      req.resume()
      return send(res, collector.tooLarge(route))
    }
    const chunks: Array<Buffer> = []
    let size = 0
    let finished = false
    req.on("data", (chunk: Buffer) => {
      if (finished) return
      size += chunk.length
      if (size > maxBodyBytes) {
        finished = true
        chunks.length = 0
        send(res, collector.tooLarge(route))
        req.resume()
        return
      }
      chunks.push(chunk)
    })
    req.on("error", () => {
      finished = true
    })
    req.on("end", () => {
      if (finished) return
      finished = true
      let text: string
      try {
        text = utf8.decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
      } catch {
        return send(res, collector.notUtf8(route))
      }
      try {
        then(text)
      } catch {
        if (!res.headersSent) send(res, internal)
        else res.destroy()
      }
    })
  }

  const pixel: NodeCollector["pixel"] = (req, res, query) =>
    collector.pixel(browserContext(req), query, answerOn(res, extra))

  const collect: NodeCollector["collect"] = (req, res) =>
    readText(req, res, "collect", (text) => collector.collect(browserContext(req), text, answerOn(res, extra)))

  const events: NodeCollector["events"] = (req, res) => {
    const authorization = collector.authorize(req.headers)
    if (authorization._tag === "Refused") {
      req.resume()
      return send(res, authorization.answer)
    }
    readText(req, res, "events", (text) =>
      collector.events(authorization.tenant, req.headers, text, answerOn(res, extra))
    )
  }

  const route = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? "/"
    const q = url.indexOf("?")
    const path = q === -1 ? url : url.slice(0, q)
    if (path === pixelPath) {
      if (req.method === "GET" || req.method === "HEAD") pixel(req, res, q === -1 ? "" : url.slice(q + 1))
      else {
        req.resume()
        send(res, problemAnswer(Problem.make("method-not-allowed", "use GET"), { allow: "GET, HEAD" }))
      }
      return true
    }
    if (path === collectPath) {
      if (req.method === "POST") collect(req, res)
      else {
        req.resume()
        send(res, problemAnswer(Problem.make("method-not-allowed", "use POST"), { allow: "POST" }))
      }
      return true
    }
    if (path === eventsPath && req.method === "POST") {
      events(req, res)
      return true
    }
    return false
  }

  const handle: NodeCollector["handle"] = (req, res) => {
    try {
      return route(req, res)
    } catch {
      // A bug must cost one request, never the process.
      if (!res.headersSent) send(res, internal)
      else res.destroy()
      return true
    }
  }

  return { handle, pixel, collect, events }
}

/**
 * Options of {@link lingeringClose}.
 *
 * @since 0.6.0
 * @category models
 */
export interface LingerOptions {
  /** How long a closing connection keeps reading (and dropping) a body still arriving, ms (default 2,000). */
  readonly lingerMs?: number | undefined
}

/**
 * Closes connections gently when an answer goes out before its request's body is in (a 413 for a body over the
 * limit, a 401 before reading, …): node:http closes such a connection as soon as the answer is written, and a
 * client that is still sending then gets a TCP reset, which on most systems throws away the answer it has not read
 * yet (the client sees "connection reset" instead of the 413). With this, the server half-closes after the answer
 * and keeps reading and dropping what the client still sends, until the body ends, the client hangs up, or
 * `lingerMs` passes (Apache's and nginx's "lingering close"). Connections whose request was read whole close as
 * before. Call it once on the server, before `listen`; it works on `http.Server` and `https.Server`.
 *
 * @since 0.6.0
 * @category combinators
 */
export const lingeringClose = <S extends Server>(server: S, options: LingerOptions = {}): S => {
  const lingerMs = options.lingerMs ?? 2_000
  /** Each connection's newest request (the one whose answer may close it). */
  const current = new WeakMap<Socket, IncomingMessage>()
  const linger = (socket: Socket, req: IncomingMessage) => {
    socket.end()
    const timer = setTimeout(() => socket.destroy(), lingerMs)
    timer.unref()
    const close = () => {
      clearTimeout(timer)
      socket.destroy()
    }
    socket.once("close", () => clearTimeout(timer))
    // The client hung up, or the whole body arrived (nothing is left unread, so closing sends no reset).
    socket.once("end", close)
    req.once("end", close)
    req.once("error", close)
    // Whoever read the body has stopped: what still comes is parsed and dropped.
    req.removeAllListeners("data")
    req.on("data", () => {})
    req.resume()
  }
  server.on("request", (req: IncomingMessage) => {
    const socket = req.socket
    if (!current.has(socket)) {
      const destroySoon = socket.destroySoon
      socket.destroySoon = function (this: Socket) {
        const last = current.get(socket)
        if (last === undefined || last.complete || socket.destroyed || !socket.readable) return destroySoon.call(this)
        linger(socket, last)
      }
    }
    current.set(socket, req)
  })
  return server
}
