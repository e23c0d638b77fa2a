import { layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { EventStore } from "../src/index.js"
import { eventReportsSuite } from "./eventReportsSuite.js"
import { sqliteLayer } from "./fixtures.js"

layer(EventStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "EventReports (SQLite)",
  eventReportsSuite
)
