/**
 * The anonymizer end to end on SQLite: a few thousand events with real-looking addresses, real user agents and
 * URLs full of personal data go through the collector's three entrances, then every table, every file of the
 * data folder, the admin API's answers and the server's logs are scanned for any raw value (see
 * support/anonymizationScenario.ts).
 */
import { describe } from "@effect/vitest"
import { join } from "node:path"
import { anonymizationSuite } from "./support/anonymizationScenario.js"
import { startServer } from "./support/server.js"

describe("anonymization end to end on SQLite", () => {
  anonymizationSuite({
    start: (overrides) => startServer(overrides),
    database: (server) => ({ url: `sqlite:${join(server.dataDir, "test.db")}`, target: { dialect: "sqlite" } }),
    scanDataDir: true
  })
})
