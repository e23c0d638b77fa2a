/**
 * Application users over HTTP on SQLite, with a real SMTP server in this process receiving the server's mail: the
 * users API (invite, list, remove, isolation, audit), and the console: accepting the mailed invitation, signing in,
 * the account page (profile with bank details; a card number refused naming the field), TOTP, signing out, a
 * second sign-in that needs the code, the lockout with one answer for known and unknown addresses, CSRF on forms,
 * and a user of tenant B who cannot reach tenant A's users.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Totp } from "@openaudience/accounts"
import { Ip } from "@openaudience/anonymizer"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { freePort } from "./support/ports.js"
import { startServer, type TestServer } from "./support/server.js"
import {
  advertiser,
  ConsoleClient,
  call,
  freshEmail,
  inviteAndAccept,
  linkIn,
  operatorKey,
  password,
  smtpInbox,
  usersApiScenario
} from "./support/users.js"

describe("application users (SQLite)", () => {
  let server: TestServer
  let inbox: Awaited<ReturnType<typeof smtpInbox>>
  beforeAll(async () => {
    inbox = await smtpInbox()
    // A fixed port, so that the links in mails (which start with the server's address) reach this server.
    server = await startServer({
      port: await freePort(),
      operatorKey: Redacted.make(operatorKey),
      smtpUrl: Redacted.make(inbox.url),
      mailFrom: "Console <console@example.test>",
      // Each test client claims its own address through a loopback proxy, so lockouts of one do not touch another.
      trustedProxies: Either.getOrThrow(Ip.trustedProxies("loopback"))
    })
  }, 60_000)
  afterAll(async () => {
    await server?.stop()
    await inbox?.close()
  })

  it("the users API invites by mail, lists, isolates tenants, removes, and audits", { timeout: 60_000 }, async () => {
    await usersApiScenario(server, inbox)
  })

  it("the console: invitation, sign-in, account, TOTP, sign-out", { timeout: 60_000 }, async () => {
    const a = await advertiser(server.url, "Alpha Console")
    const email = freshEmail("bea")
    await inviteAndAccept(server, inbox, a.owner, email)
    const client = new ConsoleClient(server.url)

    const signedIn = await client.login(email, password)
    assert.strictEqual(signedIn.status, 303, signedIn.html)
    assert.strictEqual(signedIn.headers.get("location"), "/console/account")
    const cookie = signedIn.headers.getSetCookie().find((line) => line.startsWith("oa_session="))!
    assert.match(cookie, /HttpOnly/i)
    assert.match(cookie, /SameSite=Lax/i)
    assert.notMatch(cookie, /Secure/i)

    // Signing in again gives a new session id and ends the one before.
    const first = client.cookies.get("oa_session")!
    assert.strictEqual((await client.login(email, password)).status, 303)
    assert.notStrictEqual(client.cookies.get("oa_session"), first)
    const stale = new ConsoleClient(server.url)
    stale.cookies.set("oa_session", first)
    assert.strictEqual((await stale.get("/console/account")).status, 303)

    const account = await client.get("/console/account")
    assert.strictEqual(account.status, 200)
    assert.include(account.html, email)
    assert.strictEqual(account.headers.get("cache-control"), "no-store")
    assert.strictEqual(account.headers.get("x-content-type-options"), "nosniff")
    assert.include(account.headers.get("content-security-policy") ?? "", "frame-ancestors 'none'")
    assert.notInclude(account.html, "<script")

    const profile = { firstName: "Bea", lastName: "Example", phone: "+49 30 1234567", mailingAddress: "Street 1" }
    const saved = await client.submit("/console/account", "/console/account", {
      ...profile,
      iban: "DE89 3704 0044 0532 0130 00",
      bic: "COBADEFFXXX"
    })
    assert.strictEqual(saved.status, 303, saved.html)
    const after = await client.get("/console/account")
    assert.include(after.html, 'value="DE89370400440532013000"')
    assert.include(after.html, 'value="Bea"')

    const card = await client.submit("/console/account", "/console/account", {
      ...profile,
      phone: "4111 1111 1111 1111"
    })
    assert.strictEqual(card.status, 400)
    assert.match(card.html, /role="alert">[^<]*\bphone\b/)
    assert.notInclude((await client.get("/console/account")).html, "4111")

    // TOTP: the otpauth URI shown as text, confirmed with a code.
    const started = await client.submit("/console/account", "/console/account/totp", {})
    assert.strictEqual(started.status, 200, started.html)
    const uri = started.html.match(/<pre id="otpauth-uri">([^<]+)<\/pre>/)?.[1]?.replaceAll("&amp;", "&") ?? ""
    assert.match(uri, /^otpauth:\/\/totp\//)
    const secret = new URL(uri).searchParams.get("secret") ?? ""
    const confirmed = await client.postRaw("/console/account/totp/confirm", {
      _csrf: started.csrf!,
      code: Totp.generate(secret, Date.now())
    })
    assert.strictEqual(confirmed.status, 303, confirmed.html)
    assert.include((await client.get("/console/account")).html, "The second factor is on")

    const out = await client.submit("/console/account", "/console/logout", {})
    assert.strictEqual(out.status, 303)
    assert.strictEqual((await client.get("/console/account")).status, 303)

    const noCode = await client.login(email, password)
    assert.strictEqual(noCode.status, 401)
    assert.include(noCode.html, "authenticator")
    // The next step's code (the confirmed one cannot be used twice).
    const withCode = await client.login(email, password, Totp.generate(secret, Date.now() + 30_000))
    assert.strictEqual(withCode.status, 303, withCode.html)
    assert.strictEqual((await client.get("/console/account")).status, 200)
  })

  it("resets a password by the mailed single-use link, answering alike for unknown addresses", {
    timeout: 60_000
  }, async () => {
    const a = await advertiser(server.url, "Alpha Reset")
    const email = freshEmail("rae")
    await inviteAndAccept(server, inbox, a.owner, email)
    const client = new ConsoleClient(server.url)
    const strip = (html: string) => html.replace(/name="_csrf" value="[^"]*"/g, "")
    const known = await client.submit("/console/reset", "/console/reset", { email })
    const unknown = await client.submit("/console/reset", "/console/reset", { email: freshEmail("nobody") })
    assert.strictEqual(known.status, 200)
    assert.strictEqual(strip(known.html), strip(unknown.html))
    const mail = await inbox.next()
    assert.deepStrictEqual(mail.to, [email])
    const link = linkIn(mail, `${server.url}/console/reset/confirm?token=`)
    const token = new URL(link).searchParams.get("token") ?? ""
    const fresh = "another long passphrase"
    const done = await client.submit(link.slice(server.url.length), "/console/reset/confirm", {
      token,
      password: fresh
    })
    assert.strictEqual(done.status, 303, done.html)
    assert.strictEqual(done.headers.get("location"), "/console/login?done=reset")
    // Once only.
    const again = await client.submit(link.slice(server.url.length), "/console/reset/confirm", {
      token,
      password: fresh
    })
    assert.strictEqual(again.status, 404)
    assert.strictEqual((await client.login(email, password)).status, 401)
    assert.strictEqual((await client.login(email, fresh)).status, 303)
  })

  it("refuses an oversized form with 413", { timeout: 60_000 }, async () => {
    const client = new ConsoleClient(server.url)
    const page = await client.get("/console/login")
    const answer = await client.postRaw("/console/login", { _csrf: page.csrf!, email: "x".repeat(64 * 1024) })
    assert.strictEqual(answer.status, 413)
  })

  it("refuses a form post without or with a wrong CSRF token", { timeout: 60_000 }, async () => {
    const a = await advertiser(server.url, "Alpha CSRF")
    const email = freshEmail("cid")
    await inviteAndAccept(server, inbox, a.owner, email)
    const client = new ConsoleClient(server.url)
    assert.strictEqual((await client.postRaw("/console/login", { email, password })).status, 403)
    // A client that does not ask for HTML gets the refusal as a problem document, like everywhere else.
    const machine = await fetch(`${server.url}/console/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=x"
    })
    assert.strictEqual(machine.status, 403)
    assert.strictEqual(machine.headers.get("content-type"), "application/problem+json")
    assert.strictEqual(((await machine.json()) as { status: number }).status, 403)
    assert.strictEqual((await client.login(email, password)).status, 303)
    const page = await client.get("/console/account")
    for (const token of [undefined, "x", `${page.csrf}x`]) {
      const form = { firstName: "Mallory", ...(token === undefined ? {} : { _csrf: token }) }
      const refused = await client.postRaw("/console/account", form)
      assert.strictEqual(refused.status, 403, `token ${token}`)
    }
    assert.notInclude((await client.get("/console/account")).html, "Mallory")
    // Another browser's valid token is not this one's.
    const other = new ConsoleClient(server.url)
    const stranger = await other.get("/console/login")
    assert.strictEqual(
      (await client.postRaw("/console/account", { firstName: "M", _csrf: stranger.csrf! })).status,
      403
    )
  })

  it("a user of tenant B cannot see or remove tenant A's users", { timeout: 60_000 }, async () => {
    const a = await advertiser(server.url, "Alpha Iso", `alpha-iso-${Date.now()}`)
    const b = await advertiser(server.url, "Beta Iso")
    const emailA = freshEmail("ada")
    const idA = await inviteAndAccept(server, inbox, a.owner, emailA)
    const emailB = freshEmail("bob")
    await inviteAndAccept(server, inbox, b.owner, emailB)
    const client = new ConsoleClient(server.url)
    assert.strictEqual((await client.login(emailB, password)).status, 303)
    const users = await client.get("/console/users")
    assert.strictEqual(users.status, 200)
    assert.include(users.html, emailB)
    assert.notInclude(users.html, emailA)
    assert.notInclude((await client.get("/console/sites")).html, "alpha-iso")
    const removed = await client.submit("/console/users", `/console/users/${idA}/remove`, {})
    assert.strictEqual(removed.status, 404, removed.html)
    const listed = await call(server.url, a.owner, "GET", "/v1/users")
    assert.deepStrictEqual(
      listed.body.users.map((u: any) => u.id),
      [idA]
    )
  })

  it("an analyst user is refused the owners' pages", { timeout: 60_000 }, async () => {
    const a = await advertiser(server.url, "Alpha Roles")
    const email = freshEmail("ana")
    await inviteAndAccept(server, inbox, a.owner, email, "analyst")
    const client = new ConsoleClient(server.url)
    assert.strictEqual((await client.login(email, password)).status, 303)
    assert.strictEqual((await client.get("/console/account")).status, 200)
    for (const path of ["/console/users", "/console/keys", "/console/sites"]) {
      assert.strictEqual((await client.get(path)).status, 403, path)
    }
    const invite = await client.postRaw("/console/users", { email: freshEmail("eve"), role: "owner", _csrf: "" })
    assert.strictEqual(invite.status, 403)
  })

  it("locks out after 5 failures, with one answer for known and unknown addresses", { timeout: 90_000 }, async () => {
    const a = await advertiser(server.url, "Alpha Lockout")
    const known = freshEmail("kim")
    await inviteAndAccept(server, inbox, a.owner, known)
    const unknown = freshEmail("nobody")
    // One client per address: the per-address count does not mix them, the per-email count decides.
    const clientKnown = new ConsoleClient(server.url, "198.51.100.201")
    const clientUnknown = new ConsoleClient(server.url, "198.51.100.202")
    const answers = async () => {
      const one = await clientKnown.login(known, "a wrong password!!")
      const two = await clientUnknown.login(unknown, "a wrong password!!")
      // The pages differ only by each browser's CSRF token.
      const strip = (html: string) => html.replace(/name="_csrf" value="[^"]*"/g, "")
      assert.strictEqual(one.status, two.status)
      assert.strictEqual(strip(one.html), strip(two.html))
      return one
    }
    for (let i = 0; i < 5; i++) {
      const answer = await answers()
      assert.strictEqual(answer.status, 401)
      assert.include(answer.html, "The email address or password is wrong")
    }
    const locked = await answers()
    assert.strictEqual(locked.status, 429)
    assert.include(locked.html, "Too many failed logins")
    // Locked even with the right password.
    assert.strictEqual((await clientKnown.login(known, password)).status, 429)
  })
})

describe("console cookies behind https", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ publicUrl: "https://console.example.test" })
  }, 60_000)
  afterAll(() => server?.stop())

  it("are Secure, HttpOnly and SameSite=Lax when the public URL is https", async () => {
    const page = await new ConsoleClient(server.url).get("/console/login")
    assert.strictEqual(page.status, 200)
    const cookie = page.headers.getSetCookie().find((line) => line.startsWith("oa_form="))
    assert.isDefined(cookie)
    assert.match(cookie!, /; Secure/i)
    assert.match(cookie!, /; HttpOnly/i)
    assert.match(cookie!, /SameSite=Lax/i)
    assert.match(cookie!, /Path=\/console/i)
  })
})
