/**
 * Mail through a real SMTP server in this process (the `smtp-server` package): an invitation and a password reset
 * arrive by SMTP and their links are followed to an active user and a new password. `layerFiles` writes `.eml`
 * files readable by their owner only and logs their links.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { KeyStore } from "@openaudience/vault"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Queue from "effect/Queue"
import { SMTPServer } from "smtp-server"
import { Accounts, Mailer, UserStore } from "../src/index.js"
import { fresh, password } from "./accountsSuite.js"
import { MasterKeys, Vault } from "@openaudience/vault"

/** The text of a raw message, with quoted-printable soft breaks and escapes undone. */
const decodeBody = (raw: string): string =>
  raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))

const tokenIn = (raw: string): string => {
  const match = /[?&]token=([A-Za-z0-9_-]+)/.exec(decodeBody(raw))
  if (match === null) return assert.fail(`no link in ${raw}`)
  return match[1]!
}

/** An SMTP server on a free port of 127.0.0.1, whose received messages go to a queue; closed with the scope. */
const smtpServer = Effect.gen(function* () {
  const inbox = yield* Queue.unbounded<{ readonly to: ReadonlyArray<string>; readonly raw: string }>()
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Array<Buffer> = []
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("end", () => {
        Queue.unsafeOffer(inbox, {
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString("utf8")
        })
        callback()
      })
    }
  })
  const port = yield* Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, "127.0.0.1", () => {
        const address = server.server.address()
        resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
      })
    }),
    () => Effect.async<void>((resume) => server.close(() => resume(Effect.void)))
  )
  return { port, inbox }
})

const vaultLayer = Vault.layer.pipe(
  Layer.provide(
    Layer.effect(
      MasterKeys.MasterKeys,
      Effect.orDie(MasterKeys.make({ current: { version: 1, secret: "7c".repeat(32) } }))
    )
  ),
  Layer.provide(KeyStore.layerMemory)
)

describe("Mailer", () => {
  it.scopedLive("an invitation and a reset sent by SMTP are received, and their links work", () =>
    Effect.gen(function* () {
      const { port, inbox } = yield* smtpServer
      const context = yield* Layer.build(
        Accounts.layer({ baseUrl: "https://console.example.test" }).pipe(
          Layer.provide(Mailer.layerSmtp(`smtp://127.0.0.1:${port}`, { from: "Console <console@example.test>" })),
          Layer.provide(Layer.merge(vaultLayer, UserStore.layerMemory))
        )
      )
      yield* Effect.gen(function* () {
        const accounts = yield* Accounts.Accounts
        const tenant = fresh("t")
        const email = `${fresh("smtp")}@example.test`
        yield* accounts.invite(tenant, email, "admin", "usr_root")
        const invitation = yield* Queue.take(inbox)
        assert.deepStrictEqual(invitation.to, [email])
        assert.match(invitation.raw, /^Subject: You are invited to OpenAudience/m)
        assert.match(invitation.raw, /^From: Console <console@example\.test>/m)
        const user = yield* accounts.accept(tokenIn(invitation.raw), password, { firstName: "Smtp" })
        assert.strictEqual(user.status, "active")
        const session = yield* accounts.login({ email, password })

        yield* accounts.requestReset(email)
        const reset = yield* Queue.take(inbox).pipe(Effect.timeout("10 seconds"))
        assert.deepStrictEqual(reset.to, [email])
        yield* accounts.reset(tokenIn(reset.raw), "a new password from the mail")
        assert.strictEqual((yield* Effect.flip(accounts.session(session.sessionId))).reason, "NotFound")
        yield* accounts.login({ email, password: "a new password from the mail" })
      }).pipe(Effect.provide(context))
    })
  )

  it.scopedLive("SMTP failures are MailFailed, and the invitation is undone so it can be sent again", () =>
    Effect.gen(function* () {
      const context = yield* Layer.build(
        Accounts.layer({ baseUrl: "https://console.example.test" }).pipe(
          // Port 9 (discard) on loopback: nothing listens, the connection is refused.
          Layer.provide(Mailer.layerSmtp("smtp://127.0.0.1:9")),
          Layer.provideMerge(Layer.merge(vaultLayer, UserStore.layerMemory))
        )
      )
      yield* Effect.gen(function* () {
        const accounts = yield* Accounts.Accounts
        const tenant = fresh("t")
        const error = yield* Effect.flip(accounts.invite(tenant, `${fresh("down")}@example.test`, "admin", "k"))
        assert.strictEqual(error._tag === "AccountsError" ? error.reason : error._tag, "MailFailed")
        assert.deepStrictEqual(yield* accounts.list(tenant), [])
      }).pipe(Effect.provide(context))
    })
  )

  it.scopedLive("layerFiles writes each mail as an .eml file of mode 0600 and logs its links", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "oa-mail-"))),
        (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
      )
      const logged: Array<string> = []
      const logger = Logger.make(({ annotations, message }) => {
        logged.push(`${String(message)} ${JSON.stringify([...annotations])}`)
      })
      const mailDir = join(dir, "mail")
      yield* Effect.gen(function* () {
        const mailer = yield* Mailer.Mailer
        yield* mailer.send({
          to: "someone@example.test",
          subject: "Hello",
          text: "Open https://console.example.test/console/accept?token=abc_DEF-123 now, or http://x.test/y."
        })
      }).pipe(Effect.provide(Layer.merge(Mailer.layerFiles(mailDir), Logger.replace(Logger.defaultLogger, logger))))
      const files = readdirSync(mailDir)
      assert.strictEqual(files.length, 1)
      assert.match(files[0]!, /\.eml$/)
      assert.strictEqual(statSync(join(mailDir, files[0]!)).mode & 0o777, 0o600)
      const raw = readFileSync(join(mailDir, files[0]!), "utf8")
      assert.match(raw, /^To: someone@example\.test$/m)
      assert.include(decodeBody(raw), "https://console.example.test/console/accept?token=abc_DEF-123")
      assert.strictEqual(logged.length, 1)
      assert.include(logged[0]!, "https://console.example.test/console/accept?token=abc_DEF-123")
      assert.include(logged[0]!, 'http://x.test/y"')
      assert.notInclude(logged[0]!, "http://x.test/y.")
    })
  )
})
