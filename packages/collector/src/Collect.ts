/**
 * The per-event part of the collector's hot path: a decoded event and what the request itself says (headers,
 * cookies, where it comes from) become the consent decision and then the row to store, or nothing. Plain
 * synchronous code: it runs once per event at full request rate, with consent strings decoded once per distinct
 * value (bounded cache).
 *
 * The decision is recomputed here from the request, whatever the tag did: signals from the request (Sec-GPC,
 * DNT, the opt-out cookie) and from the event (what the tag forwarded) are merged, the most restrictive winning,
 * and decided under the tenant's policy for the visitor's jurisdiction. Its receipt is stored with the event, and
 * every later stage reads it instead of deciding again.
 *
 * Then @openaudience/anonymizer: what is kept is the truncated IP address (the full one lives in memory for this
 * request only), the generalized user agent (bots are counted, never stored), a keyed HMAC of the first-party id
 * (only when the decision allows an identifier), and the page URL and referrer scrubbed of personal data,
 * click ids and non-allowlisted parameters (referrers from other sites cut to their origin). Never the raw IP,
 * user-agent string or first-party id. Every free-text field of the event (product ids, categories, order ids,
 * element labels: the string fields of the event schemas that are not ids, enums or patterned, so a new field is
 * covered without a change here) is stripped of control characters and replaced whole by a marker
 * (`[redacted:email]`) when it holds personal data, each redaction counted (`Metrics.countRedaction`).
 *
 * An event stored without a visitor identifier (its decision forbids one, or cookieless mode had no key) keeps
 * only what aggregate measurement needs, so that its quasi-identifiers cannot single a person out or join it back
 * to a customer: times truncated to the hour, the jurisdiction, the browser family and device class (no address,
 * browser version or OS), and its `orderId` replaced by `orderHash` (a keyed HMAC under the tenant's order key,
 * `oh_…`: duplicates still match within a tenant, and the advertiser cannot look the order up).
 *
 * @since 0.1.0
 */
import { Ip, Pii, Pseudonym, type SaltStore, UserAgent } from "@openaudience/anonymizer"
import { createHmac, randomFillSync } from "node:crypto"
import { Decision, type DecisionCache, Jurisdiction, Signals } from "@openaudience/consent"
import { Event, StoredEvent } from "@openaudience/event-schema"
import { type ErasedSet, pseudonymOf } from "./Erased.js"
import { header, type HeadersInput, isWhatwg, record } from "./internal/headers.js"
import { type Metrics, none as noMetrics } from "./Metrics.js"
import type { Tenant } from "./Tenant.js"

/**
 * Request headers: a Node header record (`IncomingHttpHeaders`) or a WHATWG `Headers`.
 *
 * @since 0.1.0
 * @category models
 */
export type Headers = HeadersInput

/**
 * What the HTTP request itself says, independent of what the tag claims.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestContext {
  /** Sec-GPC, DNT and the opt-out cookie. */
  readonly signals: Signals.Signals
  readonly jurisdiction: Jurisdiction.Jurisdiction
  /** The client's address truncated (IPv4 /24, IPv6 /48), or `"unknown"`; `undefined` for server-to-server calls. */
  readonly ip: Ip.Truncated | undefined
  /** The sender's user agent generalized; server-to-server events may bring their own. */
  readonly userAgent: UserAgent.Generalized
  /** Today's salt, for tenants in cookieless mode. */
  readonly salt?: SaltStore.Salt | undefined
  /**
   * The browser's cross-site id (the collector's `crossSite` cookie, see `browserIdOf`), when the request carries a
   * well-formed one; read only by a collector configured with `crossSite`.
   */
  readonly browser?: string | undefined
}

/**
 * A request that says nothing: no signal, unknown jurisdiction, no client.
 *
 * @since 0.1.0
 * @category constructors
 */
export const emptyRequest: RequestContext = {
  signals: Signals.empty,
  jurisdiction: "unknown",
  ip: undefined,
  userAgent: UserAgent.unknown
}

/**
 * Where the visitor's country (and region) come from: the names of headers a trusted edge sets (for example
 * `cf-ipcountry`), or nothing (the jurisdiction is then unknown).
 *
 * @since 0.1.0
 * @category models
 */
export interface GeoHeaders {
  readonly country?: string | undefined
  readonly region?: string | undefined
}

/**
 * A browser's connection: the socket's peer address, the proxies whose forwarding header is believed, and today's
 * salt for cookieless tenants.
 *
 * @since 0.1.0
 * @category models
 */
export interface Client {
  readonly remoteAddress: string | undefined
  readonly proxies: Ip.TrustedProxies
  readonly salt?: SaltStore.Salt | undefined
  /** The client's truncated address when the caller already knows it (see the node:http adapter's per-socket memo). */
  readonly truncated?: Ip.Truncated | undefined
}

const signalHeaders = ["sec-gpc", "dnt", "cookie"]

/**
 * Reads what the request says: consent signals, jurisdiction, the client's truncated address and generalized
 * user agent. `client` is the socket's peer and the trusted proxies, for a browser's request (tag or pixel); it is
 * absent for server-to-server calls, whose peer is the advertiser's server, not the visitor.
 *
 * @since 0.1.0
 * @category constructors
 */
export const requestContext = (headers: Headers, geo: GeoHeaders = {}, client?: Client): RequestContext => {
  const whatwg = isWhatwg(headers)
  return {
    signals: Signals.fromRequest(whatwg ? record(headers, signalHeaders) : headers),
    jurisdiction:
      geo.country === undefined
        ? "unknown"
        : Jurisdiction.fromCountry(
            header(headers, geo.country),
            geo.region === undefined ? undefined : header(headers, geo.region)
          ),
    // The full address is used here, in memory, and only its truncation leaves this function.
    ip:
      client === undefined
        ? undefined
        : (client.truncated ??
          Ip.truncate(
            Ip.clientAddress(
              client.remoteAddress,
              whatwg ? record(headers, [client.proxies.header]) : headers,
              client.proxies
            )
          )),
    userAgent: client === undefined ? UserAgent.unknown : UserAgent.generalize(header(headers, "user-agent")),
    salt: client?.salt
  }
}

/**
 * The default name of the cross-site browser id cookie (`Collector.CrossSite`), set on the collector's own domain.
 *
 * @since 0.4.0
 * @category cross-site
 */
export const crossSiteCookie = "oa_xid"

/** 22 base64url characters whose last one carries no bits past the 128th: exactly 16 bytes, canonically encoded. */
const browserIdPattern = /^[A-Za-z0-9_-]{21}[AQgw]$/

/**
 * Whether `value` is a well-formed cross-site browser id: 128 bits in canonical unpadded base64url (22 characters).
 * Anything else a request carries in the cookie is ignored.
 *
 * @since 0.4.0
 * @category cross-site
 */
export const isBrowserId = (value: string): boolean => value.length === 22 && browserIdPattern.test(value)

/** Random bytes drawn from the CSPRNG 4 KiB at a time (one call per 256 ids), each byte handed out once (by offset). */
const randomPool = Buffer.allocUnsafe(4096)
let randomOffset = randomPool.length

/**
 * A new cross-site browser id: 16 random bytes from the platform's CSPRNG, base64url. The bytes come from a pool the
 * CSPRNG refills 4 KiB at a time (as Node's own `randomUUID` does): a call to it per id cost a cookieless pixel
 * request 6 % of the HTTP thread's time (`BENCH_CPU_PROF`, bench/README.md).
 *
 * @since 0.4.0
 * @category cross-site
 */
export const newBrowserId = (): string => {
  if (randomOffset + 16 > randomPool.length) {
    randomFillSync(randomPool)
    randomOffset = 0
  }
  const id = randomPool.toString("base64url", randomOffset, randomOffset + 16)
  randomOffset += 16
  return id
}

/**
 * The first well-formed browser id (`isBrowserId`) a Cookie header carries under `name`, raw (not URI-decoded), or
 * `undefined`. Pairs are separated by `;`, and by `,` too: that is how `Headers` joins several Cookie lines. Values
 * under that name that are not well-formed are skipped, whatever they hold.
 *
 * @since 0.4.0
 * @category cross-site
 */
export const browserIdOf = (cookieHeader: string | undefined, name: string = crossSiteCookie): string | undefined => {
  if (cookieHeader === undefined || !cookieHeader.includes(name)) return undefined
  let start = 0
  while (start <= cookieHeader.length) {
    let end = start
    while (end < cookieHeader.length) {
      const c = cookieHeader.charCodeAt(end)
      if (c === 59 || c === 44) break
      end++
    }
    const eq = cookieHeader.indexOf("=", start)
    if (eq !== -1 && eq < end && cookieHeader.slice(start, eq).trim() === name) {
      const value = cookieHeader.slice(eq + 1, end).trim()
      if (isBrowserId(value)) return value
    }
    start = end + 1
  }
  return undefined
}

/**
 * Whether a consent decision allows recognizing the browser across sites (a cross-site id on the collector's
 * domain, linked to the tenant's pseudonymous visitor): only with personalization and an identifier allowed and no
 * child signal. An opt-out, GPC, DNT under a policy honouring it, a TC string without the purposes and vendor
 * consent personalized ads need, a US opt-out of targeted advertising or sale, or a child signal all refuse it.
 * Accepts a `ConsentDecision` or the decision of a stored receipt.
 *
 * @since 0.4.0
 * @category cross-site
 */
export const crossSiteAllowed = (decision: {
  readonly personalization: boolean
  readonly identifier: boolean
  readonly child: boolean
}): boolean => decision.personalization && decision.identifier && !decision.child

const envelopeFields = new Set([
  "type",
  "id",
  "site",
  "clientTs",
  "serverTs",
  "visitorId",
  "userAgent",
  "consent",
  "url",
  "referrer"
])

interface FreeTextField {
  readonly path: Pii.FieldPath
  readonly label: string
}

/**
 * The free-text fields of each event type that reach the payload (the envelope's url, referrer and user agent
 * have their own scrubbing, and its consent strings are not stored), read off the event schemas once.
 *
 * @since 0.3.0
 * @category models
 */
export const freeTextFields: Readonly<Record<string, ReadonlyArray<FreeTextField>>> = Object.fromEntries(
  Object.entries(Event.schemas).map(([type, schema]) => [
    type,
    Pii.freeTextFields(schema)
      .filter((path) => !envelopeFields.has(path[0]!))
      .map((path) => ({ path, label: Pii.formatPath(path) }))
  ])
)

/** `value` with the field at `path[i..]` made storable; the same value (not a copy) when nothing changed. */
const redactAt = (value: unknown, field: FreeTextField, i: number, metrics: Metrics): unknown => {
  const path = field.path
  if (i === path.length) {
    if (typeof value !== "string") return value
    const redaction = Pii.redact(value)
    if (redaction.kind !== undefined) metrics.countRedaction?.(field.label, redaction.kind)
    return redaction.text
  }
  if (typeof value !== "object" || value === null) return value
  if (path[i] === "[]") {
    if (!Array.isArray(value)) return value
    let out: Array<unknown> = value
    for (let j = 0; j < value.length; j++) {
      const next = redactAt(value[j], field, i + 1, metrics)
      if (next !== value[j]) {
        if (out === value) out = value.slice()
        out[j] = next
      }
    }
    return out
  }
  const key = path[i]!
  const current = (value as Record<string, unknown>)[key]
  const next = redactAt(current, field, i + 1, metrics)
  return next === current ? value : { ...value, [key]: next }
}

/**
 * The pseudonymous visitor of an event whose decision allows an identifier: the keyed HMAC of its first-party id
 * (a later generation of it if the visitor erased their data, see `Erased.pseudonymOf`), or in cookieless mode the
 * HMAC of (today's salt, truncated IP, generalized user agent, site), which nobody can recompute once the salt is
 * destroyed; the first-party id is then ignored.
 */
const visitorOf = (
  tenant: Tenant,
  event: Event.Event,
  request: RequestContext,
  userAgent: UserAgent.Generalized,
  erased: ErasedSet | undefined
): string | null => {
  if (!tenant.cookieless) return event.visitorId === undefined ? null : pseudonymOf(tenant, event.visitorId, erased)
  if (request.ip === undefined || request.ip === "unknown" || request.salt === undefined) return null
  return Pseudonym.cookielessKey(request.salt, request.ip, userAgent, event.site) ?? null
}

/**
 * The order hash stored in place of an identifier-free event's `orderId`: `oh_` and the first 128 bits of
 * HMAC-SHA256 under the tenant's order key, in base64url. The same order gives the same hash within a tenant (for
 * deduplication) and unrelated hashes across tenants; the prefix keeps it from being taken for an order id.
 *
 * @since 0.4.0
 * @category anonymization
 */
export const orderHash = (tenant: Tenant, orderId: string): string =>
  `oh_${createHmac("sha256", tenant.orderKey).update(orderId).digest("base64url").slice(0, 22)}`

/**
 * Where an event came from, which decides the namespace of its id: `"browser"` for the unauthenticated routes (the
 * pixel and `POST /collect`, which anyone can call with any id), `"server"` for authenticated server-to-server calls
 * (`POST /v1/events` with an ingest key).
 *
 * @since 0.4.0
 * @category event ids
 */
export type Source = "browser" | "server"

/**
 * The prefix of a server-to-server event's stored `eventId`. `:` is outside an event id's alphabet
 * (`Event.EventId`: A-Z a-z 0-9 _ -), so no event from the unauthenticated routes can be stored under such an id: a
 * pixel sent first with the id of a real conversion cannot turn it into a duplicate, nor the reverse. Within each
 * namespace a resent id is still a duplicate.
 *
 * @since 0.4.0
 * @category event ids
 */
export const serverIdPrefix = "s2s:"

/**
 * The `eventId` stored for an event the sender identified by `id`: `id` itself from a browser, `s2s:<id>` from a
 * server.
 *
 * @since 0.4.0
 * @category event ids
 */
export const storedId = (id: string, source: Source): string => (source === "server" ? serverIdPrefix + id : id)

/**
 * The id the sender chose and where the event came from, read back from a stored `eventId` (the inverse of
 * `storedId`), for anything that shows stored events to people.
 *
 * @since 0.4.0
 * @category event ids
 */
export const sentId = (eventId: string): { readonly id: string; readonly source: Source } =>
  eventId.startsWith(serverIdPrefix)
    ? { id: eventId.slice(serverIdPrefix.length), source: "server" }
    : { id: eventId, source: "browser" }

const hourMs = 3_600_000

/** A millisecond time truncated to its hour (UTC). */
const toHour = (ms: number): number => ms - (((ms % hourMs) + hourMs) % hourMs)

/**
 * The consent decision for one event of a request, and the merged signals it was decided on.
 *
 * @since 0.1.0
 * @category decisions
 */
export const decide = (
  cache: DecisionCache.DecisionCache,
  tenant: Tenant,
  event: Event.Event,
  request: RequestContext
): { readonly decision: Decision.ConsentDecision; readonly signals: Signals.Signals } => {
  const signals =
    event.consent === undefined ? request.signals : Signals.merge(request.signals, Signals.fromEvent(event.consent))
  return { decision: cache.decide(signals, tenant.policy, request.jurisdiction), signals }
}

/** Receipts by content: most events share one of a handful, and the store serializes each shared one once. */
const receiptOf = Decision.receipts()

/**
 * Why an event is not stored: its consent decision forbids collecting it, or it comes from a bot.
 *
 * @since 0.1.0
 * @category models
 */
export type NotStored = "consent" | "bot"

/**
 * The objection record of an event that carries a first-party visitor id its own decision no longer allows an
 * identifier for (`StoredEvent.objectionType`): the pseudonym that id had, the time, the receipt of the refusing
 * decision and nothing else (no URL, product or context), under the id `objection:<event id>`, which no client can
 * send. Stored, it ends that pseudonym's memberships and identified history for targeting (@openaudience/audience).
 * With `erased`, the pseudonym is the one the id has now (`Erased.pseudonymOf`), given as `visitor`.
 *
 * @since 0.4.0
 * @category decisions
 */
export const objectionOf = (
  tenant: Tenant,
  event: Event.Event,
  visitorId: string,
  receivedAt: number,
  consent: StoredEvent.StoredEvent["consent"],
  visitor: string = tenant.pseudonym(visitorId)
): StoredEvent.StoredEvent => ({
  tenant: tenant.id,
  eventId: StoredEvent.objectionIdPrefix + event.id,
  type: StoredEvent.objectionType,
  site: event.site,
  receivedAt,
  clientTs: null,
  visitor,
  payload: {},
  consent
})

/**
 * Turns a decoded event into the row to store, or why it is not stored. Redactions of personal data in free-text
 * fields are counted on `metrics`.
 *
 * With `objections`, an event that carries a first-party visitor id while its decision forbids an identifier (the
 * visitor objected: GPC, Do Not Track, the opt-out cookie, a refused or withdrawn consent; the tag sends its old id
 * once with such a choice, then forgets it) also adds its objection record there (`objectionOf`), whether or not
 * the event itself is stored. Not in cookieless mode, where no first-party id is ever used.
 *
 * With `erased` (the tombstones of erased pseudonyms, `Erased.ErasedSet`), a visitor id whose pseudonym was erased
 * is stored, and objects, under its next generation's pseudonym (`Erased.pseudonymOf`), or without a visitor (and
 * without an objection record) once every generation was erased.
 *
 * @since 0.1.0
 * @category decisions
 */
export const toStored = (
  cache: DecisionCache.DecisionCache,
  tenant: Tenant,
  event: Event.Event,
  request: RequestContext,
  receivedAt: number,
  metrics: Metrics = noMetrics,
  objections?: Array<StoredEvent.StoredEvent>,
  erased?: ErasedSet
): StoredEvent.StoredEvent | NotStored => {
  const userAgent = event.userAgent === undefined ? request.userAgent : UserAgent.generalize(event.userAgent)
  if (userAgent.bot) return "bot"
  const { decision, signals } = decide(cache, tenant, event, request)
  if (objections !== undefined && !decision.identifier && event.visitorId !== undefined && !tenant.cookieless) {
    const objector = pseudonymOf(tenant, event.visitorId, erased)
    if (objector !== null) {
      objections.push(objectionOf(tenant, event, event.visitorId, receivedAt, receiptOf(decision, signals), objector))
    }
  }
  if (!decision.collect) return "consent"
  const visitor = decision.identifier ? visitorOf(tenant, event, request, userAgent, erased) : null
  const payload: Record<string, unknown> = {}
  for (const key in event) {
    if (!envelopeFields.has(key)) payload[key] = (event as unknown as Record<string, unknown>)[key]
  }
  const fields = freeTextFields[event.type]
  if (fields !== undefined) {
    for (const field of fields) {
      const key = field.path[0]!
      if (payload[key] !== undefined) payload[key] = redactAt(payload[key], field, 1, metrics)
    }
  }
  const url = event.url === undefined ? undefined : tenant.scrubUrl(event.url)
  if (url !== undefined) payload.url = url
  if (event.referrer !== undefined) {
    const referrer = tenant.scrubReferrer(event.referrer, url)
    if (referrer !== undefined) payload.referrer = referrer
  }
  const context: Record<string, string> = {}
  if (visitor !== null) {
    if (request.ip !== undefined) context.ip = request.ip
    context.browser = userAgent.browser
    context.browserMajor = userAgent.browserMajor
    context.os = userAgent.os
  } else {
    // Identifier-free: only what aggregate measurement needs (see the module paragraph).
    context.browser = userAgent.browser
    if (typeof payload.orderId === "string") {
      // The raw id (before redaction), so two sends of one order still match.
      payload.orderHash = orderHash(tenant, (event as { readonly orderId: string }).orderId)
      delete payload.orderId
    }
  }
  context.device = userAgent.device
  if (request.jurisdiction !== "unknown") context.jurisdiction = request.jurisdiction
  payload.context = context
  const clientTs = event.clientTs ?? null
  return {
    tenant: tenant.id,
    eventId: event.id,
    type: event.type,
    site: event.site,
    receivedAt: visitor === null ? toHour(receivedAt) : receivedAt,
    clientTs: visitor === null && clientTs !== null ? toHour(clientTs) : clientTs,
    visitor,
    payload,
    consent: receiptOf(decision, signals)
  }
}
