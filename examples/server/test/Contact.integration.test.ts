/**
 * The contact form on PostgreSQL (a schema of the test's own, dropped afterwards): see `support/contact.ts`. Fails
 * in CI when PostgreSQL is unreachable.
 */
import { it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { contactScenario } from "./support/contact.js"
import { describeOnPostgres } from "./support/postgres.js"
import { operatorKey } from "./support/tenancy.js"

describeOnPostgres(
  "the contact form (PostgreSQL)",
  "oa_test_contact",
  { operatorKey: Redacted.make(operatorKey) },
  (server) => {
    it("keeps inquiries encrypted, for privacy readers only, until erased", { timeout: 60_000 }, async () => {
      await contactScenario(server(), false)
    })
  }
)
