import { layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { EventStore } from "../src/index.js"
import { eventStoreSuite } from "./eventStoreSuite.js"
import { sqliteLayer } from "./fixtures.js"

layer(EventStore.layerMemory, { excludeTestServices: true })("EventStore (memory)", eventStoreSuite)

layer(EventStore.layer.pipe(Layer.provide(sqliteLayer)), { excludeTestServices: true })(
  "EventStore (SQLite)",
  eventStoreSuite
)
