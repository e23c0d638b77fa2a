/**
 * Data-subject rights, assembled: @openaudience/dsar's service over storage-sql's subject-data registry and DSAR
 * store, with the server's audit log, vault, ad serving and erased-visitor tombstones plugged in.
 *
 * - At start the live database schema is checked against the registry: a table holding subject data that no
 *   registered store covers stops the server (an erasure would miss it).
 * - An erasure first waits until every event acknowledged so far is in the database (so none lands after it), runs
 *   the registered stores' deletions in one transaction, then records the erased visitors' tombstones (their next
 *   visit gets a pseudonym that cannot be linked to the old one) and drops ad serving's caches for them.
 * - An objection records the permanent opt-out, removes the visitor's browser links and is checked before every
 *   personalized ad and every new link.
 * - Every 5 seconds the erased-visitor tombstones of other processes are loaded; every 30 seconds webhooks that are
 *   due are sent and failed erasures retried.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { Serving, WriteBehind } from "@openaudience/ad-selector"
import { type AuditEntry, AuditLog } from "@openaudience/audit"
import { Erased } from "@openaudience/collector"
import { Dsar, DsarStore, Registry, Report } from "@openaudience/dsar"
import { EventWriter, SqlDsarStore, SqlErasedVisitors, SqlSubjectStores } from "@openaudience/storage-sql"
import { Vault } from "@openaudience/vault"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { ServerConfig } from "./ServerConfig.js"

/**
 * The tombstones of erased visitors this process knows (handed to the collector and the privacy center).
 */
export class ErasedSet extends Context.Tag("@openaudience/example-server/ErasedSet")<
  ErasedSet,
  Erased.MutableErasedSet
>() {}

/** The audit actor of a DSAR actor string (`key:…`, `user:…`, `operator`, `visitor`, `system`). */
const auditActor = (actor: string): AuditEntry.Actor => {
  const [kind, ...rest] = actor.split(":")
  const id = rest.join(":")
  if ((kind === "key" || kind === "user") && id.length > 0) return { kind, id }
  if (kind === "operator") return { kind: "operator", id: "operator" }
  return { kind: "system", id: kind === "visitor" ? "privacy-center" : "dsar" }
}

/** The registry check at start: refuses to run over a schema with uncovered subject data. */
const schemaCheck = SqlSubjectStores.check().pipe(
  Effect.mapError(
    (error) =>
      new Error(
        error._tag === "UnregisteredTable"
          ? `Refusing to start: ${error.message}. Register a store for it (@openaudience/dsar Registry) before it holds data.`
          : `Refusing to start: the subject-data registry could not read the schema: ${error.message}`
      )
  )
)

/** The erased-visitor tombstones, loaded at start and refreshed from the database. */
const erasedSet = Layer.scoped(
  ErasedSet,
  Effect.gen(function* () {
    const store = yield* SqlErasedVisitors.ErasedVisitors
    const set = Erased.makeSet()
    let since = 0
    const load = (rows: ReadonlyArray<SqlErasedVisitors.ErasedVisitor>) => {
      for (const row of rows) {
        set.add(row.tenant, row.tombstone)
        since = Math.max(since, row.erasedAt)
      }
    }
    load(yield* store.all().pipe(Effect.orDie))
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.flatMap(
          Effect.suspend(() => store.since(since)),
          (rows) => Effect.sync(() => load(rows))
        ).pipe(Effect.catchAll((error) => Effect.logWarning("could not refresh erased visitors", error.message))),
        Schedule.spaced(Duration.seconds(5))
      )
    )
    return set
  })
).pipe(Layer.provide(SqlErasedVisitors.layer))

/** The DSAR service, with the server's hooks. */
const dsar = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const sql = yield* SqlClient.SqlClient
    const writer = yield* EventWriter.EventWriter
    const audit = yield* AuditLog.AuditLog
    const vault = yield* Vault.Vault
    const serving = yield* Serving.Serving
    const adWrites = yield* Effect.serviceOption(WriteBehind.WriteBehind)
    const erased = yield* ErasedSet
    const tombstones = yield* SqlErasedVisitors.ErasedVisitors
    const client = yield* HttpClient.HttpClient
    const transaction = SqlSubjectStores.makeTransaction(sql)
    // Every event acknowledged before the erasure is in the database before its rows are deleted.
    const stored = Effect.async<void>((resume) => writer.afterStored(() => resume(Effect.void)))
    const unavailable = (store: string) => (error: { readonly message: string }) =>
      new Registry.StoreUnavailable({ store, message: error.message })
    return Dsar.layer({
      signingKey: Report.SigningKey.fromSecret(config.secret),
      transaction: (self) => Effect.zipRight(stored, transaction(self)),
      audit: (entry) =>
        audit
          .append({
            tenant: entry.tenant,
            actor: auditActor(entry.actor),
            action: entry.action,
            target: entry.target,
            outcome: "success",
            details: entry.details
          })
          .pipe(
            Effect.asVoid,
            Effect.catchAll((error) => Effect.logError("could not write the audit log", error.message))
          ),
      // Tombstones first: from now on the erased visitors' next events get a new pseudonym, so none lands under
      // the old one while its rows are deleted.
      beforeErase: (subjects) =>
        Effect.zipRight(
          // The ad server's decisions still waiting to be written go first, so the erasure finds them.
          adWrites._tag === "Some" ? adWrites.value.flush.pipe(Effect.mapError(unavailable("ad-log"))) : Effect.void,
          Effect.forEach(
            subjects,
            (subject) =>
              subject._tag !== "Visitor"
                ? Effect.void
                : Effect.gen(function* () {
                    const tombstone = Erased.tombstone(subject.visitor)
                    const at = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
                    yield* tombstones
                      .record(subject.tenant, tombstone, at)
                      .pipe(Effect.mapError(unavailable("erased-visitors")))
                    erased.add(subject.tenant, tombstone)
                  }),
            { discard: true }
          )
        ),
      // Ad serving's own caches of the erased visitors (its rows are gone already).
      afterErase: (subjects) =>
        Effect.forEach(
          subjects,
          (subject) =>
            subject._tag !== "Visitor"
              ? Effect.void
              : serving
                  .eraseVisitor(subject.tenant, subject.visitor)
                  .pipe(Effect.asVoid, Effect.mapError(unavailable("ad-serving"))),
          { discard: true }
        ),
      afterObjection: (subjects) =>
        Effect.forEach(
          subjects,
          (subject) =>
            subject._tag === "Visitor"
              ? serving
                  .unlinkBrowser({ tenant: subject.tenant, visitor: subject.visitor })
                  .pipe(Effect.asVoid, Effect.mapError(unavailable("browser-links")))
              : subject._tag === "Browser"
                ? serving
                    .unlinkBrowser({ tenant: subject.tenant, browser: subject.browser })
                    .pipe(Effect.asVoid, Effect.mapError(unavailable("browser-links")))
                : Effect.void,
          { discard: true }
        ),
      sealSecret: (tenant, secret) =>
        vault
          .encrypt(tenant, "dsar-recipients", "webhook-secret", Redacted.value(secret))
          .pipe(
            Effect.mapError((error) => new DsarStore.DsarStoreError({ reason: "Unavailable", message: error.message }))
          ),
      openSecret: (tenant, sealed) =>
        vault.decrypt(tenant, "dsar-recipients", "webhook-secret", sealed).pipe(
          Effect.map(Redacted.make),
          Effect.mapError((error) => new DsarStore.DsarStoreError({ reason: "Unavailable", message: error.message }))
        ),
      send: (webhook) =>
        HttpClientRequest.post(webhook.url).pipe(
          HttpClientRequest.setHeaders(webhook.headers),
          HttpClientRequest.bodyText(webhook.body, "application/json"),
          client.execute,
          Effect.map((response) => response.status),
          Effect.scoped,
          Effect.timeout(Duration.seconds(10)),
          Effect.mapError((error) => (error._tag === "TimeoutException" ? "timed out after 10 s" : error.message))
        )
    })
  })
).pipe(Layer.provide(Layer.mergeAll(SqlDsarStore.layer, SqlSubjectStores.layer)))

/** After every migration ran: the schema check; then due webhooks and failed erasures every 30 seconds. */
const background = Layer.scopedDiscard(
  Effect.gen(function* () {
    yield* schemaCheck
    const service = yield* Dsar.Dsar
    const round = Effect.zipRight(service.deliverDue(100), service.retryPending).pipe(
      Effect.catchAll((error) => Effect.logWarning("data-subject request round failed", error.message))
    )
    yield* Effect.forkScoped(Effect.repeat(round, Schedule.spaced(Duration.seconds(30))))
  })
)

/** Everything above, for the server's layer. */
export const layer = background.pipe(
  Layer.provideMerge(dsar),
  Layer.provideMerge(erasedSet),
  Layer.provideMerge(Layer.mergeAll(SqlErasedVisitors.layer, SqlDsarStore.layer)),
  Layer.provide(FetchHttpClient.layer)
)
