import { layer } from "@effect/vitest"
import * as DsarStore from "../src/DsarStore.js"
import { dsarStoreSuite } from "./dsarStoreSuite.js"

layer(DsarStore.layerMemory, { excludeTestServices: true })("DsarStore (in memory)", dsarStoreSuite)
