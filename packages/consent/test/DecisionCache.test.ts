import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Decision from "../src/Decision.js"
import * as DecisionCache from "../src/DecisionCache.js"
import type * as Jurisdiction from "../src/Jurisdiction.js"
import * as Policy from "../src/Policy.js"
import type * as Signals from "../src/Signals.js"
import { mutations } from "./fixtures/mutations.js"
import { tcString } from "./fixtures/reference.js"
import { gppStrings, tcStrings, uspStrings } from "./fixtures/strings.js"

const events: fc.Arbitrary<Signals.Signals> = fc.record(
  {
    gpc: fc.boolean(),
    dnt: fc.boolean(),
    optout: fc.boolean(),
    tcf: fc.oneof(
      fc.constantFrom(...Object.values(tcStrings)),
      fc.constantFrom(...Object.values(tcStrings)).chain(mutations)
    ),
    gpp: fc.oneof(
      fc.constantFrom(...Object.values(gppStrings)),
      fc.constantFrom(...Object.values(gppStrings)).chain(mutations)
    ),
    gppSid: fc.uniqueArray(fc.constantFrom(2, 7, 8), { maxLength: 2 }),
    usp: fc.constantFrom(...uspStrings),
    coppa: fc.boolean()
  },
  { requiredKeys: ["gpc", "dnt", "optout"] }
)

const jurisdictions = fc.constantFrom<Jurisdiction.Jurisdiction>("EU", "US-CA", "US", "other", "unknown")
const policies = fc.constantFrom<Policy.Policy>(
  Policy.demo,
  Policy.default,
  { ...Policy.demo, vendorId: 755, disallowed: "drop", allowIdentifierFreeEvents: false },
  { ...Policy.demo, dnt: "ignore", childDirected: true }
)

describe("DecisionCache", () => {
  it.prop(
    "decides exactly as Decision.decide, whatever the sequence of events and the capacity",
    [
      fc.array(fc.tuple(events, policies, jurisdictions), { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 0, max: 8 })
    ],
    ([sequence, capacity]) => {
      const cache = DecisionCache.make(capacity)
      for (const [signals, policy, jurisdiction] of sequence) {
        assert.deepStrictEqual(
          cache.decide(signals, policy, jurisdiction),
          Decision.decide(signals, policy, jurisdiction)
        )
      }
      const stats = cache.stats()
      assert.isAtMost(stats.tcf, capacity)
      assert.isAtMost(stats.gpp, capacity)
      assert.isAtMost(stats.usp, capacity)
    },
    { fastCheck: { numRuns: 200 } }
  )

  it("decodes each distinct string once while it stays cached", () => {
    const cache = DecisionCache.make(16)
    const signals = { gpc: false, dnt: false, optout: false, tcf: tcStrings.full, gpp: gppStrings.usnatAllowed }
    for (let i = 0; i < 1_000; i++) cache.decide(signals, Policy.demo, i % 2 === 0 ? "EU" : "US-CA")
    assert.strictEqual(cache.stats().decodes, 2)
    assert.deepInclude(cache.stats(), { tcf: 1, gpp: 1, usp: 0, decodes: 2 })
  })

  it("is bounded: the least recently used string is evicted first", () => {
    const cache = DecisionCache.make(2)
    const at = (tcf: string) => cache.decide({ gpc: false, dnt: false, optout: false, tcf }, Policy.demo, "EU")
    at(tcStrings.full)
    at(tcStrings.rejectAll)
    at(tcStrings.full) // full is now the most recent
    at(tcStrings.noPurpose1) // evicts rejectAll
    assert.strictEqual(cache.stats().decodes, 3)
    at(tcStrings.full)
    assert.strictEqual(cache.stats().decodes, 3)
    at(tcStrings.rejectAll)
    assert.strictEqual(cache.stats().decodes, 4)
    assert.strictEqual(cache.stats().tcf, 2)
    cache.clear()
    assert.deepStrictEqual(cache.stats(), { tcf: 0, gpp: 0, usp: 0, decodes: 4, bytes: 0 })
  })

  it("is bounded in memory: hostile strings with thousands of vendor ranges cannot pin more than the budget", () => {
    const budget = 2 * 1024 * 1024
    const cache = DecisionCache.make(1_000, budget)
    // Alternating vendor bits: every string decodes to thousands of single-vendor ranges.
    const hostile = (n: number) =>
      tcString({
        purposeConsents: [1],
        vendorConsents: Array.from({ length: 2_000 }, (_, i) => 2 * i + 1 + (n % 2)),
        cmpId: 2 + n
      })
    for (let n = 0; n < 100; n++) {
      const tcf = hostile(n)
      assert.deepStrictEqual(
        cache.decide({ gpc: false, dnt: false, optout: false, tcf }, Policy.demo, "EU"),
        Decision.decide({ gpc: false, dnt: false, optout: false, tcf }, Policy.demo, "EU")
      )
    }
    const stats = cache.stats()
    assert.isAtMost(stats.bytes, budget)
    assert.isBelow(stats.tcf, 100)
    assert.isAbove(stats.tcf, 0)
    // A single entry heavier than the whole budget is decided but not kept.
    const tiny = DecisionCache.make(10, 1_000)
    tiny.decide({ gpc: false, dnt: false, optout: false, tcf: hostile(0) }, Policy.demo, "EU")
    assert.deepInclude(tiny.stats(), { tcf: 0, bytes: 0 })
  })

  it("caches failures too: a malformed string is rejected once, then answered from the cache", () => {
    const cache = DecisionCache.make()
    const signals = { gpc: false, dnt: false, optout: false, tcf: tcStrings.policyVersion3 }
    const first = cache.decide(signals, Policy.demo, "EU")
    const second = cache.decide(signals, Policy.demo, "EU")
    assert.deepStrictEqual(first, second)
    assert.deepStrictEqual(first.reasons, ["tcf:invalid:policy-version"])
    assert.strictEqual(cache.stats().decodes, 1)
    assert.strictEqual(cache.capacity, DecisionCache.DefaultCapacity)
  })
})
