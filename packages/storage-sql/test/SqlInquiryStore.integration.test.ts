import { assert, describe, it, layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { inquiriesSuite, servicesOver } from "../../inquiries/test/inquiriesSuite.js"
import { SqlInquiryStore, SqlKeyStore } from "../src/index.js"
import { postgresSchemaLayer, postgresUrl, probePostgres } from "./fixtures.js"

const postgres = await probePostgres()

if (postgres.ok) {
  layer(
    servicesOver(
      Layer.merge(SqlInquiryStore.layer, SqlKeyStore.layer).pipe(
        Layer.provide(postgresSchemaLayer("oa_test_inquiries"))
      )
    ),
    { excludeTestServices: true, timeout: "30 seconds" }
  )("Inquiries over SqlInquiryStore (PostgreSQL)", inquiriesSuite)
} else if (process.env.CI === "true") {
  describe("SqlInquiryStore (PostgreSQL)", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is unreachable in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`SqlInquiryStore (PostgreSQL) skipped: PostgreSQL unreachable at ${postgresUrl} (${postgres.reason})`, () => {
    it("runs the inquiries suite on PostgreSQL", () => {})
  })
}
