/**
 * The whole reference server as one layer: configuration, database (SQLite by default, PostgreSQL by URL),
 * migrations, the event store and event log, the group-commit writer, the worker (embedded shape) and the
 * HTTP listener. Tests build it with their own configuration; `main.ts` runs it.
 *
 * The collector always writes the SQL event log in its commit transaction (an outbox). Workers read that log
 * directly (`OA_EVENTLOG=sql`, the default), or NATS JetStream (`OA_EVENTLOG=nats://…`), which the relay
 * fills from it.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Serving } from "@openaudience/ad-selector"
import { EventLog, NatsEventLog, Relay } from "@openaudience/eventlog"
import {
  AudienceStore,
  Database,
  EventStore,
  EventWriter,
  Migrations,
  SqlEventLog,
  SqlMembershipStore,
  SqlAdLog,
  SqlAuditLog,
  SqlBrowserLinks,
  SqlCampaignStore,
  SqlCapStore,
  SqlCatalogStore,
  SqlInquiryStore,
  SqlKeyStore,
  SqlPrivacyBudget,
  SqlTenancyStore,
  SqlVisitors,
  Workers
} from "@openaudience/storage-sql"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Clock from "effect/Clock"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Option from "effect/Option"
import { SecretCheck, Vault } from "@openaudience/vault"
import { Inquiries } from "@openaudience/inquiries"
import * as DemoAds from "./DemoAds.js"
import * as HttpServer from "./HttpServer.js"
import * as Metrics from "./Metrics.js"
import * as Privacy from "./Privacy.js"
import * as Salts from "./Salts.js"
import { ServerConfig } from "./ServerConfig.js"
import * as Tenants from "./Tenants.js"
import * as UserAccounts from "./UserAccounts.js"

const database = Layer.unwrapEffect(Effect.map(ServerConfig, (config) => Database.layerFromUrl(config.databaseUrl)))

const storage = Layer.mergeAll(
  EventStore.layer,
  AudienceStore.layer,
  SqlMembershipStore.layer,
  Layer.effectDiscard(SqlEventLog.migrate),
  SqlTenancyStore.layer,
  SqlAuditLog.layer,
  SqlCatalogStore.layer,
  SqlCampaignStore.layer,
  // The ad server's decisions and budget charges are written every 50 ms (ad-selector's WriteBehind); on a SQLite
  // file the decisions by a thread of their own.
  Layer.unwrapEffect(Effect.map(ServerConfig, (config) => SqlAdLog.layerWriteBehindFromUrl(config.databaseUrl))),
  SqlCapStore.layer,
  SqlBrowserLinks.layer,
  SqlVisitors.layer
).pipe(Layer.provideMerge(Migrations.layer), Layer.provideMerge(database))

/** Whether the database URL is SQLite in memory, which only this connection can open. */
const inMemory = (databaseUrl: string): boolean => {
  const url = Database.parseUrl(databaseUrl)
  return Either.isRight(url) && url.right._tag === "Sqlite" && url.right.filename === ":memory:"
}

/**
 * How events are written: storage-sql's one write path. A writer thread stores them behind an append log (beside a
 * SQLite file; in the data folder for PostgreSQL); SQLite in memory (tests) uses group commit alone. Pixels are answered once in the append log, batches once in the database.
 */
const writing = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const metrics = yield* Metrics.Metrics
    return EventWriter.layerFromUrl(config.databaseUrl, {
      segments: EventWriter.segmentsIn(config.dataDir),
      observer: metrics
    }).pipe(
      Layer.tap((context) =>
        Effect.sync(() => metrics.pendingFrom(Context.get(context, EventWriter.EventWriter).pending))
      )
    )
  })
)

/**
 * The standard workers (storage-sql's `Workers`) over the log they consume, and in the NATS shape the relay that
 * feeds it.
 */
const workers = Layer.unwrapEffect(
  Effect.map(ServerConfig, (config) => {
    if (config.eventLog._tag === "Sql") {
      // The workers get a thread and a connection of their own, off the HTTP thread (SQLite in memory, which a
      // second connection cannot open, keeps them in process).
      if (!inMemory(config.databaseUrl)) {
        return Workers.layerThread(config.databaseUrl).pipe(Layer.mapError((error): Error => error))
      }
      return Workers.layerSql.pipe(Layer.mapError((error): Error => error))
    }
    const nats = Layer.scoped(
      EventLog.EventLog,
      NatsEventLog.make({
        servers: config.eventLog.servers,
        stream: config.eventLogStream,
        subjectPrefix: config.eventLogSubjects
      })
    )
    return Layer.unwrapScoped(
      Effect.map(Effect.zip(SqlEventLog.make, EventLog.EventLog), ([source, target]) =>
        Layer.merge(Relay.layer(source, target), Workers.layer({ sharedRead: false }))
      )
    ).pipe(
      Layer.provide(nats),
      Layer.mapError((error): Error => error)
    )
  })
)

/** The partners' privacy budgets, kept in the database, with the configured limit (`OA_PRIVACY_BUDGET`). */
const privacyBudget = Layer.unwrapEffect(
  Effect.map(ServerConfig, (config) => SqlPrivacyBudget.layer(config.privacyBudget))
)

/** Everything below the HTTP listener. */
/**
 * The master secret checked against the one this database was set up with (@openaudience/vault's `SecretCheck`):
 * a changed `OA_SECRET` without `OA_SECRET_PREVIOUS` would change every visitor pseudonym, so the start fails and
 * says why.
 */
const secretCheck = Layer.unwrapEffect(
  Effect.map(ServerConfig, (config) =>
    SecretCheck.layer({ current: config.secret, previous: Option.fromNullable(config.previousSecret) })
  )
).pipe(
  Layer.provideMerge(SqlKeyStore.layer),
  Layer.mapError((error): Error => (error instanceof Error ? error : new Error(String(error))))
)

/** Envelope encryption of personal data (@openaudience/vault), after the secret check. */
const vault = Vault.layer.pipe(Layer.provideMerge(secretCheck))

/** The contact form's inquiries, encrypted by the vault, purged every hour once closed for the retention time. */
const inquiries = Layer.scopedDiscard(
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const service = yield* Inquiries.Inquiries
    const purge = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      service.purge(now, config.inquiryRetentionDays)
    ).pipe(
      Effect.tap((deleted) => (deleted > 0 ? Effect.logInfo(`Purged ${deleted} closed inquiries`) : Effect.void)),
      Effect.catchAll((error) => Effect.logWarning("Could not purge closed inquiries", error))
    )
    yield* Effect.forkScoped(Effect.repeat(purge, Schedule.spaced("1 hour")))
  })
).pipe(Layer.provideMerge(Inquiries.layer), Layer.provide(SqlInquiryStore.layer))

/**
 * Ad serving (@openaudience/ad-selector's `Serving`) over the SQL stores: campaigns reloaded when they change, the
 * click model and the sampler in memory, tokens and browser keys derived from the master secret.
 */
const adServing = Layer.unwrapEffect(
  Effect.map(ServerConfig, (config) =>
    Serving.layer({
      secret: config.secret,
      currency: config.adCurrency,
      deadlineMs: config.adDeadlineMs,
      templates: (_campaign, creative) => creative.template
    })
  )
)

export const services = Privacy.layer.pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      writing,
      Tenants.layer,
      workers,
      Salts.layer,
      privacyBudget,
      inquiries,
      UserAccounts.layer,
      adServing
    )
  ),
  Layer.provideMerge(vault),
  Layer.provideMerge(Metrics.layer),
  Layer.provideMerge(storage)
)

/** The server, given its configuration. */
export const layer = DemoAds.layer.pipe(
  Layer.provideMerge(HttpServer.layer),
  Layer.provideMerge(services),
  Layer.provideMerge(NodeContext.layer)
)

/** Logs where to find things once the server listens. */
export const announce = Effect.gen(function* () {
  const { url } = yield* HttpServer.Listening
  const config = yield* ServerConfig
  const lines = [
    `OpenAudience listening on ${url}`,
    `  tag:       ${url}/tag.js`,
    `  pixel:     ${url}/px.gif   batch: POST ${url}/collect`,
    `  events:    POST ${url}/v1/events   inspector: GET ${url}/v1/events?limit=20`,
    `  health:    ${url}/healthz   metrics: ${url}/metrics`,
    `  database:  ${config.databaseUrl.replace(/\/\/[^@/]*@/, "//***@")}`,
    `  event log: ${config.eventLog._tag === "Sql" ? "sql (the database)" : `NATS ${config.eventLog.servers.join(", ")} stream ${config.eventLogStream}`}`
  ]
  if (config.demo) {
    lines.push(
      `  demo shop: ${url}/demo/shop/`,
      `  demo news: ${url.replace("//127.0.0.1", "//localhost")}/demo/news/ (its ads come from the shop's campaigns)`,
      `  demo admin key: set by OA_DEMO_ADMIN_KEY (default "demo-admin-key"), e.g.`,
      `    curl -H 'Authorization: Bearer demo-admin-key' '${url}/v1/events?limit=5'`
    )
  }
  yield* Effect.log(lines.join("\n"))
})
