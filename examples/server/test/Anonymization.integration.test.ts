/**
 * The anonymizer end to end on PostgreSQL: the same scenario as on SQLite (support/anonymizationScenario.ts), the
 * server writing to a schema of the test's own, every table of which is scanned for raw values before the schema
 * is dropped. Fails in CI when PostgreSQL is unreachable.
 */
import { afterAll, beforeAll, describe } from "@effect/vitest"
import { anonymizationSuite } from "./support/anonymizationScenario.js"
import { freshSchema, runsOnPostgres, warnWhenSkipped } from "./support/postgres.js"
import { startServer } from "./support/server.js"

const schema = freshSchema("oa_test_anon")

warnWhenSkipped("anonymization on PostgreSQL")

describe.runIf(runsOnPostgres)("anonymization end to end on PostgreSQL", () => {
  beforeAll(async () => {
    await schema.create()
  })
  afterAll(async () => {
    await schema.drop()
  })

  anonymizationSuite({
    start: (overrides) => startServer({ ...overrides, databaseUrl: schema.url }),
    database: () => ({ url: schema.url, target: { dialect: "pg", schema: schema.name } }),
    scanDataDir: false
  })
})
