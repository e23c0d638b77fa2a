/**
 * The reference server's configuration, read from environment variables with Effect `Config` (see the README
 * for the table). Secrets are `Redacted`; in development a master secret is generated once and kept in the data
 * folder, with a warning.
 */
import { Ip } from "@openaudience/anonymizer"
import { EventLog } from "@openaudience/eventlog"
import { MasterKeys } from "@openaudience/vault"
import * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

export interface ServerConfigShape {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  readonly databaseUrl: string
  /** Where workers read events: the SQL log table, or NATS JetStream fed from it (OA_EVENTLOG). */
  readonly eventLog: EventLog.EventLogSelection
  /** JetStream stream name when the log is on NATS (OA_EVENTLOG_STREAM, default `OA_EVENTS`). */
  readonly eventLogStream: string
  /** JetStream subject prefix (OA_EVENTLOG_SUBJECTS, default `oa.events`). */
  readonly eventLogSubjects: string
  readonly secret: Redacted.Redacted<Uint8Array>
  /** `OA_SECRET_PREVIOUS`: the master secret being rotated away from (see @openaudience/vault's rotation). */
  readonly previousSecret: Redacted.Redacted<Uint8Array> | undefined
  readonly demo: boolean
  readonly demoAdminKey: Redacted.Redacted<string>
  /** Run the demo tenant in cookieless mode (OA_DEMO_COOKIELESS). */
  readonly demoCookieless: boolean
  /** The URL put in demo pages (OA_PUBLIC_URL); by default the URL the server listens on. */
  readonly publicUrl: string | undefined
  /**
   * Request headers a trusted edge (CDN, load balancer) sets to the visitor's country and region, for the
   * consent jurisdiction (OA_COUNTRY_HEADER, OA_REGION_HEADER; e.g. `cf-ipcountry`). Unset: jurisdiction unknown.
   */
  readonly countryHeader: string | undefined
  readonly regionHeader: string | undefined
  /**
   * Proxies whose forwarding header (X-Forwarded-For, or Forwarded) is believed for the client's address
   * (OA_TRUSTED_PROXIES: CIDRs or `loopback`, `private`; OA_FORWARDED_HEADER). None by default: the socket's peer.
   */
  readonly trustedProxies: Ip.TrustedProxies
  /** Largest accepted request body, bytes. */
  readonly maxBodyBytes: number
  /** Largest product feed `PUT /v1/catalog` accepts, bytes (OA_CATALOG_MAX_BYTES, default 16 MiB). */
  readonly catalogMaxBytes: number
  /** How long an ad decision may take before a house ad is shown (OA_AD_DEADLINE_MS, default 50). */
  readonly adDeadlineMs: number
  /** The currency campaigns bid in (OA_AD_CURRENCY, default EUR); campaigns in another are not served. */
  readonly adCurrency: string
  /**
   * Synthetic visitors the demo seeds so that its retargeting audience passes the size floor
   * (OA_DEMO_SYNTHETIC_VISITORS, default 60 in demo mode; 0: none, and the demo visitor is never targeted).
   */
  readonly demoSyntheticVisitors: number
  /**
   * The differential-privacy budget of each (tenant, partner) pair, never renewed (OA_PRIVACY_BUDGET: ε, default
   * 10; OA_PRIVACY_BUDGET_DELTA: δ, default 1e-5).
   */
  readonly privacyBudget: { readonly epsilon: number; readonly delta: number }
  /** Bearer token `/metrics` requires (OA_METRICS_TOKEN); unset: `/metrics` is open. */
  readonly metricsToken: Redacted.Redacted<string> | undefined
  /** The operator key (`OA_OPERATOR_KEY`) of the tenants API; without it that API is off. */
  readonly operatorKey: Redacted.Redacted<string> | undefined
  /** Days a closed contact-form inquiry is kept (`OA_INQUIRY_RETENTION_DAYS`, default 90). */
  readonly inquiryRetentionDays: number
  /** The SMTP server of outgoing mail (`OA_SMTP_URL`); unset: mails are written to `OA_DATA_DIR/mail/`. */
  readonly smtpUrl: Redacted.Redacted<string> | undefined
  /** The sender of outgoing mail (`OA_MAIL_FROM`); unset: @openaudience/accounts' `Mailer.defaultFrom`. */
  readonly mailFrom: string | undefined
}

export class ServerConfig extends Context.Tag("@openaudience/example-server/ServerConfig")<
  ServerConfig,
  ServerConfigShape
>() {}

/** The demo tenant's admin key when OA_DEMO_ADMIN_KEY is unset: public, printed in the README and at startup. */
export const defaultDemoAdminKey = "demo-admin-key"

const isLoopback = (host: string): boolean => {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase()
  if (bare === "localhost" || bare === "::1" || bare === "::ffff:127.0.0.1") return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)
}

/**
 * Refuses a demo tenant reachable from other machines with the public admin key: anyone could read its events
 * and manage its audiences. On loopback the default key is fine (only this machine can use it).
 *
 * @since 0.1.0
 * @category validation
 */
export const checkDemoExposure = (
  config: Pick<ServerConfigShape, "demo" | "host" | "demoAdminKey">
): Effect.Effect<void, ConfigError.ConfigError> =>
  config.demo && !isLoopback(config.host) && Redacted.value(config.demoAdminKey) === defaultDemoAdminKey
    ? Effect.fail(
        ConfigError.InvalidData(
          ["OA_DEMO_ADMIN_KEY"],
          `OA_DEMO=1 on HOST=${config.host} (not loopback) with the public default OA_DEMO_ADMIN_KEY: set OA_DEMO_ADMIN_KEY to a secret of your own, or listen on 127.0.0.1`
        )
      )
    : Effect.void

export const load = Effect.gen(function* () {
  const port = yield* Config.port("PORT").pipe(Config.withDefault(8080))
  const host = yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
  const dataDir = yield* Config.string("OA_DATA_DIR").pipe(Config.withDefault("./data"))
  const path = yield* Path.Path
  const databaseUrl = yield* Config.string("OA_DATABASE_URL").pipe(
    Config.withDefault(`sqlite:${path.join(dataDir, "openaudience.db")}`)
  )
  const eventLog = yield* EventLog.selectionConfig
  const eventLogStream = yield* Config.string("OA_EVENTLOG_STREAM").pipe(Config.withDefault("OA_EVENTS"))
  const eventLogSubjects = yield* Config.string("OA_EVENTLOG_SUBJECTS").pipe(Config.withDefault("oa.events"))
  const demo = yield* Config.boolean("OA_DEMO").pipe(Config.withDefault(false))
  const demoAdminKey = yield* Config.redacted("OA_DEMO_ADMIN_KEY").pipe(
    Config.withDefault(Redacted.make(defaultDemoAdminKey))
  )
  const countryHeader = Option.getOrUndefined(yield* Config.option(Config.string("OA_COUNTRY_HEADER")))
  const regionHeader = Option.getOrUndefined(yield* Config.option(Config.string("OA_REGION_HEADER")))
  const trustedProxies = yield* Ip.trustedProxiesConfig()
  const demoCookieless = yield* Config.boolean("OA_DEMO_COOKIELESS").pipe(Config.withDefault(false))
  const maxBodyBytes = yield* Config.integer("OA_MAX_BODY_BYTES").pipe(Config.withDefault(64 * 1024))
  const catalogMaxBytes = yield* Config.integer("OA_CATALOG_MAX_BYTES").pipe(
    Config.withDefault(16 * 1024 * 1024),
    Config.validate({
      message: "OA_CATALOG_MAX_BYTES must be from 1 KiB to 256 MiB",
      validation: (n) => n >= 1024 && n <= 256 * 1024 * 1024
    })
  )
  const adCurrency = yield* Config.string("OA_AD_CURRENCY").pipe(
    Config.withDefault("EUR"),
    Config.validate({
      message: "OA_AD_CURRENCY must be an ISO 4217 code such as EUR",
      validation: (c) => /^[A-Z]{3}$/.test(c)
    })
  )
  const demoSyntheticVisitors = yield* Config.integer("OA_DEMO_SYNTHETIC_VISITORS").pipe(
    Config.withDefault(60),
    Config.validate({
      message: "OA_DEMO_SYNTHETIC_VISITORS must be from 0 to 500",
      validation: (n) => n >= 0 && n <= 500
    })
  )
  const adDeadlineMs = yield* Config.integer("OA_AD_DEADLINE_MS").pipe(
    Config.withDefault(50),
    Config.validate({ message: "OA_AD_DEADLINE_MS must be from 1 to 10000", validation: (n) => n >= 1 && n <= 10_000 })
  )
  const budgetEpsilon = yield* Config.number("OA_PRIVACY_BUDGET").pipe(
    Config.withDefault(10),
    Config.validate({ message: "OA_PRIVACY_BUDGET must be a positive ε", validation: (n) => n > 0 && n < 1e6 })
  )
  const budgetDelta = yield* Config.number("OA_PRIVACY_BUDGET_DELTA").pipe(
    Config.withDefault(1e-5),
    Config.validate({ message: "OA_PRIVACY_BUDGET_DELTA must be in [0, 1)", validation: (n) => n >= 0 && n < 1 })
  )
  yield* checkDemoExposure({ demo, host, demoAdminKey })
  const metricsToken = Option.getOrUndefined(yield* Config.option(Config.redacted("OA_METRICS_TOKEN")))
  const operatorKey = Option.getOrUndefined(yield* Config.option(Config.redacted("OA_OPERATOR_KEY")))
  const inquiryRetentionDays = yield* Config.integer("OA_INQUIRY_RETENTION_DAYS").pipe(
    Config.withDefault(90),
    Config.validate({
      message: "OA_INQUIRY_RETENTION_DAYS must be from 1 to 3650",
      validation: (n) => n >= 1 && n <= 3650
    })
  )
  const secrets = yield* MasterKeys.loadOrCreate(dataDir)
  const secret = secrets.current
  const previousSecret = Option.getOrUndefined(secrets.previous)
  const publicUrl = Option.getOrUndefined(yield* Config.option(Config.string("OA_PUBLIC_URL")))
  const smtpUrl = Option.getOrUndefined(yield* Config.option(Config.redacted("OA_SMTP_URL")))
  const mailFrom = Option.getOrUndefined(yield* Config.option(Config.string("OA_MAIL_FROM")))
  return ServerConfig.of({
    port,
    host,
    dataDir,
    databaseUrl,
    eventLog,
    eventLogStream,
    eventLogSubjects,
    secret,
    previousSecret,
    demo,
    demoAdminKey,
    demoCookieless,
    publicUrl,
    countryHeader: countryHeader?.toLowerCase(),
    regionHeader: regionHeader?.toLowerCase(),
    trustedProxies,
    maxBodyBytes,
    catalogMaxBytes,
    adDeadlineMs,
    adCurrency,
    demoSyntheticVisitors,
    privacyBudget: { epsilon: budgetEpsilon, delta: budgetDelta },
    metricsToken,
    operatorKey,
    inquiryRetentionDays,
    smtpUrl,
    mailFrom
  })
})

export const layer = Layer.effect(ServerConfig, load)

export const layerTest = (overrides: Partial<ServerConfigShape> = {}) =>
  Layer.succeed(
    ServerConfig,
    ServerConfig.of({
      port: 0,
      host: "127.0.0.1",
      dataDir: "./data",
      databaseUrl: "sqlite::memory:",
      eventLog: { _tag: "Sql" },
      eventLogStream: "OA_EVENTS",
      eventLogSubjects: "oa.events",
      secret: Redacted.make(new Uint8Array(32).fill(7)),
      previousSecret: undefined,
      demo: true,
      demoAdminKey: Redacted.make(defaultDemoAdminKey),
      demoCookieless: false,
      publicUrl: undefined,
      maxBodyBytes: 64 * 1024,
      catalogMaxBytes: 16 * 1024 * 1024,
      adDeadlineMs: 50,
      adCurrency: "EUR",
      demoSyntheticVisitors: 0,
      countryHeader: undefined,
      regionHeader: undefined,
      trustedProxies: { cidrs: [], header: "x-forwarded-for" },
      privacyBudget: { epsilon: 10, delta: 1e-5 },
      metricsToken: undefined,
      operatorKey: undefined,
      inquiryRetentionDays: 90,
      smtpUrl: undefined,
      mailFrom: undefined,
      ...overrides
    })
  )
