/**
 * `openaudience user invite|list|remove`: the application's own users (an advertiser's staff, @openaudience/accounts
 * over `SqlUserStore`), their personal data encrypted by the vault under the server's master secret.
 *
 * `invite` mails a single-use link: by SMTP when `OA_SMTP_URL` is set (sender `OA_MAIL_FROM`), else as an `.eml`
 * file in `OA_DATA_DIR/mail/`, as the server does. It prints whether the mail left and, for a file, where it is;
 * never the link or its token. Links start with `OA_PUBLIC_URL` (else `http://HOST:PORT`, as the server's).
 *
 * `list` decrypts and prints each user's email address: personal data, shown to the operator, and recorded in the
 * audit log (`user.list`) before it is printed. Every command here is recorded with the actor
 * `{ kind: "operator", id: "cli" }`.
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Accounts, Mailer, User } from "@openaudience/accounts"
import { TenancyStore } from "@openaudience/tenancy"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as OperatorAudit from "./operatorAudit.js"
import * as Shared from "./options.js"
import * as Output from "./output.js"
import type { CommandError } from "./errors.js"
import { type StoreLayer, withStore } from "./store.js"
import { dataDir, withVault } from "./vault.js"

/** Where invitations go: an SMTP server, or `.eml` files in a folder. */
type Delivery = { readonly via: "smtp" } | { readonly via: "file"; readonly dir: string }

const mailConfig = Config.all({
  smtpUrl: Config.option(Config.redacted("OA_SMTP_URL")),
  from: Config.option(Config.string("OA_MAIL_FROM")),
  dataDir
})

/** The public origin links start with: `OA_PUBLIC_URL`, else the address the server listens on by default. */
const baseUrl = Config.all({
  publicUrl: Config.option(Config.string("OA_PUBLIC_URL")),
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.port("PORT").pipe(Config.withDefault(8080))
}).pipe(
  Config.map(({ host, port, publicUrl }) =>
    Option.getOrElse(publicUrl, () => `http://${host.includes(":") ? `[${host}]` : host}:${port}`)
  )
)

/**
 * Runs `use` with the accounts service (the server's paths: `/console/accept`, `/console/reset/confirm`) and how
 * its mails are delivered.
 */
const withAccounts = <A, E, R>(use: (accounts: Accounts.Service, delivery: Delivery) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const mail = yield* mailConfig
    const from = Option.getOrUndefined(mail.from)
    const delivery: Delivery = Option.isSome(mail.smtpUrl)
      ? { via: "smtp" }
      : { via: "file", dir: join(mail.dataDir, "mail") }
    const mailer = Option.isSome(mail.smtpUrl)
      ? Mailer.layerSmtp(mail.smtpUrl.value, { from })
      : Mailer.layerFiles(join(mail.dataDir, "mail"), { from })
    const layer = Accounts.layer({ baseUrl: yield* baseUrl, resetPath: "/console/reset/confirm" }).pipe(
      Layer.provide(mailer)
    )
    return yield* Effect.flatMap(Accounts.Accounts, (accounts) => use(accounts, delivery)).pipe(
      Effect.provide(layer),
      // The file mailer logs each mail's links at Info level: the token would land in the terminal. `invite` says
      // where the file is instead.
      Logger.withMinimumLogLevel(LogLevel.Warning)
    )
  })

/** The `.eml` files of a folder (none when it does not exist yet). */
const emlFiles = (dir: string): ReadonlySet<string> => {
  try {
    return new Set(readdirSync(dir).filter((name) => name.endsWith(".eml")))
  } catch {
    return new Set()
  }
}

/** A user as printed: never a password hash, a second-factor secret or a bank detail. */
const userJson = (user: User.User) => ({
  id: user.id,
  tenant: user.tenant,
  email: user.email,
  role: user.role,
  status: user.status,
  totp: user.totp,
  createdAt: Output.time(user.createdAt)
})

const id = Options.text("id").pipe(Options.withPseudoName("USER"), Options.withDescription("The user's id (usr_…)."))

/** Fails with the store's `NotFound` (naming the tenant) when the tenant does not exist. */
const tenantExists = (tenant: string) => Effect.flatMap(TenancyStore.TenancyStore, (store) => store.getTenant(tenant))

const invite = Command.make(
  "invite",
  {
    tenant: Shared.tenant,
    email: Options.text("email").pipe(
      Options.withPseudoName("EMAIL"),
      Options.withDescription("The address the invitation is mailed to (the user's login).")
    ),
    role: Shared.choice("role", User.UserRole.literals, "What the user may do (see the README)."),
    json: Shared.json
  },
  ({ email, json, role, tenant }) =>
    Effect.gen(function* () {
      yield* tenantExists(tenant)
      const { delivery, files, user } = yield* withAccounts((accounts, delivery) =>
        Effect.gen(function* () {
          const before = delivery.via === "file" ? emlFiles(delivery.dir) : new Set<string>()
          const { user } = yield* OperatorAudit.audited(
            { tenant, action: "user.invite", target: "users" },
            accounts.invite(tenant, email, role, "operator:cli"),
            ({ user }) => ({ userId: user.id, role: user.role })
          )
          const files =
            delivery.via === "file"
              ? [...emlFiles(delivery.dir)].filter((name) => !before.has(name)).map((name) => join(delivery.dir, name))
              : []
          return { delivery, files, user }
        })
      )
      const invitation =
        delivery.via === "smtp"
          ? { mailed: true, via: "smtp" as const }
          : { mailed: true, via: "file" as const, file: files.length === 1 ? files[0] : delivery.dir }
      yield* Output.print(json, { ...userJson(user), invitation }, () =>
        [
          `Invited ${user.email} as ${user.role} of tenant ${user.tenant}: user ${user.id}.`,
          invitation.via === "smtp"
            ? "The invitation link was mailed through OA_SMTP_URL (it is not shown here)."
            : `OA_SMTP_URL is not set: the invitation mail, with its link, was written to ${invitation.file}`
        ].join("\n")
      )
    })
).pipe(
  Command.withDescription(
    "Invite a user: mails a single-use link (7 days) to choose a password; by SMTP (OA_SMTP_URL) or to a file in OA_DATA_DIR/mail/."
  )
)

const list = Command.make("list", { tenant: Shared.tenant, json: Shared.json }, ({ json, tenant }) =>
  Effect.gen(function* () {
    yield* tenantExists(tenant)
    const users = yield* withAccounts((accounts) =>
      OperatorAudit.audited({ tenant, action: "user.list", target: "users" }, accounts.list(tenant), (users) => ({
        count: users.length
      }))
    )
    yield* Output.print(json, users.map(userJson), () =>
      Output.table(
        ["ID", "EMAIL", "ROLE", "STATUS", "2FA", "CREATED"],
        users.map((user) => [
          user.id,
          user.email,
          user.role,
          user.status,
          user.totp ? "yes" : "no",
          Output.time(user.createdAt)
        ])
      )
    )
  })
).pipe(
  Command.withDescription(
    "List a tenant's users with their decrypted email addresses (personal data: the read is recorded in the audit log)."
  )
)

const remove = Command.make("remove", { tenant: Shared.tenant, id, json: Shared.json }, ({ id, json, tenant }) =>
  Effect.gen(function* () {
    yield* withAccounts((accounts) =>
      OperatorAudit.audited({ tenant, action: "user.remove", target: `user:${id}` }, accounts.remove(tenant, id))
    )
    yield* Output.print(json, { id, tenant, removed: true }, () => `Removed user ${id} of tenant ${tenant}`)
  })
).pipe(
  Command.withDescription(
    "Remove a user: their data key is destroyed (crypto-shredding), so their encrypted data can never be read again."
  )
)

/** `openaudience user …`. */
export const command: Command.Command<
  "user",
  StoreLayer,
  CommandError,
  {
    readonly subcommand: Option.Option<
      | {
          readonly tenant: string
          readonly email: string
          readonly role: typeof User.UserRole.Type
          readonly json: boolean
        }
      | { readonly tenant: string; readonly json: boolean }
      | { readonly tenant: string; readonly id: string; readonly json: boolean }
    >
  }
> = Command.make("user").pipe(
  Command.withDescription("Manage the users of a tenant (its staff, who log in to the console)."),
  Command.withSubcommands([withStore(withVault(invite)), withStore(withVault(list)), withStore(withVault(remove))])
)
