/**
 * Application users end to end, shared by the SQLite and PostgreSQL tests: a real SMTP server in this process (the
 * `smtp-server` package) receiving the server's mail, a cookie-keeping client for the console's forms, an
 * advertiser made through the operator API, and the users API scenario (invite, mail, accept, list, isolation,
 * crypto-shredding removal, audit entries without an email address).
 */
import { assert } from "@effect/vitest"
import { randomUUID } from "node:crypto"
import { SMTPServer } from "smtp-server"
import type { TestServer } from "./server.js"
import { call } from "./tenancy.js"

export { call }

export const operatorKey = "operator-test-key-users-0123456789"

/** A mail as the SMTP server received it. */
export interface ReceivedMail {
  readonly to: ReadonlyArray<string>
  readonly raw: string
}

/** An SMTP server on a free port of 127.0.0.1 whose mails the test takes one by one. */
export const smtpInbox = async () => {
  const mails: Array<ReceivedMail> = []
  const waiting: Array<(mail: ReceivedMail) => void> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Array<Buffer> = []
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("end", () => {
        const mail = { to: session.envelope.rcptTo.map((rcpt) => rcpt.address), raw: Buffer.concat(chunks).toString() }
        const next = waiting.shift()
        if (next === undefined) mails.push(mail)
        else next(mail)
        callback()
      })
    }
  })
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.server.address()
      resolve(typeof address === "object" && address !== null ? address.port : 0)
    })
  )
  return {
    url: `smtp://127.0.0.1:${port}`,
    /** The next mail (waits up to 10 s). */
    next: (): Promise<ReceivedMail> => {
      const mail = mails.shift()
      if (mail !== undefined) return Promise.resolve(mail)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no mail arrived within 10 s")), 10_000)
        waiting.push((received) => {
          clearTimeout(timer)
          resolve(received)
        })
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** The link of a mail (quoted-printable soft breaks undone) that starts with `prefix`. */
export const linkIn = (mail: ReceivedMail, prefix: string): string => {
  const text = mail.raw.replace(/=\r?\n/g, "").replace(/=3D/g, "=")
  const link = text.match(/https?:\/\/\S+/g)?.find((url) => url.startsWith(prefix))
  return link ?? assert.fail(`no link starting with ${prefix} in the mail:\n${mail.raw}`)
}

/** A tenant and its first owner key, through the operator API; with a site when `siteKey` is given. */
export const advertiser = async (url: string, name: string, siteKey?: string) => {
  const created = await call(url, operatorKey, "POST", "/v1/tenants", { name })
  assert.strictEqual(created.status, 201, JSON.stringify(created.body))
  const owner = await call(url, operatorKey, "POST", `/v1/tenants/${created.body.id}/keys`, { role: "owner" })
  assert.strictEqual(owner.status, 201, JSON.stringify(owner.body))
  if (siteKey !== undefined) {
    const site = await call(url, owner.body.key, "POST", "/v1/sites", {
      siteKey,
      origins: [`https://${siteKey}.example`]
    })
    assert.strictEqual(site.status, 201, JSON.stringify(site.body))
  }
  return { id: created.body.id as string, owner: owner.body.key as string }
}

/** A fresh synthetic email address. */
export const freshEmail = (who: string) => `${who}-${randomUUID().slice(0, 8)}@example.test`

/** The answer of a console request: status, headers and the page. */
export interface Page {
  readonly status: number
  readonly headers: Headers
  readonly html: string
  /** The CSRF token of the page's first form, if it has one. */
  readonly csrf: string | undefined
}

/** A browser without a browser: keeps cookies, does not follow redirects, reads CSRF tokens from forms. */
export class ConsoleClient {
  readonly cookies = new Map<string, string>()
  constructor(
    readonly url: string,
    /** Sent as X-Forwarded-For (the test server trusts loopback proxies): the client's address for lockouts. */
    readonly address = `198.51.100.${1 + Math.floor(Math.random() * 250)}`
  ) {}

  private async send(method: string, path: string, form?: Record<string, string>): Promise<Page> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      redirect: "manual",
      headers: {
        "x-forwarded-for": this.address,
        accept: "text/html",
        cookie: Array.from(this.cookies, ([name, value]) => `${name}=${value}`).join("; "),
        ...(form === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" })
      },
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() })
    })
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";")
      const at = pair.indexOf("=")
      const name = pair.slice(0, at)
      const value = pair.slice(at + 1)
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    const html = await response.text()
    return {
      status: response.status,
      headers: response.headers,
      html,
      csrf: html.match(/name="_csrf" value="([^"]*)"/)?.[1]
    }
  }

  get(path: string): Promise<Page> {
    return this.send("GET", path)
  }

  /** Posts `form` as is (no token added). */
  postRaw(path: string, form: Record<string, string>): Promise<Page> {
    return this.send("POST", path, form)
  }

  /** Loads `page` for its CSRF token, then posts `form` with it to `action`. */
  async submit(page: string, action: string, form: Record<string, string>): Promise<Page> {
    const loaded = await this.get(page)
    assert.strictEqual(loaded.status, 200, `GET ${page}: ${loaded.status}\n${loaded.html}`)
    assert.isDefined(loaded.csrf, `GET ${page} has no CSRF field`)
    return this.send("POST", action, { ...form, _csrf: loaded.csrf! })
  }

  /** Signs in; the answer of the form. */
  login(email: string, password: string, totp = ""): Promise<Page> {
    return this.submit("/console/login", "/console/login", { email, password, totp })
  }
}

export const password = "correct horse battery staple"

/** Invites `email` with `owner`'s key and accepts the mailed invitation through the console; the user's id. */
export const inviteAndAccept = async (
  server: TestServer,
  inbox: Awaited<ReturnType<typeof smtpInbox>>,
  owner: string,
  email: string,
  role = "owner"
): Promise<string> => {
  const invited = await call(server.url, owner, "POST", "/v1/users/invitations", { email, role })
  assert.strictEqual(invited.status, 201, JSON.stringify(invited.body))
  const mail = await inbox.next()
  assert.deepStrictEqual(mail.to, [email])
  const link = linkIn(mail, `${server.url}/console/accept?token=`)
  const client = new ConsoleClient(server.url)
  const path = link.slice(server.url.length)
  const accepted = await client.submit(path, "/console/accept", {
    token: new URL(link).searchParams.get("token") ?? "",
    password,
    firstName: "Ann"
  })
  assert.strictEqual(accepted.status, 303, accepted.html)
  assert.strictEqual(accepted.headers.get("location"), "/console/login?done=accepted")
  return invited.body.id as string
}

/**
 * The users API: an owner key invites (the mail arrives by SMTP), the invitee accepts, the owner lists them; a
 * key of another tenant gets 404 for them; an admin key is refused; removal shreds them; every step is audited
 * without an email address.
 */
export const usersApiScenario = async (server: TestServer, inbox: Awaited<ReturnType<typeof smtpInbox>>) => {
  const { url } = server
  const a = await advertiser(url, "Alpha Users")
  const b = await advertiser(url, "Beta Users")
  const email = freshEmail("ann")
  const id = await inviteAndAccept(server, inbox, a.owner, email, "admin")

  const listed = await call(url, a.owner, "GET", "/v1/users")
  assert.strictEqual(listed.status, 200, JSON.stringify(listed.body))
  assert.deepStrictEqual(
    listed.body.users.map((u: any) => [u.id, u.email, u.firstName, u.role, u.status]),
    [[id, email, "Ann", "admin", "active"]]
  )
  assert.deepStrictEqual((await call(url, b.owner, "GET", "/v1/users")).body.users, [])
  assert.strictEqual((await call(url, b.owner, "DELETE", `/v1/users/${id}`)).status, 404)

  const admin = await call(url, a.owner, "POST", "/v1/keys", { role: "admin" })
  assert.strictEqual((await call(url, admin.body.key, "GET", "/v1/users")).status, 403)
  const bad = await call(url, a.owner, "POST", "/v1/users/invitations", { email: "4111 1111 1111 1111", role: "admin" })
  assert.strictEqual(bad.status, 400, JSON.stringify(bad.body))
  assert.strictEqual(bad.body.field, "email")
  const unknownField = await call(url, a.owner, "POST", "/v1/users/invitations", { email, role: "admin", x: 1 })
  assert.strictEqual(unknownField.body.field, "x")
  const notText = await call(url, a.owner, "POST", "/v1/users/invitations", { email: 7, role: "admin" })
  assert.strictEqual(notText.status, 400)
  assert.strictEqual(notText.body.field, "email")
  const oversized = await call(url, a.owner, "POST", "/v1/users/invitations", { email, role: "x".repeat(64 * 1024) })
  assert.strictEqual(oversized.status, 413)
  const taken = await call(url, b.owner, "POST", "/v1/users/invitations", { email, role: "admin" })
  assert.strictEqual(taken.status, 409, JSON.stringify(taken.body))

  assert.strictEqual((await call(url, a.owner, "DELETE", `/v1/users/${id}`)).status, 204)
  assert.deepStrictEqual((await call(url, a.owner, "GET", "/v1/users")).body.users, [])
  assert.strictEqual((await call(url, a.owner, "DELETE", `/v1/users/${id}`)).status, 404)
  // Gone: the address can no longer sign in.
  const login = await new ConsoleClient(url).login(email, password)
  assert.strictEqual(login.status, 401)

  const audit = await call(url, a.owner, "GET", "/v1/audit?limit=1000")
  const actions = audit.body.entries.map((entry: any) => `${entry.action} ${entry.outcome}`)
  for (const action of ["user.invite success", "user.accept success", "user.list success", "user.remove success"]) {
    assert.include(actions, action)
  }
  assert.notInclude(JSON.stringify(audit.body), email)
  assert.notInclude(JSON.stringify(audit.body), "example.test")
}
