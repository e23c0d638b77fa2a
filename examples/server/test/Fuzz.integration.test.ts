/**
 * Fuzzing every endpoint and route (see `support/fuzz.ts`) on PostgreSQL, in a schema of the test's own that is
 * dropped afterwards. Fails in CI when PostgreSQL is unreachable.
 */
import { describe } from "@effect/vitest"
import { fuzzSuite } from "./support/fuzz.js"
import { freshSchema, runsOnPostgres, warnWhenSkipped } from "./support/postgres.js"
import { startServer } from "./support/server.js"

const schema = freshSchema("oa_test_fuzz")

warnWhenSkipped("fuzzing on PostgreSQL")

describe.runIf(runsOnPostgres)("on PostgreSQL", () => {
  fuzzSuite(
    "fuzzing the server on PostgreSQL",
    async () => {
      await schema.create()
      return startServer({ databaseUrl: schema.url, catalogMaxBytes: 4 * 1024 * 1024 })
    },
    () => schema.drop()
  )
})
