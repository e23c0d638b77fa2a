/**
 * `openaudience user invite|list|remove` on SQLite through the real command, with mail written to files (no
 * `OA_SMTP_URL`): the invitation's file is named and holds the link, which is never printed; the email address is
 * stored encrypted and shown decrypted by `list`; bad input is refused naming the option; every action, the read
 * by `list` included, is in the audit log as the operator's. With `OA_SMTP_URL`, the invitation reaches a real SMTP
 * server (in this process), and a server that cannot be reached leaves no invited user.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { SMTPServer } from "smtp-server"
import { cliJsonWith, cliWith } from "./support/cli.js"

const dir = mkdtempSync(join(tmpdir(), "oa-cli-user-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The text of a raw message, with quoted-printable soft breaks and escapes undone. */
const decodeBody = (raw: string): string =>
  raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))

/** An SMTP server on a free port of 127.0.0.1 that keeps what it receives. */
const smtpServer = async () => {
  const received: Array<{ readonly to: ReadonlyArray<string>; readonly raw: string }> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Array<Buffer> = []
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("end", () => {
        received.push({
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString("utf8")
        })
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
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

interface UserJson {
  readonly id: string
  readonly tenant: string
  readonly email: string
  readonly role: string
  readonly status: string
}

describe("openaudience user on SQLite", () => {
  it("invites (mail to a file, link never printed), lists decrypted, removes, and audits each as the operator", async () => {
    const database = join(dir, "users.db")
    const env = {
      OA_DATABASE_URL: `sqlite:${database}`,
      OA_DATA_DIR: dir,
      OA_SECRET: "c3".repeat(32),
      OA_PUBLIC_URL: "https://ads.example"
    }
    const { id: tenant } = await cliJsonWith<{ readonly id: string }>(env, "tenant", "create", "--name", "Staff")

    const invited = await cliWith(
      env,
      ...["user", "invite", "--tenant", tenant, "--email", " Staff.Member@Example.COM ", "--role", "privacy", "--json"]
    )
    assert.strictEqual(invited.code, 0, invited.stderr)
    const user = JSON.parse(invited.stdout) as UserJson & {
      readonly invitation: { readonly mailed: boolean; readonly via: string; readonly file: string }
    }
    assert.match(user.id, /^usr_/)
    assert.deepInclude(user, { tenant, email: "staff.member@example.com", role: "privacy", status: "invited" })
    assert.deepInclude(user.invitation, { mailed: true, via: "file" })
    assert.strictEqual(user.invitation.file.startsWith(join(dir, "mail")), true)
    // The mail holds the link; neither stream shows its token.
    // The .eml body is quoted-printable: soft line breaks and =XX escapes.
    const mail = decodeBody(readFileSync(user.invitation.file, "utf8"))
    const token = /https:\/\/ads\.example\/console\/accept\?token=([A-Za-z0-9_-]+)/.exec(mail)?.[1]
    assert.isDefined(token, mail)
    for (const text of [invited.stdout, invited.stderr]) {
      assert.notInclude(text, token ?? "")
      assert.notInclude(text, "token=")
    }

    const second = await cliWith(
      env,
      ...["user", "invite", "--tenant", tenant, "--email", "second@example.com", "--role", "analyst"]
    )
    assert.strictEqual(second.code, 0, second.stderr)
    assert.include(second.stdout, "second@example.com")
    assert.include(second.stdout, join(dir, "mail"))
    assert.notInclude(second.stdout, "token=")

    // Stored encrypted: the database file does not hold the address.
    assert.notInclude(readFileSync(database).toString("latin1"), "staff.member@example.com")

    const listed = await cliJsonWith<ReadonlyArray<UserJson>>(env, "user", "list", "--tenant", tenant)
    assert.sameDeepMembers(
      listed.map((u) => [u.email, u.role, u.status]),
      [
        ["staff.member@example.com", "privacy", "invited"],
        ["second@example.com", "analyst", "invited"]
      ]
    )
    const table = await cliWith(env, "user", "list", "--tenant", tenant)
    assert.strictEqual(table.code, 0, table.stderr)
    assert.include(table.stdout, "staff.member@example.com")
    assert.include(table.stdout, user.id)

    const refusals: ReadonlyArray<readonly [ReadonlyArray<string>, ReadonlyArray<string>]> = [
      [["user", "invite", "--tenant", tenant, "--email", "not-an-address", "--role", "admin"], ["--email"]],
      [
        ["user", "invite", "--tenant", tenant, "--email", "x@example.com", "--role", "partner"],
        ["--role", "partner"]
      ],
      [
        ["user", "invite", "--tenant", "ten_0000000000000000", "--email", "x@example.com", "--role", "admin"],
        ["not found"]
      ],
      [["user", "invite", "--tenant", tenant, "--email", "second@example.com", "--role", "admin"], ["conflict"]],
      [
        ["user", "list", "--tenant", "ten_0000000000000000"],
        ["not found", "ten_0000000000000000"]
      ],
      [["user", "remove", "--tenant", tenant, "--id", "usr_000000000000000000000000"], ["not found"]],
      [["user", "remove", "--tenant", tenant], ["--id"]]
    ]
    for (const [args, expected] of refusals) {
      const run = await cliWith(env, ...args, "--json")
      const what = `openaudience ${args.join(" ")}: ${run.stderr}`
      assert.strictEqual(run.code, 1, what)
      assert.strictEqual(run.stdout, "", what)
      for (const text of expected) assert.include(run.stderr, text, what)
    }

    const removed = await cliJsonWith(env, "user", "remove", "--tenant", tenant, "--id", user.id)
    assert.deepStrictEqual(removed, { id: user.id, tenant, removed: true })
    const left = await cliJsonWith<ReadonlyArray<UserJson>>(env, "user", "list", "--tenant", tenant)
    assert.deepStrictEqual(
      left.map((u) => u.email),
      ["second@example.com"]
    )

    const audit = await cliJsonWith<
      ReadonlyArray<{
        readonly action: string
        readonly target: string
        readonly outcome: string
        readonly actor: unknown
      }>
    >(env, "audit", "list", "--tenant", tenant)
    const trail = audit.map((entry) => [entry.action, entry.outcome])
    for (const expected of [
      ["user.invite", "success"],
      ["user.list", "success"],
      ["user.invite", "failed"],
      ["user.remove", "failed"],
      ["user.remove", "success"]
    ]) {
      assert.deepInclude(trail, expected)
    }
    for (const entry of audit) assert.deepStrictEqual(entry.actor, { kind: "operator", id: "cli" })
    assert.include(
      audit.map((entry) => entry.target),
      `user:${user.id}`
    )
    // No address in the log: details hold ids and counts only.
    assert.notInclude(JSON.stringify(audit), "@example.com")
    const verified = await cliJsonWith(env, "audit", "verify")
    assert.deepInclude(verified, { ok: true })
  }, 600_000)

  it("with OA_SMTP_URL, mails the invitation by SMTP (link not printed); an unreachable server leaves no user", async () => {
    const smtp = await smtpServer()
    const dataDir = join(dir, "smtp")
    const env = {
      OA_DATABASE_URL: `sqlite:${join(dir, "smtp.db")}`,
      OA_DATA_DIR: dataDir,
      OA_SECRET: "d4".repeat(32),
      OA_PUBLIC_URL: "https://ads.example"
    }
    try {
      const { id: tenant } = await cliJsonWith<{ readonly id: string }>(env, "tenant", "create", "--name", "Smtp")
      const invite = (email: string, smtpUrl: string) =>
        cliWith(
          { ...env, OA_SMTP_URL: smtpUrl, OA_MAIL_FROM: "Console <console@example.test>" },
          ...["user", "invite", "--tenant", tenant, "--email", email, "--role", "admin", "--json"]
        )

      const sent = await invite("smtp.user@example.com", `smtp://127.0.0.1:${smtp.port}`)
      assert.strictEqual(sent.code, 0, sent.stderr)
      const user = JSON.parse(sent.stdout) as UserJson & { readonly invitation: unknown }
      assert.deepStrictEqual(user.invitation, { mailed: true, via: "smtp" })
      assert.strictEqual(smtp.received.length, 1)
      const mail = smtp.received[0]!
      assert.deepStrictEqual(mail.to, ["smtp.user@example.com"])
      const token = /https:\/\/ads\.example\/console\/accept\?token=([A-Za-z0-9_-]+)/.exec(decodeBody(mail.raw))?.[1]
      assert.isDefined(token, mail.raw)
      for (const text of [sent.stdout, sent.stderr]) assert.notInclude(text, token ?? "")
      assert.isFalse(existsSync(join(dataDir, "mail")))

      // Port 9 (discard) on loopback: nothing listens. The invitation is undone, the failure audited.
      const failed = await invite("unreached@example.com", "smtp://127.0.0.1:9")
      assert.strictEqual(failed.code, 1)
      assert.strictEqual(failed.stdout, "")
      assert.include(failed.stderr, "mail could not be sent")
      const users = await cliJsonWith<ReadonlyArray<UserJson>>(env, "user", "list", "--tenant", tenant)
      assert.deepStrictEqual(
        users.map((u) => u.email),
        ["smtp.user@example.com"]
      )
      const audit = await cliJsonWith<ReadonlyArray<{ readonly action: string; readonly outcome: string }>>(
        env,
        ...["audit", "list", "--tenant", tenant]
      )
      assert.deepStrictEqual(
        audit.map((entry) => [entry.action, entry.outcome]),
        [
          ["user.invite", "success"],
          ["user.invite", "failed"],
          ["user.list", "success"]
        ]
      )
    } finally {
      await smtp.close()
    }
  }, 600_000)
})
