/**
 * The storage port of the accounts package. It holds what `Accounts` gives it: personal fields only as vault
 * ciphertexts, the email only as ciphertext and blind index, tokens and session ids only as SHA-256 digests,
 * client addresses only as blind indexes. Every method about a user takes the tenant, and a user of another
 * tenant is not found. The exceptions are lookups by a secret the caller holds alone — the email's blind index
 * (login), an invitation, reset or session digest — which are global because that secret is all a login form or
 * a cookie carries; they return the tenant.
 *
 * Multi-step changes (invite, accept, reset, remove) are one transaction in the SQL store (`SqlUserStore` in
 * @openaudience/storage-sql). `layerMemory` keeps everything in memory (tests, demos).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AccountsError, notFound } from "./AccountsError.js"
import type { Brand, PaymentMethod } from "./PaymentMethod.js"
import type { UserRole, UserStatus } from "./User.js"

/**
 * A user as stored: ciphertexts (`v1.…` text of the vault) for every personal field.
 *
 * @since 0.1.0
 * @category models
 */
export interface UserRecord {
  readonly tenant: string
  readonly id: string
  /** Blind index of the normalized email (global, purpose `email`). */
  readonly emailIndex: string
  readonly email: string
  readonly firstName: string | null
  readonly lastName: string | null
  readonly phone: string | null
  readonly mailingAddress: string | null
  readonly iban: string | null
  readonly bic: string | null
  readonly role: UserRole
  readonly status: UserStatus
  readonly createdAt: number
  readonly updatedAt: number
  /** Who invited the user (a user id or an API key id), as the caller gave it. */
  readonly invitedBy: string | null
  readonly passwordHash: string | null
  readonly totpSecret: string | null
  readonly totpEnabled: boolean
  /** The last TOTP time step accepted, so a code is never accepted twice. */
  readonly totpLastStep: number | null
}

/**
 * The fields of a user that `update` changes.
 *
 * @since 0.1.0
 * @category models
 */
export type UserPatch = Partial<
  Pick<
    UserRecord,
    | "firstName"
    | "lastName"
    | "phone"
    | "mailingAddress"
    | "iban"
    | "bic"
    | "role"
    | "status"
    | "updatedAt"
    | "passwordHash"
    | "totpSecret"
    | "totpEnabled"
    | "totpLastStep"
  >
>

/**
 * A single-use token (invitation or password reset), kept as its SHA-256 digest.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenRecord {
  readonly digest: string
  readonly tenant: string
  readonly userId: string
  readonly createdAt: number
  readonly expiresAt: number
}

/**
 * A server-side session, kept under the SHA-256 digest of its id.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionRecord {
  readonly digest: string
  readonly tenant: string
  readonly userId: string
  readonly createdAt: number
  readonly lastSeenAt: number
  /** The absolute end of the session. */
  readonly expiresAt: number
}

/**
 * The operations of a user store.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Stores an invited user and its invitation together; `Conflict` when the email index is taken. */
  readonly invite: (user: UserRecord, invitation: TokenRecord) => Effect.Effect<void, AccountsError>
  readonly get: (tenant: string, id: string) => Effect.Effect<Option.Option<UserRecord>, AccountsError>
  readonly list: (tenant: string) => Effect.Effect<ReadonlyArray<UserRecord>, AccountsError>
  /** The user with this email blind index, in any tenant (login). */
  readonly findByEmail: (emailIndex: string) => Effect.Effect<Option.Option<UserRecord>, AccountsError>
  /** Changes a user; `NotFound` when the tenant has no such user. */
  readonly update: (tenant: string, id: string, patch: UserPatch) => Effect.Effect<UserRecord, AccountsError>
  /** Records TOTP step `step` as used, only if it is later than the last one used; whether it was. */
  readonly useTotpStep: (tenant: string, id: string, step: number) => Effect.Effect<boolean, AccountsError>
  /**
   * Deletes a user with its invitations, resets, sessions, payment methods and the records under its email's keys,
   * in one transaction.
   */
  readonly remove: (tenant: string, id: string) => Effect.Effect<boolean, AccountsError>
  /** An unexpired invitation by digest. */
  readonly invitation: (digest: string, now: number) => Effect.Effect<Option.Option<TokenRecord>, AccountsError>
  /**
   * Consumes an unexpired invitation and applies `patch` to its user, in one transaction; the user, or none when
   * the invitation is unknown, used or expired (a second accept of one token finds none).
   */
  readonly acceptInvitation: (
    digest: string,
    now: number,
    patch: UserPatch
  ) => Effect.Effect<Option.Option<UserRecord>, AccountsError>
  readonly addReset: (reset: TokenRecord) => Effect.Effect<void, AccountsError>
  /** An unexpired reset by digest. */
  readonly reset: (digest: string, now: number) => Effect.Effect<Option.Option<TokenRecord>, AccountsError>
  /**
   * Consumes an unexpired reset token: deletes every reset and every session of its user and sets the password
   * hash, in one transaction; the token's record, or none.
   */
  readonly consumeReset: (
    digest: string,
    now: number,
    passwordHash: string
  ) => Effect.Effect<Option.Option<TokenRecord>, AccountsError>
  readonly addSession: (session: SessionRecord) => Effect.Effect<void, AccountsError>
  readonly session: (digest: string) => Effect.Effect<Option.Option<SessionRecord>, AccountsError>
  readonly touchSession: (digest: string, at: number) => Effect.Effect<void, AccountsError>
  readonly removeSession: (digest: string) => Effect.Effect<void, AccountsError>
  /** Deletes every session of a user; how many. */
  readonly removeSessions: (tenant: string, userId: string) => Effect.Effect<number, AccountsError>
  /**
   * The times recorded under `key` at or after `since`: failed logins (`email:<index>`, `addr:<index>`) and reset
   * requests (`reset:<index>`).
   */
  readonly failures: (key: string, since: number) => Effect.Effect<ReadonlyArray<number>, AccountsError>
  /** Records a failed login under each key, dropping failures older than `prune`. */
  readonly addFailure: (keys: ReadonlyArray<string>, at: number, prune: number) => Effect.Effect<void, AccountsError>
  readonly clearFailures: (key: string) => Effect.Effect<void, AccountsError>
  /** Adds a payment method to a user of the tenant; `NotFound` when there is no such user. */
  readonly addPaymentMethod: (method: PaymentMethod) => Effect.Effect<void, AccountsError>
  readonly paymentMethods: (
    tenant: string,
    userId: string
  ) => Effect.Effect<ReadonlyArray<PaymentMethod>, AccountsError>
  readonly removePaymentMethod: (tenant: string, userId: string, id: string) => Effect.Effect<boolean, AccountsError>
}

/**
 * The user store service.
 *
 * @since 0.1.0
 * @category services
 */
export class UserStore extends Context.Tag("@openaudience/accounts/UserStore")<UserStore, Service>() {}

/**
 * The `Conflict` of an email address that already has an account.
 *
 * @since 0.1.0
 * @category errors
 */
export const emailTaken = (): AccountsError =>
  new AccountsError({ reason: "Conflict", field: "email", message: "This email address already has an account" })

/**
 * The `NotFound` of a user missing from a tenant.
 *
 * @since 0.1.0
 * @category errors
 */
export const userNotFound = (): AccountsError => notFound("No such user")

/**
 * A user store in memory, empty at start.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.sync(() => {
  const users = new Map<string, UserRecord>()
  const invitations = new Map<string, TokenRecord>()
  const resets = new Map<string, TokenRecord>()
  const sessions = new Map<string, SessionRecord>()
  const failures = new Map<string, Array<number>>()
  const methods = new Map<string, PaymentMethod>()
  const key = (tenant: string, id: string) => JSON.stringify([tenant, id])
  const dropWhere = <A extends { readonly tenant: string; readonly userId: string }>(
    map: Map<string, A>,
    tenant: string,
    userId: string
  ) => {
    let n = 0
    for (const [k, v] of map) {
      if (v.tenant === tenant && v.userId === userId) {
        map.delete(k)
        n++
      }
    }
    return n
  }
  const unexpired = (map: Map<string, TokenRecord>, digest: string, now: number) =>
    Option.filter(Option.fromNullable(map.get(digest)), (token) => token.expiresAt > now)
  const update = (tenant: string, id: string, patch: UserPatch) => {
    const user = users.get(key(tenant, id))
    if (user === undefined) return Effect.fail(userNotFound())
    const next = { ...user, ...patch }
    users.set(key(tenant, id), next)
    return Effect.succeed(next)
  }
  return UserStore.of({
    invite: (user, invitation) =>
      Effect.suspend(() => {
        for (const existing of users.values())
          if (existing.emailIndex === user.emailIndex) return Effect.fail(emailTaken())
        users.set(key(user.tenant, user.id), user)
        invitations.set(invitation.digest, invitation)
        return Effect.void
      }),
    get: (tenant, id) => Effect.sync(() => Option.fromNullable(users.get(key(tenant, id)))),
    list: (tenant) =>
      Effect.sync(() =>
        [...users.values()]
          .filter((u) => u.tenant === tenant)
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
      ),
    findByEmail: (emailIndex) =>
      Effect.sync(() => Option.fromNullable([...users.values()].find((u) => u.emailIndex === emailIndex))),
    update: (tenant, id, patch) => Effect.suspend(() => update(tenant, id, patch)),
    useTotpStep: (tenant, id, step) =>
      Effect.sync(() => {
        const user = users.get(key(tenant, id))
        if (user === undefined || (user.totpLastStep !== null && user.totpLastStep >= step)) return false
        users.set(key(tenant, id), { ...user, totpLastStep: step })
        return true
      }),
    remove: (tenant, id) =>
      Effect.sync(() => {
        const user = users.get(key(tenant, id))
        if (user === undefined) return false
        users.delete(key(tenant, id))
        for (const map of [invitations, resets, sessions, methods] as const)
          dropWhere(map as Map<string, { tenant: string; userId: string }>, tenant, id)
        failures.delete(`email:${user.emailIndex}`)
        failures.delete(`reset:${user.emailIndex}`)
        return true
      }),
    invitation: (digest, now) => Effect.sync(() => unexpired(invitations, digest, now)),
    acceptInvitation: (digest, now, patch) =>
      Effect.suspend(() => {
        const token = unexpired(invitations, digest, now)
        if (Option.isNone(token)) return Effect.succeed(Option.none())
        invitations.delete(digest)
        return Effect.map(update(token.value.tenant, token.value.userId, patch), Option.some)
      }),
    addReset: (reset) => Effect.sync(() => void resets.set(reset.digest, reset)),
    reset: (digest, now) => Effect.sync(() => unexpired(resets, digest, now)),
    consumeReset: (digest, now, passwordHash) =>
      Effect.suspend(() => {
        const token = unexpired(resets, digest, now)
        if (Option.isNone(token)) return Effect.succeed(Option.none())
        const { tenant, userId } = token.value
        return Effect.map(update(tenant, userId, { passwordHash, updatedAt: now }), () => {
          dropWhere(resets, tenant, userId)
          dropWhere(sessions, tenant, userId)
          return token
        })
      }),
    addSession: (session) => Effect.sync(() => void sessions.set(session.digest, session)),
    session: (digest) => Effect.sync(() => Option.fromNullable(sessions.get(digest))),
    touchSession: (digest, at) =>
      Effect.sync(() => {
        const session = sessions.get(digest)
        if (session !== undefined) sessions.set(digest, { ...session, lastSeenAt: at })
      }),
    removeSession: (digest) => Effect.sync(() => void sessions.delete(digest)),
    removeSessions: (tenant, userId) => Effect.sync(() => dropWhere(sessions, tenant, userId)),
    failures: (k, since) => Effect.sync(() => (failures.get(k) ?? []).filter((at) => at >= since)),
    addFailure: (keys, at, prune) =>
      Effect.sync(() => {
        for (const k of keys) failures.set(k, [...(failures.get(k) ?? []).filter((t) => t >= prune), at])
      }),
    clearFailures: (k) => Effect.sync(() => void failures.delete(k)),
    addPaymentMethod: (method) =>
      Effect.suspend(() => {
        if (!users.has(key(method.tenant, method.userId))) return Effect.fail(userNotFound())
        methods.set(method.id, method)
        return Effect.void
      }),
    paymentMethods: (tenant, userId) =>
      Effect.sync(() =>
        [...methods.values()]
          .filter((m) => m.tenant === tenant && m.userId === userId)
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
      ),
    removePaymentMethod: (tenant, userId, id) =>
      Effect.sync(() => {
        const method = methods.get(id)
        if (method === undefined || method.tenant !== tenant || method.userId !== userId) return false
        return methods.delete(id)
      })
  })
})

/**
 * The in-memory user store as a layer (fresh and empty each time it is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<UserStore> = Layer.effect(UserStore, makeMemory)

/**
 * The brands a stored payment method may carry (re-exported for stores that decode rows).
 *
 * @since 0.1.0
 * @category models
 */
export type { Brand }
