/**
 * The collector's core, independent of any HTTP server: the pixel (`GET /px.gif`, one event in the query), the
 * batch (`POST /collect`, the wire format's text/plain body from `sendBeacon` or `fetch keepalive`) and
 * server-to-server events (`POST /v1/events`, a JSON array of events with a tenant's API key). Per request it
 * decodes, checks each event's site, builds rows synchronously (`Collect.toStored`), hands them to the `Sink`, and
 * answers once the sink says they are kept: the GIF, per-event results, or a problem (`Problem`). Events of the
 * authenticated route are stored under ids no unauthenticated event can take (`Collect.storedId`), so neither kind
 * can turn the other into a duplicate; answers name the ids as sent.
 *
 * With `crossSite` (retargeting across sites), the answers of the two browser routes also set or clear the browser's
 * cross-site id cookie, as the events' consent decisions allow (`CrossSite`); the server-to-server route never does.
 *
 * No Effect runs per request and nothing is allocated per event beyond its row: the node:http and fetch adapters
 * (`NodeCollector`, `FetchCollector`) read the request, call these functions and write the `Answer`.
 *
 * @since 0.1.0
 */
import { Ip, type SaltStore } from "@openaudience/anonymizer"
import { DecisionCache } from "@openaudience/consent"
import { Event, type StoredEvent } from "@openaudience/event-schema"
import { Gif, WireFormat } from "@openaudience/pixel"
import * as Either from "effect/Either"
import { LRUCache } from "lru-cache"
import {
  browserIdOf,
  crossSiteAllowed,
  crossSiteCookie,
  type GeoHeaders,
  type Headers,
  isBrowserId,
  newBrowserId,
  type NotStored,
  type RequestContext,
  requestContext,
  type Source,
  storedId,
  toStored
} from "./Collect.js"
import type { ErasedSet } from "./Erased.js"
import * as IngestKeys from "./IngestKeys.js"
import { header } from "./internal/headers.js"
import * as Metrics from "./Metrics.js"
import * as Problem from "./Problem.js"
import type * as Sink from "./Sink.js"
import type { Sites, Tenant } from "./Tenant.js"

/**
 * One event's fate, as answered to the sender.
 *
 * @since 0.1.0
 * @category models
 */
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

/**
 * A decoded event, or why it could not be decoded (the shape of an `Either`).
 *
 * @since 0.1.0
 * @category models
 */
export type Decoded =
  | { readonly _tag: "Right"; readonly right: Event.Event }
  | {
      readonly _tag: "Left"
      readonly left: { readonly field: string; readonly message: string; readonly id?: string | undefined }
    }

/**
 * An HTTP answer, for an adapter to write: status, headers and body. A binary body's headers include its
 * `content-length`; a text body's length is left to the adapter.
 *
 * @since 0.1.0
 * @category models
 */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | Uint8Array
}

/**
 * A link the cross-site store may keep: on `at`, the browser whose cross-site id is `browser` (the cookie's value,
 * raw) was the tenant's pseudonymous visitor `visitor` (as stored with the event), under a decision that allows
 * personalization.
 *
 * @since 0.4.0
 * @category cross-site
 */
export interface Link {
  readonly tenant: string
  readonly visitor: string
  readonly browser: string
  readonly at: number
}

/**
 * Links the cross-site store must drop: on `at`, an event of the tenant was decided without cross-site
 * personalization, from the browser `browser` (its cross-site id, when the request carried one) and the
 * pseudonymous visitor `visitor` (when the event named one). At least one of the two is present.
 *
 * @since 0.4.0
 * @category cross-site
 */
export interface Unlink {
  readonly tenant: string
  readonly visitor?: string | undefined
  readonly browser?: string | undefined
  readonly at: number
}

/**
 * Cross-site recognition of browsers (`Collector.Options.crossSite`): a random id in a cookie on the collector's
 * own domain, set by the browser routes (pixel and batch) only for events whose decision allows it
 * (`Collect.crossSiteAllowed`) and that have a first-party visitor key, and cleared by any event of a request
 * decided without it (clearing wins). Never in cookieless mode or for a child-directed site. The hooks are called
 * synchronously once the answer is known; what they throw is ignored.
 *
 * @since 0.4.0
 * @category cross-site
 */
export interface CrossSite {
  /** The cookie's name; default `oa_xid` (`Collect.crossSiteCookie`). */
  readonly cookie?: string | undefined
  /**
   * Called for every stored event allowed cross-site of a request that carried the browser's id (a browser given a
   * new id is linked on its next request with it, so a client that keeps no cookie is never linked).
   */
  readonly link: (link: Link) => void
  /** Called for every event of the request decided without cross-site personalization. */
  readonly unlink: (unlink: Unlink) => void
  /** A new browser id (well-formed: `Collect.isBrowserId`); default 16 random bytes, base64url (`Collect.newBrowserId`). */
  readonly newId?: (() => string) | undefined
}

/**
 * The cookie's lifetime: 30 days from the last request that set it.
 *
 * @since 0.4.0
 * @category cross-site
 */
export const crossSiteMaxAge = 2_592_000

/**
 * How a collector is put together.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The tenant of each site key. */
  readonly tenants: Sites
  /** Where rows go. */
  readonly sink: Sink.Sink
  /** The current time, epoch milliseconds (each request's `receivedAt`). */
  readonly now: () => number
  /** Which tenant a server-to-server API key may ingest for; default: none (`POST /v1/events` answers 401). */
  readonly ingestKeys?: IngestKeys.IngestKeys | undefined
  /** Counters; default: none. */
  readonly metrics?: Metrics.Metrics | undefined
  /** Decoded consent strings and decisions, shared by every request; default: a fresh `DecisionCache.make()`. */
  readonly consent?: DecisionCache.DecisionCache | undefined
  /** Headers a trusted edge sets with the visitor's country and region; default: none (jurisdiction unknown). */
  readonly geo?: GeoHeaders | undefined
  /** Proxies whose forwarding header is believed; default: none (the socket's peer is the client). */
  readonly proxies?: Ip.TrustedProxies | undefined
  /** Today's salt, for tenants in cookieless mode; without it their visitors have no key. */
  readonly salt?: (() => SaltStore.Salt | undefined) | undefined
  /** The largest request body read, in bytes; default 64 KiB. */
  readonly maxBodyBytes?: number | undefined
  /** Cross-site recognition of browsers for retargeting (`CrossSite`); default: none (no cookie is read or set). */
  readonly crossSite?: CrossSite | undefined
  /**
   * The tombstones of erased pseudonyms (`Erased.ErasedSet`): a browser whose visitor id's pseudonym was erased is
   * stored under a new, unlinkable one (`Erased.pseudonymOf`); default: none (a visitor id always has one pseudonym).
   */
  readonly erased?: ErasedSet | undefined
}

/**
 * The server-to-server route's check before its body is read: the tenant whose key was sent, or the answer.
 *
 * @since 0.1.0
 * @category models
 */
export type Authorization =
  | { readonly _tag: "Authorized"; readonly tenant: Tenant }
  | { readonly _tag: "Refused"; readonly answer: Answer }

/**
 * A collector: the three routes as plain functions, for adapters to call.
 *
 * @since 0.1.0
 * @category models
 */
export interface Collector {
  readonly maxBodyBytes: number
  readonly proxies: Ip.TrustedProxies
  /** What a browser's request (the tag's pixel or batch) says about its sender. */
  readonly browserContext: (
    headers: Headers,
    remoteAddress: string | undefined,
    truncated?: Ip.Truncated | undefined
  ) => RequestContext
  /** `GET /px.gif?<query>`: one event; the GIF once it is durable (`Sink.append`). */
  readonly pixel: (request: RequestContext, query: string, answer: (answer: Answer) => void) => void
  /** `POST /collect`: a batch in the wire format; per-event results once stored (`Sink.store`). */
  readonly collect: (request: RequestContext, body: string, answer: (answer: Answer) => void) => void
  /** `POST /v1/events`, before its body is read: the API key (`Authorization: Bearer`) and the content type. */
  readonly authorize: (headers: Headers) => Authorization
  /** `POST /v1/events` once authorized: a JSON array of 1 to 500 events (or `{ "events": [...] }`). */
  readonly events: (tenant: Tenant, headers: Headers, body: string, answer: (answer: Answer) => void) => void
  /**
   * Validates sites, stores what is valid, and reports each event's result in input order. `tenantOf` decides
   * which tenant an event may belong to (by site key for the tag, by API key for server-to-server calls).
   * `source` is the namespace of the events' ids (`Collect.Source`, default `"browser"`): pass `"server"` only for
   * events whose sender was authenticated, which are stored under `Collect.storedId` so that no unauthenticated
   * event can take their ids. Results always name the id the sender chose.
   */
  readonly ingest: (
    decoded: ReadonlyArray<Decoded>,
    request: RequestContext,
    tenantOf: (site: string) => Tenant | string,
    done: (results: ReadonlyArray<EventResult> | Sink.Failure) => void,
    durable: "stored" | "appended",
    source?: Source
  ) => void
  /** The answer to a body over `maxBodyBytes` (counted); it asks to close the connection. */
  readonly tooLarge: (route: Metrics.Route) => Answer
  /** The answer to a body that is not UTF-8 (counted). */
  readonly notUtf8: (route: Metrics.Route) => Answer
}

/** How deeply nested a server-to-server JSON body may be before it is refused unparsed. */
const maxJsonDepth = 16

/** The most events one server-to-server request may carry. */
const maxEvents = 500

/**
 * Whether JSON text is nested deeper than `max` (a cheap scan that skips strings), so it can be refused unparsed.
 *
 * @since 0.1.0
 * @category parsing
 */
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

const gifAnswer: Answer = {
  status: 200,
  headers: {
    "content-type": Gif.contentType,
    "content-length": String(Gif.bytes.length),
    "cache-control": "no-store, max-age=0",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer"
  },
  body: Gif.bytes
}

/** A cookie name as RFC 6265 allows it (a token). */
const cookieName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * What one browser request's events say about cross-site recognition, gathered while they are decided: whether
 * any refused it, the links of the events that allow it, and the visitors of those that refuse it.
 */
interface Tally {
  readonly at: number
  refused: boolean
  readonly links: Array<{ readonly tenant: string; readonly visitor: string }>
  readonly unlinks: Array<{ readonly tenant: string; readonly visitor: string | undefined }>
}

// A literal key, not `[name]`: V8 builds an object literal with a computed key on its slow path (a few µs a pixel).
const withCookie = (answer: Answer, value: string): Answer => ({
  ...answer,
  headers: { ...answer.headers, "set-cookie": value }
})

const problemHeaders = { "content-type": Problem.contentType, "cache-control": "no-store" }

/**
 * A problem as an answer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const problemAnswer = (problem: Problem.Problem, headers?: Readonly<Record<string, string>>): Answer => ({
  status: problem.status,
  headers: headers === undefined ? problemHeaders : { ...problemHeaders, ...headers },
  body: JSON.stringify(problem)
})

/** The id the sender chose for the `k`th row (a server's rows are stored under `storedId`). */
const sentId = (decoded: ReadonlyArray<Decoded>, rowIndex: ReadonlyArray<number>, k: number): string =>
  (decoded[rowIndex[k]!] as { readonly right: Event.Event }).right.id

/**
 * A collector.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Collector => {
  const { tenants, sink, now } = options
  const metrics = options.metrics ?? Metrics.none
  const consent = options.consent ?? DecisionCache.make()
  const geo = options.geo ?? {}
  const proxies = options.proxies ?? Ip.noProxies
  const salt = options.salt ?? (() => undefined)
  const ingestKeys = options.ingestKeys ?? IngestKeys.none
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024
  const crossSite = options.crossSite
  const erased = options.erased
  const crossName = crossSite?.cookie ?? crossSiteCookie
  if (!cookieName.test(crossName)) throw new TypeError(`crossSite.cookie: "${crossName}" is not a cookie name`)
  const newId = crossSite?.newId ?? newBrowserId
  const attributes = "; Path=/; Secure; HttpOnly; SameSite=None"
  const clearCookie = `${crossName}=; Max-Age=0${attributes}`

  // Pseudonyms whose objection this process stored and that were not identified since: a visitor the tag cannot
  // tell about an opt-out (the collector's HttpOnly cookie on another site) sends its old id with every event, and
  // one objection record is all it takes (more would only record when the objector came back).
  const recentObjections = new LRUCache<string, true>({ max: 100_000 })
  const firstObjection = (objection: StoredEvent.StoredEvent): boolean => {
    const key = `${objection.tenant}\u0000${objection.visitor}`
    if (recentObjections.has(key)) return false
    recentObjections.set(key, true)
    return true
  }

  /** What an event decided for `tally` says about cross-site recognition (see `CrossSite`). */
  const note = (
    tally: Tally,
    tenant: Tenant,
    row: StoredEvent.StoredEvent | "consent",
    objection: StoredEvent.StoredEvent | undefined
  ): void => {
    // A dropped event ("consent") was decided to keep nothing, so nothing personalized either.
    const decision = row === "consent" ? undefined : row.consent?.decision
    if (decision !== undefined && crossSiteAllowed(decision)) {
      if (row !== "consent" && row.visitor !== null && !tenant.cookieless && !tenant.policy.childDirected) {
        tally.links.push({ tenant: tenant.id, visitor: row.visitor })
      }
      return
    }
    tally.refused = true
    // The first-party pseudonym: the stored visitor, or the one its objection names (a cookieless key is no link).
    const visitor = tenant.cookieless
      ? undefined
      : ((row === "consent" ? null : row.visitor) ?? objection?.visitor ?? undefined)
    tally.unlinks.push({ tenant: tenant.id, visitor })
  }

  /**
   * The request's cross-site outcome once its events are decided (and, when `kept`, stored): the hooks called and
   * the Set-Cookie value, if any. A refusal clears the cookie and unlinks, whatever else the request carried;
   * otherwise stored allowed events are linked to the browser's id (the cookie's, or a new one), which is set.
   */
  const settle = (tally: Tally, request: RequestContext, answer: Answer, kept: boolean): Answer => {
    const hooks = crossSite!
    // Only a well-formed id is ever passed on, whoever built the request context.
    const known = request.browser !== undefined && isBrowserId(request.browser) ? request.browser : undefined
    if (tally.refused) {
      const browser = known
      for (const u of tally.unlinks) {
        if (u.visitor === undefined && browser === undefined) continue
        try {
          hooks.unlink({ tenant: u.tenant, visitor: u.visitor, browser, at: tally.at })
        } catch {
          // Fire and forget: the store's failure must not cost the request.
        }
      }
      return withCookie(answer, clearCookie)
    }
    if (!kept || tally.links.length === 0) return answer
    let browser = known
    if (browser === undefined) {
      try {
        browser = newId()
      } catch {
        return answer
      }
      if (typeof browser !== "string" || !isBrowserId(browser)) return answer
    }
    // A browser given a new id now is linked when it comes back with it: a client that keeps no cookie (a bot, a
    // browser blocking them) is never linked, and costs the store nothing.
    if (known !== undefined) {
      for (const l of tally.links) {
        try {
          hooks.link({ tenant: l.tenant, visitor: l.visitor, browser, at: tally.at })
        } catch {
          // Fire and forget, as above.
        }
      }
    }
    return withCookie(answer, `${crossName}=${browser}; Max-Age=${crossSiteMaxAge}${attributes}`)
  }

  /** Counts rows that could not be kept, and forgets their objections (to be stored again when sent again). */
  const failed = (rows: ReadonlyArray<StoredEvent.StoredEvent>, objections: ReadonlyArray<StoredEvent.StoredEvent>) => {
    for (const row of rows) metrics.countEvent(row.type, "failed")
    for (const objection of objections) recentObjections.delete(`${objection.tenant}\u0000${objection.visitor}`)
  }

  // `run` makes no named closure per request: under tsx (`pnpm start`) each costs an `Object.defineProperty`.
  const run = (
    decoded: ReadonlyArray<Decoded>,
    request: RequestContext,
    tenantOf: (site: string) => Tenant | string,
    done: (results: ReadonlyArray<EventResult> | Sink.Failure) => void,
    durable: "stored" | "appended",
    source: Source,
    tally: Tally | undefined
  ): void => {
    const receivedAt = tally === undefined ? now() : tally.at
    const results: Array<EventResult | undefined> = new Array(decoded.length)
    const rows: Array<StoredEvent.StoredEvent> = []
    const rowIndex: Array<number> = []
    const objections: Array<StoredEvent.StoredEvent> = []
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
      const objected = objections.length
      // An authenticated sender's ids live apart from those anyone can send (`Collect.storedId`): the row's, and its
      // objection record's, which is named after it.
      const named = source === "server" ? { ...event, id: storedId(event.id, source) } : event
      const row = toStored(consent, tenant, named, request, receivedAt, metrics, objections, erased)
      const objection = objections.length === objected ? undefined : objections[objected]!
      if (objection !== undefined && !firstObjection(objection)) objections.pop()
      if (tally !== undefined && row !== "bot") note(tally, tenant, row, objection)
      if (typeof row !== "string" && row.visitor !== null && recentObjections.size !== 0) {
        // The pseudonym is identified again (the visitor chose again): a later objection must be stored anew.
        recentObjections.delete(`${row.tenant}\u0000${row.visitor}`)
      }
      if (typeof row === "string") {
        // Its consent decision forbids collecting it, or a bot sent it: an identifier-free counter is all that remains.
        results[i] = { index: i, id: event.id, status: "dropped", reason: row }
        metrics.countEvent(event.type, row === "bot" ? "bot" : "dropped")
        continue
      }
      rows.push(row)
      rowIndex.push(i)
    }
    // Objection records go after the rows, in the same append or store (the outcomes of the rows come first).
    const all = objections.length === 0 ? rows : rows.concat(objections)
    if (durable === "appended") {
      // Durable in the sink's log; whether each event is new or a duplicate is known (and counted) once it reaches
      // the database, so every row answers "accepted" here.
      sink.append(all, (failure) => {
        if (failure !== undefined) {
          failed(rows, objections)
          return done(failure)
        }
        for (let k = 0; k < rows.length; k++) {
          results[rowIndex[k]!] = { index: rowIndex[k]!, id: sentId(decoded, rowIndex, k), status: "accepted" }
        }
        done(results as Array<EventResult>)
      })
      return
    }
    sink.store(all, (result) => {
      if (result._tag === "Failed") {
        failed(rows, objections)
        return done(result)
      }
      for (let k = 0; k < rows.length; k++) {
        const status = result.outcomes[k]!
        metrics.countEvent(rows[k]!.type, status)
        results[rowIndex[k]!] = { index: rowIndex[k]!, id: sentId(decoded, rowIndex, k), status }
      }
      done(results as Array<EventResult>)
    })
  }

  const ingest: Collector["ingest"] = (decoded, request, tenantOf, done, durable, source = "browser") =>
    run(decoded, request, tenantOf, done, durable, source, undefined)

  /** A tally for a browser request, only when the collector recognizes browsers across sites. */
  const tallyOf = (): Tally | undefined =>
    crossSite === undefined ? undefined : { at: now(), refused: false, links: [], unlinks: [] }

  const bySite = (site: string): Tenant | string => tenants.bySite(site) ?? `site: unknown site key "${site}"`

  const problem = (route: Metrics.Route, value: Problem.Problem, headers?: Readonly<Record<string, string>>) => {
    metrics.countRequest(route, value.status)
    return problemAnswer(value, headers)
  }

  const unavailable = (route: Metrics.Route, failure: Sink.Failure): Answer =>
    problem(route, Problem.make("unavailable", failure.message), {
      "retry-after": String(failure.retryAfterSeconds ?? 1)
    })

  /** Answers a batch: 200 with the per-event results, or 400 naming the first rejected field. */
  const answerBatch = (route: Metrics.Route, outcome: ReadonlyArray<EventResult> | Sink.Failure): Answer => {
    if (!Array.isArray(outcome)) return unavailable(route, outcome as Sink.Failure)
    const results = outcome as ReadonlyArray<EventResult>
    const summary = { accepted: 0, duplicates: 0, dropped: 0, rejected: 0 }
    let firstRejected: Extract<EventResult, { status: "rejected" }> | undefined
    for (const result of results) {
      if (result.status === "accepted") summary.accepted++
      else if (result.status === "duplicate") summary.duplicates++
      else if (result.status === "dropped") summary.dropped++
      else if (result.status === "rejected") {
        summary.rejected++
        if (firstRejected === undefined) firstRejected = result
      }
    }
    if (firstRejected !== undefined) {
      return problem(
        route,
        Problem.make("invalid-event", `event ${firstRejected.index}: ${firstRejected.reason}`, {
          field: `events[${firstRejected.index}].${firstRejected.field}`,
          ...summary,
          events: results
        })
      )
    }
    metrics.countRequest(route, 200)
    return {
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
      body: JSON.stringify({ ...summary, events: results })
    }
  }

  const browserContext: Collector["browserContext"] =
    crossSite === undefined
      ? (headers, remoteAddress, truncated) =>
          requestContext(headers, geo, { remoteAddress, proxies, salt: salt(), truncated })
      : (headers, remoteAddress, truncated) => {
          const context = requestContext(headers, geo, { remoteAddress, proxies, salt: salt(), truncated })
          const browser = browserIdOf(header(headers, "cookie"), crossName)
          return browser === undefined ? context : { ...context, browser }
        }

  const pixelAnswer = (outcome: ReadonlyArray<EventResult> | Sink.Failure): Answer => {
    if (!Array.isArray(outcome)) return unavailable("pixel", outcome as Sink.Failure)
    const result = (outcome as ReadonlyArray<EventResult>)[0]!
    if (result.status === "rejected") {
      return problem("pixel", Problem.make("invalid-event", result.reason, { field: result.field }))
    }
    metrics.countRequest("pixel", 200)
    return gifAnswer
  }

  const pixel: Collector["pixel"] = (request, query, answer) => {
    const tally = tallyOf()
    run(
      [WireFormat.decodeQuery(query) as Decoded],
      request,
      bySite,
      tally === undefined
        ? (outcome) => answer(pixelAnswer(outcome))
        : (outcome) => answer(settle(tally, request, pixelAnswer(outcome), Array.isArray(outcome))),
      "appended",
      "browser",
      tally
    )
  }

  const collect: Collector["collect"] = (request, body, answer) => {
    const batch = WireFormat.decodeBatch(body)
    if (batch._tag === "Left") {
      return answer(problem("collect", Problem.make("invalid-body", batch.left.message, { field: batch.left.field })))
    }
    const tally = tallyOf()
    run(
      batch.right as ReadonlyArray<Decoded>,
      request,
      bySite,
      tally === undefined
        ? (outcome) => answer(answerBatch("collect", outcome))
        : (outcome) => answer(settle(tally, request, answerBatch("collect", outcome), Array.isArray(outcome))),
      "stored",
      "browser",
      tally
    )
  }

  const authorize: Collector["authorize"] = (headers) => {
    const key = IngestKeys.bearer(header(headers, "authorization"))
    const tenant = key === undefined ? undefined : ingestKeys.tenantOf(key)
    if (tenant === undefined) {
      return {
        _tag: "Refused",
        answer: problem(
          "events",
          Problem.make("unauthorized", "send a tenant API key as 'Authorization: Bearer <key>'")
        )
      }
    }
    const type = (header(headers, "content-type") ?? "").split(";")[0]!.trim().toLowerCase()
    if (type !== "application/json") {
      return {
        _tag: "Refused",
        answer: problem("events", Problem.make("unsupported-media-type", "send the events as application/json"))
      }
    }
    return { _tag: "Authorized", tenant }
  }

  const events: Collector["events"] = (tenant, headers, body, answer) => {
    if (exceedsDepth(body, maxJsonDepth)) {
      return answer(
        problem("events", Problem.make("invalid-body", `the JSON is nested deeper than ${maxJsonDepth} levels`))
      )
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      return answer(problem("events", Problem.make("invalid-body", "the body is not valid JSON")))
    }
    const list = Array.isArray(parsed)
      ? parsed
      : typeof parsed === "object" && parsed !== null && Array.isArray((parsed as { events?: unknown }).events)
        ? (parsed as { events: Array<unknown> }).events
        : undefined
    if (list === undefined || list.length === 0 || list.length > maxEvents) {
      return answer(
        problem(
          "events",
          Problem.make("invalid-body", `expected a JSON array of 1 to ${maxEvents} events, or { "events": [...] }`, {
            field: "events"
          })
        )
      )
    }
    const decoded = list.map((input): Decoded => {
      const result = Event.decodeUnknown(input)
      if (Either.isRight(result)) return { _tag: "Right", right: result.right }
      const id = typeof (input as { id?: unknown })?.id === "string" ? (input as { id: string }).id : undefined
      return { _tag: "Left", left: { field: result.left.field, message: result.left.message, id } }
    })
    ingest(
      decoded,
      // The peer of a server-to-server call is the advertiser's server, not the visitor: no client address.
      requestContext(headers, geo),
      (site) => (tenant.siteKeys.has(site) ? tenant : `site: "${site}" is not a site of this tenant`),
      (outcome) => answer(answerBatch("events", outcome)),
      "stored",
      // Authenticated: its ids live apart from the ones anyone can send to the pixel (see `Collect.serverIdPrefix`).
      "server"
    )
  }

  return {
    maxBodyBytes,
    proxies,
    browserContext,
    pixel,
    collect,
    authorize,
    events,
    ingest,
    tooLarge: (route) =>
      problem(route, Problem.make("body-too-large", `the body is over ${maxBodyBytes} bytes`), {
        connection: "close"
      }),
    notUtf8: (route) => problem(route, Problem.make("invalid-body", "the body is not valid UTF-8"))
  }
}
