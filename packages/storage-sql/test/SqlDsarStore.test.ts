/**
 * `SqlDsarStore` on SQLite (a file, and in memory) behaves like the in-memory store (the shared suite:
 * packages/dsar/test/dsarStoreSuite.ts); its migrations apply once, and of two concurrent updates of one request
 * read at one version exactly one wins.
 */
import { describe, layer } from "@effect/vitest"
import { Database, SqlDsarStore } from "../src/index.js"
import { dsarStoreSuite } from "../../dsar/test/dsarStoreSuite.js"
import { sqlDsarStoreSuite } from "./sqlDsarStoreSuite.js"
import { sqliteLayer } from "./fixtures.js"
import * as Layer from "effect/Layer"

layer(SqlDsarStore.layer.pipe(Layer.provide(sqliteLayer)), { excludeTestServices: true })(
  "DsarStore over SqlDsarStore (SQLite file)",
  dsarStoreSuite
)

layer(SqlDsarStore.layer.pipe(Layer.provide(Database.layerFromUrl("sqlite::memory:"))), {
  excludeTestServices: true
})("DsarStore over SqlDsarStore (SQLite in memory)", dsarStoreSuite)

describe("SqlDsarStore (SQLite file)", () => {
  sqlDsarStoreSuite(sqliteLayer)
})
