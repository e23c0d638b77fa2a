/**
 * The behaviour of the accounts service over a user store, run on the in-memory store here and on SQLite and
 * PostgreSQL by @openaudience/storage-sql (`SqlUserStore` tests). Every test uses tenants, emails and client
 * addresses of its own, so tests can share one store; each builds its own service, mailer and vault (over the
 * `KeyStore` in context) and runs under `TestClock`.
 */
import { randomUUID } from "node:crypto"
import { assert, type Vitest } from "@effect/vitest"
import { type KeyStore, MasterKeys, Vault } from "@openaudience/vault"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { Accounts, Mailer, Password, Totp, UserStore } from "../src/index.js"

/** A synthetic master secret (never a constant in production). */
export const secret = "5a".repeat(32)

/** A fresh name for tenants, emails and addresses, so tests sharing one store never meet. */
export const fresh = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`

/** The password every synthetic user gets first. */
export const password = "correct horse battery staple"

const vaultLayer = Vault.layer.pipe(
  Layer.provide(Layer.effect(MasterKeys.MasterKeys, Effect.orDie(MasterKeys.make({ current: { version: 1, secret } }))))
)

/** Accounts, its memory outbox and the vault, over the `UserStore` and `KeyStore` in context. */
export const accountsLayer = Accounts.layer({ baseUrl: "https://console.example.test/" }).pipe(
  Layer.provideMerge(Mailer.layerMemory),
  Layer.provideMerge(vaultLayer)
)

/** The token of the first link of a mail. */
export const tokenOf = (mail: Mailer.Mail): string => {
  const match = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text)
  if (match === null) return assert.fail(`no token link in ${mail.text}`)
  return match[1]!
}

/** Invites `email` to `tenant` and accepts through the mailed link; the user. */
export const onboard = (tenant: string, email: string, role = "admin") =>
  Effect.gen(function* () {
    const accounts = yield* Accounts.Accounts
    const outbox = yield* Mailer.MemoryOutbox
    yield* accounts.invite(tenant, email, role, "usr_inviter")
    const mail = yield* outbox.take
    assert.strictEqual(mail.to, email.toLowerCase())
    return yield* accounts.accept(tokenOf(mail), password, { firstName: "Ada", lastName: "Lovelace" })
  })

const failureOf = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.either(effect), (result) => {
    if (Either.isRight(result)) return assert.fail(`expected a failure, got ${JSON.stringify(result.right)}`)
    return result.left
  })

const fieldOf = (error: unknown) => (error as { readonly field?: string }).field
const tagOf = (error: unknown) => (error as { readonly _tag: string })._tag
const reasonOf = (error: unknown) => (error as { readonly reason?: string }).reason

type R = Accounts.Accounts | Mailer.MemoryOutbox | Mailer.Mailer | Vault.Vault | UserStore.UserStore | KeyStore.KeyStore

export const accountsSuite = (it: Vitest.MethodsNonLive<UserStore.UserStore | KeyStore.KeyStore>) => {
  const test = (name: string, body: () => Effect.Effect<void, unknown, R>) =>
    it.effect(name, () => Effect.provide(body(), accountsLayer), 60_000)

  test("an invitation mails a single-use link; accepting it activates the user with an encrypted profile", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const outbox = yield* Mailer.MemoryOutbox
      const store = yield* UserStore.UserStore
      const tenant = fresh("t")
      const email = `${fresh("ann")}@Example.test`
      const { user, token } = yield* accounts.invite(tenant, ` ${email} `, "analyst", "usr_boss")
      assert.strictEqual(user.status, "invited")
      const mail = yield* outbox.take
      assert.strictEqual(tokenOf(mail), Redacted.value(token))
      assert.include(mail.text, "https://console.example.test/console/accept?token=")
      const active = yield* accounts.accept(tokenOf(mail), password, {
        firstName: " Ann ",
        phone: "+49 30 1234567",
        mailingAddress: "Example GmbH, Musterstraße 1, 10115 Berlin",
        bank: { iban: "de89 3704 0044 0532 0130 00", bic: "cobadeffxxx" }
      })
      assert.deepStrictEqual(
        { ...active, createdAt: 0 },
        {
          tenant,
          id: user.id,
          email: email.toLowerCase(),
          firstName: "Ann",
          lastName: null,
          phone: "+49 30 1234567",
          mailingAddress: "Example GmbH, Musterstraße 1, 10115 Berlin",
          bank: { iban: "DE89370400440532013000", bic: "COBADEFFXXX" },
          role: "analyst",
          status: "active",
          createdAt: 0,
          totp: false
        }
      )
      // Stored: ciphertexts only, never the plaintext.
      const [record] = (yield* store.list(tenant)).filter((r) => r.id === user.id)
      const stored = JSON.stringify(record)
      for (const plain of [
        email.toLowerCase(),
        "Ann",
        "+49 30 1234567",
        "Musterstraße",
        "DE89370400440532013000",
        "COBADEFFXXX"
      ]) {
        assert.notInclude(stored, plain)
      }
      assert.isTrue(record!.email.startsWith("v1."))
      assert.isTrue(record!.passwordHash!.startsWith("scrypt$N=32768,r=8,p=1$"))
      const again = yield* failureOf(accounts.accept(tokenOf(mail), "another long password", {}))
      assert.strictEqual(reasonOf(again), "InvalidToken")
      const login = yield* accounts.login({ email, password })
      assert.strictEqual(login.session.userId, user.id)
    }))

  test("two concurrent accepts of one invitation: exactly one succeeds", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const outbox = yield* Mailer.MemoryOutbox
      yield* accounts.invite(fresh("t"), `${fresh("race")}@example.test`, "admin", "k")
      const token = tokenOf(yield* outbox.take)
      const results = yield* Effect.all(
        [
          accounts.accept(token, password, { firstName: "One" }),
          accounts.accept(token, password, { firstName: "Two" })
        ],
        { concurrency: 2, mode: "either" }
      )
      const won = results.filter(Either.isRight)
      const lost = results.filter(Either.isLeft)
      assert.strictEqual(won.length, 1)
      assert.deepStrictEqual(
        lost.map((result) => reasonOf(result.left)),
        ["InvalidToken"]
      )
    }))

  test("an invitation expires after 7 days; emails are unique across tenants", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const outbox = yield* Mailer.MemoryOutbox
      const email = `${fresh("bob")}@example.test`
      yield* accounts.invite(fresh("t"), email, "owner", "key_1")
      const mail = yield* outbox.take
      const taken = yield* failureOf(accounts.invite(fresh("t"), email.toUpperCase(), "admin", "key_2"))
      assert.strictEqual(reasonOf(taken), "Conflict")
      assert.strictEqual(fieldOf(taken), "email")
      yield* TestClock.adjust("7 days")
      assert.strictEqual(reasonOf(yield* failureOf(accounts.accept(tokenOf(mail), password))), "InvalidToken")
      assert.strictEqual(fieldOf(yield* failureOf(accounts.invite(fresh("t"), "x@y.test", "partner", "k"))), "role")
      assert.strictEqual(fieldOf(yield* failureOf(accounts.invite(fresh("t"), "not an email", "admin", "k"))), "email")
    }))

  test("refuses weak passwords, card numbers in any field (naming it) and bad bank details", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const outbox = yield* Mailer.MemoryOutbox
      const tenant = fresh("t")
      const email = `${fresh("cy")}@example.test`
      yield* accounts.invite(tenant, email, "privacy", "k")
      const token = tokenOf(yield* outbox.take)
      const refused = (pw: string, profile: Parameters<Accounts.Service["accept"]>[2] = {}) =>
        Effect.map(failureOf(accounts.accept(token, pw, profile)), (e) => [reasonOf(e), fieldOf(e)])
      assert.deepStrictEqual(yield* refused("short pw 11"), ["InvalidInput", "password"])
      assert.deepStrictEqual(yield* refused("x".repeat(Password.maxLength + 1)), ["InvalidInput", "password"])
      assert.deepStrictEqual(yield* refused(` ${email.toUpperCase()}`), ["InvalidInput", "password"])
      assert.deepStrictEqual(yield* refused(password, { phone: "4111 1111 1111 1111" }), ["InvalidInput", "phone"])
      assert.deepStrictEqual(yield* refused(password, { mailingAddress: "card 5555-5555-5555-4444 thanks" }), [
        "InvalidInput",
        "mailingAddress"
      ])
      assert.deepStrictEqual(yield* refused(password, { lastName: "4012888888881881" }), ["InvalidInput", "lastName"])
      assert.deepStrictEqual(yield* refused(password, { bank: { iban: "4111111111111111" } }), [
        "InvalidInput",
        "bank.iban"
      ])
      assert.deepStrictEqual(yield* refused(password, { bank: { iban: "DE89370400440532013001" } }), [
        "InvalidInput",
        "bank.iban"
      ])
      assert.deepStrictEqual(yield* refused(password, { bank: { iban: "DE89370400440532013000", bic: "NOPE" } }), [
        "InvalidInput",
        "bank.bic"
      ])
      const cardEmail = yield* failureOf(accounts.invite(tenant, "4111111111111111@example.test", "admin", "k"))
      assert.deepStrictEqual([reasonOf(cardEmail), fieldOf(cardEmail)], ["InvalidInput", "email"])
      // None of the refusals used the token up.
      const user = yield* accounts.accept(token, password, {})
      assert.strictEqual(user.status, "active")
      const card = yield* failureOf(accounts.updateProfile(tenant, user.id, { firstName: "4111-1111-1111-1111" }))
      assert.deepStrictEqual([reasonOf(card), fieldOf(card)], ["InvalidInput", "firstName"])
    }))

  test("unknown email, wrong password and disabled user fail identically, at the same cost", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const tenant = fresh("t")
      const known = `${fresh("dee")}@example.test`
      const disabled = `${fresh("eve")}@example.test`
      yield* onboard(tenant, known)
      const off = yield* onboard(tenant, disabled)
      yield* accounts.setDisabled(tenant, off.id, true)
      const outcomes = yield* Effect.forEach(
        [
          { email: `${fresh("nobody")}@example.test`, password },
          { email: known, password: "wrong but long enough" },
          { email: disabled, password }
        ],
        (input) => Effect.map(Effect.exit(accounts.login(input)), (exit) => JSON.stringify(Exit.causeOption(exit)))
      )
      assert.include(outcomes[0]!, "InvalidCredentials")
      assert.strictEqual(outcomes[1], outcomes[0])
      assert.strictEqual(outcomes[2], outcomes[0])
      // Reset requests answer alike too.
      const resets = yield* Effect.forEach([known, `${fresh("nobody")}@example.test`], (email) =>
        Effect.exit(accounts.requestReset(email))
      )
      assert.deepStrictEqual(resets[0], resets[1])
      assert.isTrue(Exit.isSuccess(resets[0]!))
    }))

  test("every login makes a new session id; logout, idle and absolute timeouts end sessions", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const tenant = fresh("t")
      const email = `${fresh("fay")}@example.test`
      const user = yield* onboard(tenant, email, "owner")
      const one = yield* accounts.login({ email, password })
      const two = yield* accounts.login({ email, password })
      assert.notStrictEqual(Redacted.value(one.sessionId), Redacted.value(two.sessionId))
      assert.match(Redacted.value(one.sessionId), /^[A-Za-z0-9_-]{43}$/)
      assert.deepStrictEqual([one.session.tenant, one.session.userId, one.session.role], [tenant, user.id, "owner"])
      yield* accounts.logout(one.sessionId)
      assert.strictEqual(reasonOf(yield* failureOf(accounts.session(one.sessionId))), "NotFound")
      assert.strictEqual((yield* accounts.session(two.sessionId)).userId, user.id)
      // Idle: 30 minutes without touch.
      yield* TestClock.adjust("29 minutes")
      yield* accounts.session(two.sessionId)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(reasonOf(yield* failureOf(accounts.session(two.sessionId))), "NotFound")
      // Absolute: 12 hours, even when touched every 20 minutes.
      const three = yield* accounts.login({ email, password })
      for (let i = 0; i < 35; i++) {
        yield* TestClock.adjust("20 minutes")
        yield* accounts.touch(three.sessionId)
      }
      yield* TestClock.adjust("20 minutes") // 12 h after login
      assert.strictEqual(reasonOf(yield* failureOf(accounts.touch(three.sessionId))), "NotFound")
      // Disabling a user ends their sessions.
      const four = yield* accounts.login({ email, password })
      yield* accounts.setDisabled(tenant, user.id, true)
      assert.strictEqual(reasonOf(yield* failureOf(accounts.session(four.sessionId))), "NotFound")
    }))

  test("5 failures in 15 minutes lock an email, known or not, for 15 minutes; and a client address", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const tenant = fresh("t")
      const known = `${fresh("gus")}@example.test`
      const unknown = `${fresh("nobody")}@example.test`
      yield* onboard(tenant, known)
      const attempt = (email: string, pw = "wrong but long enough", clientAddress?: string) =>
        Effect.map(failureOf(accounts.login({ email, password: pw, clientAddress })), tagOf)
      for (let i = 0; i < 5; i++) {
        assert.strictEqual(yield* attempt(known), "InvalidCredentials")
        assert.strictEqual(yield* attempt(unknown), "InvalidCredentials")
        yield* TestClock.adjust("1 minute")
      }
      // The right password no longer helps, and the unknown email answers the same.
      const lockedKnown = yield* failureOf(accounts.login({ email: known, password }))
      const lockedUnknown = yield* failureOf(accounts.login({ email: unknown, password }))
      assert.strictEqual(tagOf(lockedKnown), "Locked")
      assert.strictEqual(tagOf(lockedUnknown), "Locked")
      assert.deepStrictEqual(lockedKnown, lockedUnknown)
      yield* TestClock.adjust("15 minutes")
      assert.strictEqual((yield* accounts.login({ email: known, password })).session.tenant, tenant)
      // Failures spread over more than 15 minutes do not lock.
      for (let i = 0; i < 5; i++) {
        assert.strictEqual(yield* attempt(known), "InvalidCredentials")
        yield* TestClock.adjust("4 minutes")
      }
      assert.strictEqual((yield* accounts.login({ email: known, password })).session.tenant, tenant)
      // Per client address: five different emails from one address lock that address, not another.
      const address = `203.0.113.${Math.floor(Math.random() * 250)}-${fresh("a")}`
      for (let i = 0; i < 5; i++)
        assert.strictEqual(
          yield* attempt(`${fresh("spray")}@example.test`, "guess guess guess", address),
          "InvalidCredentials"
        )
      assert.strictEqual(yield* attempt(known, password, address), "Locked")
      assert.strictEqual(
        (yield* accounts.login({ email: known, password, clientAddress: fresh("other") })).session.tenant,
        tenant
      )
    }))

  test("password reset: a mailed single-use link valid 30 minutes that ends every session", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const outbox = yield* Mailer.MemoryOutbox
      const tenant = fresh("t")
      const email = `${fresh("hal")}@example.test`
      yield* onboard(tenant, email)
      const before = yield* accounts.login({ email, password })
      yield* accounts.requestReset(email.toUpperCase())
      const mail = yield* outbox.take
      assert.strictEqual(mail.to, email)
      assert.include(mail.text, "https://console.example.test/console/reset?token=")
      const weak = yield* failureOf(accounts.reset(tokenOf(mail), "short"))
      assert.deepStrictEqual([reasonOf(weak), fieldOf(weak)], ["InvalidInput", "password"])
      yield* accounts.reset(tokenOf(mail), "a brand new long password")
      assert.strictEqual(reasonOf(yield* failureOf(accounts.session(before.sessionId))), "NotFound")
      assert.strictEqual(tagOf(yield* failureOf(accounts.login({ email, password }))), "InvalidCredentials")
      yield* accounts.login({ email, password: "a brand new long password" })
      assert.strictEqual(
        reasonOf(yield* failureOf(accounts.reset(tokenOf(mail), "yet another long password"))),
        "InvalidToken"
      )
      // Expiry.
      yield* accounts.requestReset(email)
      const late = yield* outbox.take
      yield* TestClock.adjust("30 minutes")
      assert.strictEqual(
        reasonOf(yield* failureOf(accounts.reset(tokenOf(late), "yet another long password"))),
        "InvalidToken"
      )
      // Unknown addresses get no mail.
      yield* accounts.requestReset(`${fresh("nobody")}@example.test`)
      assert.isTrue((yield* outbox.poll)._tag === "None")
      // At most 3 reset mails per address per 15 minutes (2 sent above, more than 15 minutes apart).
      for (let i = 0; i < 5; i++) yield* accounts.requestReset(email)
      const sent = [yield* outbox.take, yield* outbox.take, yield* outbox.take]
      assert.strictEqual(sent.length, 3)
      yield* Effect.yieldNow()
      assert.isTrue((yield* outbox.poll)._tag === "None", "a fourth reset mail within 15 minutes")
      yield* TestClock.adjust("15 minutes")
      yield* accounts.requestReset(email)
      yield* outbox.take
    }))

  test("TOTP: enrolment confirmed by a code, then required at login, and a code is never accepted twice", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const tenant = fresh("t")
      const email = `${fresh("ivy")}@example.test`
      const user = yield* onboard(tenant, email)
      yield* TestClock.adjust("1000 days")
      const { uri, secret: totpSecret } = yield* accounts.enableTotp(tenant, user.id)
      assert.match(Redacted.value(uri), /^otpauth:\/\/totp\/OpenAudience:.+\?.*secret=/)
      assert.include(Redacted.value(uri), "digits=6")
      const now = () => TestClock.currentTimeMillis
      // Not required before confirmation.
      yield* accounts.login({ email, password })
      // A code from five steps ago is outside the window.
      const stale = Totp.generate(Redacted.value(totpSecret), (yield* now()) - 150_000)
      assert.strictEqual(reasonOf(yield* failureOf(accounts.confirmTotp(tenant, user.id, stale))), "InvalidCode")
      assert.isFalse((yield* accounts.get(tenant, user.id)).totp)
      const first = Totp.generate(Redacted.value(totpSecret), yield* now())
      yield* accounts.confirmTotp(tenant, user.id, first)
      assert.isTrue((yield* accounts.get(tenant, user.id)).totp)
      assert.strictEqual(reasonOf(yield* failureOf(accounts.login({ email, password }))), "SecondFactorRequired")
      // The enrolment code cannot log in (same step).
      assert.strictEqual(
        tagOf(yield* failureOf(accounts.login({ email, password, totp: first }))),
        "InvalidCredentials"
      )
      yield* TestClock.adjust("30 seconds")
      const code = Totp.generate(Redacted.value(totpSecret), yield* now())
      yield* accounts.login({ email, password, totp: code })
      assert.strictEqual(tagOf(yield* failureOf(accounts.login({ email, password, totp: code }))), "InvalidCredentials")
      // One step late is accepted, three are not.
      yield* TestClock.adjust("30 seconds")
      const late = Totp.generate(Redacted.value(totpSecret), yield* now())
      yield* TestClock.adjust("30 seconds")
      yield* accounts.login({ email, password, totp: late })
      yield* TestClock.adjust("30 seconds")
      const old = Totp.generate(Redacted.value(totpSecret), yield* now())
      yield* TestClock.adjust("90 seconds")
      assert.strictEqual(tagOf(yield* failureOf(accounts.login({ email, password, totp: old }))), "InvalidCredentials")
      yield* accounts.disableTotp(tenant, user.id)
      yield* accounts.login({ email, password })
    }))

  test("one tenant never reaches another tenant's users or payment methods", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const a = fresh("a")
      const b = fresh("b")
      const user = yield* onboard(a, `${fresh("jo")}@example.test`)
      const method = yield* accounts.addPaymentMethod(a, user.id, {
        processor: "stripe",
        token: "pm_1Nx",
        brand: "visa",
        last4: "4242"
      })
      const calls: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
        accounts.get(b, user.id),
        accounts.updateProfile(b, user.id, { firstName: "X" }),
        accounts.setRole(b, user.id, "owner"),
        accounts.setDisabled(b, user.id, true),
        accounts.enableTotp(b, user.id),
        accounts.paymentMethods(b, user.id),
        accounts.addPaymentMethod(b, user.id, { processor: "stripe", token: "pm_2", brand: "visa", last4: "0000" }),
        accounts.removePaymentMethod(b, user.id, method.id),
        accounts.remove(b, user.id)
      ]
      for (const call of calls) assert.strictEqual(reasonOf(yield* failureOf(call)), "NotFound")
      assert.deepStrictEqual(yield* accounts.list(b), [])
      assert.deepStrictEqual(
        (yield* accounts.list(a)).map((u) => u.id),
        [user.id]
      )
      assert.strictEqual((yield* accounts.get(a, user.id)).firstName, "Ada")
      assert.deepStrictEqual(
        (yield* accounts.paymentMethods(a, user.id)).map((m) => m.id),
        [method.id]
      )
    }))

  test("payment methods keep a processor token, brand and last four, never a card number", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const tenant = fresh("t")
      const user = yield* onboard(tenant, `${fresh("kim")}@example.test`)
      const add = (input: Partial<{ processor: string; token: string; brand: string; last4: string }>) =>
        accounts.addPaymentMethod(tenant, user.id, {
          processor: "stripe",
          token: "pm_1",
          brand: "mastercard",
          last4: "4444",
          ...input
        })
      const refused = (input: Parameters<typeof add>[0]) =>
        Effect.map(failureOf(add(input)), (e) => [reasonOf(e), fieldOf(e)])
      assert.deepStrictEqual(yield* refused({ token: "5555555555554444" }), ["InvalidInput", "token"])
      assert.deepStrictEqual(yield* refused({ last4: "44444" }), ["InvalidInput", "last4"])
      assert.deepStrictEqual(yield* refused({ last4: "44a4" }), ["InvalidInput", "last4"])
      assert.deepStrictEqual(yield* refused({ brand: "bitcoin" }), ["InvalidInput", "brand"])
      assert.deepStrictEqual(yield* refused({ processor: "Stripe Inc." }), ["InvalidInput", "processor"])
      const method = yield* add({})
      assert.deepStrictEqual(
        (yield* accounts.paymentMethods(tenant, user.id)).map(({ processor, token, brand, last4 }) => ({
          processor,
          token,
          brand,
          last4
        })),
        [{ processor: "stripe", token: "pm_1", brand: "mastercard", last4: "4444" }]
      )
      yield* accounts.removePaymentMethod(tenant, user.id, method.id)
      assert.deepStrictEqual(yield* accounts.paymentMethods(tenant, user.id), [])
    }))

  test("removing a user deletes their rows and shreds their data key; the address can be invited again", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const store = yield* UserStore.UserStore
      const vault = yield* Vault.Vault
      const tenant = fresh("t")
      const email = `${fresh("lee")}@example.test`
      const user = yield* onboard(tenant, email)
      const session = yield* accounts.login({ email, password })
      const [record] = yield* store.list(tenant)
      yield* accounts.remove(tenant, user.id)
      assert.strictEqual(reasonOf(yield* failureOf(accounts.get(tenant, user.id))), "NotFound")
      assert.strictEqual(reasonOf(yield* failureOf(accounts.session(session.sessionId))), "NotFound")
      assert.strictEqual(tagOf(yield* failureOf(accounts.login({ email, password }))), "InvalidCredentials")
      const shredded = yield* failureOf(vault.decrypt(tenant, user.id, "email", record!.email))
      assert.strictEqual(shredded.reason, "Shredded")
      yield* onboard(tenant, email)
    }))

  test("CSRF tokens are bound to their session", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts.Accounts
      const email = `${fresh("max")}@example.test`
      yield* onboard(fresh("t"), email)
      const one = yield* accounts.login({ email, password })
      const two = yield* accounts.login({ email, password })
      const token = yield* accounts.csrfToken(one.sessionId)
      assert.match(token, /^[A-Za-z0-9_-]{43}$/)
      assert.strictEqual(yield* accounts.csrfToken(one.sessionId), token)
      assert.isTrue(yield* accounts.verifyCsrf(one.sessionId, token))
      assert.isFalse(yield* accounts.verifyCsrf(two.sessionId, token))
      assert.isFalse(
        yield* accounts.verifyCsrf(one.sessionId, `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`)
      )
      assert.isFalse(yield* accounts.verifyCsrf(one.sessionId, ""))
    }))
}
