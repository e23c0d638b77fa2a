import { layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { SqlEventLog } from "../src/index.js"
import { sqliteLayer } from "./fixtures.js"
import { workerLagSuite } from "./workerLagSuite.js"

layer(Layer.effectDiscard(SqlEventLog.migrate).pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "WorkerLag (SQLite)",
  workerLagSuite
)
