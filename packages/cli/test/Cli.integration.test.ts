/**
 * The `openaudience` command on PostgreSQL, in a schema of the test's own: the same life of a tenant, and the same
 * audit log verification (an entry altered in the table is found), as on SQLite.
 */
import { afterAll, beforeAll, describe, it } from "@effect/vitest"
import { freshSchema, postgresUrl, runsOnPostgres, unreachable } from "./support/postgres.js"
import { auditScenario } from "./support/audit.js"
import { tenantLifecycle } from "./support/scenario.js"

if (!runsOnPostgres) console.warn(`openaudience on PostgreSQL: not run, ${postgresUrl} is unreachable: ${unreachable}`)

describe.runIf(runsOnPostgres)("openaudience on PostgreSQL", () => {
  const schema = freshSchema("oa_test_cli")
  // The audit scenario counts every entry of the log: a schema of its own.
  const auditSchema = freshSchema("oa_test_cli_audit")
  beforeAll(() => Promise.all([schema.create(), auditSchema.create()]))
  afterAll(() => Promise.all([schema.drop(), auditSchema.drop()]))

  it("manages a tenant's life: create, add a site, create a key shown once, list, revoke, delete", async () => {
    await tenantLifecycle(schema.url)
  }, 300_000)

  it("verifies the audit log, lists a tenant's entries, and fails naming an entry altered in the table", async () => {
    await auditScenario(auditSchema.url)
  }, 300_000)
})
