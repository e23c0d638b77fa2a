import { layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { AudienceStore } from "../src/index.js"
import { audienceStoreSuite } from "./audienceStoreSuite.js"
import { sqliteLayer } from "./fixtures.js"

layer(AudienceStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "AudienceStore (SQLite)",
  audienceStoreSuite
)
