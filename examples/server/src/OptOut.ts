/**
 * The opt-out: a long-lived cookie on the collector's own domain that the collector honours server-side, so it
 * works whatever the tag on a site does. `GET /optout` explains it with one button; `POST /optout` sets it
 * (plain form post, no JavaScript needed) and, from this page only, clears it again (opt back in);
 * `GET /optout/status` reports it as JSON; `GET /.well-known/gpc.json` states that Global Privacy Control is
 * honoured. The cookie is the only state: deleting cookies deletes the opt-out, which the page says.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Cookies from "@effect/platform/Cookies"
import { Ip } from "@openaudience/anonymizer"
import { Signals } from "@openaudience/consent"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as BodyLimit from "./BodyLimit.js"
import { escapeHtml } from "./console/Layout.js"
import * as Problem from "./Problem.js"

/** The opt-out cookie's name (the collector reads it with `Collect.requestSignals`). */
export const cookieName = Signals.OptOutCookie

/** Five years: "long-lived", yet not forever. */
const maxAge = Duration.days(5 * 365)

/**
 * Whether the browser reached us over https: the public URL says so, or a trusted proxy (the same
 * `trustedProxies` that are believed for the client's address) says so in `X-Forwarded-Proto` or in `Forwarded`'s
 * `proto=`. Any other client's forwarding headers are its own words and ignored: a client that could claim https
 * would get `SameSite=None; Secure` cookies over plain http.
 */
export const isSecure = (
  headers: Readonly<Record<string, string | undefined>>,
  remoteAddress: string | undefined,
  publicUrl: string,
  proxies: Ip.TrustedProxies
): boolean => {
  if (publicUrl.startsWith("https:")) return true
  const peer = Ip.parse(remoteAddress)
  if (peer === undefined || proxies.cidrs.length === 0 || !Ip.isTrusted(proxies, peer)) return false
  // The nearest proxy's word is the last element (proxies append).
  const last = (value: string | undefined) => value?.split(",").at(-1)?.trim().toLowerCase()
  const proto = last(headers["x-forwarded-proto"])
  if (proto !== undefined) return proto === "https"
  const forwarded = last(headers.forwarded)
  if (forwarded === undefined) return false
  return forwarded.split(";").some((pair) => pair.trim().replace(/"/g, "") === "proto=https")
}

/** The tag's first-party opt-out flag: readable by the tag when the collector shares the site (as in the demo). */
export const tagCookieName = "_oa_optout"

type CookieSpec = readonly [name: string, value: string, options: Cookies.Cookie["options"]]

/**
 * The cookies that opt out (or, with `optIn`, remove the opt-out): the HttpOnly cookie the collector honours, and
 * the tag's readable flag so that a tag on the same site stops creating a visitor id at all.
 */
export const cookies = (secure: boolean, optIn = false): ReadonlyArray<CookieSpec> => {
  const common = {
    path: "/",
    // Third-party context (the collector is on another site than the shop) needs SameSite=None, which needs Secure.
    sameSite: secure ? ("none" as const) : ("lax" as const),
    secure,
    maxAge: optIn ? Duration.zero : maxAge
  }
  return [
    [cookieName, optIn ? "" : "1", { ...common, httpOnly: true }],
    [tagCookieName, optIn ? "" : "1", { ...common, httpOnly: false }]
  ]
}

export const isOptedOut = (cookieHeader: string | undefined): boolean => Signals.hasOptOutCookie(cookieHeader)

/** The opt-out page. */
export const page = (state: {
  readonly optedOut: boolean
  readonly gpc: boolean
  readonly message?: string
}) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Opt out of interest-based ads · OpenAudience</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.55; color: #1d1d1f; }
.status { padding: .75rem 1rem; border-radius: .5rem; background: #eef3fd; }
.status.out { background: #e6f4ea; }
button { font: inherit; padding: .6rem 1.2rem; border-radius: .4rem; border: 1px solid #0b57d0; background: #0b57d0; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #0b57d0; }
button:focus-visible, a:focus-visible { outline: 3px solid #f9ab00; outline-offset: 2px; }
</style>
</head>
<body>
<main>
<h1>Opt out of interest-based ads</h1>
${state.message === undefined ? "" : `<p role="status"><strong>${escapeHtml(state.message)}</strong></p>`}
<p class="status${state.optedOut ? " out" : ""}" id="status">${
  state.optedOut ? "You are opted out in this browser." : "You are not opted out in this browser."
}${state.gpc ? " Your browser also sends Global Privacy Control, which we honour as an opt-out." : ""}</p>
<h2>What opting out does</h2>
<ul>
<li>Sites using OpenAudience stop linking your visits to a pseudonymous identifier: no profile is built, and you are not added to audiences for retargeted ads.</li>
<li>What was built before ends too: the next time a site's tag sees your choice, it sends the identifier it had one last time with it and then deletes it; your audience memberships end at once and your earlier visits are no longer used to choose ads.</li>
<li>Events may still be counted without any identifier (for example, how many people viewed a page), which cannot be tied to you.</li>
<li>The opt-out is stored in a cookie on this domain. If you delete your cookies or use another browser, opt out again. Global Privacy Control and Do Not Track are honoured without a cookie.</li>
</ul>
${
  state.optedOut
    ? `<form method="post" action="/optout">
<input type="hidden" name="action" value="optin">
<button type="submit" class="secondary">Opt back in</button>
</form>`
    : `<form method="post" action="/optout">
<input type="hidden" name="action" value="optout">
<button type="submit" id="optout-button">Opt out</button>
</form>`
}
<p><a href="/optout/status">Status as JSON</a> · <a href="/.well-known/gpc.json">GPC support statement</a></p>
</main>
</body>
</html>`

const html = (body: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.html(body).pipe(
    HttpServerResponse.setHeaders({
      "cache-control": "no-store",
      "content-security-policy":
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      ...headers
    })
  )

export const show = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const params = yield* HttpServerRequest.ParsedSearchParams
  const optedOut = isOptedOut(request.headers.cookie)
  const done =
    params.done === "optout"
      ? "Done: you are opted out."
      : params.done === "optin"
        ? "Done: you are opted back in."
        : undefined
  return html(
    page({ optedOut, gpc: request.headers["sec-gpc"] === "1", ...(done === undefined ? {} : { message: done }) })
  )
})

/** The form's body is one short field: anything longer is refused (413) while it streams, never buffered. */
export const maxFormBytes = 4 * 1024

/** The host of an `Origin` header, or `undefined` for `null`, garbage, or anything that is not http(s). */
const originHost = (origin: string): string | undefined => {
  if (!URL.canParse(origin)) return undefined
  const url = new URL(origin)
  return url.protocol === "http:" || url.protocol === "https:" ? url.host : undefined
}

/**
 * Whether a request comes from this server's own pages (for opting back in, which must not be forgeable). An
 * `Origin` of `null` (sandboxed frames, privacy redirects) or one that does not parse is not this page.
 */
export const sameOrigin = (headers: Readonly<Record<string, string | undefined>>): boolean => {
  const site = headers["sec-fetch-site"]
  if (site !== undefined) return site === "same-origin"
  const origin = headers.origin
  const host = headers.host
  if (origin === undefined || host === undefined) return false
  const fromOrigin = originHost(origin)
  return fromOrigin !== undefined && fromOrigin === host.toLowerCase()
}

export const submit = (publicUrl: () => string, proxies: Ip.TrustedProxies = Ip.noProxies) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = yield* BodyLimit.text(maxFormBytes)
    const action = new URLSearchParams(body).get("action") ?? "optout"
    const secure = isSecure(request.headers, Option.getOrUndefined(request.remoteAddress), publicUrl(), proxies)
    const wantsJson = (request.headers.accept ?? "").includes("application/json")
    if (action !== "optout" && action !== "optin") {
      return Problem.response(Problem.make("invalid-body", 'action: expected "optout" or "optin"', { field: "action" }))
    }
    // Opting out may come from anywhere (a publisher's button); opting back in only from this page.
    if (action === "optin" && !sameOrigin(request.headers)) {
      return Problem.response(Problem.make("forbidden", "opting back in is only possible from the opt-out page itself"))
    }
    const headers = { "cache-control": "no-store" }
    const response = wantsJson
      ? HttpServerResponse.unsafeJson({ optedOut: action === "optout" }, { headers })
      : HttpServerResponse.empty({ status: 303, headers: { ...headers, location: `/optout?done=${action}` } })
    return HttpServerResponse.unsafeSetCookies(response, cookies(secure, action === "optin"))
  })

export const status = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  return HttpServerResponse.unsafeJson(
    {
      optedOut: isOptedOut(request.headers.cookie),
      gpc: request.headers["sec-gpc"] === "1",
      dnt: request.headers.dnt === "1"
    },
    { headers: { "cache-control": "no-store" } }
  )
})

/** The GPC support resource (https://privacycg.github.io/gpc-spec/#gpc-support-resource). */
export const gpcJson = HttpServerResponse.unsafeJson(
  { gpc: true, lastUpdate: "2026-11-29" },
  { headers: { "cache-control": "public, max-age=86400" } }
)
