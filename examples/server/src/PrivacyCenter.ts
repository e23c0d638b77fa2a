/**
 * The visitors' privacy center, HTTP adapters over @openaudience/dsar's `Center` and `Dsar`:
 *
 * - `POST /privacy` (form fields `site`, `vid`; what the tag's `oa("privacy")` posts): finds the subjects the
 *   browser's identifiers stand for (the site's visitor, its current pseudonym after an erasure; the ad server's
 *   cross-site cookie and the visitors it links to), keeps them for 30 minutes in a sealed `HttpOnly` cookie and
 *   redirects to `GET /privacy`. The visitor id travels in the body only: no identifier is ever in a URL.
 * - `GET /privacy`: what is held about this browser, with the download, delete and opt-out buttons. A browser
 *   that presents nothing, a forged or foreign identifier, or an expired session sees the same page as a browser
 *   with no data.
 * - `GET /privacy/download.json`, `GET /privacy/download.zip`: everything held, as JSON or CSV files in a ZIP.
 * - `GET /privacy/delete` (the confirmation), `POST /privacy/delete` (only from the center's own page: the erasure,
 *   then the verification reports; the ad server's cookie is cleared so the next visit starts afresh).
 * - `GET /privacy/report/:id`: a signed report of an erasure made from this browser's session.
 * - `GET /.well-known/openaudience-dsar-key`: the public key (JWK) reports verify with.
 *
 * Every route is rate-limited per client network (in memory); nothing here logs an identifier.
 */
import * as Cookies from "@effect/platform/Cookies"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { BrowserLinks } from "@openaudience/ad-selector"
import { Ip } from "@openaudience/anonymizer"
import { Collect, Erased } from "@openaudience/collector"
import { Center, Dsar, type Report, type Subject } from "@openaudience/dsar"
import { RateLimit } from "@openaudience/inquiries"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as BodyLimit from "./BodyLimit.js"
import * as OptOut from "./OptOut.js"
import * as Privacy from "./Privacy.js"
import * as PrivacyPage from "./PrivacyPage.js"
import * as Problem from "./Problem.js"
import { ServerConfig } from "./ServerConfig.js"
import { Tenants } from "./Tenants.js"

/** The session cookie's name. */
export const sessionCookie = "oa_privacy"

/** How long a session lasts. */
const sessionMs = 30 * 60_000

/** The tag's visitor ids: 32 lowercase hex digits. */
const visitorIdPattern = /^[\da-f]{32}$/

/** The identification form is two short fields. */
const maxFormBytes = 4 * 1024

/** Records shown per store on the page (the download holds everything). */
const shownPerStore = PrivacyPage.shownPerStore

const pageHeaders = {
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "referrer-policy": "no-referrer"
}

const html = (body: string, status = 200) =>
  HttpServerResponse.html(body).pipe(HttpServerResponse.setStatus(status), HttpServerResponse.setHeaders(pageHeaders))

/** The client's network (truncated address), the rate limit's key; held in memory only. */
const networkOf = Effect.gen(function* () {
  const config = yield* ServerConfig
  const request = yield* HttpServerRequest.HttpServerRequest
  return Ip.truncate(
    Ip.clientAddress(Option.getOrUndefined(request.remoteAddress), request.headers, config.trustedProxies)
  )
})

/** Whether the request came over https (for the cookie's `Secure`). */
const secure = (publicUrl: () => string) =>
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const request = yield* HttpServerRequest.HttpServerRequest
    return OptOut.isSecure(
      request.headers,
      Option.getOrUndefined(request.remoteAddress),
      publicUrl(),
      config.trustedProxies
    )
  })

/** How the server turns identifiers into subjects. */
const identifiers = Effect.gen(function* () {
  const config = yield* ServerConfig
  const tenants = yield* Tenants
  const erased = yield* Privacy.ErasedSet
  const links = yield* BrowserLinks.BrowserLinks
  const keys = new Map<string, ReturnType<typeof BrowserLinks.deriveKey>>()
  const keyOf = (tenant: string) => {
    let key = keys.get(tenant)
    if (key === undefined) {
      key = BrowserLinks.deriveKey(config.secret, tenant)
      keys.set(tenant, key)
    }
    return key
  }
  const found: Center.Identifiers = {
    siteVisitor: (siteKey, visitorId) =>
      Effect.sync(() => {
        const tenant = tenants.bySite(siteKey)
        if (tenant === undefined || !visitorIdPattern.test(visitorId)) return Option.none()
        const visitor = Erased.pseudonymOf(tenant, visitorId, erased)
        return visitor === null ? Option.none() : Option.some({ tenant: tenant.id, visitor })
      }),
    browserKeys: (browser) =>
      Effect.sync(() =>
        tenants
          .all()
          .map((tenant) => ({ tenant: tenant.id, browser: BrowserLinks.browserKey(keyOf(tenant.id), browser) }))
      ),
    linkedVisitor: (tenant, browser) =>
      links.visitorOf(tenant, browser).pipe(Effect.orElseSucceed(() => Option.none<string>()))
  }
  return found
})

/** The subjects of this request: the session's, and those of the ad server's cookie it carries now. */
const subjectsOf = Effect.gen(function* () {
  const config = yield* ServerConfig
  const request = yield* HttpServerRequest.HttpServerRequest
  const now = yield* Clock.currentTimeMillis
  const cookies = Cookies.parseHeader(request.headers.cookie ?? "")
  const session = Center.open(Center.sessionKey(config.secret), cookies[sessionCookie], now)
  const browser = Collect.browserIdOf(request.headers.cookie)
  const fromBrowser = yield* Center.resolve(yield* identifiers, { browserCookie: browser })
  const subjects = Center.dedupe([
    ...Option.match(session, { onNone: () => [], onSome: (s) => s.subjects }),
    ...fromBrowser
  ])
  return {
    subjects,
    reports: Option.match(session, { onNone: () => [], onSome: (s) => s.reports ?? [] }),
    browser
  }
})

const sealSession = (
  subjects: ReadonlyArray<Subject.Subject>,
  reports: ReadonlyArray<Center.SessionReport>,
  isSecure: boolean
) =>
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const now = yield* Clock.currentTimeMillis
    const token = Center.seal(
      Center.sessionKey(config.secret),
      new Center.Session({ subjects, expiresAt: now + sessionMs, reports })
    )
    return `${sessionCookie}=${token}; Max-Age=${sessionMs / 1000}; Path=/privacy; HttpOnly; SameSite=Lax${isSecure ? "; Secure" : ""}`
  })

/** A page for people (a browser asking for HTML), else the problem document every other error of the server is. */
const forPeopleOr = (
  page: () => HttpServerResponse.HttpServerResponse,
  problem: () => HttpServerResponse.HttpServerResponse
) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
    /\btext\/html\b/i.test(request.headers.accept ?? "") ? page() : problem()
  )

const unavailable = () =>
  forPeopleOr(
    () =>
      html(
        PrivacyPage.layout(
          "Try again",
          "<h1>Try again shortly</h1><p>Your data cannot be read right now. Nothing was changed; please try again in a minute.</p>"
        ),
        503
      ),
    () =>
      Problem.response(Problem.make("unavailable", "the data cannot be read right now; try again shortly"), {
        "retry-after": "5"
      })
  )

const tooMany = (retryAfterMs: number | undefined) => {
  const retryAfter = String(Math.ceil((retryAfterMs ?? 60_000) / 1000))
  return forPeopleOr(
    () =>
      html(
        PrivacyPage.layout(
          "Too many requests",
          "<h1>Too many requests</h1><p>Please wait a few minutes and try again.</p>"
        ),
        429
      ).pipe(HttpServerResponse.setHeader("retry-after", retryAfter)),
    () =>
      Problem.response(Problem.make("too-many-requests", "too many requests from your network; try again later"), {
        "retry-after": retryAfter
      })
  )
}

/** The routes, given a rate limiter per server. */
export const routes = (publicUrl: () => string) => {
  // Generous for people (a visit is a handful of requests), tight for anyone trying identifiers in bulk.
  const views = RateLimit.make({ capacity: 120, window: "10 minutes" })
  const identifications = RateLimit.make({ capacity: 30, window: "10 minutes" })
  const erasures = RateLimit.make({ capacity: 10, window: "10 minutes" })

  const limited =
    (limiter: RateLimit.RateLimiter) =>
    <E, R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
      Effect.flatMap(networkOf, (network) =>
        limiter.take(network).pipe(
          Effect.matchEffect({
            onFailure: (error) => tooMany(error.retryAfterMs),
            onSuccess: () => handler
          })
        )
      )

  // After an erasure the request still carries the session from before it: the page shows the reports just made.
  const show = (message?: string, madeNow?: ReadonlyArray<Center.SessionReport>) =>
    Effect.gen(function* () {
      const dsar = yield* Dsar.Dsar
      const request = yield* HttpServerRequest.HttpServerRequest
      const session = yield* subjectsOf
      const subjects = session.subjects
      const reports = madeNow ?? session.reports
      const collected = subjects.length === 0 ? [] : yield* dsar.collect(subjects, shownPerStore)
      return html(
        PrivacyPage.center({
          records: collected.flatMap((entry) => entry.records),
          retained: dsar.retained,
          optedOut: OptOut.isOptedOut(request.headers.cookie) || request.headers["sec-gpc"] === "1",
          message,
          reports
        })
      )
    }).pipe(Effect.catchTag("StoreUnavailable", () => unavailable()))

  const identify = Effect.gen(function* () {
    const body = yield* BodyLimit.text(maxFormBytes)
    const form = new URLSearchParams(body)
    const siteKey = form.get("site") ?? ""
    const visitorId = form.get("vid") ?? ""
    const found = yield* Center.resolve(yield* identifiers, {
      site: siteKey.length > 0 && visitorId.length > 0 ? { siteKey, visitorId } : undefined
    })
    const { subjects, reports } = yield* subjectsOf
    const cookie = yield* sealSession(Center.dedupe([...found, ...subjects]), reports, yield* secure(publicUrl))
    return HttpServerResponse.empty({
      status: 303,
      headers: { location: "/privacy", "set-cookie": cookie, "cache-control": "no-store" }
    })
  })

  const download = (format: "json" | "zip") =>
    Effect.gen(function* () {
      const dsar = yield* Dsar.Dsar
      const { subjects } = yield* subjectsOf
      const headers = {
        "cache-control": "no-store",
        "content-disposition": `attachment; filename="openaudience-my-data.${format}"`
      }
      if (format === "json") {
        const text = yield* dsar.exportJson(subjects)
        return HttpServerResponse.text(text, { contentType: "application/json; charset=utf-8", headers })
      }
      const zip = yield* dsar.exportZip(subjects)
      return HttpServerResponse.uint8Array(zip, { contentType: "application/zip", headers })
    }).pipe(Effect.catchTag("StoreUnavailable", () => unavailable()))

  const confirm = Effect.gen(function* () {
    const dsar = yield* Dsar.Dsar
    const { subjects } = yield* subjectsOf
    const collected = subjects.length === 0 ? [] : yield* dsar.collect(subjects, 100_000)
    return html(PrivacyPage.confirmDelete(collected.reduce((sum, entry) => sum + entry.records.length, 0)))
  }).pipe(Effect.catchTag("StoreUnavailable", () => unavailable()))

  const erase = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    // Only the center's own confirmation page may erase (a cross-site form cannot).
    if (!OptOut.sameOrigin(request.headers)) {
      return yield* Problem.fail("forbidden", "deleting is only possible from the privacy center's own page")
    }
    const body = yield* BodyLimit.text(maxFormBytes)
    if (new URLSearchParams(body).get("confirm") !== "yes") {
      return yield* Effect.succeed(
        HttpServerResponse.empty({ status: 303, headers: { location: "/privacy/delete", "cache-control": "no-store" } })
      )
    }
    const dsar = yield* Dsar.Dsar
    const { subjects, reports, browser } = yield* subjectsOf
    // Only the subjects something is held about (a browser key is tried in every tenant; most hold nothing), so
    // that no tenant gets a request about a browser it never saw.
    const held = yield* Effect.filter(subjects, (subject) =>
      Effect.map(dsar.collect([subject], 1), (collected) => collected.some((entry) => entry.records.length > 0))
    )
    const results = held.length === 0 ? [] : yield* dsar.eraseNow(held, "visitor")
    const done: Array<Center.SessionReport> = [...reports]
    for (const result of results) {
      if (result.report !== undefined) done.push({ requestId: result.request.id, tenant: result.request.tenant })
    }
    const deferred = results.filter((result) => result.report === undefined).length
    // The session keeps only the reports: the erased subjects are gone (their pseudonyms are not used again).
    const cookies = [yield* sealSession([], done, yield* secure(publicUrl))]
    if (browser !== undefined) cookies.push(`${Collect.crossSiteCookie}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`)
    const message =
      deferred > 0
        ? "Part of your data is kept under a legal hold and will be deleted when the hold ends; the rest is deleted."
        : "Your data is deleted. The reports below list every store that was checked afterwards."
    const response = yield* Effect.provideService(show(message, done), HttpServerRequest.HttpServerRequest, request)
    return HttpServerResponse.setHeader(response, "set-cookie", cookies as unknown as string)
  }).pipe(
    Effect.catchTags({
      ErasureFailed: () => unavailable(),
      StoreUnavailable: () => unavailable(),
      DsarStoreError: () => unavailable()
    })
  )

  const report = Effect.gen(function* () {
    const dsar = yield* Dsar.Dsar
    const { id } = yield* HttpRouter.params
    const { reports } = yield* subjectsOf
    const own = reports.find((entry) => entry.requestId === id)
    if (own === undefined) return yield* Problem.fail("not-found", "no such report for this browser")
    const signed: Report.Signed = yield* dsar.report(own.tenant, own.requestId)
    return HttpServerResponse.unsafeJson(signed, {
      headers: {
        "cache-control": "no-store",
        "content-disposition": `attachment; filename="erasure-report-${own.requestId}.json"`
      }
    })
  }).pipe(Effect.catchTag("DsarStoreError", () => Problem.fail("not-found", "no such report for this browser")))

  const publicKey = Effect.map(Dsar.Dsar, (dsar) =>
    HttpServerResponse.unsafeJson(
      { keys: [dsar.publicJwk] },
      { headers: { "cache-control": "public, max-age=3600", "access-control-allow-origin": "*" } }
    )
  )

  return <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
    router.pipe(
      HttpRouter.get("/privacy", limited(views)(show())),
      HttpRouter.post("/privacy", limited(identifications)(identify)),
      HttpRouter.get("/privacy/download.json", limited(views)(download("json"))),
      HttpRouter.get("/privacy/download.zip", limited(views)(download("zip"))),
      HttpRouter.get("/privacy/delete", limited(views)(confirm)),
      HttpRouter.post("/privacy/delete", limited(erasures)(erase)),
      HttpRouter.get("/privacy/report/:id", limited(views)(report)),
      HttpRouter.get("/.well-known/openaudience-dsar-key", publicKey)
    )
}
