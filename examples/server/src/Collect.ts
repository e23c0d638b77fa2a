/**
 * The per-event part of the collector's hot path: a decoded event and what the request itself says
 * (headers, cookies, arrival time) become the row to store. Plain synchronous code, no allocation beyond
 * the row: it runs once per event at full request rate.
 *
 * What is kept: never an IP address, never the user-agent string, never the raw first-party id (only its
 * keyed HMAC, and only when no signal withholds it), and page URLs without query or fragment, referrers as
 * their origin (until the anonymizer's allowlist scrubbing replaces this blunt rule).
 */
import type { Event } from "@openaudience/event-schema"
import type { StoredEvent } from "@openaudience/storage-sql"
import { createHmac } from "node:crypto"
import { isOptedOut } from "./OptOut.js"
import type { Tenant } from "./Tenants.js"

/** What the HTTP request says about consent, independent of what the tag claims. */
export interface RequestSignals {
  /** `Sec-GPC: 1` */
  readonly gpc: boolean
  /** `DNT: 1` */
  readonly dnt: boolean
  /** The opt-out cookie on the collector's domain. */
  readonly optout: boolean
}

export const noRequestSignals: RequestSignals = { gpc: false, dnt: false, optout: false }

/** The policy version named in every consent receipt written by this collector. */
export const policyVersion = "foundation-1"

/** Reads the request's own consent signals from its headers. */
export const requestSignals = (headers: {
  readonly "sec-gpc"?: string | Array<string> | undefined
  readonly dnt?: string | Array<string> | undefined
  readonly cookie?: string | undefined
}): RequestSignals => ({
  gpc: headers["sec-gpc"] === "1",
  dnt: headers.dnt === "1",
  optout: headers.cookie !== undefined && headers.cookie.includes("oa_optout=1") && isOptedOut(headers.cookie)
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

/** Turns a decoded event into the row to store. */
export const toStored = (
  tenant: Tenant,
  event: Event.Event,
  request: RequestSignals,
  receivedAt: number
): StoredEvent => {
  const sent = event.consent
  const withheld =
    request.gpc || request.dnt || request.optout || sent?.gpc === true || sent?.dnt === true || sent?.optout === true
  const visitor = !withheld && event.visitorId !== undefined ? visitorKey(tenant, event.visitorId) : null
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
    consent: {
      policy: policyVersion,
      signals: {
        gpc: request.gpc || sent?.gpc === true,
        dnt: request.dnt || sent?.dnt === true,
        optout: request.optout || sent?.optout === true,
        tcf: sent?.tcf !== undefined,
        gpp: sent?.gpp !== undefined
      },
      identifier: visitor !== null
    }
  }
}
