/**
 * The in-memory store has the store semantics: the suite every `TenancyStore` runs (storage-sql runs it on SQLite and
 * PostgreSQL).
 */
import { layer } from "@effect/vitest"
import { tenancySuite } from "../../storage-sql/test/tenancySuite.js"
import { TenancyStore } from "../src/index.js"

layer(TenancyStore.layerMemory, { excludeTestServices: true })("TenancyStore (memory)", tenancySuite)
