/**
 * Runs the standard workers alone (scale-out shape): `OA_DATABASE_URL` names the shared database whose audiences,
 * memberships and counts they keep, and `OA_EVENTLOG` the log they consume: `sql` (default, the `event_log` tables
 * of that database, the jobs sharing each read) or `nats://host:4222` (JetStream, filled by the server's relay; each
 * job reads for itself). The embedded shape runs the same workers inside the server process instead.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { EventLog } from "@openaudience/eventlog"
import {
  AudienceStore,
  Database,
  EventStore,
  SqlEventLog,
  SqlMembershipStore,
  Workers
} from "@openaudience/storage-sql"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"

const stores = Layer.mergeAll(SqlEventLog.layerConfig, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)

const workers = Layer.unwrapEffect(
  Effect.map(EventLog.selectionConfig, (selection) => Workers.layer({ sharedRead: selection._tag === "Sql" }))
)

/** One logger for everything: JSON lines with OA_LOG_FORMAT=json, pretty otherwise. */
const logging = Layer.unwrapEffect(
  Effect.map(Config.literal("json", "pretty")("OA_LOG_FORMAT").pipe(Config.withDefault("pretty")), (format) =>
    format === "json" ? Logger.json : Logger.pretty
  )
)

const main = workers.pipe(Layer.provide(stores), Layer.provide(Database.layerConfig))

NodeRuntime.runMain(Layer.launch(main).pipe(Effect.tapErrorCause(Effect.logError), Effect.provide(logging)), {
  disablePrettyLogger: true
})
