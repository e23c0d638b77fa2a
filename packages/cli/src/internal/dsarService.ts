/**
 * The data-subject request service of the `dsar` commands, assembled as the server assembles it (see the example
 * server's `Privacy.ts`), without HTTP: @openaudience/dsar's `Dsar` over storage-sql's subject-data registry
 * (`SqlSubjectStores`) and `SqlDsarStore`, reports signed with the key derived from the server's master secret
 * (`OA_SECRET`, else `OA_DATA_DIR/dev-secret.key`, checked against the database as the server checks it), webhook
 * secrets sealed by the vault, every step appended to the audit log as the command line's operator, and the erased
 * visitors' tombstones recorded (a running server loads them within seconds).
 *
 * Before a command runs, every storage-sql migration is applied (as a server applies them at start), so each
 * registered store finds its tables. The stores are wrapped to report their progress (`Progress`).
 *
 * Webhooks are not sent here: erasures queue them, and the server's worker sends them.
 */
import * as Command from "@effect/cli/Command"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { AuditEntry, AuditLog } from "@openaudience/audit"
import { Erased } from "@openaudience/collector"
import { type Dsar, Registry, Report } from "@openaudience/dsar"
import {
  Database,
  SqlAuditLog,
  SqlDsar,
  SqlDsarStore,
  SqlErasedVisitors,
  SqlKeyStore,
  SqlSubjectStores,
  SqlTenancyStore,
  type StorageError
} from "@openaudience/storage-sql"
import type { TenancyStore } from "@openaudience/tenancy"
import type { SecretCheck } from "@openaudience/vault"
import { MasterKeys } from "@openaudience/vault"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { operator } from "./operatorAudit.js"
import * as Progress from "./progress.js"
import { dataDir, layerOf as vaultOf } from "./vault.js"

/**
 * What the `dsar` commands use: the service, the registry it runs over (its stores), the audit log, the tenants, and
 * the database (to check its live schema against the registry).
 */
export type Services =
  | Dsar.Dsar
  | Registry.Registry
  | AuditLog.AuditLog
  | TenancyStore.TenancyStore
  | SqlClient.SqlClient

/** Why the services could not be built. */
export type LayerError = StorageError | ConfigError.ConfigError | SecretCheck.SecretCheckError

/** The actor the commands give the service: recorded in a request's history, audited as the operator. */
export const actor = "operator:cli"

const migrateAll = SqlSubjectStores.migrateAll

/** The audit actor of a service actor: the command line's operator, or the service itself. */
const auditActor = (name: string): AuditEntry.Actor =>
  name.startsWith("operator") ? operator : { kind: "system", id: "dsar" }

/** The service as the server assembles it (storage-sql's `SqlDsar`), without webhooks (the server sends them). */
const service = (secrets: MasterKeys.Secrets) =>
  SqlDsar.layer({
    signingKey: Report.SigningKey.fromSecret(secrets.current),
    // A running server loads the tombstones within seconds and gives the erased visitors' browsers new pseudonyms.
    tombstone: Erased.tombstone,
    actor: auditActor,
    send: () => Effect.fail("webhooks are sent by the server")
  })

/** The registry of storage-sql's stores, each reporting its progress. */
const registry = Layer.effect(
  Registry.Registry,
  Effect.map(SqlSubjectStores.stores, (stores) => ({ stores: stores.map(Progress.tracked) }))
)

/** The services on the database of `OA_DATABASE_URL`, with the master secret the server uses. */
export const layer: Layer.Layer<Services, LayerError> = Layer.unwrapEffect(
  Effect.gen(function* () {
    const secrets = yield* MasterKeys.loadOrCreate(yield* dataDir)
    const database = Layer.effectDiscard(migrateAll).pipe(Layer.provideMerge(Database.layerConfig))
    const stores = Layer.mergeAll(
      SqlAuditLog.layer,
      SqlKeyStore.layer,
      SqlTenancyStore.layer,
      SqlDsarStore.layer,
      SqlErasedVisitors.layer
    )
    return service(secrets).pipe(
      Layer.provideMerge(registry),
      Layer.provide(vaultOf(secrets)),
      Layer.provideMerge(stores),
      Layer.provideMerge(database)
    )
  })
) as Layer.Layer<Services, LayerError>

/** The layer of the `dsar` commands' services, put in context by `Cli.run`. */
export class DsarLayer extends Context.Tag("@openaudience/cli/DsarLayer")<
  DsarLayer,
  Layer.Layer<Services, LayerError>
>() {}

/** Provides the services to a command that needs them, built when the command runs. */
export const withDsar = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>) =>
  Command.provide(command, Layer.unwrapEffect(DsarLayer))
