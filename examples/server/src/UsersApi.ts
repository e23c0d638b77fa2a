/**
 * The users API: HTTP adapters over @openaudience/accounts for a tenant's application users (`users:manage`, owner
 * keys). `POST /v1/users/invitations` `{ email, role }` mails a single-use invitation link (7 days);
 * `GET /v1/users` lists the tenant's users (id, email, names, role, status, second factor; not their phone,
 * address or bank details); `DELETE /v1/users/:id` removes a user and destroys their data key (crypto-shredding).
 * Each is audited (`user.invite`, `user.list`, `user.remove`) without an email address in the details. A user of
 * another tenant is a 404, exactly like one that does not exist.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Accounts, type AccountsError, type User } from "@openaudience/accounts"
import * as Effect from "effect/Effect"
import * as Access from "./Access.js"
import * as AdminApi from "./AdminApi.js"
import * as Audit from "./Audit.js"
import * as JsonBody from "./JsonBody.js"
import * as Problem from "./Problem.js"

const maxBodyBytes = 16 * 1024

const json = (value: unknown, status = 200) =>
  HttpServerResponse.unsafeJson(value, { status, headers: { "cache-control": "no-store" } })

/** An accounts failure as the problem a client reads (messages name the field, never a value). */
export const problemOf = (error: AccountsError) => {
  const field = error.field === undefined ? {} : { field: error.field }
  switch (error.reason) {
    case "InvalidInput":
    case "InvalidCode":
    case "SecondFactorRequired":
      return Problem.fail("invalid-body", error.message, field)
    case "NotFound":
    case "InvalidToken":
      return Problem.fail("not-found", error.message)
    case "Conflict":
      return Problem.fail("conflict", error.message, field)
    case "StoreFailed":
    case "VaultFailed":
    case "MailFailed":
      return Effect.zipRight(
        Effect.logError("accounts failed", error),
        Problem.fail("unavailable", "the users cannot be reached right now; try again shortly")
      )
  }
}

/** Runs an accounts operation, its failures as problems. */
export const accounts = <A>(f: (accounts: Accounts.Service) => Effect.Effect<A, AccountsError>) =>
  Effect.flatMap(Accounts.Accounts, f).pipe(Effect.catchTag("AccountsError", problemOf))

/** A user as the API lists them. */
export const listed = (user: User.User) => ({
  id: user.id,
  email: user.email,
  firstName: user.firstName,
  lastName: user.lastName,
  role: user.role,
  status: user.status,
  totp: user.totp,
  createdAt: new Date(user.createdAt).toISOString()
})

const invite = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const input = yield* JsonBody.decode(AdminApi.InvitationRequest, maxBodyBytes)
  const { user } = yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "user.invite", target: "users" },
    accounts((a) => a.invite(tenant.id, input.email, input.role, `key:${keyId}`)),
    ({ user }) => ({ user: user.id, role: user.role })
  )
  return json(listed(user), 201)
})

const list = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const users = yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "user.list", target: "users" },
    accounts((a) => a.list(tenant.id)),
    (users) => ({ users: users.length })
  )
  return json({ users: users.map(listed) })
})

const remove = Effect.gen(function* () {
  const { tenant, keyId } = yield* Access.principal
  const { id = "" } = yield* HttpRouter.params
  yield* Audit.audited(
    { tenant: tenant.id, actor: { kind: "key", id: keyId }, action: "user.remove", target: `user:${id.slice(0, 100)}` },
    accounts((a) => a.remove(tenant.id, id))
  )
  return HttpServerResponse.empty({ status: 204 })
})

/** The users API (`AdminApi` group `users`). */
export const group = HttpApiBuilder.group(AdminApi.AdminApi, "users", (handlers) =>
  handlers
    .handleRaw("inviteUser", () => invite)
    .handleRaw("listUsers", () => list)
    .handleRaw("removeUser", () => remove)
)
