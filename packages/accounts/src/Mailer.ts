/**
 * Outgoing mail (invitations, password resets) as a port. `layerSmtp(url)` sends through an SMTP server with
 * nodemailer (MIT-0); `layerFiles(dir)` writes each mail as an `.eml` file (mode 0600) and logs the links it holds,
 * for development without a mail server; `layerConfig` picks SMTP when `OA_SMTP_URL` is set, else files in
 * `OA_DATA_DIR/mail/`; `layerMemory` keeps mails in a queue for tests.
 *
 * @since 0.1.0
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import nodemailer from "nodemailer"
import { AccountsError } from "./AccountsError.js"

/**
 * A mail to send: plain text.
 *
 * @since 0.1.0
 * @category models
 */
export interface Mail {
  readonly to: string
  readonly subject: string
  readonly text: string
}

/**
 * The mailer's operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly send: (mail: Mail) => Effect.Effect<void, AccountsError>
}

/**
 * The mailer service.
 *
 * @since 0.1.0
 * @category services
 */
export class Mailer extends Context.Tag("@openaudience/accounts/Mailer")<Mailer, Service>() {}

/**
 * The sender address when none is given.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultFrom = "OpenAudience <no-reply@openaudience.invalid>"

const mailFailed = (cause: unknown) =>
  new AccountsError({
    reason: "MailFailed",
    message: `The mail could not be sent: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

/**
 * The links (http or https URLs) in a text.
 *
 * @since 0.1.0
 * @category combinators
 */
export const links = (text: string): ReadonlyArray<string> =>
  // A sentence's closing punctuation is not part of the link.
  Array.from(text.matchAll(/https?:\/\/[^\s<>"]+/g), (m) => m[0].replace(/[.,;:!?)]+$/, ""))

/**
 * Sends through the SMTP server of `url` (`smtp://user:pass@host:587`, `smtps://…`), with nodemailer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSmtp = (
  url: string | Redacted.Redacted<string>,
  options: { readonly from?: string | undefined } = {}
): Layer.Layer<Mailer> =>
  Layer.scoped(
    Mailer,
    Effect.gen(function* () {
      const transport = yield* Effect.acquireRelease(
        Effect.sync(() => nodemailer.createTransport(Redacted.isRedacted(url) ? Redacted.value(url) : url)),
        (t) => Effect.sync(() => t.close())
      )
      const from = options.from ?? defaultFrom
      return Mailer.of({
        send: (mail) =>
          Effect.tryPromise({
            try: () => transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text }),
            catch: mailFailed
          }).pipe(Effect.asVoid)
      })
    })
  )

/**
 * Writes each mail as an RFC 5322 `.eml` file in `dir` (created 0700, files 0600) and logs its links with
 * `Effect.logInfo`, for development: open the link from the log to accept an invitation or reset a password.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFiles = (dir: string, options: { readonly from?: string | undefined } = {}): Layer.Layer<Mailer> =>
  Layer.sync(Mailer, () => {
    const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" })
    const from = options.from ?? defaultFrom
    let counter = 0
    return Mailer.of({
      send: (mail) =>
        Effect.gen(function* () {
          const info = yield* Effect.tryPromise({
            try: () => composer.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text }),
            catch: mailFailed
          })
          const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
          counter++
          const file = join(dir, `${new Date(now).toISOString().replace(/[:.]/g, "-")}-${process.pid}-${counter}.eml`)
          yield* Effect.try({
            try: () => {
              mkdirSync(dir, { recursive: true, mode: 0o700 })
              writeFileSync(file, info.message as Buffer, { mode: 0o600 })
              chmodSync(file, 0o600)
            },
            catch: mailFailed
          })
          yield* Effect.logInfo(`Mail "${mail.subject}" written to ${file}`).pipe(
            Effect.annotateLogs({ links: links(mail.text).join(" ") })
          )
        })
    })
  })

/**
 * Mails kept in memory, in a queue tests take them from (`take` waits for the next one).
 *
 * @since 0.1.0
 * @category models
 */
export interface Outbox extends Service {
  readonly take: Effect.Effect<Mail>
  readonly poll: Effect.Effect<Option.Option<Mail>>
}

/**
 * The in-memory outbox service (the `Mailer` of `layerMemory`, seen as a queue).
 *
 * @since 0.1.0
 * @category services
 */
export class MemoryOutbox extends Context.Tag("@openaudience/accounts/MemoryOutbox")<MemoryOutbox, Outbox>() {}

/**
 * A mailer that keeps mails in memory: `Mailer` and `MemoryOutbox` (tests).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Mailer | MemoryOutbox> = Layer.effectContext(
  Effect.gen(function* () {
    const queue = yield* Queue.unbounded<Mail>()
    const outbox: Outbox = {
      send: (mail) => Queue.offer(queue, mail),
      take: Queue.take(queue),
      poll: Queue.poll(queue)
    }
    return Context.make(Mailer, outbox).pipe(Context.add(MemoryOutbox, outbox))
  })
)

/**
 * SMTP when `OA_SMTP_URL` is set (sender `OA_MAIL_FROM`), else `.eml` files in `OA_DATA_DIR/mail/` (default
 * `./data/mail/`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<Mailer, import("effect/ConfigError").ConfigError> = Layer.unwrapEffect(
  Effect.gen(function* () {
    const url = yield* Config.option(Config.redacted("OA_SMTP_URL"))
    const from = yield* Config.option(Config.string("OA_MAIL_FROM"))
    const dataDir = yield* Config.withDefault(Config.string("OA_DATA_DIR"), "./data")
    const options = { from: Option.getOrUndefined(from) }
    return Option.isSome(url) ? layerSmtp(url.value, options) : layerFiles(join(dataDir, "mail"), options)
  })
)
