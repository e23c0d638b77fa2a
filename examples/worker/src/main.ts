/**
 * Runs the worker alone (scale-out shape): `OA_DATABASE_URL` names the shared database whose event log it
 * consumes and whose audiences and memberships it keeps. The embedded shape runs the same layer inside the
 * server process instead.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { AudienceStore, Database, EventStore, SqlEventLog, SqlMembershipStore } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Worker from "./Worker.js"

const stores = Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)

const main = Worker.layerSql.pipe(Layer.provide(stores), Layer.provide(Database.layerConfig))

NodeRuntime.runMain(Layer.launch(main).pipe(Effect.tapErrorCause(Effect.logError)))
