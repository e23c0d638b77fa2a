/**
 * The application's own users (@openaudience/accounts) as the server wires them: `SqlUserStore` over the server's
 * database, the vault the server already checked its secret with, and the mailer of its configuration: SMTP when
 * `OA_SMTP_URL` is set, else `.eml` files in `OA_DATA_DIR/mail/` with their links logged. Links in mails start with
 * the public URL (`OA_PUBLIC_URL`, else the address the server listens on).
 */
import { Accounts, Mailer } from "@openaudience/accounts"
import { SqlUserStore } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { join } from "node:path"
import { ServerConfig, type ServerConfigShape } from "./ServerConfig.js"

/** The origin links in mails start with. */
export const baseUrl = (config: Pick<ServerConfigShape, "publicUrl" | "host" | "port">): string =>
  config.publicUrl ??
  `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port === 0 ? 8080 : config.port}`

/** SMTP when `OA_SMTP_URL` is set, else `.eml` files in `OA_DATA_DIR/mail/`. */
const mailer = Layer.unwrapEffect(
  Effect.map(ServerConfig, (config) =>
    config.smtpUrl === undefined
      ? Mailer.layerFiles(join(config.dataDir, "mail"), { from: config.mailFrom })
      : Mailer.layerSmtp(config.smtpUrl, { from: config.mailFrom })
  )
)

/** `Accounts` over the server's database, vault and mailer (it needs `Vault` and the SQL client below it). */
export const layer = Layer.unwrapEffect(
  Effect.map(ServerConfig, (config) =>
    Accounts.layer({ baseUrl: baseUrl(config), resetPath: "/console/reset/confirm" })
  )
).pipe(Layer.provide(Layer.merge(SqlUserStore.layer, mailer)))
