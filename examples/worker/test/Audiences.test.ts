import { layer } from "@effect/vitest"
import { SqlEventLog } from "@openaudience/eventlog"
import { AudienceStore, Database, EventStore, SqlMembershipStore } from "@openaudience/storage-sql"
import * as Layer from "effect/Layer"
import { audiencesSuite } from "./audiencesSuite.js"

const stores = Layer.mergeAll(SqlEventLog.layer, EventStore.layer, AudienceStore.layer, SqlMembershipStore.layer)

layer(stores.pipe(Layer.provideMerge(Database.layerFromUrl("sqlite::memory:"))), { timeout: "60 seconds" })(
  "audience job (SQLite)",
  audiencesSuite
)
