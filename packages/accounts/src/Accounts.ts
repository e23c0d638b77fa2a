/**
 * The accounts service: invitations, passwords, server-side sessions, login throttling and lockout, password
 * reset, TOTP and CSRF tokens for the application's own users, over a `UserStore`, a `Mailer` and the `Vault`
 * that encrypts every personal field (subject = the user id; the vault's associated data binds tenant, user and
 * field).
 *
 * Email addresses are unique across all tenants: login finds the user from the address alone, by a blind index
 * (`Vault.blindIndex(globalScope, "email", normalizeEmail(email))`), never by plaintext. A person working for two
 * advertisers uses two addresses (or, later, one account with several memberships).
 *
 * Every failed login answers `InvalidCredentials`, with the same work (an scrypt run against a dummy hash when there
 * is no such user or no password yet), whether the email is unknown, the password wrong or the user disabled.
 * After 5 failures within 15 minutes for one email (known or not) or one client address, login answers `Locked`
 * for 15 minutes without checking anything. Time comes from `Clock`; randomness from `SecureRandom`.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { SecureRandom } from "@openaudience/anonymizer"
import { Fields, Vault } from "@openaudience/vault"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import {
  AccountsError,
  InvalidCredentials,
  invalid,
  invalidCredentialsMessage,
  Locked,
  notFound
} from "./AccountsError.js"
import * as Csrf from "./Csrf.js"
import * as Mailer from "./Mailer.js"
import * as Password from "./Password.js"
import * as PaymentMethod from "./PaymentMethod.js"
import * as Totp from "./Totp.js"
import * as User from "./User.js"
import * as UserStore from "./UserStore.js"

/**
 * The fixed parameters: token lifetimes, session timeouts, lockout.
 *
 * @since 0.1.0
 * @category models
 */
export const limits = {
  invitation: Duration.days(7),
  reset: Duration.minutes(30),
  sessionIdle: Duration.minutes(30),
  sessionAbsolute: Duration.hours(12),
  maxFailures: 5,
  failureWindow: Duration.minutes(15),
  lockout: Duration.minutes(15),
  resetMails: 3,
  resetWindow: Duration.minutes(15)
} as const

/**
 * The vault "tenant" of the global blind indexes (emails, client addresses) and of the CSRF key: not a valid
 * tenant id, so it never meets a real tenant's keys.
 *
 * @since 0.1.0
 * @category models
 */
export const globalScope = "@accounts"

/**
 * How the service builds links and hashes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The public origin of the console, e.g. `https://ads.example`; links in mails start with it. */
  readonly baseUrl: string
  /** The console page that accepts an invitation (`?token=` is appended). Default `/console/accept`. */
  readonly acceptPath?: string | undefined
  /** The console page that sets a new password (`?token=` is appended). Default `/console/reset`. */
  readonly resetPath?: string | undefined
  /** The issuer shown by authenticator apps. Default `OpenAudience`. */
  readonly issuer?: string | undefined
  /** scrypt cost of new hashes. Default `Password.defaultParams`. */
  readonly scrypt?: Password.Params | undefined
}

/**
 * A live session.
 *
 * @since 0.1.0
 * @category models
 */
export interface Session {
  readonly tenant: string
  readonly userId: string
  readonly role: User.UserRole
  readonly createdAt: number
  readonly lastSeenAt: number
  /** When it ends unless used before (idle timeout). */
  readonly idleExpiresAt: number
  /** When it ends whatever happens (absolute timeout). */
  readonly expiresAt: number
}

/**
 * What `login` takes.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoginInput {
  readonly email: string
  readonly password: string | Redacted.Redacted<string>
  /** The 6-digit TOTP code, for users with a second factor. */
  readonly totp?: string | undefined
  /** The client's IP address (or another stable client key): failures are also counted per address. */
  readonly clientAddress?: string | undefined
}

/**
 * The accounts operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Creates an invited user and mails a single-use link valid 7 days; the token is also returned. */
  readonly invite: (
    tenant: string,
    email: string,
    role: string,
    invitedBy: string
  ) => Effect.Effect<{ readonly user: User.User; readonly token: Redacted.Redacted<string> }, AccountsError>
  /** Accepts an invitation: sets the password and profile; the user becomes active. */
  readonly accept: (
    token: string | Redacted.Redacted<string>,
    password: string | Redacted.Redacted<string>,
    profile?: User.Profile
  ) => Effect.Effect<User.User, AccountsError>
  /** Logs in: a new session id (never reused) on success. */
  readonly login: (
    input: LoginInput
  ) => Effect.Effect<
    { readonly sessionId: Redacted.Redacted<string>; readonly session: Session },
    InvalidCredentials | Locked | AccountsError
  >
  /** Ends a session (nothing happens for an unknown one). */
  readonly logout: (sessionId: string | Redacted.Redacted<string>) => Effect.Effect<void, AccountsError>
  /** A live session; `NotFound` when unknown, expired, or its user is no longer active. */
  readonly session: (sessionId: string | Redacted.Redacted<string>) => Effect.Effect<Session, AccountsError>
  /** Like `session`, and restarts the idle window. */
  readonly touch: (sessionId: string | Redacted.Redacted<string>) => Effect.Effect<Session, AccountsError>
  /** Mails a reset link (30 minutes, single use) when the email has an active account; always succeeds alike. */
  readonly requestReset: (email: string) => Effect.Effect<void, AccountsError>
  /** Sets a new password with a reset token and ends every session of the user. */
  readonly reset: (
    token: string | Redacted.Redacted<string>,
    password: string | Redacted.Redacted<string>
  ) => Effect.Effect<void, AccountsError>
  /** Starts TOTP enrolment: a new secret (stored encrypted, not yet required) and its `otpauth://` URI. */
  readonly enableTotp: (
    tenant: string,
    userId: string
  ) => Effect.Effect<
    { readonly uri: Redacted.Redacted<string>; readonly secret: Redacted.Redacted<string> },
    AccountsError
  >
  /** Confirms enrolment with a first code; from then on login needs a code. */
  readonly confirmTotp: (tenant: string, userId: string, code: string) => Effect.Effect<void, AccountsError>
  readonly disableTotp: (tenant: string, userId: string) => Effect.Effect<void, AccountsError>
  readonly get: (tenant: string, userId: string) => Effect.Effect<User.User, AccountsError>
  readonly list: (tenant: string) => Effect.Effect<ReadonlyArray<User.User>, AccountsError>
  readonly updateProfile: (
    tenant: string,
    userId: string,
    profile: User.Profile
  ) => Effect.Effect<User.User, AccountsError>
  readonly setRole: (tenant: string, userId: string, role: string) => Effect.Effect<User.User, AccountsError>
  /** Enables or disables a user; disabling ends every session. */
  readonly setDisabled: (tenant: string, userId: string, disabled: boolean) => Effect.Effect<User.User, AccountsError>
  /** Deletes the user's rows and shreds their data key: every ciphertext of theirs, anywhere, is unreadable. */
  readonly remove: (tenant: string, userId: string) => Effect.Effect<void, AccountsError>
  readonly addPaymentMethod: (
    tenant: string,
    userId: string,
    input: PaymentMethod.Input
  ) => Effect.Effect<PaymentMethod.PaymentMethod, AccountsError>
  readonly paymentMethods: (
    tenant: string,
    userId: string
  ) => Effect.Effect<ReadonlyArray<PaymentMethod.PaymentMethod>, AccountsError>
  readonly removePaymentMethod: (tenant: string, userId: string, id: string) => Effect.Effect<void, AccountsError>
  /** The CSRF token of a session, for the console's forms. */
  readonly csrfToken: (sessionId: string | Redacted.Redacted<string>) => Effect.Effect<string, AccountsError>
  /** Whether `token` is the CSRF token of this session (constant-time). */
  readonly verifyCsrf: (
    sessionId: string | Redacted.Redacted<string>,
    token: string
  ) => Effect.Effect<boolean, AccountsError>
}

/**
 * The accounts service.
 *
 * @since 0.1.0
 * @category services
 */
export class Accounts extends Context.Tag("@openaudience/accounts/Accounts")<Accounts, Service>() {}

const reveal = (value: string | Redacted.Redacted<string>): string =>
  Redacted.isRedacted(value) ? Redacted.value(value) : typeof value === "string" ? value : ""

/**
 * The SHA-256 digest (hex) under which a token or session id is stored.
 *
 * @since 0.1.0
 * @category combinators
 */
export const digest = (secret: string | Redacted.Redacted<string>): string =>
  createHash("sha256").update(reveal(secret)).digest("hex")

const vaultFailed = (error: Vault.VaultError) =>
  new AccountsError({ reason: "VaultFailed", message: error.message, cause: error })

const invalidToken = () =>
  new AccountsError({ reason: "InvalidToken", message: "This link is unknown, already used or expired" })

const noSession = () => notFound("No such session (unknown, ended or expired)")

const encryptedFields = ["firstName", "lastName", "phone", "mailingAddress", "iban", "bic"] as const

/**
 * Builds the service over `UserStore`, `Mailer` and `Vault` from context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<Service, never, UserStore.UserStore | Mailer.Mailer | Vault.Vault> =>
  Effect.gen(function* () {
    const store = yield* UserStore.UserStore
    const mailer = yield* Mailer.Mailer
    const vault = yield* Vault.Vault
    const scryptParams = options.scrypt ?? Password.defaultParams
    const base = options.baseUrl.replace(/\/+$/, "")
    const acceptUrl = `${base}${options.acceptPath ?? "/console/accept"}`
    const resetUrl = `${base}${options.resetPath ?? "/console/reset"}`
    const issuer = options.issuer ?? "OpenAudience"
    // Unknown emails are checked against this, at the same cost as a real hash.
    const dummyHash = yield* Password.hash(Redacted.make("dummy password, never matches"), scryptParams)
    let csrfKey: Redacted.Redacted<Uint8Array> | undefined

    const random = (bytes: number) => Effect.map(SecureRandom.SecureRandom, (source) => source.bytes(bytes))
    const newToken = Effect.map(random(32), (bytes) => Redacted.make(Buffer.from(bytes).toString("base64url")))
    const newId = (prefix: string) =>
      Effect.map(random(12), (bytes) => `${prefix}_${Buffer.from(bytes).toString("hex")}`)
    const index = (purpose: string, value: string) =>
      vault.blindIndex(globalScope, purpose, value).pipe(Effect.mapError(vaultFailed))
    const encrypt = (tenant: string, id: string, field: string, value: string | null) =>
      value === null ? Effect.succeed(null) : vault.encrypt(tenant, id, field, value).pipe(Effect.mapError(vaultFailed))
    const decrypt = (record: UserStore.UserRecord, field: string, value: string | null) =>
      value === null
        ? Effect.succeed(null)
        : vault.decrypt(record.tenant, record.id, field, value).pipe(Effect.mapError(vaultFailed))

    const toUser = (record: UserStore.UserRecord): Effect.Effect<User.User, AccountsError> =>
      Effect.gen(function* () {
        const [firstName, lastName, phone, mailingAddress, iban, bic] = yield* Effect.forEach(
          encryptedFields,
          (field) => decrypt(record, field, record[field])
        )
        return {
          tenant: record.tenant,
          id: record.id,
          email: (yield* decrypt(record, "email", record.email)) ?? "",
          firstName: firstName ?? null,
          lastName: lastName ?? null,
          phone: phone ?? null,
          mailingAddress: mailingAddress ?? null,
          bank: iban === null || iban === undefined ? null : { iban, bic: bic ?? null },
          role: record.role,
          status: record.status,
          createdAt: record.createdAt,
          totp: record.totpEnabled
        }
      })

    const getRecord = (tenant: string, userId: string) =>
      Effect.flatMap(store.get(tenant, userId), (found) =>
        Option.match(found, { onNone: () => Effect.fail(UserStore.userNotFound()), onSome: Effect.succeed })
      )

    const encryptProfile = (tenant: string, id: string, profile: User.ValidProfile) =>
      Effect.gen(function* () {
        const patch: { -readonly [K in keyof UserStore.UserPatch]: UserStore.UserPatch[K] } = {}
        for (const field of ["firstName", "lastName", "phone", "mailingAddress"] as const) {
          const value = profile[field]
          if (value !== undefined) patch[field] = yield* encrypt(tenant, id, field, value)
        }
        if (profile.bank !== undefined) {
          patch.iban = yield* encrypt(tenant, id, "iban", profile.bank?.iban ?? null)
          patch.bic = yield* encrypt(tenant, id, "bic", profile.bank?.bic ?? null)
        }
        return patch
      })

    const checkPassword = (password: string | Redacted.Redacted<string>, email: string) =>
      Password.check(Redacted.make(reveal(password)), email)

    const invite: Service["invite"] = (tenant, email, role, invitedBy) =>
      Effect.gen(function* () {
        if (typeof tenant !== "string" || tenant === "") return yield* invalid("tenant", "The tenant is required")
        const normalized = yield* User.validateEmail(email)
        const validRole = yield* User.validateRole(role)
        const now = yield* Clock.currentTimeMillis
        const id = yield* newId("usr")
        const token = yield* newToken
        const expiresAt = now + Duration.toMillis(limits.invitation)
        const record: UserStore.UserRecord = {
          tenant,
          id,
          emailIndex: yield* index("email", normalized),
          email: (yield* encrypt(tenant, id, "email", normalized)) ?? "",
          firstName: null,
          lastName: null,
          phone: null,
          mailingAddress: null,
          iban: null,
          bic: null,
          role: validRole,
          status: "invited",
          createdAt: now,
          updatedAt: now,
          invitedBy: typeof invitedBy === "string" && invitedBy !== "" ? invitedBy.slice(0, 200) : null,
          passwordHash: null,
          totpSecret: null,
          totpEnabled: false,
          totpLastStep: null
        }
        yield* store
          .invite(record, { digest: digest(token), tenant, userId: id, createdAt: now, expiresAt })
          .pipe(Effect.tapError(() => vault.shred(tenant, id).pipe(Effect.ignore)))
        const link = `${acceptUrl}?token=${Redacted.value(token)}`
        yield* mailer
          .send({
            to: normalized,
            subject: `You are invited to ${issuer}`,
            text: `You have been invited to ${issuer} as ${validRole}.\n\nChoose your password here (the link works once, for 7 days):\n\n${link}\n\nIf you did not expect this mail, ignore it.\n`
          })
          // Nobody can accept an invitation whose mail did not leave: undo it, so the address can be invited again.
          .pipe(
            Effect.tapError(() =>
              Effect.zipRight(store.remove(tenant, id), vault.shred(tenant, id)).pipe(Effect.ignore)
            )
          )
        return { user: yield* toUser(record), token }
      })

    const accept: Service["accept"] = (token, password, profile = {}) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const tokenDigest = digest(token)
        const invitation = yield* store.invitation(tokenDigest, now)
        if (Option.isNone(invitation)) return yield* invalidToken()
        const { tenant, userId } = invitation.value
        const record = yield* getRecord(tenant, userId)
        const email = (yield* decrypt(record, "email", record.email)) ?? ""
        const checked = yield* checkPassword(password, email)
        const valid = yield* User.validateProfile(profile)
        const patch = yield* encryptProfile(tenant, userId, valid)
        const passwordHash = yield* Password.hash(checked, scryptParams)
        const accepted = yield* store.acceptInvitation(tokenDigest, now, {
          ...patch,
          passwordHash,
          status: "active",
          updatedAt: now
        })
        if (Option.isNone(accepted)) return yield* invalidToken()
        return yield* toUser(accepted.value)
      })

    const lockedUntil = (key: string, now: number) =>
      Effect.map(
        store.failures(key, now - Duration.toMillis(limits.failureWindow) - Duration.toMillis(limits.lockout)),
        (times) => {
          const sorted = [...times].sort((a, b) => a - b)
          const n = limits.maxFailures
          let until = 0
          for (let i = 0; i + n - 1 < sorted.length; i++) {
            if (sorted[i + n - 1]! - sorted[i]! <= Duration.toMillis(limits.failureWindow)) {
              until = Math.max(until, sorted[i + n - 1]! + Duration.toMillis(limits.lockout))
            }
          }
          return until > now ? until : undefined
        }
      )

    const openSession = (record: UserStore.UserRecord, now: number) =>
      Effect.gen(function* () {
        const sessionId = yield* newToken
        const stored: UserStore.SessionRecord = {
          digest: digest(sessionId),
          tenant: record.tenant,
          userId: record.id,
          createdAt: now,
          lastSeenAt: now,
          expiresAt: now + Duration.toMillis(limits.sessionAbsolute)
        }
        yield* store.addSession(stored)
        return { sessionId, session: toSession(stored, record.role) }
      })

    const login: Service["login"] = (input) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const emailIndex = yield* index(
          "email",
          Fields.normalizeEmail(typeof input.email === "string" ? input.email : "")
        )
        const keys = [`email:${emailIndex}`]
        if (typeof input.clientAddress === "string" && input.clientAddress !== "") {
          keys.push(`addr:${yield* index("client-address", input.clientAddress)}`)
        }
        for (const key of keys) {
          const until = yield* lockedUntil(key, now)
          if (until !== undefined) {
            const retryAfterSeconds = Math.ceil((until - now) / 1000)
            return yield* new Locked({
              message: `Too many failed logins: try again in ${Math.ceil(retryAfterSeconds / 60)} minutes`,
              retryAfterSeconds
            })
          }
        }
        const fail = Effect.zipRight(
          store.addFailure(
            keys,
            now,
            now - Duration.toMillis(limits.failureWindow) - Duration.toMillis(limits.lockout)
          ),
          Effect.fail(new InvalidCredentials({ message: invalidCredentialsMessage }))
        )
        const user = Option.getOrUndefined(yield* store.findByEmail(emailIndex))
        const password = Redacted.make(reveal(input.password).slice(0, 4 * Password.maxLength))
        const matches = yield* Password.verify(password, user?.passwordHash ?? dummyHash)
        if (!matches || user === undefined || user.passwordHash === null || user.status !== "active") return yield* fail
        if (user.totpEnabled) {
          if (input.totp === undefined || input.totp === "") {
            return yield* new AccountsError({
              reason: "SecondFactorRequired",
              field: "totp",
              message: "Enter the code of your authenticator app"
            })
          }
          const secret = (yield* decrypt(user, "totpSecret", user.totpSecret)) ?? ""
          const step = Totp.check(secret, input.totp, now)
          if (step === undefined || !(yield* store.useTotpStep(user.tenant, user.id, step))) return yield* fail
        }
        yield* store.clearFailures(keys[0]!)
        if (Password.needsRehash(user.passwordHash, scryptParams)) {
          const passwordHash = yield* Password.hash(password, scryptParams)
          yield* store.update(user.tenant, user.id, { passwordHash, updatedAt: now })
        }
        return yield* openSession(user, now)
      })

    const liveSession = (sessionId: string | Redacted.Redacted<string>, touch: boolean) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const key = digest(sessionId)
        const found = yield* store.session(key)
        if (Option.isNone(found)) return yield* noSession()
        const session = found.value
        const idleEnd = session.lastSeenAt + Duration.toMillis(limits.sessionIdle)
        const user = yield* store.get(session.tenant, session.userId)
        if (now >= idleEnd || now >= session.expiresAt || Option.isNone(user) || user.value.status !== "active") {
          yield* store.removeSession(key)
          return yield* noSession()
        }
        if (!touch) return toSession(session, user.value.role)
        yield* store.touchSession(key, now)
        return toSession({ ...session, lastSeenAt: now }, user.value.role)
      })

    const requestReset: Service["requestReset"] = (email) =>
      Effect.gen(function* () {
        const normalized = Fields.normalizeEmail(typeof email === "string" ? email : "")
        const emailIndex = yield* index("email", normalized)
        const now = yield* Clock.currentTimeMillis
        // At most 3 reset mails per address per 15 minutes, counted for unknown addresses too, so nobody can
        // flood a mailbox and the work done does not depend on whether the address has an account.
        const since = now - Duration.toMillis(limits.resetWindow)
        const recent = yield* store.failures(`reset:${emailIndex}`, since + 1)
        yield* store.addFailure([`reset:${emailIndex}`], now, since)
        if (recent.length >= limits.resetMails) return
        const found = yield* store.findByEmail(emailIndex)
        if (Option.isNone(found) || found.value.status !== "active") return
        const user = found.value
        const token = yield* newToken
        yield* store.addReset({
          digest: digest(token),
          tenant: user.tenant,
          userId: user.id,
          createdAt: now,
          expiresAt: now + Duration.toMillis(limits.reset)
        })
        const to = (yield* decrypt(user, "email", user.email)) ?? normalized
        const link = `${resetUrl}?token=${Redacted.value(token)}`
        // Sent in the background, so the answer takes as long for an unknown address as for a known one.
        yield* mailer
          .send({
            to,
            subject: `Reset your ${issuer} password`,
            text: `Someone asked to reset the password of this account.\n\nChoose a new password here (the link works once, for 30 minutes):\n\n${link}\n\nIf it was not you, ignore this mail: your password stays as it is.\n`
          })
          .pipe(
            Effect.catchAll((error) => Effect.logWarning(`A password reset mail was not sent: ${error.message}`)),
            Effect.forkDaemon
          )
      })

    const reset: Service["reset"] = (token, password) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const tokenDigest = digest(token)
        const found = yield* store.reset(tokenDigest, now)
        if (Option.isNone(found)) return yield* invalidToken()
        const record = yield* getRecord(found.value.tenant, found.value.userId)
        const email = (yield* decrypt(record, "email", record.email)) ?? ""
        const checked = yield* checkPassword(password, email)
        const passwordHash = yield* Password.hash(checked, scryptParams)
        const consumed = yield* store.consumeReset(tokenDigest, now, passwordHash)
        if (Option.isNone(consumed)) return yield* invalidToken()
        yield* store.clearFailures(`email:${record.emailIndex}`)
      })

    const enableTotp: Service["enableTotp"] = (tenant, userId) =>
      Effect.gen(function* () {
        const record = yield* getRecord(tenant, userId)
        if (record.totpEnabled) {
          return yield* new AccountsError({
            reason: "Conflict",
            message: "The second factor is already on: disable it first"
          })
        }
        const secret = Totp.newSecret()
        const now = yield* Clock.currentTimeMillis
        yield* store.update(tenant, userId, {
          totpSecret: yield* encrypt(tenant, userId, "totpSecret", secret),
          totpLastStep: null,
          updatedAt: now
        })
        const email = (yield* decrypt(record, "email", record.email)) ?? ""
        return { uri: Redacted.make(Totp.uri(secret, email, issuer)), secret: Redacted.make(secret) }
      })

    const confirmTotp: Service["confirmTotp"] = (tenant, userId, code) =>
      Effect.gen(function* () {
        const record = yield* getRecord(tenant, userId)
        if (record.totpSecret === null) {
          return yield* new AccountsError({ reason: "NotFound", message: "Start enabling the second factor first" })
        }
        const now = yield* Clock.currentTimeMillis
        const secret = (yield* decrypt(record, "totpSecret", record.totpSecret)) ?? ""
        const step = Totp.check(secret, typeof code === "string" ? code : "", now)
        if (step === undefined || !(yield* store.useTotpStep(tenant, userId, step))) {
          return yield* new AccountsError({
            reason: "InvalidCode",
            field: "code",
            message: "The code is wrong or was already used"
          })
        }
        yield* store.update(tenant, userId, { totpEnabled: true, updatedAt: now })
      })

    const change = (tenant: string, userId: string, patch: UserStore.UserPatch) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        return yield* toUser(yield* store.update(tenant, userId, { ...patch, updatedAt: now }))
      })

    const csrfKeyOf = Effect.gen(function* () {
      if (csrfKey === undefined) {
        csrfKey = Redacted.make(new Uint8Array(Buffer.from(yield* index("csrf", "key v1"), "base64url")))
      }
      return csrfKey
    })

    return Accounts.of({
      invite,
      accept,
      login,
      logout: (sessionId) => store.removeSession(digest(sessionId)),
      session: (sessionId) => liveSession(sessionId, false),
      touch: (sessionId) => liveSession(sessionId, true),
      requestReset,
      reset,
      enableTotp,
      confirmTotp,
      disableTotp: (tenant, userId) =>
        Effect.asVoid(change(tenant, userId, { totpEnabled: false, totpSecret: null, totpLastStep: null })),
      get: (tenant, userId) => Effect.flatMap(getRecord(tenant, userId), toUser),
      list: (tenant) => Effect.flatMap(store.list(tenant), (records) => Effect.forEach(records, toUser)),
      updateProfile: (tenant, userId, profile) =>
        Effect.gen(function* () {
          yield* getRecord(tenant, userId)
          const valid = yield* User.validateProfile(profile)
          return yield* change(tenant, userId, yield* encryptProfile(tenant, userId, valid))
        }),
      setRole: (tenant, userId, role) =>
        Effect.flatMap(User.validateRole(role), (valid) => change(tenant, userId, { role: valid })),
      setDisabled: (tenant, userId, disabled) =>
        Effect.gen(function* () {
          const record = yield* getRecord(tenant, userId)
          if (record.status === "invited") {
            return yield* invalid("status", "An invited user becomes active by accepting the invitation")
          }
          const user = yield* change(tenant, userId, { status: disabled ? "disabled" : "active" })
          if (disabled) yield* store.removeSessions(tenant, userId)
          return user
        }),
      remove: (tenant, userId) =>
        Effect.gen(function* () {
          yield* getRecord(tenant, userId)
          // Shred first: if deleting the rows then fails, they are already unreadable and a retry removes them.
          yield* vault.shred(tenant, userId).pipe(Effect.mapError(vaultFailed))
          yield* store.remove(tenant, userId)
        }),
      addPaymentMethod: (tenant, userId, input) =>
        Effect.gen(function* () {
          const valid = yield* PaymentMethod.validate(input)
          yield* getRecord(tenant, userId)
          const method: PaymentMethod.PaymentMethod = {
            id: yield* newId("pm"),
            tenant,
            userId,
            ...valid,
            createdAt: yield* Clock.currentTimeMillis
          }
          yield* store.addPaymentMethod(method)
          return method
        }),
      paymentMethods: (tenant, userId) =>
        Effect.zipRight(getRecord(tenant, userId), store.paymentMethods(tenant, userId)),
      removePaymentMethod: (tenant, userId, id) =>
        Effect.flatMap(store.removePaymentMethod(tenant, userId, id), (removed) =>
          removed ? Effect.void : Effect.fail(notFound("No such payment method"))
        ),
      csrfToken: (sessionId) => Effect.map(csrfKeyOf, (key) => Csrf.issue(key, Redacted.make(reveal(sessionId)))),
      verifyCsrf: (sessionId, token) =>
        Effect.map(csrfKeyOf, (key) => Csrf.verify(key, Redacted.make(reveal(sessionId)), token))
    })
  })

const toSession = (stored: UserStore.SessionRecord, role: User.UserRole): Session => ({
  tenant: stored.tenant,
  userId: stored.userId,
  role,
  createdAt: stored.createdAt,
  lastSeenAt: stored.lastSeenAt,
  idleExpiresAt: Math.min(stored.lastSeenAt + Duration.toMillis(limits.sessionIdle), stored.expiresAt),
  expiresAt: stored.expiresAt
})

/**
 * The accounts service over `UserStore`, `Mailer` and `Vault` from context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<Accounts, never, UserStore.UserStore | Mailer.Mailer | Vault.Vault> =>
  Layer.effect(Accounts, make(options))
