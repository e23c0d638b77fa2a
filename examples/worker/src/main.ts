/**
 * Runs the worker alone (scale-out shape): `OA_DATABASE_URL` names the shared database whose event log it
 * consumes. The embedded shape runs the same layer inside the server process instead.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { SqlEventLog } from "@openaudience/eventlog"
import { Database } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Worker from "./Worker.js"

const main = Worker.layer.pipe(Layer.provide(SqlEventLog.layer), Layer.provideMerge(Database.layerConfig))

NodeRuntime.runMain(Layer.launch(main).pipe(Effect.tapErrorCause(Effect.logError)))
