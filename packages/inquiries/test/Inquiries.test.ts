/**
 * The service over the in-memory stores has the behaviour of every store (storage-sql runs the same suite on SQLite
 * and PostgreSQL), and `readers` is exactly owner and privacy.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Role } from "@openaudience/tenancy"
import { KeyStore } from "@openaudience/vault"
import * as Layer from "effect/Layer"
import { Inquiry, InquiryStore } from "../src/index.js"
import { inquiriesSuite, servicesOver } from "./inquiriesSuite.js"

layer(servicesOver(Layer.merge(InquiryStore.layerMemory, KeyStore.layerMemory)), { excludeTestServices: true })(
  "Inquiries (in-memory stores)",
  inquiriesSuite
)

describe("Inquiry.readers", () => {
  it("lets owner and privacy read inquiries, and no other role", () => {
    assert.deepStrictEqual(
      Role.all.filter((role) => Inquiry.canRead(role)),
      ["owner", "privacy"]
    )
    assert.deepStrictEqual(Inquiry.readers, ["owner", "privacy"])
  })
})
