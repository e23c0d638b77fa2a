import { layer } from "@effect/vitest"
import { AudienceStore, Database, EventStore, SqlEventLog, SqlMembershipStore } from "@openaudience/storage-sql"
import * as Layer from "effect/Layer"
import { Worker } from "../src/index.js"
import { audiencesSuite, audiencesSuiteWith } from "./audiencesSuite.js"

const stores = Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)
const sqlite = () => stores.pipe(Layer.provideMerge(Database.layerFromUrl("sqlite::memory:")))

layer(sqlite(), { timeout: "60 seconds" })("audience job (SQLite)", audiencesSuite)

// The same suite with both jobs sharing each read of the log, as the worker runs them over the SQL event log.
layer(sqlite(), { timeout: "60 seconds" })(
  "audience job in the worker's shared step (SQLite)",
  audiencesSuiteWith(Worker.step())
)
