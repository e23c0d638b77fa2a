/**
 * @openaudience/dsar's `Dsar` service assembled over storage-sql, the one assembly the reference server and the
 * `openaudience dsar` commands share: erasures run in one SQL transaction (`SqlSubjectStores.makeTransaction`),
 * recipients' webhook secrets are sealed by @openaudience/vault, every step is appended to the audit log, and the
 * erased visitors' tombstones are recorded in `SqlErasedVisitors` before their rows are deleted, so a collector that
 * loads them gives the visitor's next event a new pseudonym and none lands under the old one while its rows go.
 *
 * What differs between users is given as options: the signing key, how a tombstone is made (@openaudience/collector's
 * `Erased.tombstone`; this package does not depend on the collector), what must happen before the erasure's
 * transaction (a server waits until every acknowledged event is stored) and before or after the erasure (flushing
 * an ad server's write-behind, dropping its caches), and how webhooks are sent. The `Registry` and `DsarStore` come
 * from context (`SqlSubjectStores.layer`, `SqlDsarStore.layer`, or wrapped ones).
 *
 * @since 0.5.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { AuditEntry, AuditLog } from "@openaudience/audit"
import { Dsar, DsarStore, Registry, type Report, type Subject } from "@openaudience/dsar"
import { Vault } from "@openaudience/vault"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as SqlErasedVisitors from "./SqlErasedVisitors.js"
import * as SqlSubjectStores from "./SqlSubjectStores.js"

type Hook = (subjects: ReadonlyArray<Subject.Subject>) => Effect.Effect<void, Registry.StoreUnavailable>

/**
 * Settings of `layer`.
 *
 * @since 0.5.0
 * @category models
 */
export interface Options {
  /** Signs erasure reports (`Report.SigningKey.fromSecret` of the master secret). */
  readonly signingKey: Report.SigningKey
  /** The tombstone of an erased pseudonym: @openaudience/collector's `Erased.tombstone`. */
  readonly tombstone: (pseudonym: string) => string
  /** Called with each tombstone once it is recorded (a collector's set in memory). */
  readonly onTombstone?: ((tenant: string, tombstone: string) => void) | undefined
  /** The audit actor of a request's actor string; default `auditActor`. */
  readonly actor?: ((actor: string) => AuditEntry.Actor) | undefined
  /** Runs before each erasure's transaction (a server waits until every acknowledged event is stored). */
  readonly beforeTransaction?: Effect.Effect<void> | undefined
  /** Runs before the tombstones are recorded and the rows deleted (flush writes still waiting in memory). */
  readonly beforeErase?: Hook | undefined
  /** Runs after a verified erasure (caches of the erased subjects). */
  readonly afterErase?: Hook | undefined
  /** Runs after an objection or restriction is recorded. */
  readonly afterObjection?: Hook | undefined
  /** Sends a webhook (see `Dsar.Options.send`). */
  readonly send: Dsar.Options["send"]
}

/**
 * The audit actor of a DSAR actor string: `key:ID` and `user:ID` as they are, `operator…` the operator, `visitor`
 * the privacy center, anything else the DSAR service itself.
 *
 * @since 0.5.0
 * @category models
 */
export const auditActor = (actor: string): AuditEntry.Actor => {
  const [kind, ...rest] = actor.split(":")
  const id = rest.join(":")
  if ((kind === "key" || kind === "user") && id.length > 0) return { kind, id }
  if (kind?.startsWith("operator") === true) return { kind: "operator", id: "operator" }
  return { kind: "system", id: kind === "visitor" ? "privacy-center" : "dsar" }
}

const unavailable = (store: string) => (error: { readonly message: string }) =>
  new Registry.StoreUnavailable({ store, message: error.message })

const storeError = (error: { readonly message: string }) =>
  new DsarStore.DsarStoreError({ reason: "Unavailable", message: error.message })

/**
 * The `Dsar` service over the SQL stores (see the module docs).
 *
 * @since 0.5.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<
  Dsar.Dsar,
  never,
  | SqlClient.SqlClient
  | AuditLog.AuditLog
  | Vault.Vault
  | SqlErasedVisitors.ErasedVisitors
  | Registry.Registry
  | DsarStore.DsarStore
> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLog.AuditLog
      const vault = yield* Vault.Vault
      const tombstones = yield* SqlErasedVisitors.ErasedVisitors
      const transaction = SqlSubjectStores.makeTransaction(sql)
      const actor = options.actor ?? auditActor
      const before = options.beforeTransaction
      const recordTombstones: Hook = (subjects) =>
        Effect.forEach(
          subjects,
          (subject) =>
            subject._tag !== "Visitor"
              ? Effect.void
              : Effect.gen(function* () {
                  const tombstone = options.tombstone(subject.visitor)
                  const at = yield* Clock.currentTimeMillis
                  yield* tombstones
                    .record(subject.tenant, tombstone, at)
                    .pipe(Effect.mapError(unavailable("erased-visitors")))
                  options.onTombstone?.(subject.tenant, tombstone)
                }),
          { discard: true }
        )
      return Dsar.layer({
        signingKey: options.signingKey,
        transaction: before === undefined ? transaction : (self) => Effect.zipRight(before, transaction(self)),
        audit: (entry) =>
          audit
            .append({
              tenant: entry.tenant,
              actor: actor(entry.actor),
              action: entry.action,
              target: entry.target,
              outcome: "success",
              details: AuditEntry.redactDetails(entry.details)
            })
            .pipe(
              Effect.asVoid,
              Effect.catchAll((error) => Effect.logError(`could not write the audit log: ${error.message}`))
            ),
        beforeErase: (subjects) =>
          Effect.zipRight(options.beforeErase?.(subjects) ?? Effect.void, recordTombstones(subjects)),
        afterErase: options.afterErase,
        afterObjection: options.afterObjection,
        sealSecret: (tenant, secret) =>
          vault
            .encrypt(tenant, "dsar-recipients", "webhook-secret", Redacted.value(secret))
            .pipe(Effect.mapError(storeError)),
        openSecret: (tenant, sealed) =>
          vault
            .decrypt(tenant, "dsar-recipients", "webhook-secret", sealed)
            .pipe(Effect.map(Redacted.make), Effect.mapError(storeError)),
        send: options.send
      })
    })
  )
