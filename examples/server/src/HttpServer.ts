/**
 * The HTTP listener: one node:http server whose request handler sends the collector's hot routes straight to
 * plain handlers and everything else to the Effect router. Shutdown stops accepting, lets in-flight requests
 * finish (their events are committed by the writer, which closes after this), then closes.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Event } from "@openaudience/event-schema"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { DecisionCache } from "@openaudience/consent"
import { requestContext } from "./Collect.js"
import * as Collector from "./Collector.js"
import { AppendLog } from "./AppendLog.js"
import { GroupCommit } from "./GroupCommit.js"
import { Metrics } from "./Metrics.js"
import * as Problem from "./Problem.js"
import * as Routes from "./Routes.js"
import { Salts } from "./Salts.js"
import { ServerConfig } from "./ServerConfig.js"
import { bearerKey, Tenants } from "./Tenants.js"

export class Listening extends Context.Tag("@openaudience/example-server/Listening")<
  Listening,
  { readonly url: string; readonly port: number; readonly server: Server }
>() {}

/** How deeply nested a server-to-server JSON body may be before it is refused unparsed. */
const maxJsonDepth = 16

/** Refuses JSON nested deeper than `max` without parsing it (cheap scan that skips strings). */
export const exceedsDepth = (text: string, max: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      if (++depth > max) return true
    } else if (c === 125 || c === 93) depth--
  }
  return false
}

export const layer = Layer.scoped(
  Listening,
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const tenants = yield* Tenants
    const commit = yield* GroupCommit
    const append = yield* AppendLog
    const metrics = yield* Metrics
    const salts = yield* Salts
    const clock = yield* Effect.clock
    const geo = { country: config.countryHeader, region: config.regionHeader }
    const collector = Collector.make({
      tenants,
      commit,
      append,
      metrics,
      now: () => clock.unsafeCurrentTimeMillis(),
      maxBodyBytes: config.maxBodyBytes,
      consent: DecisionCache.make(),
      geo,
      proxies: config.trustedProxies,
      salt: salts.current
    })
    let listeningUrl = "http://127.0.0.1"
    const router = yield* Routes.router(() => config.publicUrl ?? listeningUrl)
    const routed = yield* NodeHttpServer.makeHandler(router)

    /** `POST /v1/events`: server-to-server events as a JSON array (or `{ "events": [...] }`), per-event answers. */
    const serverToServer = (req: IncomingMessage, res: ServerResponse) => {
      const key = bearerKey(req.headers.authorization)
      const auth = key === undefined ? undefined : tenants.authenticate(key)
      if (auth === undefined || (auth.role !== "admin" && auth.role !== "ingest")) {
        metrics.countRequest("events", 401)
        req.resume()
        return Problem.send(res, Problem.make("unauthorized", "send a tenant API key as 'Authorization: Bearer <key>'"))
      }
      const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
      if (type !== "application/json") {
        metrics.countRequest("events", 415)
        req.resume()
        return Problem.send(res, Problem.make("unsupported-media-type", "send the events as application/json"))
      }
      collector.readText(req, res, "events", (text) => {
        let body: unknown
        if (exceedsDepth(text, maxJsonDepth)) {
          metrics.countRequest("events", 400)
          return Problem.send(
            res,
            Problem.make("invalid-body", `the JSON is nested deeper than ${maxJsonDepth} levels`)
          )
        }
        try {
          body = JSON.parse(text)
        } catch {
          metrics.countRequest("events", 400)
          return Problem.send(res, Problem.make("invalid-body", "the body is not valid JSON"))
        }
        const list = Array.isArray(body)
          ? body
          : typeof body === "object" && body !== null && Array.isArray((body as { events?: unknown }).events)
            ? (body as { events: Array<unknown> }).events
            : undefined
        if (list === undefined || list.length === 0 || list.length > 500) {
          metrics.countRequest("events", 400)
          return Problem.send(
            res,
            Problem.make("invalid-body", 'expected a JSON array of 1 to 500 events, or { "events": [...] }', {
              field: "events"
            })
          )
        }
        const decoded = list.map((input): Collector.Decoded => {
          const result = Event.decodeUnknown(input)
          if (Either.isRight(result)) return { _tag: "Right", right: result.right }
          const id = typeof (input as { id?: unknown })?.id === "string" ? (input as { id: string }).id : undefined
          return { _tag: "Left", left: { field: result.left.field, message: result.left.message, id } }
        })
        collector.ingest(
          decoded,
          requestContext(req.headers, geo),
          (site) => (auth.tenant.siteKeys.has(site) ? auth.tenant : `site: "${site}" is not a site of this tenant`),
          (outcome) => collector.answerBatch(res, "events", outcome)
        )
      })
    }

    const dispatch = (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? "/"
      const q = url.indexOf("?")
      const path = q === -1 ? url : url.slice(0, q)
      if (path === "/px.gif") {
        if (req.method === "GET" || req.method === "HEAD")
          return collector.pixel(req, res, q === -1 ? "" : url.slice(q + 1))
        return Problem.send(res, Problem.make("method-not-allowed", "use GET"), { allow: "GET, HEAD" })
      }
      if (path === "/collect") {
        if (req.method === "POST") return collector.collect(req, res)
        req.resume()
        return Problem.send(res, Problem.make("method-not-allowed", "use POST"), { allow: "POST" })
      }
      if (path === "/v1/events" && req.method === "POST") return serverToServer(req, res)
      // Anything that may read events waits until every acknowledged pixel is in the database.
      if (path === "/healthz" || path === "/metrics") return routed(req, res)
      append.afterStored(() => routed(req, res))
    }

    // Set when shutdown begins: from then on every answer closes its connection, so busy keep-alive clients
    // move off and `server.close()` finishes instead of waiting for the 10 s cut-off.
    let closing = false
    const server = createServer({ keepAliveTimeout: 5_000, requestTimeout: 30_000 }, (req, res) => {
      if (closing) res.setHeader("connection", "close")
      try {
        dispatch(req, res)
      } catch (error) {
        // A bug must cost one request, never the process.
        console.error("request handler failed", error)
        if (!res.headersSent) Problem.send(res, Problem.make("internal", "the request could not be completed"))
        else res.destroy()
      }
    })
    server.on("clientError", (_error, socket) => {
      if (socket.writable) {
        const body = JSON.stringify(Problem.make("invalid-body", "the request could not be parsed"))
        socket.end(
          `HTTP/1.1 400 Bad Request\r\ncontent-type: ${Problem.contentType}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
        )
      } else socket.destroy()
    })

    yield* Effect.async<void, Error>((resume) => {
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(config.port, config.host, () => resume(Effect.void))
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        closing = true
        server.close(() => resume(Effect.void))
        server.closeIdleConnections()
        // Connections still busy after 10 s are cut so shutdown always ends.
        const timer = setTimeout(() => server.closeAllConnections(), 10_000)
        timer.unref()
      })
    )
    const port = (server.address() as AddressInfo).port
    const shown = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host
    listeningUrl = `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}`
    return { url: listeningUrl, port, server }
  })
)
