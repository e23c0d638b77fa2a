/**
 * Campaigns and the catalog through the admin API on PostgreSQL: see `support/adsApi.ts`.
 */
import { it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { adsApiScenario } from "./support/adsApi.js"
import { describeOnPostgres } from "./support/postgres.js"

const operatorKey = "operator-test-key-ads-pg-0123456789"

describeOnPostgres(
  "campaigns and the catalog (PostgreSQL)",
  "oa_test_ads_api",
  { operatorKey: Redacted.make(operatorKey) },
  (server) => {
    it("are managed through the admin API, validated and kept per tenant", { timeout: 90_000 }, async () => {
      await adsApiScenario(server().url, operatorKey)
    })
  }
)
