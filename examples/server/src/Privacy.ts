/**
 * Data-subject rights, assembled: @openaudience/dsar's service over storage-sql's subject-data registry and DSAR
 * store, with the server's audit log, vault, ad serving and erased-visitor tombstones plugged in.
 *
 * - At start the live database schema is checked against the registry: a table holding subject data that no
 *   registered store covers stops the server (an erasure would miss it).
 * - An erasure (storage-sql's `SqlDsar`) first writes the ad server's waiting decisions and records the erased
 *   visitors' tombstones (their next visit gets a pseudonym that cannot be linked to the old one), waits until every
 *   event acknowledged so far is in the database (so none lands after it), runs the registered stores' deletions in
 *   one transaction, then drops ad serving's caches for them.
 * - An objection records the permanent opt-out, removes the visitor's browser links and is checked before every
 *   personalized ad and every new link.
 * - Every 5 seconds the erased-visitor tombstones of other processes are loaded; every 30 seconds webhooks that are
 *   due are sent and failed erasures retried.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Serving, WriteBehind } from "@openaudience/ad-selector"
import { Erased } from "@openaudience/collector"
import { Dsar, Registry, Report } from "@openaudience/dsar"
import { EventWriter, SqlDsar, SqlDsarStore, SqlErasedVisitors, SqlSubjectStores } from "@openaudience/storage-sql"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { ServerConfig } from "./ServerConfig.js"

/**
 * The tombstones of erased visitors this process knows (handed to the collector and the privacy center).
 */
export class ErasedSet extends Context.Tag("@openaudience/example-server/ErasedSet")<
  ErasedSet,
  Erased.MutableErasedSet
>() {}

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

/** The DSAR service (storage-sql's `SqlDsar`), with the server's hooks. */
const dsar = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* ServerConfig
    const writer = yield* EventWriter.EventWriter
    const serving = yield* Serving.Serving
    const adWrites = yield* Effect.serviceOption(WriteBehind.WriteBehind)
    const erased = yield* ErasedSet
    const client = yield* HttpClient.HttpClient
    const unavailable = (store: string) => (error: { readonly message: string }) =>
      new Registry.StoreUnavailable({ store, message: error.message })
    return SqlDsar.layer({
      signingKey: Report.SigningKey.fromSecret(config.secret),
      tombstone: Erased.tombstone,
      // This process's collector knows at once; others load the tombstones within 5 seconds.
      onTombstone: (tenant, tombstone) => erased.add(tenant, tombstone),
      // Every event acknowledged before the erasure is in the database before its rows are deleted.
      beforeTransaction: Effect.async<void>((resume) => writer.afterStored(() => resume(Effect.void))),
      // The ad server's decisions still waiting to be written go first, so the erasure finds them.
      beforeErase: () =>
        adWrites._tag === "Some" ? adWrites.value.flush.pipe(Effect.mapError(unavailable("ad-log"))) : Effect.void,
      // Ad serving's own caches of the erased visitors (its rows are gone already).
      afterErase: (subjects) =>
        Effect.forEach(
          subjects,
          (subject) =>
            subject._tag === "Visitor"
              ? serving
                  .eraseVisitor(subject.tenant, subject.visitor)
                  .pipe(Effect.asVoid, Effect.mapError(unavailable("ad-serving")))
              : Effect.void,
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
