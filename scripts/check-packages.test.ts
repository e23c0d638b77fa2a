/**
 * Tests for the ranges column of the package checks: a packed library must not keep workspace-only ranges,
 * and its runtime dependencies and peers must be ranges, while its dev dependencies may stay pinned.
 */
import { assert, describe, it } from "@effect/vitest"
import { checkRanges, isExactPin } from "./check-packages.mjs"

describe("checkRanges", () => {
  it("passes caret and tilde ranges in dependencies and peers, and pinned dev dependencies", () => {
    const result = checkRanges({
      dependencies: { cookie: "^1.1.1", "@openaudience/event-schema": "^0.1.0", nats: "~2.29.3" },
      peerDependencies: { effect: "^3.22.4", "@effect/sql-pg": ">=0.53.0 <0.54.0" },
      devDependencies: { effect: "3.22.4" }
    })
    assert.deepStrictEqual(result, { errors: [], warnings: [] })
  })

  it("fails an exact pin in dependencies, peers or optional dependencies, saying which range to use", () => {
    const { errors } = checkRanges({
      dependencies: { "ua-parser-js": "1.0.41" },
      peerDependencies: { effect: "=3.22.4" },
      optionalDependencies: { fsevents: "2.3.3" }
    })
    assert.strictEqual(errors.length, 1)
    assert.include(errors[0], "dependencies.ua-parser-js: 1.0.41 (use ^1.0.41)")
    assert.include(errors[0], "peerDependencies.effect: =3.22.4 (use ^3.22.4)")
    assert.include(errors[0], "optionalDependencies.fsevents: 2.3.3")
  })

  it("fails a workspace: range left in the packed manifest", () => {
    const { errors } = checkRanges({ dependencies: { "@openaudience/audience": "workspace:^" } })
    assert.deepStrictEqual(errors, [
      "ranges: unpublishable ranges left in: dependencies.@openaudience/audience: workspace:^"
    ])
  })

  it("tells exact versions from ranges", () => {
    for (const pin of ["1.2.3", "=1.2.3", "v1.2.3", "1.0.0-rc.1", " 2.0.0 "]) assert.isTrue(isExactPin(pin), pin)
    for (const range of ["^1.2.3", "~1.2.3", ">=1.2.3", "1.x", "*", "1.2.3 || 2.0.0", "latest"]) {
      assert.isFalse(isExactPin(range), range)
    }
  })
})
