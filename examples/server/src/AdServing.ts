/**
 * The ad server's routes: HTTP adapters over @openaudience/ad-selector's `Serving`.
 *
 * - `GET /ad?site=SITEKEY&slot=ID&w=300&h=250[&ctx=CATEGORY][&format=json]`: the ad for a publisher's slot, as an
 *   HTML document for an iframe (with its content security policy) or as JSON. The request's consent decision
 *   (opt-out cookie, `Sec-GPC`, `DNT`, and the IAB parameters `gdpr`, `gdpr_consent`, `gpp`, `gpp_sid`,
 *   `us_privacy`, `coppa` in the query, under the publisher site's policy) decides whether the browser's cross-site
 *   cookie (`oa_xid`, set by the collector only where consent allows) may be read; where it may not, the cookie is
 *   cleared and the ad is contextual or house. Never a 5xx: whatever fails, a house ad or an empty document. This
 *   route is a plain node:http handler (`makeAdHandler`) the server calls before its router: an ad costs the decision
 *   and little else.
 * - `GET /click/<token>`: a signed, expiring token naming the decision; 302 to the landing page registered for
 *   that creative or product (never a URL from the request); a bad or expired token gets a 400 page.
 * - `GET|POST /ad/impression/<rendered|viewable>/<token>`: counts an impression once per decision and kind.
 * - `POST /xsite/link` (form fields `site`, `vid`, `return`), then `GET /xsite/link?site=SITEKEY&return=URL`: the
 *   first-party way to be recognized across sites in browsers that block third-party cookies (Chromium by default):
 *   a shop's page posts the visitor here, on the ad server's own domain, by a top-level navigation the visitor
 *   chose (the demo shop's "show me what I viewed on other sites"). The visitor id travels in the form body, never
 *   in a URL: the POST keeps the tenant's pseudonym of it for a minute in a sealed cookie and redirects to the GET,
 *   a top-level navigation that carries the ad server's own `SameSite=Lax` cookie. When the request's consent
 *   decision allows cross-site personalization and the visitor has not objected, the ad server sets its cookie
 *   first-party and links it to the pseudonym; otherwise it clears the cookie and drops the links. Either way it
 *   sends the visitor back to `return`, only if that is on one of the site's origins.
 */
import * as Cookies from "@effect/platform/Cookies"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Serving } from "@openaudience/ad-selector"
import { UserAgent } from "@openaudience/anonymizer"
import { Collect, Collector, Erased } from "@openaudience/collector"
import { Decision, Signals } from "@openaudience/consent"
import { TenancyStore } from "@openaudience/tenancy"
import { Center, DsarStore, Subject } from "@openaudience/dsar"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as BodyLimit from "./BodyLimit.js"
import { escapeHtml } from "./console/Layout.js"
import * as Privacy from "./Privacy.js"
import * as Problem from "./Problem.js"
import { ServerConfig } from "./ServerConfig.js"
import { Tenants } from "./Tenants.js"

/** The 43-byte transparent GIF answered to an impression counted by an image. */
const gif = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64")

const slotPattern = /^[A-Za-z0-9._-]{1,64}$/
const categoryPattern = /^[\p{L}\p{N} ._&/-]{1,64}$/u

const htmlDocument = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
  `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`

const htmlPageHeaders = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff"
}

const htmlPage = (status: number, title: string, text: string) =>
  HttpServerResponse.text(htmlDocument(title, text), {
    status,
    contentType: "text/html; charset=utf-8",
    headers: htmlPageHeaders
  })

/** Whether a request accepts HTML: a browser following a link or loading a frame. */
const wantsHtml = (accept: string | undefined): boolean => /\btext\/html\b/i.test(accept ?? "")

/**
 * An answer for people or for programs: a small HTML page when the request accepts HTML (a browser following a link
 * or loading a frame), else the problem document every other error of the server is.
 */
const answerFor =
  (accept: string | undefined) =>
  (status: number, title: string, text: string): HttpServerResponse.HttpServerResponse =>
    status < 400 || wantsHtml(accept)
      ? htmlPage(status, title, text)
      : Problem.response(
          Problem.make(
            status === 503 ? "unavailable" : status === 404 ? "not-found" : "invalid-parameter",
            `${title}: ${text}`
          )
        )

/** The answer for the current request (see `answerFor`). */
const page = (status: number, title: string, text: string) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => answerFor(request.headers.accept)(status, title, text))

const noStore = { "cache-control": "no-store", "x-content-type-options": "nosniff" }

/** The cookie that clears the cross-site id (the attributes the collector sets it with). */
const clearCrossSite = `${Collect.crossSiteCookie}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=None`

const one = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)

const integer = (value: string | undefined, min: number, max: number): number | undefined =>
  value !== undefined && /^\d{1,5}$/.test(value) && Number(value) >= min && Number(value) <= max
    ? Number(value)
    : undefined

/** The one value of the query parameter `name`, or `undefined` when it is missing or repeated. */
const single = (params: URLSearchParams, name: string): string | undefined => {
  const all = params.getAll(name)
  return all.length === 1 ? all[0] : undefined
}

const invalid = (field: string, detail: string) => ({ _tag: "Invalid" as const, field, detail })

/** The slot an ad request names, checked: the first parameter at fault, or every value the decision needs. */
const adSlot = <Site>(
  params: URLSearchParams,
  bySite: (siteKey: string) => Site | undefined
):
  | { readonly _tag: "Invalid"; readonly field: string; readonly detail: string }
  | {
      readonly _tag: "Valid"
      readonly siteKey: string
      readonly publisher: Site
      readonly slot: string
      readonly width: number
      readonly height: number
      readonly ctx: string | undefined
    } => {
  const siteKey = single(params, "site")
  const publisher = siteKey === undefined ? undefined : bySite(siteKey)
  if (siteKey === undefined || publisher === undefined) return invalid("site", "no such site")
  const slot = single(params, "slot")
  if (slot === undefined || !slotPattern.test(slot)) return invalid("slot", "expected 1 to 64 of A-Z a-z 0-9 . _ -")
  const width = integer(single(params, "w"), 1, 4000)
  if (width === undefined) return invalid("w", "expected a width in pixels, 1 to 4000")
  const height = integer(single(params, "h"), 1, 4000)
  if (height === undefined) return invalid("h", "expected a height in pixels, 1 to 4000")
  const ctx = single(params, "ctx")
  if (ctx !== undefined && !categoryPattern.test(ctx)) return invalid("ctx", "expected a page category")
  return { _tag: "Valid", siteKey, publisher, slot, width, height, ctx }
}

/** What `makeAdHandler` needs: the server's settings, its tenants, ad serving and a way to run an effect. */
export interface AdHandlerDeps {
  readonly publicUrl: () => string
  readonly config: ServerConfig["Type"]
  readonly tenants: Tenants["Type"]
  readonly serving: Serving.Service
  /** Runs the decision (the server's runtime), calling `done` with its exit. */
  readonly run: <A>(effect: Effect.Effect<A>, done: (exit: Exit.Exit<A>) => void) => void
  /** Logs a failed decision (answered with an empty document). */
  readonly failed: (cause: Cause.Cause<unknown>) => void
  /**
   * Headers every answer of the handler carries (the server's security headers for a document others frame); the
   * handler's own win where both name one. The server sets none on the response before calling the handler: a header
   * set before `writeHead` puts node on its slower path, which merges the answer's headers one by one.
   */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

const send = (
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string>
) => {
  res.writeHead(status, { ...headers, "content-type": contentType, "content-length": Buffer.byteLength(body) })
  res.end(body)
}

const htmlType = "text/html; charset=utf-8"

/** An empty ad document (nothing to show): the iframe stays blank. */
const emptyBody = `<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body></body></html>`

const emptyHeaders = (reason: string, headers: Record<string, string> = {}): Record<string, string> => ({
  ...noStore,
  ...headers,
  "content-security-policy": "default-src 'none'",
  "x-oa-reason": reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 100)
})

/** Answers a request whose slot is not valid: a problem for JSON, a page for a browser, else a problem. */
const refuse = (req: IncomingMessage, res: ServerResponse, format: "json" | "html", field: string, detail: string) => {
  if (format === "json")
    return Problem.send(res, Problem.make("invalid-parameter", `${field}: ${detail}`, { field }), noStore)
  if (wantsHtml(req.headers.accept)) {
    return send(res, 400, htmlType, htmlDocument("No ad", `${field}: ${detail}`), htmlPageHeaders)
  }
  Problem.send(res, Problem.make("invalid-parameter", `No ad: ${field}: ${detail}`))
}

/**
 * The header lists of the handler's ads, built once from the server's own (see `AdHandlerDeps.headers`): flat
 * `[name, value, …]` arrays, the form `writeHead` writes with the least work, whose last values (the content length,
 * and a document's policy) are filled in for each answer just before `writeHead` reads them.
 */
const answerHeaders = (defaults: Readonly<Record<string, string>>) => {
  const flat = (headers: Readonly<Record<string, string>>, ...last: ReadonlyArray<string>): Array<string> => [
    ...Object.entries(headers).flat(),
    ...last.flatMap((name) => [name, ""])
  ]
  const json = { ...defaults, ...noStore, "content-type": "application/json" }
  const html = { ...defaults, ...noStore, "content-type": htmlType, "referrer-policy": "no-referrer-when-downgrade" }
  const clear = { "set-cookie": clearCrossSite }
  return {
    defaults,
    json: flat(json, "content-length"),
    jsonClearing: flat({ ...json, ...clear }, "content-length"),
    html: flat(html, "content-security-policy", "content-length"),
    htmlClearing: flat({ ...html, ...clear }, "content-security-policy", "content-length")
  }
}

type AnswerHeaders = ReturnType<typeof answerHeaders>

/** Sets headers one by one (the handler's rare answers: refusals, empty documents). */
const preset = (res: ServerResponse, headers: Readonly<Record<string, string>>) => {
  for (const name in headers) res.setHeader(name, headers[name]!)
}

/** An empty ad document (nothing to show) with the server's headers, clearing the cross-site cookie when asked. */
const sendEmpty = (res: ServerResponse, headers: AnswerHeaders, reason: string, clearing = false) => {
  preset(res, headers.defaults)
  send(res, 200, htmlType, emptyBody, emptyHeaders(reason, clearing ? { "set-cookie": clearCrossSite } : {}))
}

/**
 * Sends the decision's answer (an empty document when it failed: never a 5xx). An ad is written with one
 * `writeHead` of a prepared header list: nothing set before it, no header object made per answer. (`writeHead`
 * reads the list at once, so the next answer may fill it in again.)
 */
const answer = (
  res: ServerResponse,
  deps: AdHandlerDeps,
  headers: AnswerHeaders,
  exit: Exit.Exit<Serving.Answer>,
  format: "json" | "html",
  clearing: boolean,
  nonce: string,
  base: string
) => {
  if (res.headersSent || res.destroyed) return
  if (Exit.isFailure(exit)) {
    deps.failed(exit.cause)
    return sendEmpty(res, headers, "error", clearing)
  }
  const ad = exit.value
  if (format === "json") {
    const body = Serving.toJsonText(ad)
    const head = clearing ? headers.jsonClearing : headers.json
    head[head.length - 1] = String(Buffer.byteLength(body))
    res.writeHead(200, head)
    return res.end(body)
  }
  if (ad._tag === "NoAd") return sendEmpty(res, headers, ad.reason, clearing)
  const head = clearing ? headers.htmlClearing : headers.html
  head[head.length - 3] = Serving.contentSecurityPolicy({ nonce, impressionBase: `${base}/ad/impression/` })
  head[head.length - 1] = String(Buffer.byteLength(ad.html))
  res.writeHead(200, head)
  res.end(ad.html)
}

/** A decided ad (or a failed decision), waiting to be written (see `makeAdHandler`). */
interface Ready {
  readonly res: ServerResponse
  readonly exit: Exit.Exit<Serving.Answer>
  readonly format: "json" | "html"
  /** Whether the answer clears the cross-site cookie. */
  readonly clearing: boolean
  readonly nonce: string
  readonly base: string
}

/**
 * `GET /ad`, as a node:http handler: the server sends the path to it before its router, so an ad request costs the
 * decision and little else (no router, no request or response objects of the platform's). Never a 5xx: an ad slot
 * whose decision fails shows nothing.
 */
export const makeAdHandler = (deps: AdHandlerDeps) => {
  const { config, tenants, serving } = deps
  const headers = answerHeaders(deps.headers ?? {})
  const geo = {
    ...(config.countryHeader === undefined ? {} : { country: config.countryHeader }),
    ...(config.regionHeader === undefined ? {} : { region: config.regionHeader })
  }
  // The links' bases, made again only when the public URL changes.
  let links = { base: "", click: "", impression: "" }
  const linksFor = (base: string) => {
    if (links.base !== base) links = { base, click: `${base}/click/`, impression: `${base}/ad/impression/` }
    return links
  }
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? "/"
    const q = url.indexOf("?")
    const params = new URLSearchParams(q === -1 ? "" : url.slice(q + 1))
    const format = single(params, "format") === "json" ? ("json" as const) : ("html" as const)
    const checked = adSlot(params, tenants.bySite)
    if (checked._tag === "Invalid") {
      preset(res, headers.defaults)
      refuse(req, res, format, checked.field, checked.detail)
      return
    }
    const { siteKey, publisher, slot, width, height, ctx } = checked

    // What the browser may be recognized for: the request's signals under the publisher site's policy.
    const context = Collect.requestContext(req.headers, geo)
    const signals = Signals.merge(context.signals, Signals.fromQuery(params))
    const decision = Decision.decide(signals, publisher.policy, context.jurisdiction)
    const personalization = Collect.crossSiteAllowed(decision)
    const cookie = Collect.browserIdOf(req.headers.cookie)
    const device = UserAgent.generalize(req.headers["user-agent"]).device
    const base = deps.publicUrl()
    // The document's script nonce: 16 CSPRNG bytes, base64url, drawn from the collector's pool of random bytes as its
    // browser ids are. A JSON answer has no document (its HTML is a fragment the page places itself), so none.
    const nonce = format === "html" ? Collect.newBrowserId() : ""
    const clearing = !personalization && cookie !== undefined
    const served = serving.unsafeServe({
      publisher: { siteKey, tenant: publisher.id, childDirected: publisher.policy.childDirected },
      slot,
      width,
      height,
      category: ctx,
      device: device === "bot" ? "other" : device,
      personalization,
      child: decision.child,
      browser: personalization ? cookie : undefined,
      format,
      links: linksFor(base),
      nonce
    })
    // Decided from memory (the usual case): no effect run and no closure made (under tsx every named one costs an
    // Object.defineProperty). Either way the answer is queued, to be written with the others of the same turn.
    if (Effect.isEffect(served)) deps.run(served, (exit) => enqueue({ res, exit, format, clearing, nonce, base }))
    else enqueue({ res, exit: Exit.succeed(served), format, clearing, nonce, base })
  }
  /**
   * The answers decided in this turn of the event loop, written together once its reads and callbacks are handled
   * (`setImmediate` runs right after the poll phase). Writing each answer as soon as it is decided puts a socket
   * write, and the wake-up of the client it reaches, between every two requests; written together, the writes follow
   * each other while the clients are still awake. Measured on the ads benchmark's load (10 connections, 2 cores): the
   * server's CPU per ad fell from 144 to 85 µs and its rate rose from 7,200 to 12,400 ads/s. An answer waits at most
   * for the other decisions of its turn.
   */
  let ready: Array<Ready> = []
  const enqueue = (answered: Ready) => {
    ready.push(answered)
    if (ready.length === 1) setImmediate(writeReady)
  }
  const writeReady = () => {
    const batch = ready
    ready = []
    for (const r of batch) {
      try {
        answer(r.res, deps, headers, r.exit, r.format, r.clearing, r.nonce, r.base)
      } catch (error) {
        deps.failed(Cause.die(error))
        if (!r.res.headersSent) sendEmpty(r.res, headers, "error")
      }
    }
  }
  // Never a 5xx: whatever throws before the decision (a header no parser expected) answers an empty document.
  return (req: IncomingMessage, res: ServerResponse): void => {
    try {
      handle(req, res)
    } catch (error) {
      deps.failed(Cause.die(error))
      if (!res.headersSent) sendEmpty(res, headers, "error")
    }
  }
}

/** `GET /click/<token>`. */
export const click = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const page = answerFor(request.headers.accept)
  // A wildcard, not `:token`: the router refuses parameters over 100 characters, and tokens are longer.
  const token = (yield* HttpRouter.params)["*"]
  const serving = yield* Serving.Serving
  return yield* serving.click(token ?? "").pipe(
    Effect.map((resolved) =>
      HttpServerResponse.empty({
        status: 302,
        headers: {
          location: resolved.location,
          "cache-control": "no-store",
          "referrer-policy": "no-referrer-when-downgrade"
        }
      })
    ),
    Effect.catchTag("ServingError", (error) =>
      Effect.succeed(
        error.reason === "Unavailable"
          ? page(503, "Try again", "This link cannot be followed right now; try again in a moment.").pipe(
              HttpServerResponse.setHeader("retry-after", "5")
            )
          : error.reason === "Expired"
            ? page(400, "This link has expired", "Ad links are valid for a day. Nothing was recorded.")
            : page(400, "This link is not valid", "The ad link is malformed or was not made by this server.")
      )
    )
  )
}).pipe(
  Effect.catchAllCause((cause) =>
    Effect.zipRight(
      Effect.logWarning("click failed", cause),
      page(400, "This link is not valid", "The ad link could not be followed.")
    )
  )
)

/** `GET|POST /ad/impression/<kind>/<token>`: 204 (a GIF for an image request). */
export const impression = Effect.gen(function* () {
  const rest = (yield* HttpRouter.params)["*"] ?? ""
  const slash = rest.indexOf("/")
  const kind = slash === -1 ? rest : rest.slice(0, slash)
  const token = slash === -1 ? "" : rest.slice(slash + 1)
  const request = yield* HttpServerRequest.HttpServerRequest
  const answer =
    request.method === "GET"
      ? HttpServerResponse.uint8Array(gif, { contentType: "image/gif", headers: noStore })
      : HttpServerResponse.empty({ status: 204, headers: noStore })
  if (kind !== "rendered" && kind !== "viewable") {
    return Problem.response(Problem.make("not-found", "an impression is rendered/<token> or viewable/<token>"))
  }
  const serving = yield* Serving.Serving
  yield* serving
    .impression(token ?? "", kind)
    .pipe(
      Effect.catchTag("ServingError", (error) =>
        error.reason === "Unavailable" ? Effect.logWarning("impression not counted", error.message) : Effect.void
      )
    )
  return answer
}).pipe(
  Effect.catchAllCause((cause) =>
    Effect.as(
      Effect.logWarning("impression failed", cause),
      HttpServerResponse.empty({ status: 204, headers: noStore })
    )
  )
)

const visitorIdPattern = /^[A-Za-z0-9_-]{8,64}$/

/** The cross-site cookie as the ad server sets it first-party: `SameSite=None; Secure` over https, `Lax` otherwise. */
const crossSiteCookie = (id: string, secure: boolean) =>
  `${Collect.crossSiteCookie}=${id}; Max-Age=${Collector.crossSiteMaxAge}; Path=/; HttpOnly; ${secure ? "Secure; SameSite=None" : "SameSite=Lax"}`

/** The sealed cookie that carries a link's pseudonym from `POST /xsite/link` to `GET /xsite/link`. */
const pendingLinkCookie = "oa_xlink"

/** How long a pending link lives (the redirect follows at once). */
const pendingLinkMs = 60_000

/** The form body of `POST /xsite/link` is three short fields. */
const maxLinkFormBytes = 8 * 1024

/**
 * `POST /xsite/link`: keeps the tenant's current pseudonym of the posted visitor id (after an erasure, the new one)
 * for a minute in a sealed cookie, and redirects to `GET /xsite/link` with the site and the return URL.
 */
export const linkStart = Effect.gen(function* () {
  const body = yield* BodyLimit.text(maxLinkFormBytes)
  const form = new URLSearchParams(body)
  const config = yield* ServerConfig
  const tenants = yield* Tenants
  const erased = yield* Privacy.ErasedSet
  const siteKey = form.get("site") ?? undefined
  const tenant = siteKey === undefined ? undefined : tenants.bySite(siteKey)
  if (siteKey === undefined || tenant === undefined) return yield* page(400, "Unknown site", "site: no such site")
  const vid = form.get("vid") ?? undefined
  const visitor =
    vid !== undefined && visitorIdPattern.test(vid) ? (Erased.pseudonymOf(tenant, vid, erased) ?? undefined) : undefined
  const now = yield* Clock.currentTimeMillis
  const sealed = Center.seal(
    Center.sessionKey(config.secret),
    new Center.Session({
      subjects: visitor === undefined ? [] : [new Subject.Visitor({ tenant: tenant.id, visitor })],
      expiresAt: now + pendingLinkMs
    })
  )
  const next = new URLSearchParams({ site: siteKey })
  const returnTo = form.get("return")
  if (returnTo !== null) next.set("return", returnTo)
  return HttpServerResponse.empty({
    status: 303,
    headers: {
      location: `/xsite/link?${next}`,
      "set-cookie": `${pendingLinkCookie}=${sealed}; Max-Age=${pendingLinkMs / 1000}; Path=/xsite; HttpOnly; SameSite=Lax`,
      "cache-control": "no-store"
    }
  })
})

/** `GET /xsite/link`. */
export const link = (publicUrl: () => string) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpServerRequest.ParsedSearchParams
    const config = yield* ServerConfig
    const tenants = yield* Tenants
    const page = answerFor(request.headers.accept)
    const siteKey = one(params.site)
    const tenant = siteKey === undefined ? undefined : tenants.bySite(siteKey)
    if (siteKey === undefined || tenant === undefined) return page(400, "Unknown site", "site: no such site")
    const returnTo = one(params.return)
    const origins = yield* Effect.flatMap(TenancyStore.TenancyStore, (store) => store.getSite(tenant.id, siteKey)).pipe(
      Effect.map((site) => site.origins),
      Effect.orElseSucceed((): ReadonlyArray<string> => [])
    )
    const back =
      returnTo !== undefined && URL.canParse(returnTo) && origins.includes(new URL(returnTo).origin)
        ? returnTo
        : undefined
    const context = Collect.requestContext(request.headers, {
      ...(config.countryHeader === undefined ? {} : { country: config.countryHeader }),
      ...(config.regionHeader === undefined ? {} : { region: config.regionHeader })
    })
    const signals = Signals.merge(
      context.signals,
      Signals.fromQuery(new URL(request.url, "http://x.invalid").searchParams)
    )
    const decision = Decision.decide(signals, tenant.policy, context.jurisdiction)
    const now = yield* Clock.currentTimeMillis
    const pending = Option.getOrUndefined(
      Center.open(
        Center.sessionKey(config.secret),
        Cookies.parseHeader(request.headers.cookie ?? "")[pendingLinkCookie],
        now
      )
    )?.subjects.find((subject) => subject._tag === "Visitor" && subject.tenant === tenant.id)
    const dsar = yield* DsarStore.DsarStore
    const candidate = pending?._tag === "Visitor" ? pending.visitor : undefined
    // A visitor who objected to personalized ads is never linked again.
    const objected = candidate === undefined ? false : yield* dsar.objections.has(tenant.id, candidate)
    const visitor = objected ? undefined : candidate
    const existing = Collect.browserIdOf(request.headers.cookie)
    const serving = yield* Serving.Serving
    let cookie: string
    if (
      Collect.crossSiteAllowed(decision) &&
      !tenant.cookieless &&
      !tenant.policy.childDirected &&
      visitor !== undefined
    ) {
      const browser = existing ?? Collect.newBrowserId()
      yield* serving.linkBrowser({ tenant: tenant.id, browser, visitor })
      cookie = crossSiteCookie(browser, publicUrl().startsWith("https:"))
    } else {
      if (existing !== undefined) yield* serving.unlinkBrowser({ tenant: tenant.id, browser: existing, visitor })
      cookie = `${Collect.crossSiteCookie}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`
    }
    // The pending link is used up (the raw header: platform cookies are set one per name, and this one is fixed).
    const usedUp = `${pendingLinkCookie}=; Max-Age=0; Path=/xsite; HttpOnly; SameSite=Lax`
    const withCookies = (response: HttpServerResponse.HttpServerResponse) =>
      HttpServerResponse.setHeader(response, "set-cookie", [cookie, usedUp] as unknown as string)
    if (back === undefined) {
      return withCookies(yield* page(200, "Done", "Your choice is recorded. You can close this page."))
    }
    return withCookies(
      HttpServerResponse.empty({ status: 303, headers: { location: back, "cache-control": "no-store" } })
    )
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.zipRight(
        Effect.logWarning("cross-site link failed", cause),
        page(503, "Try again", "This could not be done right now.")
      )
    )
  )

/** The routes, added to the server's router. */
export const routes =
  (publicUrl: () => string) =>
  <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
    router.pipe(
      HttpRouter.get("/xsite/link", link(publicUrl)),
      HttpRouter.post("/xsite/link", linkStart),
      HttpRouter.get("/click/*", click),
      HttpRouter.get("/ad/impression/*", impression),
      HttpRouter.post("/ad/impression/*", impression)
    )
