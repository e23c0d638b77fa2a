/**
 * The collector's hot path on plain node:http: `GET /px.gif`, `POST /collect`, and the shared ingestion used by
 * the server-to-server API. Per request it decodes, checks the site, builds rows synchronously and hands them
 * to the group-commit writer; it answers when the writer says they are durable. No Effect runs per request.
 */
import { Ip, type SaltStore } from "@openaudience/anonymizer"
import type { DecisionCache } from "@openaudience/consent"
import type { Event } from "@openaudience/event-schema"
import { Gif, WireFormat } from "@openaudience/pixel"
import type { AppendOutcome, StoredEvent } from "@openaudience/storage-sql"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { type GeoHeaders, type NotStored, type RequestContext, requestContext, toStored } from "./Collect.js"
import type { AppendLogShape } from "./AppendLog.js"
import type { GroupCommitShape } from "./GroupCommit.js"
import type { MetricsShape } from "./Metrics.js"
import * as Problem from "./Problem.js"
import type { Tenant, TenantsShape } from "./Tenants.js"

/** One event's fate, as answered to the sender. */
export type EventResult =
  | { readonly index: number; readonly id: string; readonly status: "accepted" | "duplicate" }
  | { readonly index: number; readonly id: string; readonly status: "dropped"; readonly reason: NotStored }
  | {
      readonly index: number
      readonly id?: string | undefined
      readonly status: "rejected"
      readonly field: string
      readonly reason: string
    }

/** A decoded event, or why it could not be decoded. */
export type Decoded =
  | { readonly _tag: "Right"; readonly right: Event.Event }
  | {
      readonly _tag: "Left"
      readonly left: { readonly field: string; readonly message: string; readonly id?: string | undefined }
    }

export interface CollectorDeps {
  readonly tenants: TenantsShape
  readonly commit: GroupCommitShape
  /** Where pixels go: durable before they are answered, in the database soon after (see `AppendLog`). */
  readonly append: AppendLogShape
  readonly metrics: MetricsShape
  readonly now: () => number
  readonly maxBodyBytes: number
  readonly consent: DecisionCache.DecisionCache
  readonly geo: GeoHeaders
  readonly proxies: Ip.TrustedProxies
  /** Today's salt for cookieless tenants. */
  readonly salt: () => SaltStore.Salt | undefined
}

const gifHeaders = {
  "content-type": "image/gif",
  "content-length": String(Gif.bytes.length),
  "cache-control": "no-store, max-age=0",
  "x-content-type-options": "nosniff"
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

export const make = (deps: CollectorDeps) => {
  const { tenants, commit, metrics, now } = deps

  /**
   * Validates sites, stores what is valid, and reports each event's result in input order. `tenantOf` decides
   * which tenant an event may belong to (by site key for the tag, by API key for server-to-server calls).
   */
  const ingest = (
    decoded: ReadonlyArray<Decoded>,
    request: RequestContext,
    tenantOf: (site: string) => Tenant | string,
    done: (results: ReadonlyArray<EventResult> | { readonly failed: string }) => void,
    durable: "stored" | "appended" = "stored"
  ): void => {
    const receivedAt = now()
    const results: Array<EventResult | undefined> = new Array(decoded.length)
    const rows: Array<StoredEvent> = []
    const rowIndex: Array<number> = []
    for (let i = 0; i < decoded.length; i++) {
      const item = decoded[i]!
      if (item._tag === "Left") {
        results[i] = {
          index: i,
          id: item.left.id,
          status: "rejected",
          field: item.left.field,
          reason: item.left.message
        }
        metrics.countEvent("unknown", "rejected")
        continue
      }
      const event = item.right
      const tenant = tenantOf(event.site)
      if (typeof tenant === "string") {
        results[i] = { index: i, id: event.id, status: "rejected", field: "site", reason: tenant }
        metrics.countEvent(event.type, "rejected")
        continue
      }
      const row = toStored(deps.consent, tenant, event, request, receivedAt)
      if (typeof row === "string") {
        // Its consent decision forbids collecting it, or a bot sent it: an identifier-free counter is all that remains.
        results[i] = { index: i, id: event.id, status: "dropped", reason: row }
        metrics.countEvent(event.type, row === "bot" ? "bot" : "dropped")
        continue
      }
      rows.push(row)
      rowIndex.push(i)
    }
    if (durable === "appended") {
      // Durable in the append log; whether each event is new or a duplicate is known (and counted) once it
      // reaches the database, so every stored row answers "accepted" here.
      deps.append.append(rows, (failed) => {
        if (failed !== undefined) {
          for (const row of rows) metrics.countEvent(row.type, "failed")
          return done({ failed })
        }
        for (let k = 0; k < rows.length; k++) {
          results[rowIndex[k]!] = { index: rowIndex[k]!, id: rows[k]!.eventId, status: "accepted" }
        }
        done(results as Array<EventResult>)
      })
      return
    }
    commit.submit(rows, (outcome) => {
      if (outcome._tag === "Failed") {
        for (const row of rows) metrics.countEvent(row.type, "failed")
        return done({ failed: outcome.message })
      }
      for (let k = 0; k < rows.length; k++) {
        const status: AppendOutcome = outcome.outcomes[k]!
        metrics.countEvent(rows[k]!.type, status)
        results[rowIndex[k]!] = { index: rowIndex[k]!, id: rows[k]!.eventId, status }
      }
      done(results as Array<EventResult>)
    })
  }

  const bySite = (site: string): Tenant | string => tenants.bySite(site) ?? `site: unknown site key "${site}"`

  /** Answers a batch: 200 with the per-event results, or 400 naming the first rejected field. */
  const answerBatch = (
    res: ServerResponse,
    route: string,
    outcome: ReadonlyArray<EventResult> | { readonly failed: string }
  ) => {
    if ("failed" in outcome) {
      metrics.countRequest(route, 503)
      return Problem.send(res, Problem.make("unavailable", outcome.failed), { "retry-after": "1" })
    }
    const summary = { accepted: 0, duplicates: 0, dropped: 0, rejected: 0 }
    let firstRejected: Extract<EventResult, { status: "rejected" }> | undefined
    for (const result of outcome) {
      if (result.status === "accepted") summary.accepted++
      else if (result.status === "duplicate") summary.duplicates++
      else if (result.status === "dropped") summary.dropped++
      else if (result.status === "rejected") {
        summary.rejected++
        if (firstRejected === undefined) firstRejected = result
      }
    }
    if (firstRejected !== undefined) {
      metrics.countRequest(route, 400)
      return Problem.send(
        res,
        Problem.make("invalid-event", `event ${firstRejected.index}: ${firstRejected.reason}`, {
          field: `events[${firstRejected.index}].${firstRejected.field}`,
          ...summary,
          events: outcome
        })
      )
    }
    const body = JSON.stringify({ ...summary, events: outcome })
    metrics.countRequest(route, 200)
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store"
    })
    res.end(body)
  }

  /**
   * The truncated address of each connection's peer, when no proxy is trusted: then every request of a keep-alive
   * connection has the same client address, and it is parsed and truncated once. (With trusted proxies the
   * client may differ per request, read from the forwarding header.)
   */
  const peers = new WeakMap<Socket, Ip.Truncated>()
  const peerOf = (socket: Socket): Ip.Truncated | undefined => {
    if (deps.proxies.cidrs.length > 0) return undefined
    let truncated = peers.get(socket)
    if (truncated === undefined) {
      truncated = Ip.truncate(Ip.clientAddress(socket.remoteAddress, {}, deps.proxies))
      peers.set(socket, truncated)
    }
    return truncated
  }

  /** What a browser's request (the tag's pixel or batch) says about its sender. */
  const browserContext = (req: IncomingMessage): RequestContext =>
    requestContext(req.headers, deps.geo, {
      remoteAddress: req.socket.remoteAddress,
      proxies: deps.proxies,
      salt: deps.salt(),
      truncated: peerOf(req.socket)
    })

  /** `GET /px.gif?…`: one event in the query string; answers the GIF once it is durable. */
  const pixel = (req: IncomingMessage, res: ServerResponse, query: string): void => {
    const decoded = WireFormat.decodeQuery(query) as Decoded
    ingest(
      [decoded],
      browserContext(req),
      bySite,
      (outcome) => {
        if ("failed" in outcome) return answerBatch(res, "pixel", outcome)
        const result = outcome[0]!
        if (result.status === "rejected") {
          metrics.countRequest("pixel", 400)
          return Problem.send(res, Problem.make("invalid-event", result.reason, { field: result.field }))
        }
        metrics.countRequest("pixel", 200)
        res.writeHead(200, gifHeaders)
        res.end(Gif.bytes)
      },
      "appended"
    )
  }

  /** Reads a request body up to `maxBodyBytes`, as UTF-8 text; answers 413/400 itself on failure. */
  const readText = (req: IncomingMessage, res: ServerResponse, route: string, then: (text: string) => void) => {
    const declared = Number(req.headers["content-length"] ?? "0")
    if (declared > deps.maxBodyBytes) {
      metrics.countRequest(route, 413)
      req.resume()
      return Problem.send(res, Problem.make("body-too-large", `the body is over ${deps.maxBodyBytes} bytes`), {
        connection: "close"
      })
    }
    const chunks: Array<Buffer> = []
    let size = 0
    let finished = false
    req.on("data", (chunk: Buffer) => {
      if (finished) return
      size += chunk.length
      if (size > deps.maxBodyBytes) {
        finished = true
        metrics.countRequest(route, 413)
        Problem.send(res, Problem.make("body-too-large", `the body is over ${deps.maxBodyBytes} bytes`), {
          connection: "close"
        })
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
        metrics.countRequest(route, 400)
        return Problem.send(res, Problem.make("invalid-body", "the body is not valid UTF-8"))
      }
      then(text)
    })
  }

  /** `POST /collect`: a batch in the wire format's text/plain form (sendBeacon, fetch keepalive). */
  const collect = (req: IncomingMessage, res: ServerResponse): void =>
    readText(req, res, "collect", (text) => {
      const batch = WireFormat.decodeBatch(text)
      if (batch._tag === "Left") {
        metrics.countRequest("collect", 400)
        return Problem.send(res, Problem.make("invalid-body", batch.left.message, { field: batch.left.field }))
      }
      ingest(batch.right as ReadonlyArray<Decoded>, browserContext(req), bySite, (outcome) =>
        answerBatch(res, "collect", outcome)
      )
    })

  return { ingest, answerBatch, pixel, collect, readText }
}

export type Collector = ReturnType<typeof make>
