/**
 * Fuzzing every endpoint and route (see `support/fuzz.ts`) on the default store, a SQLite file.
 */
import { fuzzSuite } from "./support/fuzz.js"
import { startServer } from "./support/server.js"

// A product feed's own body limit, smaller than the default so that an endless body reaches it quickly under load.
fuzzSuite("fuzzing the server on SQLite", () => startServer({ catalogMaxBytes: 4 * 1024 * 1024 }))
