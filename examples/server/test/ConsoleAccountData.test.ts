/**
 * A console user's rights over their own account, over HTTP on SQLite with the server's services at hand (this file
 * builds the server layer itself, like `support/server.ts`, to read `Accounts` and the vault's key store): the
 * download of their data (the profile decrypted, never a secret: no session id or digest, TOTP secret, processor
 * token or whole IBAN), and deleting the account (CSRF, the password again, crypto-shredding, signed out, audited),
 * refused to the only active owner of an advertiser.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Accounts, Totp } from "@openaudience/accounts"
import { Ip } from "@openaudience/anonymizer"
import { KeyStore } from "@openaudience/vault"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as App from "../src/App.js"
import { Listening } from "../src/HttpServer.js"
import * as ServerConfig from "../src/ServerConfig.js"
import { advertiser, ConsoleClient, call, freshEmail, operatorKey, password } from "./support/users.js"

const makeRuntime = (dataDir: string) =>
  ManagedRuntime.make(
    App.layer.pipe(
      Layer.provide(
        ServerConfig.layerTest({
          dataDir,
          databaseUrl: `sqlite:${join(dataDir, "test.db")}`,
          operatorKey: Redacted.make(operatorKey),
          demoAdminKey: Redacted.make("test-admin-key"),
          // Each client claims its own address through a loopback proxy, so lockouts of one do not touch another.
          trustedProxies: Either.getOrThrow(Ip.trustedProxies("loopback"))
        })
      ),
      Layer.provide(NodeContext.layer)
    )
  )

describe("a console user's own account data", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "oa-account-data-"))
  let runtime: ReturnType<typeof makeRuntime>
  let url: string
  const run = <A, E>(effect: Effect.Effect<A, E, Accounts.Accounts | KeyStore.KeyStore>) => runtime.runPromise(effect)

  /** A user who accepted their invitation (with `profile`), made through `Accounts` itself. */
  const user = async (tenant: string, role: string, profile: Record<string, unknown> = {}) => {
    const email = freshEmail(role)
    const id = await run(
      Effect.gen(function* () {
        const accounts = yield* Accounts.Accounts
        const { token, user } = yield* accounts.invite(tenant, email, role, "test")
        yield* accounts.accept(token, password, profile)
        return user.id
      })
    )
    return { id, email }
  }

  const hasDataKey = (tenant: string, id: string) =>
    run(Effect.flatMap(KeyStore.KeyStore, (store) => store.get(tenant, id))).then(Option.isSome)

  const stillThere = (tenant: string, id: string) =>
    run(Effect.either(Effect.flatMap(Accounts.Accounts, (accounts) => accounts.get(tenant, id)))).then(Either.isRight)

  const auditOf = async (ownerKey: string) =>
    (await call(url, ownerKey, "GET", "/v1/audit?limit=1000")).body.entries as Array<{
      action: string
      outcome: string
      actor: { kind: string; id: string }
      target: string
      details: Record<string, unknown>
    }>

  beforeAll(async () => {
    runtime = makeRuntime(dataDir)
    url = `http://127.0.0.1:${(await runtime.runPromise(Listening)).port}`
  }, 60_000)
  afterAll(async () => {
    await runtime?.dispose()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("downloads the profile decrypted, and never a secret, session id or processor token", {
    timeout: 60_000
  }, async () => {
    const a = await advertiser(url, "Alpha Export")
    const iban = "DE89370400440532013000"
    const bea = await user(a.id, "owner", {
      firstName: "Bea",
      lastName: "Example",
      phone: "+49 30 1234567",
      mailingAddress: "Street 1, Berlin",
      bank: { iban, bic: "COBADEFFXXX" }
    })
    const processorToken = "pm_1NvQzT2eZvKYlo2Cabcdef"
    const secret = await run(
      Effect.gen(function* () {
        const accounts = yield* Accounts.Accounts
        yield* accounts.addPaymentMethod(a.id, bea.id, {
          processor: "stripe",
          token: processorToken,
          brand: "visa",
          last4: "4242"
        })
        const { secret } = yield* accounts.enableTotp(a.id, bea.id)
        yield* accounts.confirmTotp(a.id, bea.id, Totp.generate(Redacted.value(secret), Date.now()))
        return Redacted.value(secret)
      })
    )
    const client = new ConsoleClient(url)
    // The next step's code (the confirmed one cannot be used twice).
    const signedIn = await client.login(bea.email, password, Totp.generate(secret, Date.now() + 30_000))
    assert.strictEqual(signedIn.status, 303, signedIn.html)
    const sessionId = client.cookies.get("oa_session")!

    const account = await client.get("/console/account")
    assert.include(account.html, 'href="/console/account/export"')
    assert.include(account.html, 'action="/console/account/delete"')

    const download = await client.get("/console/account/export")
    assert.strictEqual(download.status, 200, download.html)
    assert.match(download.headers.get("content-type") ?? "", /^application\/json\b/)
    assert.strictEqual(download.headers.get("content-disposition"), 'attachment; filename="openaudience-account.json"')
    assert.strictEqual(download.headers.get("cache-control"), "no-store")
    const data = JSON.parse(download.html)
    assert.deepInclude(data.account, {
      id: bea.id,
      tenant: a.id,
      email: bea.email,
      firstName: "Bea",
      lastName: "Example",
      phone: "+49 30 1234567",
      mailingAddress: "Street 1, Berlin",
      role: "owner",
      status: "active",
      secondFactor: "on"
    })
    assert.deepStrictEqual(data.account.bank, { iban: `${"*".repeat(iban.length - 4)}3000`, bic: "COBADEFFXXX" })
    assert.match(data.account.createdAt, /^\d{4}-\d\d-\d\dT/)
    assert.deepStrictEqual(
      data.paymentMethods.map((m: any) => [m.processor, m.brand, m.last4]),
      [["stripe", "visa", "4242"]]
    )
    assert.hasAllKeys(data.currentSession, ["createdAt", "lastSeenAt", "idleExpiresAt", "expiresAt"])
    for (const secretValue of [
      sessionId,
      createHash("sha256").update(sessionId).digest("hex"),
      secret,
      processorToken,
      iban,
      password
    ]) {
      assert.notInclude(download.html, secretValue)
    }

    const entries = await auditOf(a.owner)
    assert.isTrue(
      entries.some(
        (e) =>
          e.action === "account.export" &&
          e.outcome === "success" &&
          e.actor.id === bea.id &&
          e.target === `user:${bea.id}`
      ),
      "account.export is audited"
    )

    const signedOut = new ConsoleClient(url)
    const refused = await signedOut.get("/console/account/export")
    assert.strictEqual(refused.status, 303)
    assert.strictEqual(refused.headers.get("location"), "/console/login")
  })

  it("deletes an account after CSRF and the password, shreds its key and signs out; never the only owner", {
    timeout: 90_000
  }, async () => {
    const b = await advertiser(url, "Beta Delete")
    const olga = await user(b.id, "owner", { firstName: "Olga" })
    const oscar = await user(b.id, "owner", { firstName: "Oscar", phone: "+49 30 7654321" })
    const client = new ConsoleClient(url)
    assert.strictEqual((await client.login(oscar.email, password)).status, 303)
    const sessionId = client.cookies.get("oa_session")!

    const confirm = await client.get("/console/account/delete")
    assert.strictEqual(confirm.status, 200, confirm.html)
    assert.include(confirm.html, 'name="password"')
    assert.include(confirm.html, "Kept:")

    // No CSRF token, or a wrong password: refused, nothing deleted, still signed in.
    const forged = await client.postRaw("/console/account/delete", { password })
    assert.strictEqual(forged.status, 403)
    const wrong = await client.submit("/console/account/delete", "/console/account/delete", {
      password: "not it at all"
    })
    assert.strictEqual(wrong.status, 401, wrong.html)
    assert.match(wrong.html, /role="alert">The password is wrong/)
    assert.isTrue(await stillThere(b.id, oscar.id))
    assert.isTrue(await hasDataKey(b.id, oscar.id))
    assert.strictEqual((await client.get("/console/account")).status, 200)

    const deleted = await client.submit("/console/account/delete", "/console/account/delete", { password })
    assert.strictEqual(deleted.status, 200, deleted.html)
    assert.include(deleted.html, "Your account is deleted")
    assert.include(deleted.html, "no invoices or other billing")
    assert.match(deleted.headers.getSetCookie().join("\n"), /oa_session=;[^\n]*Max-Age=0/i)
    assert.isFalse(client.cookies.has("oa_session"))
    // Shredded: the user is gone, their data key too, the old session cookie no longer signs anyone in.
    assert.isFalse(await stillThere(b.id, oscar.id))
    assert.isFalse(await hasDataKey(b.id, oscar.id))
    const replay = new ConsoleClient(url)
    replay.cookies.set("oa_session", sessionId)
    assert.strictEqual((await replay.get("/console/account")).status, 303)
    assert.strictEqual((await new ConsoleClient(url).login(oscar.email, password)).status, 401)

    // Olga is now the only active owner (an owner who has not accepted their invitation does not count).
    await run(
      Effect.flatMap(Accounts.Accounts, (accounts) => accounts.invite(b.id, freshEmail("ivy"), "owner", "test"))
    )
    const last = new ConsoleClient(url)
    assert.strictEqual((await last.login(olga.email, password)).status, 303)
    const page = await last.get("/console/account/delete")
    assert.strictEqual(page.status, 200)
    assert.include(page.html, "only owner")
    assert.notInclude(page.html, 'name="password"')
    const csrf = (await last.get("/console/account")).csrf!
    const refused = await last.postRaw("/console/account/delete", { _csrf: csrf, password })
    assert.strictEqual(refused.status, 409, refused.html)
    assert.include(refused.html, "invite another user as owner")
    assert.isTrue(await stillThere(b.id, olga.id))
    assert.isTrue(await hasDataKey(b.id, olga.id))

    const entries = (await auditOf(b.owner)).filter((e) => e.action === "account.delete")
    assert.deepStrictEqual(
      entries.map((e) => [e.actor.id, e.outcome, e.details.reason ?? null]),
      [
        [oscar.id, "denied", "reauthentication"],
        [oscar.id, "success", null],
        [olga.id, "denied", "last-owner"]
      ]
    )
    const audit = JSON.stringify(await auditOf(b.owner))
    assert.notInclude(audit, oscar.email)
  })

  it("asks a user with the second factor on for a code as well before deleting", { timeout: 60_000 }, async () => {
    const c = await advertiser(url, "Gamma Delete")
    await user(c.id, "owner")
    const tia = await user(c.id, "analyst")
    const client = new ConsoleClient(url)
    assert.strictEqual((await client.login(tia.email, password)).status, 303)
    // Turned on while signed in, so the next step's code is the only one the test needs after confirming.
    const secret = await run(
      Effect.gen(function* () {
        const accounts = yield* Accounts.Accounts
        const { secret } = yield* accounts.enableTotp(c.id, tia.id)
        yield* accounts.confirmTotp(c.id, tia.id, Totp.generate(Redacted.value(secret), Date.now()))
        return Redacted.value(secret)
      })
    )
    const confirm = await client.get("/console/account/delete")
    assert.include(confirm.html, 'name="totp"')
    const noCode = await client.submit("/console/account/delete", "/console/account/delete", { password })
    assert.strictEqual(noCode.status, 401, noCode.html)
    assert.include(noCode.html, "authenticator")
    assert.isTrue(await stillThere(c.id, tia.id))
    const deleted = await client.submit("/console/account/delete", "/console/account/delete", {
      password,
      totp: Totp.generate(secret, Date.now() + 30_000)
    })
    assert.strictEqual(deleted.status, 200, deleted.html)
    assert.isFalse(await stillThere(c.id, tia.id))
    assert.isFalse(await hasDataKey(c.id, tia.id))
  })
})
