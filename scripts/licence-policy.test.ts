/**
 * Tests for the licence policy that gates the production dependencies of every published library:
 * SPDX `OR` lets a user pick an allowed licence, `AND` needs every part allowed, and copyleft,
 * proprietary and missing licences are denied.
 */
import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { allowedLicences, classify, licenceOf } from "./licence-policy.mjs"

const denied = ["GPL-3.0", "GPL-2.0-or-later", "AGPL-3.0-only", "LGPL-2.1", "SSPL-1.0", "UNLICENSED", "BUSL-1.1"]

describe("classify", () => {
  it("allows the permissive licences libraries commonly use", () => {
    for (const id of ["MIT", "ISC", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "0BSD", "BlueOak-1.0.0"]) {
      assert.isTrue(classify(id).allowed, id)
    }
    for (const id of ["CC0-1.0", "Unlicense", "Python-2.0", "MPL-2.0", "CC-BY-4.0"]) {
      assert.isTrue(classify(id).allowed, id)
    }
  })

  it("allows a dual licence when the user may choose a permissive side", () => {
    assert.deepStrictEqual(classify("(MIT OR GPL-3.0)"), { allowed: true, reason: "MIT" })
    assert.isTrue(classify("(GPL-3.0-only OR Apache-2.0)").allowed)
    assert.isTrue(classify("(BSD-2-Clause OR MIT OR Apache-2.0)").allowed)
  })

  it("denies a conjunction that includes copyleft, naming the culprit", () => {
    const verdict = classify("GPL-3.0 AND MIT")
    assert.isFalse(verdict.allowed)
    assert.include(verdict.reason, "GPL-3.0")
    assert.isFalse(classify("(MIT AND (LGPL-2.1 OR GPL-2.0))").allowed)
  })

  it("denies strong and network copyleft in any spelling", () => {
    for (const id of ["AGPL-3.0-only", "AGPL-3.0-or-later", "GPL-2.0+", "gpl-3.0", "LGPL-3.0-only", "SSPL-1.0"]) {
      const verdict = classify(id)
      assert.isFalse(verdict.allowed, id)
      assert.match(verdict.reason, /copyleft/, id)
    }
  })

  it("denies proprietary, missing and unparseable licences", () => {
    assert.deepStrictEqual(classify("UNLICENSED"), { allowed: false, reason: "UNLICENSED (proprietary)" })
    assert.isFalse(classify(undefined).allowed)
    assert.isFalse(classify("").allowed)
    assert.isFalse(classify("SEE LICENSE IN LICENSE.md").allowed)
    assert.isFalse(classify("(MIT OR").allowed)
    assert.isFalse(classify("MIT OR OR ISC").allowed)
    assert.isFalse(classify("WTFPL").allowed)
  })

  it("judges a licence with an exception by its base licence", () => {
    assert.isTrue(classify("Apache-2.0 WITH LLVM-exception").allowed)
    assert.isFalse(classify("GPL-2.0-only WITH Classpath-exception-2.0").allowed)
  })

  const allowedId = FastCheck.constantFrom(...allowedLicences)
  const deniedId = FastCheck.constantFrom(...denied)

  it.prop("OR with any allowed licence is allowed", [allowedId, deniedId, FastCheck.boolean()], ([ok, bad, first]) => {
    assert.isTrue(classify(first ? `(${ok} OR ${bad})` : `${bad} OR ${ok}`).allowed)
  })

  it.prop("AND with any denied licence is denied", [allowedId, deniedId, FastCheck.boolean()], ([ok, bad, first]) => {
    assert.isFalse(classify(first ? `(${ok} AND ${bad})` : `${bad} AND ${ok}`).allowed)
  })
})

describe("licenceOf", () => {
  it("reads the SPDX string and the legacy object and array forms", () => {
    assert.strictEqual(licenceOf({ license: "MIT" }), "MIT")
    assert.strictEqual(licenceOf({ license: { type: "ISC", url: "https://example.com" } }), "ISC")
    assert.strictEqual(licenceOf({ licenses: [{ type: "MIT" }, { type: "Apache-2.0" }] }), "(MIT OR Apache-2.0)")
    assert.strictEqual(licenceOf({ name: "no-licence" }), undefined)
    assert.isFalse(classify(licenceOf({ license: "" })).allowed)
  })
})
