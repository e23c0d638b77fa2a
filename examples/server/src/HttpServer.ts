/**
 * The HTTP listener: one node:http server whose request handler sends the collector's hot routes straight to
 * @openaudience/collector's node:http adapter, `GET /ad` to the ad server's node:http handler
 * (`AdServing.makeAdHandler`), and everything else to the Effect router. Shutdown stops accepting, lets in-flight requests
 * finish (their events are committed by the writer, which closes after this), then closes.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Serving } from "@openaudience/ad-selector"
import { Collector, NodeCollector, type Sink } from "@openaudience/collector"
import { DecisionCache } from "@openaudience/consent"
import * as SqlClient from "@effect/sql/SqlClient"
import { DsarStore } from "@openaudience/dsar"
import { EventWriter } from "@openaudience/storage-sql"
import * as Context from "effect/Context"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { LRUCache } from "lru-cache"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as AdServing from "./AdServing.js"
import { Metrics } from "./Metrics.js"
import * as Privacy from "./Privacy.js"
import * as Problem from "./Problem.js"
import * as Routes from "./Routes.js"
import { Salts } from "./Salts.js"
import { checkDemoExposure, ServerConfig } from "./ServerConfig.js"
import { ingestKeys, Tenants } from "./Tenants.js"

export class Listening extends Context.Tag("@openaudience/example-server/Listening")<
  Listening,
  {
    readonly url: string
    readonly port: number
    readonly server: Server
    /** Every route served: the collector's and the Effect router's (tests derive their coverage from it). */
    readonly routes: ReadonlyArray<Routes.RouteInfo>
  }
>() {}

/** The collector's routes, as mounted by `NodeCollector.make` with its default paths. */
const collectorRoutes: ReadonlyArray<Routes.RouteInfo> = [
  { method: "GET", path: "/px.gif" },
  { method: "POST", path: "/collect" },
  { method: "POST", path: "/v1/events" }
]

/** The ad server's hot route, sent to `AdServing.makeAdHandler` before the router. */
const adRoutes: ReadonlyArray<Routes.RouteInfo> = [{ method: "GET", path: "/ad" }]

/**
 * Headers on every answer, set before any handler runs (the collector's adapter and the Effect router both keep
 * them): no MIME sniffing, no referrer leaked to other sites, and no framing, since no answer of this server is
 * meant to be shown inside another site's page (the opt-out button must not be clickjacked) but the ad document of
 * `GET /ad`, which publishers frame and which sends its own content security policy. HSTS is added when
 * the public URL is https, so a browser that once saw it never talks to the collector in clear again.
 */
export const securityHeaders = (publicUrl: string | undefined): Readonly<Record<string, string>> => ({
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "frame-ancestors 'none'",
  "x-frame-options": "DENY",
  ...(publicUrl?.startsWith("https:") ? { "strict-transport-security": "max-age=31536000" } : {})
})

export const layer = Layer.scoped(
  Listening,
  Effect.gen(function* () {
    const config = yield* ServerConfig
    yield* checkDemoExposure(config)
    const tenants = yield* Tenants
    const writer = yield* EventWriter.EventWriter
    const metrics = yield* Metrics
    const salts = yield* Salts
    const clock = yield* Effect.clock
    // Pixels are answered once durable in the append log; batches once in the database, with their outcomes.
    const sink: Sink.Sink = writer
    const serving = yield* Serving.Serving
    const erased = yield* Privacy.ErasedSet
    const dsarStore = yield* DsarStore.DsarStore
    const runLink = Runtime.runFork(yield* Effect.runtime<never>())
    const sql = yield* SqlClient.SqlClient
    // A browser's link is written once per (tenant, browser, visitor) and hour, not for every event it sends; and
    // links are written behind the answers, many in one transaction every 200 ms: a burst of new browsers costs one
    // commit per batch on the event loop, not one per request.
    const linked = new LRUCache<string, true>({ max: 100_000, ttl: 3_600_000 })
    let pendingLinks: Array<{ readonly tenant: string; readonly browser: string; readonly visitor: string }> = []
    const flushLinks = Effect.suspend(() => {
      if (pendingLinks.length === 0) return Effect.void
      const batch = pendingLinks
      pendingLinks = []
      return sql
        .withTransaction(
          Effect.forEach(
            batch,
            ({ tenant, browser, visitor }) =>
              // A visitor who objected to personalized ads (a data-subject request) is never linked again.
              Effect.flatMap(dsarStore.objections.has(tenant, visitor), (objected) =>
                objected ? Effect.void : serving.linkBrowser({ tenant, browser, visitor })
              ),
            { discard: true }
          )
        )
        .pipe(
          Effect.catchAll((error) =>
            Effect.zipRight(
              Effect.sync(() => {
                for (const { tenant, browser, visitor } of batch)
                  linked.delete(`${tenant}\u0000${browser}\u0000${visitor}`)
              }),
              Effect.logWarning(`could not link ${batch.length} browsers`, error.message)
            )
          )
        )
    })
    yield* Effect.forkScoped(Effect.repeat(flushLinks, Schedule.spaced(Duration.millis(200))))
    yield* Effect.addFinalizer(() => flushLinks)
    const crossSite: Collector.CrossSite = {
      link: ({ tenant, browser, visitor }) => {
        const key = `${tenant}\u0000${browser}\u0000${visitor}`
        if (linked.has(key)) return
        linked.set(key, true)
        pendingLinks.push({ tenant, browser, visitor })
      },
      unlink: ({ tenant, browser, visitor }) => {
        // Only a browser that carried the cookie had links to drop (its cookie is cleared in the same answer).
        if (browser === undefined) return
        runLink(
          serving
            .unlinkBrowser({ tenant, browser, visitor })
            .pipe(Effect.catchAll((error) => Effect.logWarning("could not unlink a browser", error.message)))
        )
      }
    }
    const headers = Object.entries(securityHeaders(config.publicUrl))
    // The ad document is the one answer made to be framed (by publishers' pages): it sets its own policy.
    const framableHeaders = headers.filter(([name]) => name !== "x-frame-options" && name !== "content-security-policy")
    const collector = NodeCollector.make(
      Collector.make({
        tenants,
        sink,
        ingestKeys: ingestKeys(tenants),
        metrics,
        now: () => clock.unsafeCurrentTimeMillis(),
        maxBodyBytes: config.maxBodyBytes,
        consent: DecisionCache.make(),
        geo: { country: config.countryHeader, region: config.regionHeader },
        proxies: config.trustedProxies,
        salt: salts.current,
        crossSite,
        erased
      }),
      { headers: Object.fromEntries(headers) }
    )
    let listeningUrl = "http://127.0.0.1"
    const publicUrl = () => config.publicUrl ?? listeningUrl
    const router = yield* Routes.router(publicUrl, [...collectorRoutes, ...adRoutes])
    const routed = yield* NodeHttpServer.makeHandler(router.app)

    // Set when shutdown begins: from then on every answer closes its connection, so busy keep-alive clients
    // move off and `server.close()` finishes instead of waiting for the 10 s cut-off.
    let closing = false
    const runtime = yield* Effect.runtime<never>()
    const runFork = Runtime.runFork(runtime)
    const ad = AdServing.makeAdHandler({
      publicUrl,
      config,
      tenants,
      serving,
      // Synchronously where the decision can end without waiting (its state in memory), else when its fiber ends.
      run: (effect, done) => {
        const exit = Runtime.runSyncExit(runtime, effect)
        if (Exit.isFailure(exit) && exit.cause._tag === "Die" && Runtime.isAsyncFiberException(exit.cause.defect)) {
          exit.cause.defect.fiber.addObserver(done as (exit: Exit.Exit<unknown, unknown>) => void)
        } else done(exit)
      },
      failed: (cause) => runFork(Effect.logWarning("ad request failed", cause)),
      headers: Object.fromEntries(framableHeaders)
    })

    /** Runs a handler so that a throw costs one request (500 or a cut connection), never the process. */
    const safely = (req: IncomingMessage, res: ServerResponse, handler: () => void) => {
      try {
        handler()
      } catch (error) {
        runFork(Effect.logError("request handler failed", Cause.die(error)))
        req.resume()
        if (!res.headersSent) {
          for (const [name, value] of headers) if (!res.hasHeader(name)) res.setHeader(name, value)
          Problem.send(res, Problem.make("internal", "the request could not be completed"))
        } else res.destroy()
      }
    }

    const dispatch = (req: IncomingMessage, res: ServerResponse) => {
      if (collector.handle(req, res)) return
      const url = req.url ?? "/"
      const q = url.indexOf("?")
      const path = q === -1 ? url : url.slice(0, q)
      if (path === "/ad" && req.method === "GET") return ad(req, res)
      // The two hot routes above write these headers with their answers: a header set before `writeHead` puts node on
      // its slower path, which merges an answer's headers one by one (measured on /ad: 9.5 % more ads a second).
      for (const [name, value] of path === "/ad" ? framableHeaders : headers) res.setHeader(name, value)
      // Anything that may read events waits until every acknowledged pixel is in the database.
      if (path === "/healthz" || path === "/metrics") return routed(req, res)
      writer.afterStored(() => safely(req, res, () => routed(req, res)))
    }

    // An answer sent before the body is in (a 413, a refusal before reading) must reach a client still sending it.
    const server = NodeCollector.lingeringClose(createServer({ keepAliveTimeout: 5_000, requestTimeout: 30_000 }))
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      if (closing) res.setHeader("connection", "close")
      // A request stream that errors (a client that resets mid-body) must not become an uncaught 'error' event.
      req.on("error", () => {})
      safely(req, res, () => dispatch(req, res))
    })
    const rawHeaders = headers.map(([name, value]) => `${name}: ${value}\r\n`).join("")
    server.on("clientError", (_error, socket) => {
      if (socket.writable) {
        const body = JSON.stringify(Problem.make("invalid-body", "the request could not be parsed"))
        socket.end(
          `HTTP/1.1 400 Bad Request\r\ncontent-type: ${Problem.contentType}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${rawHeaders}connection: close\r\n\r\n${body}`
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
    return { url: listeningUrl, port, server, routes: [...collectorRoutes, ...adRoutes, ...router.routes] }
  })
)
