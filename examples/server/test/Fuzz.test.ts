/**
 * Fuzzing every endpoint and route (see `support/fuzz.ts`) on the default store, a SQLite file.
 */
import { fuzzSuite } from "./support/fuzz.js"
import { startServer } from "./support/server.js"

fuzzSuite("fuzzing the server on SQLite", () => startServer())
