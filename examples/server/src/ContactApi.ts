/**
 * The contact form: HTTP adapters over @openaudience/inquiries (which validates, encrypts per inquiry, limits the
 * rate and purges after closing).
 *
 * - `GET /contact?site=KEY`: the form of the site's tenant (the demo site's when `site` is absent in demo mode).
 * - `POST /contact` (a form post) and `POST /v1/inquiries` (JSON `{ site, name, email, message, website? }`): anyone;
 *   `website` is the honeypot (filled in: answered as if accepted, nothing stored); 5 per 10 minutes per client
 *   network (IPv4 /24, IPv6 /48), then 429 with `Retry-After`. Nothing about the sender but the three fields is
 *   kept: no address, cookie, user agent or visitor key.
 * - `GET /v1/inquiries?status=open|answered|closed`, `POST /v1/inquiries/:id/close`, `DELETE /v1/inquiries/:id`
 *   (erasure): keys of the tenant with `privacy:manage` (owner, privacy), audited.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Ip } from "@openaudience/anonymizer"
import { Inquiries, type Inquiry, RateLimit } from "@openaudience/inquiries"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Access from "./Access.js"
import * as AdminApi from "./AdminApi.js"
import * as Audit from "./Audit.js"
import * as BodyLimit from "./BodyLimit.js"
import * as JsonBody from "./JsonBody.js"
import { escapeHtml } from "./console/Layout.js"
import * as Problem from "./Problem.js"
import { ServerConfig } from "./ServerConfig.js"
import { Tenants } from "./Tenants.js"

/** A form or JSON body of the contact routes: three short fields. */
const maxBytes = 16 * 1024

const limiter = RateLimit.make()

const html = (body: string, status = 200) =>
  HttpServerResponse.html(body).pipe(
    HttpServerResponse.setStatus(status),
    HttpServerResponse.setHeaders({
      "cache-control": "no-store",
      "content-security-policy":
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    })
  )

const page = (
  site: string,
  message?: string,
  problem?: { readonly field?: string; readonly detail: string }
) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Contact · OpenAudience</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input, textarea { width: 100%; font: inherit; padding: .4rem; box-sizing: border-box; }
.hp { position: absolute; left: -10000px; }
.error { color: #a50e0e; }
button { margin-top: 1rem; font: inherit; padding: .5rem 1.2rem; }
</style>
</head>
<body>
<main>
<h1>Contact us</h1>
<p>We use what you write here only to answer you, and delete it 90 days after your inquiry is closed. It is never
linked to browsing data.</p>
${message === undefined ? "" : `<p role="status"><strong>${escapeHtml(message)}</strong></p>`}
${problem === undefined ? "" : `<p class="error" role="alert">${escapeHtml(problem.detail)}</p>`}
<form method="post" action="/contact">
<input type="hidden" name="site" value="${escapeHtml(site)}">
<label for="name">Name</label><input id="name" name="name" required maxlength="200" autocomplete="name">
<label for="email">Email</label><input id="email" name="email" type="email" required maxlength="320" autocomplete="email">
<label for="message">Message</label><textarea id="message" name="message" required maxlength="5000" rows="6"></textarea>
<div class="hp" aria-hidden="true"><label for="website">Website</label><input id="website" name="website" tabindex="-1" autocomplete="off"></div>
<button type="submit">Send</button>
</form>
</main>
</body>
</html>`

/** The tenant of a site key (the demo site's when absent in demo mode), or a 404 problem. */
const tenantOf = (site: unknown) =>
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const tenants = yield* Tenants
    const key = typeof site === "string" && site !== "" ? site : config.demo ? "demo" : undefined
    const tenant = key === undefined ? undefined : tenants.bySite(key)
    if (tenant === undefined) return yield* Problem.fail("not-found", "site: no such site", { field: "site" })
    return { tenant, site: key! }
  })

/** The client's network (truncated address): the rate limit's key, held in memory only. */
const networkOf = Effect.gen(function* () {
  const config = yield* ServerConfig
  const request = yield* HttpServerRequest.HttpServerRequest
  const address = Ip.clientAddress(Option.getOrUndefined(request.remoteAddress), request.headers, config.trustedProxies)
  return Ip.truncate(address)
})

/** Submits one inquiry; `Spam` is answered like an accepted inquiry. */
const submit = (input: Record<string, unknown>) =>
  Effect.gen(function* () {
    const { tenant } = yield* tenantOf(input.site)
    const inquiries = yield* Inquiries.Inquiries
    const text = (value: unknown) => (typeof value === "string" ? value : "")
    return yield* limiter.take(yield* networkOf).pipe(
      Effect.zipRight(
        inquiries.submit(tenant.id, {
          name: text(input.name),
          email: text(input.email),
          message: text(input.message),
          honeypot: text(input.website)
        })
      ),
      Effect.map((summary): { readonly id: string | null; readonly createdAt: number | null } => summary),
      Effect.catchTag("InquiryError", (error) => {
        switch (error.reason) {
          case "Spam":
            return Effect.succeed({ id: null, createdAt: null })
          case "RateLimited":
            return Problem.fail("too-many-requests", "too many messages from your network; try again later", {
              retryAfter: Math.ceil((error.retryAfterMs ?? 60_000) / 1000)
            })
          case "InvalidInput":
            return Problem.fail("invalid-body", error.message, error.field === undefined ? {} : { field: error.field })
          default:
            return Problem.fail("unavailable", "the message could not be stored; try again shortly")
        }
      })
    )
  })

const showForm = Effect.gen(function* () {
  const params = yield* HttpServerRequest.ParsedSearchParams
  const { site } = yield* tenantOf(params.site)
  return html(page(site))
})

const postForm = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const text = yield* BodyLimit.text(maxBytes)
  const input = Object.fromEntries(new URLSearchParams(text))
  // A browser posting the form gets pages; any other client problem details (like every other route).
  if (!/\btext\/html\b/i.test(request.headers.accept ?? "")) {
    return yield* Effect.as(submit(input), HttpServerResponse.unsafeJson({ status: "received" }, { status: 201 }))
  }
  return yield* submit(input).pipe(
    Effect.as(html(page(String(input.site ?? ""), "Thank you: your message was received."))),
    Effect.catchTag("ProblemError", (error) =>
      error.problem.status === 404
        ? Effect.fail(error)
        : Effect.succeed(
            html(
              page(String(input.site ?? ""), undefined, { detail: error.problem.detail ?? "" }),
              error.problem.status
            )
          )
    )
  )
})

const postJson = Effect.gen(function* () {
  const input = yield* JsonBody.decode(AdminApi.InquiryRequest, maxBytes)
  return yield* submit(input).pipe(
    Effect.map((summary) => HttpServerResponse.unsafeJson({ id: summary.id, status: "open" }, { status: 201 })),
    Effect.catchTag("ProblemError", (error) =>
      error.problem.status === 429
        ? Effect.succeed(Problem.response(error.problem, { "retry-after": String(error.problem.retryAfter ?? 60) }))
        : Effect.fail(error)
    )
  )
})

const view = (inquiry: Inquiry.Inquiry) => ({
  id: inquiry.id,
  status: inquiry.status,
  createdAt: new Date(inquiry.createdAt).toISOString(),
  closedAt: inquiry.closedAt === null ? null : new Date(inquiry.closedAt).toISOString(),
  name: Redacted.value(inquiry.name),
  email: Redacted.value(inquiry.email),
  message: Redacted.value(inquiry.message)
})

const readFailure = (error: { readonly reason: string; readonly message: string }) =>
  error.reason === "NotFound"
    ? Problem.fail("not-found", "no such inquiry")
    : error.reason === "Conflict"
      ? Problem.fail("conflict", error.message)
      : Problem.fail("unavailable", "inquiries cannot be read right now; try again shortly")

const list = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const params = yield* HttpServerRequest.ParsedSearchParams
  const status = params.status
  if (status !== undefined && status !== "open" && status !== "answered" && status !== "closed") {
    return yield* Problem.fail("invalid-parameter", "status: expected open, answered or closed", { field: "status" })
  }
  const inquiries = yield* Inquiries.Inquiries
  const found = yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "inquiry.list", target: "inquiries" },
    inquiries
      .list(tenant.id, status === undefined ? {} : { status })
      .pipe(Effect.catchTag("InquiryError", readFailure)),
    (read) => ({ inquiries: read.length })
  )
  return HttpServerResponse.unsafeJson({ inquiries: found.map(view) }, { headers: { "cache-control": "no-store" } })
})

const close = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const { id } = yield* HttpRouter.params
  const inquiries = yield* Inquiries.Inquiries
  const now = yield* Clock.currentTimeMillis
  yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "inquiry.close", target: `inquiry:${id}` },
    inquiries.close(tenant.id, id ?? "", now).pipe(Effect.catchTag("InquiryError", readFailure))
  )
  return HttpServerResponse.empty({ status: 204 })
})

const erase = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const { id } = yield* HttpRouter.params
  const inquiries = yield* Inquiries.Inquiries
  yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "inquiry.erase", target: `inquiry:${id}` },
    inquiries.erase(tenant.id, id ?? "").pipe(Effect.catchTag("InquiryError", readFailure))
  )
  return HttpServerResponse.empty({ status: 204 })
})

/** The contact form's pages (not part of the admin API). */
export const routes = <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
  router.pipe(HttpRouter.get("/contact", showForm), HttpRouter.post("/contact", postForm))

/** The inquiries API (`AdminApi` group `inquiries`). */
export const group = HttpApiBuilder.group(AdminApi.AdminApi, "inquiries", (handlers) =>
  handlers
    .handleRaw("submitInquiry", () => postJson)
    .handleRaw("listInquiries", () => list)
    .handleRaw("closeInquiry", () => close)
    .handleRaw("eraseInquiry", () => erase)
)
