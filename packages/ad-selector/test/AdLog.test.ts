/**
 * The in-memory ad log and campaign store have the behaviour of every store (storage-sql runs the same suites on
 * SQLite and PostgreSQL).
 */
import { layer } from "@effect/vitest"
import * as AdLog from "../src/AdLog.js"
import * as CampaignStore from "../src/CampaignStore.js"
import { adLogSuite } from "./adLogSuite.js"
import { campaignStoreSuite } from "./campaignStoreSuite.js"

layer(AdLog.layerMemory, { excludeTestServices: true })("AdLog (in memory)", adLogSuite)
layer(CampaignStore.layerMemory, { excludeTestServices: true })("CampaignStore (in memory)", campaignStoreSuite)
