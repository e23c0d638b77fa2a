import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import * as Jurisdiction from "../src/Jurisdiction.js"
import * as Policy from "../src/Policy.js"

describe("Jurisdiction.fromCountry", () => {
  it("the EEA, the United Kingdom and Switzerland are EU", () => {
    for (const country of ["DE", "fr", "IE", "IS", "LI", "NO", "GB", "CH", "RE", " at "]) {
      assert.strictEqual(Jurisdiction.fromCountry(country), "EU", country)
    }
  })

  it("US states by region code, the US without one", () => {
    assert.strictEqual(Jurisdiction.fromCountry("US", "CA"), "US-CA")
    assert.strictEqual(Jurisdiction.fromCountry("us", "us-co"), "US-CO")
    assert.strictEqual(Jurisdiction.fromCountry("US"), "US")
    assert.strictEqual(Jurisdiction.fromCountry("US", "California"), "US")
    assert.isTrue(Jurisdiction.isUs("US-VA"))
    assert.isFalse(Jurisdiction.isUs("EU"))
  })

  it("other countries are other; no usable code is unknown", () => {
    for (const country of ["BR", "JP", "CA", "IN"]) assert.strictEqual(Jurisdiction.fromCountry(country), "other")
    for (const country of [undefined, null, "", "X", "123", "XX", "ZZ", "A1", "T1", "AP", "USA"]) {
      assert.strictEqual(Jurisdiction.fromCountry(country), "unknown", String(country))
    }
  })

  it("the schema accepts exactly the jurisdictions fromCountry produces", () => {
    const is = Schema.is(Jurisdiction.Jurisdiction)
    for (const j of ["EU", "US", "US-CA", "other", "unknown"]) assert.isTrue(is(j), j)
    for (const j of ["US-", "US-California", "DE", "eu"]) assert.isFalse(is(j), j)
  })
})

describe("Policy", () => {
  it("decodes a stored policy, filling defaults", () => {
    const decoded = Policy.decodeUnknown({ version: "2026-11-29.3", vendorId: 42 })
    assert.deepStrictEqual(Either.getOrThrow(decoded), {
      version: "2026-11-29.3",
      vendorId: 42,
      us: "opt-out",
      default: "opt-in",
      dnt: "opt-out",
      disallowed: "count",
      childDirected: false,
      allowIdentifierFreeEvents: true
    })
  })

  it("rejects malformed versions, unknown fields and bad vendor ids", () => {
    for (const input of [
      { version: "2026-11-29" },
      { version: "2026-13-01.1" },
      { version: "v1" },
      { version: "2026-11-29.1", eu: "opt-out" },
      { version: "2026-11-29.1", vendorId: 0 },
      { version: "2026-11-29.1", vendorId: 70_000 },
      { version: "2026-11-29.1", dnt: "honour" },
      { version: "2026-11-29.1", disallowed: "keep" }
    ]) {
      assert.isTrue(Either.isLeft(Policy.decodeUnknown(input)), JSON.stringify(input))
    }
  })

  it("the built-in policies are valid policies", () => {
    for (const policy of [Policy.default, Policy.defaultPolicy, Policy.demo]) {
      assert.deepStrictEqual(Either.getOrThrow(Policy.decodeUnknown(policy)), policy)
    }
  })

  it("EU is always opt-in; US follows `us`; unknown follows `unknown`, else `default`", () => {
    const everywhereOptOut: Policy.Policy = { ...Policy.default, us: "opt-out", default: "opt-out" }
    assert.strictEqual(Policy.modelFor(everywhereOptOut, "EU"), "opt-in")
    assert.strictEqual(Policy.modelFor(Policy.default, "US-CA"), "opt-out")
    assert.strictEqual(Policy.modelFor(Policy.default, "US"), "opt-out")
    assert.strictEqual(Policy.modelFor(Policy.default, "other"), "opt-in")
    assert.strictEqual(Policy.modelFor(Policy.default, "unknown"), "opt-in")
    assert.strictEqual(Policy.modelFor(Policy.demo, "unknown"), "opt-out")
    assert.strictEqual(Policy.modelFor(Policy.demo, "other"), "opt-in")
    assert.strictEqual(Policy.modelFor(everywhereOptOut, "other"), "opt-out")
  })
})
