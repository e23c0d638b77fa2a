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
 * What is kept: never an IP address, never the user-agent string, never the raw first-party id (only its keyed
 * HMAC, and only when the decision allows an identifier), and page URLs without query or fragment, referrers as
 * their origin (until the anonymizer's allowlist scrubbing replaces this blunt rule).
 */
import { Decision, type DecisionCache, Jurisdiction, Signals } from "@openaudience/consent"
import type { Event } from "@openaudience/event-schema"
import type { StoredEvent } from "@openaudience/storage-sql"
import { createHmac } from "node:crypto"
import type { Tenant } from "./Tenants.js"

/** What the HTTP request itself says, independent of what the tag claims. */
export interface RequestContext {
  /** Sec-GPC, DNT and the opt-out cookie. */
  readonly signals: Signals.Signals
  readonly jurisdiction: Jurisdiction.Jurisdiction
}

export const emptyRequest: RequestContext = { signals: Signals.empty, jurisdiction: "unknown" }

/** Where the visitor's country (and region) come from: headers set by a trusted edge, or nothing. */
export interface GeoHeaders {
  readonly country?: string | undefined
  readonly region?: string | undefined
}

type Headers = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

const single = (value: string | ReadonlyArray<string> | undefined): string | undefined =>
  typeof value === "string" ? value : undefined

/** Reads the request's own consent signals and jurisdiction. */
export const requestContext = (headers: Headers, geo: GeoHeaders = {}): RequestContext => ({
  signals: Signals.fromRequest(headers),
  jurisdiction:
    geo.country === undefined
      ? "unknown"
      : Jurisdiction.fromCountry(
          single(headers[geo.country]),
          geo.region === undefined ? undefined : single(headers[geo.region])
        )
})

/** The pseudonymous visitor key: HMAC-SHA256 under the tenant's key, 128 bits, base64url. */
export const visitorKey = (tenant: Tenant, visitorId: string): string =>
  createHmac("sha256", tenant.visitorKey).update(visitorId).digest("base64url").slice(0, 22)

const withoutQuery = (url: string): string | undefined => {
  const cut = url.search(/[?#]/)
  const base = cut === -1 ? url : url.slice(0, cut)
  return /^https?:\/\/[^/\s]+/i.test(base) ? base : undefined
}

const originOf = (url: string): string | undefined => {
  const match = /^(https?:\/\/[^/?#\s]+)/i.exec(url)
  return match === null ? undefined : match[1]!.toLowerCase()
}

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

/** The consent decision for one event of a request. */
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

/** Turns a decoded event into the row to store, or `undefined` when its decision forbids collecting it. */
export const toStored = (
  cache: DecisionCache.DecisionCache,
  tenant: Tenant,
  event: Event.Event,
  request: RequestContext,
  receivedAt: number
): StoredEvent | undefined => {
  const { decision, signals } = decide(cache, tenant, event, request)
  if (!decision.collect) return undefined
  const visitor = decision.identifier && event.visitorId !== undefined ? visitorKey(tenant, event.visitorId) : null
  const payload: Record<string, unknown> = {}
  for (const key in event) {
    if (!envelopeFields.has(key)) payload[key] = (event as unknown as Record<string, unknown>)[key]
  }
  if (event.url !== undefined) {
    const url = withoutQuery(event.url)
    if (url !== undefined) payload.url = url
  }
  if (event.referrer !== undefined) {
    const referrer = originOf(event.referrer)
    if (referrer !== undefined) payload.referrer = referrer
  }
  return {
    tenant: tenant.id,
    eventId: event.id,
    type: event.type,
    site: event.site,
    receivedAt,
    clientTs: event.clientTs ?? null,
    visitor,
    payload,
    consent: Decision.receipt(decision, signals)
  }
}
