/**
 * The console: server-rendered pages over @openaudience/accounts and @openaudience/tenancy for an advertiser's
 * staff (templates in `console/`). No script and no external asset; every answer is `no-store`, not frameable
 * (`frame-ancestors 'none'`), not sniffable, and sends no referrer (invitation and reset links carry tokens).
 *
 * - Sessions: an HttpOnly, SameSite=Lax cookie (`Secure` when the public URL is https) holding a session id that
 *   @openaudience/accounts keeps server-side (idle and absolute timeouts); a new id at every sign-in.
 * - CSRF: every form carries the accounts CSRF token of the session, or before sign-in of a random pre-session
 *   cookie (so sign-in, invitation and reset forms are protected too); a post without the right token is a 403.
 * - Authorization: a page declares what it needs in `Access.routes` (`Access.session(permission)`), checked here
 *   against the user's role with the same `Role.can` table as API keys; changes are audited with the actor
 *   `{ kind: "user", id }`.
 * - A user's rights over their own account: `GET /console/account/export` downloads what is held about them
 *   (access, `account.export`), the profile form corrects it (rectification), and `POST /console/account/delete`,
 *   after the password again, deletes the account with its data key (erasure, `account.delete`); the only active
 *   owner of an advertiser cannot delete theirs.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Accounts, invalidCredentialsMessage, type PaymentMethod, type User } from "@openaudience/accounts"
import { Ip } from "@openaudience/anonymizer"
import { Role, TenancyStore } from "@openaudience/tenancy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import * as Access from "./Access.js"
import * as Audit from "./Audit.js"
import * as BodyLimit from "./BodyLimit.js"
import * as AccountPages from "./console/Account.js"
import * as Admin from "./console/Admin.js"
import * as Auth from "./console/Auth.js"
import * as Layout from "./console/Layout.js"
import * as Problem from "./Problem.js"
import { ServerConfig } from "./ServerConfig.js"
import { Tenants } from "./Tenants.js"
import { accounts } from "./UsersApi.js"

/** The session cookie. */
export const sessionCookie = "oa_session"

/** The pre-session cookie whose CSRF token the signed-out forms carry. */
export const formCookie = "oa_form"

const maxFormBytes = 16 * 1024

/** An answer decided early (a redirect to sign in, a refused form): the handler stops and it is sent. */
class Answer {
  readonly _tag = "ConsoleAnswer"
  constructor(readonly response: HttpServerResponse.HttpServerResponse) {}
}

const headers = {
  "cache-control": "no-store",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer"
}

/** An HTML page. */
const html = (body: string, status = 200) =>
  HttpServerResponse.text(body, { status, contentType: "text/html; charset=utf-8", headers })

/** A 303 to `location`. */
const redirect = (location: string) => HttpServerResponse.empty({ status: 303, headers: { ...headers, location } })

const stop = (response: HttpServerResponse.HttpServerResponse) => Effect.fail(new Answer(response))

const cookieOptions = Effect.map(ServerConfig, (config) => ({
  path: "/console",
  httpOnly: true,
  sameSite: "lax" as const,
  secure: config.publicUrl?.startsWith("https:") === true
}))

const setCookie = (response: HttpServerResponse.HttpServerResponse, name: string, value: string, clear = false) =>
  Effect.map(cookieOptions, (options) =>
    HttpServerResponse.unsafeSetCookies(response, [[name, value, clear ? { ...options, maxAge: 0 } : options]])
  )

const cookie = (name: string) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    const value = request.cookies[name]
    return value === undefined || value === "" ? undefined : value
  })

/** What the CSRF token of this browser is derived from: its session, else its pre-session cookie. */
const csrfSubject = Effect.zipWith(cookie(sessionCookie), cookie(formCookie), (session, form) => session ?? form)

/** The CSRF token for a signed-out page, and the pre-session cookie to set when the browser has none yet. */
const anonymousToken = Effect.gen(function* () {
  const known = yield* csrfSubject
  const subject = known ?? randomBytes(32).toString("base64url")
  const token = yield* accounts((a) => a.csrfToken(subject))
  const send = (response: HttpServerResponse.HttpServerResponse) =>
    known === undefined ? setCookie(response, formCookie, subject) : Effect.succeed(response)
  return { token, send }
})

/** A signed-out page, with its CSRF token. */
const anonymousPage = (render: (token: string) => string, status = 200) =>
  Effect.flatMap(anonymousToken, ({ token, send }) => send(html(render(token), status)))

/** The posted form, once its CSRF token is checked (a 403 page otherwise). */
const postedForm = Effect.gen(function* () {
  const form = new URLSearchParams(yield* BodyLimit.text(maxFormBytes))
  const subject = yield* csrfSubject
  const valid = subject !== undefined && (yield* accounts((a) => a.verifyCsrf(subject, form.get("_csrf") ?? "")))
  if (!valid) {
    const body = `<p>This form is out of date or did not come from this console. <a href="/console/login">Start again</a>.</p>`
    return yield* stop(html(Layout.page({ title: "Form refused", body }), 403))
  }
  return form
})

/** A text field of a form, trimmed; empty is undefined. */
const text = (form: URLSearchParams, name: string): string | undefined => {
  const value = form.get(name)?.trim()
  return value === undefined || value === "" ? undefined : value
}

/** The signed-in user of the request, allowed what the route declares (`Access.session`), or an early answer. */
const signedIn = Effect.gen(function* () {
  const { route } = yield* HttpRouter.RouteContext
  const access = Access.of(route.method, route.path)
  if (access === undefined || typeof access === "string") {
    return yield* Effect.dieMessage(`${route.method} ${route.path} declares no console session (Access.routes)`)
  }
  const sessionId = yield* cookie(sessionCookie)
  const session =
    sessionId === undefined
      ? undefined
      : // Unknown, ended or expired is signed out; a store that fails is a 503, not a sign-out.
        yield* accounts((a) =>
          a.touch(sessionId).pipe(
            Effect.catchIf(
              (error) => error.reason === "NotFound",
              () => Effect.void
            )
          )
        )
  if (sessionId === undefined || session === undefined) {
    return yield* stop(yield* setCookie(redirect("/console/login"), sessionCookie, "", true))
  }
  const actor: Audit.Actor = { kind: "user", id: session.userId }
  const viewer: Layout.Viewer = { role: session.role, csrf: yield* accounts((a) => a.csrfToken(sessionId)) }
  if (access.session !== "any" && !Role.can(session.role, access.session)) {
    yield* Audit.append({
      tenant: session.tenant,
      actor,
      action: "access.denied",
      target: `route:${route.method} ${route.path}`,
      outcome: "denied",
      details: { role: session.role, permission: access.session }
    })
    const body = `<p>Your role (${session.role}) does not allow this page.</p>`
    return yield* stop(html(Layout.page({ title: "Not allowed", body, viewer }), 403))
  }
  return { session, sessionId, tenant: session.tenant, actor, viewer }
})

/** A signed-in page's form post: the user, then the form with its CSRF token checked. */
const signedInPost = Effect.zip(signedIn, postedForm)

/** A failure's message (naming its field) and status, for re-rendering a form with it. */
const refusal = (error: Problem.ProblemError) => {
  const detail = error.problem.detail ?? ""
  const field = (error.problem as { readonly field?: unknown }).field
  const message = typeof field !== "string" || detail.includes(field) ? detail : `${field}: ${detail}`
  return { message, status: error.problem.status }
}

const tenancyProblem: Record<TenancyStore.TenancyError["reason"], Problem.ProblemType> = {
  InvalidInput: "invalid-body",
  NotFound: "not-found",
  Conflict: "conflict",
  Unavailable: "unavailable"
}

/** A tenancy operation, its failures as problems; `refresh` reloads this process's directory after a change. */
const tenancy = <A>(
  f: (store: TenancyStore.TenancyStoreShape) => Effect.Effect<A, TenancyStore.TenancyError>,
  refresh = false
) =>
  Effect.flatMap(TenancyStore.TenancyStore, f).pipe(
    Effect.catchTag("TenancyError", (error) => Problem.fail(tenancyProblem[error.reason], error.message)),
    Effect.tap(() => (refresh ? Effect.flatMap(Tenants, (tenants) => tenants.refresh) : Effect.void))
  )

/** The client's address (behind trusted proxies), which login failures are also counted by. */
const clientAddressOf = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const config = yield* ServerConfig
  return Ip.clientAddress(Option.getOrUndefined(request.remoteAddress), request.headers, config.trustedProxies)
})

// Signed out -----------------------------------------------------------------------------------------------

const notices: Record<string, string> = {
  accepted: "Your account is ready: sign in.",
  reset: "Your new password is set: sign in.",
  out: "You are signed out."
}

const loginPage = Effect.gen(function* () {
  const { done } = yield* HttpServerRequest.ParsedSearchParams
  const notice = typeof done === "string" ? notices[done] : undefined
  return yield* anonymousPage((token) => Auth.login(token, Layout.notice(notice)))
})

const login = Effect.gen(function* () {
  const form = yield* postedForm
  const clientAddress = yield* clientAddressOf
  const result = yield* Effect.either(
    Effect.flatMap(Accounts.Accounts, (a) =>
      a.login({
        email: form.get("email") ?? "",
        password: Redacted.make(form.get("password") ?? ""),
        totp: text(form, "totp"),
        clientAddress
      })
    )
  )
  if (result._tag === "Right") {
    // The session this browser had before (if any) ends: one browser, one live session.
    const previous = yield* cookie(sessionCookie)
    if (previous !== undefined) yield* accounts((a) => a.logout(previous))
    const signed = yield* setCookie(redirect("/console/account"), sessionCookie, Redacted.value(result.right.sessionId))
    return yield* setCookie(signed, formCookie, "", true)
  }
  const error = result.left
  // The store or vault failing is not the user's fault: a problem page.
  if (error._tag === "AccountsError" && error.reason !== "SecondFactorRequired") {
    return yield* accounts(() => Effect.fail(error))
  }
  // One answer for an unknown address and a wrong password (never the address echoed back), one for a lockout.
  const [message, status] =
    error._tag === "Locked"
      ? [error.message, 429]
      : error._tag === "AccountsError"
        ? [error.message, 401]
        : [invalidCredentialsMessage, 401]
  return yield* anonymousPage((token) => Auth.login(token, Layout.error(message)), status)
})

const tokenParam = Effect.map(HttpServerRequest.ParsedSearchParams, ({ token }) =>
  typeof token === "string" ? token : ""
)

const acceptPage = Effect.flatMap(tokenParam, (token) => anonymousPage((csrf) => Auth.accept(csrf, token)))

const accept = Effect.gen(function* () {
  const form = yield* postedForm
  const token = form.get("token") ?? ""
  return yield* accounts((a) =>
    a.accept(token, Redacted.make(form.get("password") ?? ""), {
      firstName: text(form, "firstName"),
      lastName: text(form, "lastName"),
      phone: text(form, "phone")
    })
  ).pipe(
    Effect.tap((user) =>
      Audit.append({
        tenant: user.tenant,
        actor: { kind: "user", id: user.id },
        action: "user.accept",
        target: `user:${user.id}`,
        outcome: "success"
      })
    ),
    Effect.as(redirect("/console/login?done=accepted")),
    Effect.catchTag("ProblemError", (error) => {
      const { message, status } = refusal(error)
      return anonymousPage((csrf) => Auth.accept(csrf, token, Layout.error(message)), status)
    })
  )
})

const resetPage = anonymousPage((csrf) => Auth.resetRequest(csrf))

const resetRequest = Effect.gen(function* () {
  const form = yield* postedForm
  yield* accounts((a) => a.requestReset(form.get("email") ?? ""))
  const notice = "If this address has an account, a link to choose a new password is on its way (valid 30 minutes)."
  return yield* anonymousPage((csrf) => Auth.resetRequest(csrf, Layout.notice(notice)))
})

const resetConfirmPage = Effect.flatMap(tokenParam, (token) => anonymousPage((csrf) => Auth.resetConfirm(csrf, token)))

const resetConfirm = Effect.gen(function* () {
  const form = yield* postedForm
  const token = form.get("token") ?? ""
  return yield* accounts((a) => a.reset(token, Redacted.make(form.get("password") ?? ""))).pipe(
    Effect.as(redirect("/console/login?done=reset")),
    Effect.catchTag("ProblemError", (error) => {
      const { message, status } = refusal(error)
      return anonymousPage((csrf) => Auth.resetConfirm(csrf, token, Layout.error(message)), status)
    })
  )
})

// Signed in ------------------------------------------------------------------------------------------------

const logout = Effect.gen(function* () {
  const [{ sessionId }] = yield* signedInPost
  yield* accounts((a) => a.logout(sessionId))
  return yield* setCookie(redirect("/console/login?done=out"), sessionCookie, "", true)
})

const accountNotices: Record<string, string> = { saved: "Saved.", totp: "The second factor is on." }

const accountPage = Effect.gen(function* () {
  const { tenant, session, viewer } = yield* signedIn
  const { done } = yield* HttpServerRequest.ParsedSearchParams
  const user = yield* accounts((a) => a.get(tenant, session.userId))
  return html(
    AccountPages.account(viewer, user, Layout.notice(typeof done === "string" ? accountNotices[done] : undefined))
  )
})

const profileFields = ["firstName", "lastName", "phone", "mailingAddress", "iban", "bic"] as const

const updateAccount = Effect.gen(function* () {
  const [{ tenant, session, viewer, actor }, form] = yield* signedInPost
  const iban = text(form, "iban")
  const profile: User.Profile = {
    firstName: text(form, "firstName") ?? null,
    lastName: text(form, "lastName") ?? null,
    phone: text(form, "phone") ?? null,
    mailingAddress: text(form, "mailingAddress") ?? null,
    bank: iban === undefined ? null : { iban, bic: text(form, "bic") ?? null }
  }
  return yield* Audit.audited(
    { tenant, actor, action: "user.update", target: `user:${session.userId}` },
    accounts((a) => a.updateProfile(tenant, session.userId, profile))
  ).pipe(
    Effect.as(redirect("/console/account?done=saved")),
    Effect.catchTag("ProblemError", (error) =>
      error.problem.status !== 400
        ? Effect.fail(error)
        : Effect.map(
            accounts((a) => a.get(tenant, session.userId)),
            (user) => {
              const refill = Object.fromEntries(profileFields.map((name) => [name, form.get(name) ?? ""]))
              return html(AccountPages.account(viewer, user, Layout.error(refusal(error).message), refill), 400)
            }
          )
    )
  )
})

const totpStart = Effect.gen(function* () {
  const [{ tenant, session, viewer }] = yield* signedInPost
  const { uri } = yield* accounts((a) => a.enableTotp(tenant, session.userId))
  return html(AccountPages.totpSetup(viewer, Redacted.value(uri)))
})

const totpConfirm = Effect.gen(function* () {
  const [{ tenant, session, viewer, actor }, form] = yield* signedInPost
  return yield* Audit.audited(
    { tenant, actor, action: "user.totp.enable", target: `user:${session.userId}` },
    accounts((a) => a.confirmTotp(tenant, session.userId, form.get("code") ?? ""))
  ).pipe(
    Effect.as(redirect("/console/account?done=totp")),
    Effect.catchTag("ProblemError", (error) =>
      Effect.map(
        accounts((a) => a.get(tenant, session.userId)),
        (user) =>
          html(AccountPages.account(viewer, user, Layout.error(`${refusal(error).message}: turn it on again`)), 400)
      )
    )
  )
})

// Your data: access and erasure ------------------------------------------------------------------------

/** The file name of the account data download. */
export const exportFileName = "openaudience-account.json"

const iso = (millis: number): string => new Date(millis).toISOString()

/**
 * A bank field masked but for its last 4 characters. The export is a file the browser saves: it outlives the
 * session in a downloads folder and gets attached and synced, while the full IBAN adds nothing the user does not
 * know (the account page shows it to them in full, which is where the right of access to it is met).
 */
const masked = (value: string): string => `${"*".repeat(Math.max(0, value.length - 4))}${value.slice(-4)}`

/**
 * Everything the console holds about a user, as they download it: the profile decrypted, role, status, whether
 * the second factor is on, this session's times and the payment methods. Never a secret: no password hash, no TOTP
 * secret, no session id or digest, no processor token.
 */
const accountData = (
  user: User.User,
  session: Accounts.Session,
  methods: ReadonlyArray<PaymentMethod.PaymentMethod>,
  now: number
) => ({
  exportedAt: iso(now),
  account: {
    id: user.id,
    tenant: user.tenant,
    email: user.email,
    firstName: user.firstName,
    lastName: user.lastName,
    phone: user.phone,
    mailingAddress: user.mailingAddress,
    // A BIC names a bank, not an account: it is public and stays whole.
    bank: user.bank === null ? null : { iban: masked(user.bank.iban), bic: user.bank.bic },
    role: user.role,
    status: user.status,
    createdAt: iso(user.createdAt),
    secondFactor: user.totp ? "on" : "off"
  },
  // The accounts service answers a session by its id only, so the one of this download is the one listed.
  currentSession: {
    createdAt: iso(session.createdAt),
    lastSeenAt: iso(session.lastSeenAt),
    idleExpiresAt: iso(session.idleExpiresAt),
    expiresAt: iso(session.expiresAt)
  },
  paymentMethods: methods.map((method) => ({
    processor: method.processor,
    brand: method.brand,
    last4: method.last4,
    createdAt: iso(method.createdAt)
  })),
  notes: [
    "bank.iban shows its last 4 characters only: the account page shows it in full.",
    "Not included, being secrets rather than data about you: your password (kept only as a one-way hash), the secret of your second factor, session ids and the payment processor's tokens.",
    "The audit log records this account's actions under its id; users with the audit:read permission (owner, privacy) can read it."
  ]
})

const exportAccount = Effect.gen(function* () {
  const { tenant, session, actor } = yield* signedIn
  const data = yield* Audit.audited(
    { tenant, actor, action: "account.export", target: `user:${session.userId}` },
    Effect.gen(function* () {
      const user = yield* accounts((a) => a.get(tenant, session.userId))
      const methods = yield* accounts((a) => a.paymentMethods(tenant, session.userId))
      return accountData(user, session, methods, yield* Clock.currentTimeMillis)
    })
  )
  return HttpServerResponse.text(JSON.stringify(data, null, 2), {
    contentType: "application/json; charset=utf-8",
    headers: { ...headers, "content-disposition": `attachment; filename="${exportFileName}"` }
  })
})

/**
 * Whether `user` is the only active owner of the tenant: deleting their account would leave the advertiser with no
 * user able to manage users (neither `Accounts` nor its store guards this, so the console does).
 */
const isLastOwner = (tenant: string, user: User.User) =>
  user.role !== "owner"
    ? Effect.succeed(false)
    : Effect.map(
        accounts((a) => a.list(tenant)),
        (users) => !users.some((other) => other.id !== user.id && other.role === "owner" && other.status === "active")
      )

/**
 * The password again (and the second factor's code when it is on), checked by `login` itself: the same checks and
 * the same failure counting and lockout as the sign-in form, so this form is no faster way to guess a password. The
 * session that login opens is ended at once. A refusal's message and status, or undefined when confirmed.
 */
const reauthenticate = (user: User.User, form: URLSearchParams) =>
  Effect.gen(function* () {
    const result = yield* Effect.either(
      Effect.flatMap(Accounts.Accounts, (a) =>
        Effect.flatMap(clientAddressOf, (clientAddress) =>
          a.login({
            email: user.email,
            password: Redacted.make(form.get("password") ?? ""),
            totp: text(form, "totp"),
            clientAddress
          })
        )
      )
    )
    if (result._tag === "Right") {
      yield* accounts((a) => a.logout(result.right.sessionId))
      return undefined
    }
    const error = result.left
    if (error._tag === "AccountsError" && error.reason !== "SecondFactorRequired") {
      return yield* accounts(() => Effect.fail(error))
    }
    return error._tag === "Locked"
      ? { message: error.message, status: 429 }
      : error._tag === "AccountsError"
        ? { message: error.message, status: 401 }
        : { message: user.totp ? "The password or the code is wrong" : "The password is wrong", status: 401 }
  })

const deletePage = Effect.gen(function* () {
  const { tenant, session, viewer } = yield* signedIn
  const user = yield* accounts((a) => a.get(tenant, session.userId))
  return html(AccountPages.deleteConfirm(viewer, user, { lastOwner: yield* isLastOwner(tenant, user) }))
})

const deleteAccount = Effect.gen(function* () {
  const [{ tenant, session, viewer, actor }, form] = yield* signedInPost
  const target = `user:${session.userId}`
  const user = yield* accounts((a) => a.get(tenant, session.userId))
  const denied = (reason: string) =>
    Audit.append({ tenant, actor, action: "account.delete", target, outcome: "denied", details: { reason } })
  if (yield* isLastOwner(tenant, user)) {
    yield* denied("last-owner")
    return html(AccountPages.deleteConfirm(viewer, user, { lastOwner: true }), 409)
  }
  const refused = yield* reauthenticate(user, form)
  if (refused !== undefined) {
    yield* denied("reauthentication")
    const message = Layout.error(refused.message)
    return html(AccountPages.deleteConfirm(viewer, user, { lastOwner: false, message }), refused.status)
  }
  // `remove` shreds the user's data key, then deletes their rows with every session: this browser is signed out.
  yield* Audit.audited(
    { tenant, actor, action: "account.delete", target },
    accounts((a) => a.remove(tenant, user.id))
  )
  return yield* setCookie(html(AccountPages.deleted()), sessionCookie, "", true)
})

const sitesPage = (publicUrl: () => string) =>
  Effect.gen(function* () {
    const { tenant, viewer } = yield* signedIn
    return html(Admin.sites(viewer, publicUrl(), yield* tenancy((s) => s.listSites(tenant))))
  })

const keysPage = Effect.gen(function* () {
  const { tenant, viewer } = yield* signedIn
  return html(Admin.keys(viewer, yield* tenancy((s) => s.listKeys(tenant))))
})

const createKey = Effect.gen(function* () {
  const [{ tenant, viewer, actor }, form] = yield* signedInPost
  const role = form.get("role") ?? ""
  const create =
    role === "owner" && viewer.role !== "owner"
      ? Problem.fail("forbidden", "only an owner can create owner keys", { field: "role" })
      : tenancy((s) => s.createKey(tenant, { role: role as Role.Role }), true)
  return yield* Audit.audited({ tenant, actor, action: "key.create", target: "keys" }, create, ({ record }) => ({
    key: record.id,
    role: record.role
  })).pipe(
    Effect.flatMap((created) =>
      Effect.map(
        tenancy((s) => s.listKeys(tenant)),
        (list) => html(Admin.keys(viewer, list, { id: created.record.id, key: created.key }))
      )
    ),
    Effect.catchTag("ProblemError", (error) =>
      Effect.map(
        tenancy((s) => s.listKeys(tenant)),
        (list) => html(Admin.keys(viewer, list, undefined, Layout.error(refusal(error).message)), refusal(error).status)
      )
    )
  )
})

const idParam = Effect.map(HttpRouter.params, ({ id = "" }) => id)

const revokeKey = Effect.gen(function* () {
  const [{ tenant, actor }] = yield* signedInPost
  const id = yield* idParam
  const now = yield* Clock.currentTimeMillis
  yield* Audit.audited(
    { tenant, actor, action: "key.revoke", target: `key:${id.slice(0, 100)}` },
    tenancy((s) => s.revokeKey(tenant, id, now), true)
  )
  return redirect("/console/keys")
})

const listUsers = (tenant: string, actor: Audit.Actor) =>
  Audit.audited(
    { tenant, actor, action: "user.list", target: "users" },
    accounts((a) => a.list(tenant)),
    (users) => ({ users: users.length })
  )

const usersPage = Effect.gen(function* () {
  const { tenant, viewer, actor } = yield* signedIn
  return html(Admin.users(viewer, yield* listUsers(tenant, actor)))
})

const inviteUser = Effect.gen(function* () {
  const [{ tenant, viewer, actor, session }, form] = yield* signedInPost
  const invited = yield* Effect.either(
    Audit.audited(
      { tenant, actor, action: "user.invite", target: "users" },
      accounts((a) => a.invite(tenant, form.get("email") ?? "", form.get("role") ?? "", `user:${session.userId}`)),
      ({ user }) => ({ user: user.id, role: user.role })
    )
  )
  const refused = invited._tag === "Left" ? refusal(invited.left) : undefined
  const message = refused === undefined ? Layout.notice("Invitation sent.") : Layout.error(refused.message)
  return html(Admin.users(viewer, yield* listUsers(tenant, actor), message), refused?.status ?? 200)
})

const removeUser = Effect.gen(function* () {
  const [{ tenant, actor }] = yield* signedInPost
  const id = yield* idParam
  yield* Audit.audited(
    { tenant, actor, action: "user.remove", target: `user:${id.slice(0, 100)}` },
    accounts((a) => a.remove(tenant, id))
  )
  return redirect("/console/users")
})

/** The problem type of an error page's status, for clients that do not take HTML. */
const problemOfStatus: Readonly<Record<number, Problem.ProblemType>> = {
  400: "invalid-body",
  401: "unauthorized",
  403: "forbidden",
  404: "not-found",
  409: "conflict",
  413: "body-too-large",
  429: "too-many-requests",
  503: "unavailable"
}

/** A problem as the page a browser shows: its title and detail, with its status. */
const problemPage = (problem: Problem.Problem) =>
  html(
    Layout.page({
      title: problem.title,
      body: `<p>${Layout.escapeHtml(problem.detail ?? "")}</p><p><a href="/console/login">Back to the console</a></p>`
    }),
    problem.status
  )

/**
 * A console handler, its early answers and failures sent: as pages to browsers (`Accept: text/html`), and to other
 * clients every error as a problem document, like the rest of the server.
 */
const page = <E, R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const browser = /\btext\/html\b/i.test(request.headers.accept ?? "")
    const response = yield* handler.pipe(
      Effect.catchIf(
        (error): error is E & (Answer | Problem.ProblemError) =>
          error instanceof Answer || error instanceof Problem.ProblemError,
        (error) =>
          Effect.succeed(
            error instanceof Answer
              ? error.response
              : browser
                ? problemPage(error.problem)
                : Problem.response(error.problem)
          )
      )
    )
    const type = problemOfStatus[response.status]
    const isPage = "contentType" in response.body && response.body.contentType?.startsWith("text/html") === true
    if (browser || response.status < 400 || type === undefined || !isPage) return response
    return Problem.response(Problem.make(type, "this console page answers browsers (Accept: text/html)"))
  })

/** The console's routes, added to the server's router; `publicUrl` is the collector's origin (for snippets). */
export const routes =
  (publicUrl: () => string) =>
  <E, R>(router: HttpRouter.HttpRouter<E, R>) =>
    router
      .pipe(
        HttpRouter.get("/console", Effect.succeed(redirect("/console/account"))),
        HttpRouter.get("/console/login", page(loginPage)),
        HttpRouter.post("/console/login", page(login)),
        HttpRouter.post("/console/logout", page(logout)),
        HttpRouter.get("/console/accept", page(acceptPage)),
        HttpRouter.post("/console/accept", page(accept)),
        HttpRouter.get("/console/reset", page(resetPage)),
        HttpRouter.post("/console/reset", page(resetRequest)),
        HttpRouter.get("/console/reset/confirm", page(resetConfirmPage)),
        HttpRouter.post("/console/reset/confirm", page(resetConfirm)),
        HttpRouter.get("/console/account", page(accountPage))
      )
      .pipe(
        HttpRouter.post("/console/account", page(updateAccount)),
        HttpRouter.post("/console/account/totp", page(totpStart)),
        HttpRouter.post("/console/account/totp/confirm", page(totpConfirm)),
        HttpRouter.get("/console/account/export", page(exportAccount)),
        HttpRouter.get("/console/account/delete", page(deletePage)),
        HttpRouter.post("/console/account/delete", page(deleteAccount)),
        HttpRouter.get("/console/sites", page(sitesPage(publicUrl))),
        HttpRouter.get("/console/keys", page(keysPage)),
        HttpRouter.post("/console/keys", page(createKey)),
        HttpRouter.post("/console/keys/:id/revoke", page(revokeKey)),
        HttpRouter.get("/console/users", page(usersPage)),
        HttpRouter.post("/console/users", page(inviteUser)),
        HttpRouter.post("/console/users/:id/remove", page(removeUser))
      )
