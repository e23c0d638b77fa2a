import { layer } from "@effect/vitest"
import { Consumer } from "@openaudience/eventlog"
import * as Layer from "effect/Layer"
import * as DailyCounts from "../src/DailyCounts.js"
import { AudienceStore, Database, EventStore, SqlAudienceJob, SqlEventLog, SqlMembershipStore } from "../src/index.js"
import { audienceJobSuite } from "./audienceJobSuite.js"
import { collectMemory, memoryLayer } from "./audienceJobMemory.js"
import { collect } from "./collect.js"

layer(memoryLayer, { timeout: "60 seconds" })("audience job (memory)", audienceJobSuite(collectMemory))

const stores = Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)
const sqlite = () =>
  SqlAudienceJob.layer.pipe(
    Layer.provideMerge(stores),
    Layer.provideMerge(Layer.effectDiscard(DailyCounts.migrate)),
    Layer.provideMerge(Database.layerFromUrl("sqlite::memory:"))
  )

layer(sqlite(), { timeout: "60 seconds" })("audience job (SQLite)", audienceJobSuite(collect))

// The same suite with the daily counts sharing each read of the log, as the worker runs its jobs over the SQL log.
layer(sqlite(), { timeout: "60 seconds" })(
  "audience job sharing reads with the daily counts (SQLite)",
  audienceJobSuite(collect, Consumer.step([DailyCounts.job, SqlAudienceJob.job]))
)
