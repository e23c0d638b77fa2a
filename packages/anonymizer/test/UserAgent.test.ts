import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import UAParser from "ua-parser-js"
import * as UserAgent from "../src/UserAgent.js"
import { bots, people } from "./fixtures/userAgents.js"

// The shared corpus when the checkout has it beside the repository (as CI lays it out), else the fixture.
const corpusPath = fileURLToPath(new URL("../../../../shared/data/user-agents.txt", import.meta.url))
const corpus: ReadonlyArray<string> = existsSync(corpusPath)
  ? readFileSync(corpusPath, "utf8")
      .split("\n")
      .filter((line) => line !== "")
  : [...people.map(([ua]) => ua), ...bots]

describe("UserAgent.generalize", () => {
  it("generalizes real browsers to family, major version, OS family and device class", () => {
    for (const [ua, expected] of people) {
      assert.deepStrictEqual(UserAgent.generalize(ua), { ...expected, bot: false }, ua)
    }
  })

  it("flags bots, crawlers, headless browsers and scripts as device bot", () => {
    for (const ua of bots) {
      const result = UserAgent.generalize(ua)
      assert.isTrue(result.bot, ua)
      assert.strictEqual(result.device, "bot", ua)
    }
    assert.deepStrictEqual(UserAgent.generalize(""), { ...UserAgent.unknown, device: "bot", bot: true })
    assert.deepStrictEqual(UserAgent.generalize(undefined), { ...UserAgent.unknown, device: "bot", bot: true })
  })

  it("reports only families from its fixed lists and majors of at most four digits, over the whole corpus", () => {
    for (const ua of corpus) {
      const result = UserAgent.generalize(ua)
      assert.isTrue(
        result.browser === "other" || result.browser === "unknown" || UserAgent.browserFamilies.has(result.browser),
        result.browser
      )
      assert.isTrue(result.os === "other" || result.os === "unknown" || UserAgent.osFamilies.has(result.os), result.os)
      assert.match(result.browserMajor, /^(\d{1,4}|unknown)$/)
      if (ua.length >= 24) assert.notInclude(JSON.stringify(result), ua)
    }
  })

  it("does not let a crafted user agent smuggle an identifier through a family name", () => {
    const crafted = [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) user-8f3a9c2d/1.0",
      "Links (2.1; Linux user-8f3a9c2d x86_64; GNU C 4.8.2; text)",
      "Mozilla/5.0 (X11; user8f3a9c2d; Linux x86_64) Gecko/20100101 Firefox/123456789"
    ]
    for (const ua of crafted) {
      const text = JSON.stringify(UserAgent.generalize(ua))
      assert.notInclude(text.toLowerCase(), "8f3a9c2d", ua)
      assert.notInclude(text, "123456789", ua)
    }
  })

  it("generalizes absurd input to unknown without parsing or caching it", () => {
    const cache = UserAgent.make()
    const huge = `Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 ${"A".repeat(100_000)}`
    // Not parsed is shown by the parser's count below, not by a timing (which a loaded machine makes flaky).
    assert.deepStrictEqual(cache.generalize(huge), UserAgent.unknown)
    assert.deepStrictEqual(
      cache.generalize("Mozilla/5.0 (Windows NT 10.0)\u0000\u0001\u00ff Chrome/120"),
      UserAgent.unknown
    )
    assert.deepStrictEqual(cache.generalize(`Mozilla/5.0 (Windows NT 10.0) ${"x".repeat(500)}`), UserAgent.unknown)
    const stats = cache.stats()
    assert.strictEqual(stats.entries, 1) // only the binary string, which is short
    assert.strictEqual(stats.parses, 1)
    // A long crawler user agent is still a bot: its first 512 characters are examined.
    assert.isTrue(cache.generalize(`Googlebot/2.1 ${"x".repeat(10_000)}`).bot)
  })

  it.prop(
    "never throws and always returns a valid generalization, whatever the input",
    [
      fc.oneof(
        fc.string({ maxLength: 600 }),
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.uint8Array().map((b) => Buffer.from(b).toString("latin1"))
      )
    ],
    ([ua]) => {
      const result = UserAgent.generalize(ua)
      assert.isTrue(
        ["desktop", "mobile", "tablet", "bot", "other", "unknown"].includes(result.device) &&
          typeof result.bot === "boolean"
      )
    },
    { fastCheck: { numRuns: 300 } }
  )
})

describe("UserAgent.make (the cache)", () => {
  it("returns exactly what the uncached generalization returns, over the whole corpus", () => {
    const cache = UserAgent.make({ capacity: 500 })
    for (const ua of corpus) assert.deepStrictEqual(cache.generalize(ua), UserAgent.generalizeUncached(ua))
    // And again, now partly from the cache.
    for (const ua of corpus.slice(-400)) assert.deepStrictEqual(cache.generalize(ua), UserAgent.generalizeUncached(ua))
    assert.strictEqual(cache.stats().parses, corpus.length)
  })

  it("parses each distinct string once while it stays cached", () => {
    const cache = UserAgent.make()
    const [a, b] = [people[0]![0], people[1]![0]]
    for (let i = 0; i < 100; i++) {
      cache.generalize(a)
      cache.generalize(`${b}`)
    }
    assert.strictEqual(cache.stats().parses, 2)
    cache.clear()
    cache.generalize(a)
    assert.strictEqual(cache.stats().parses, 3)
  })

  it.prop(
    "stays within its entry and byte bounds",
    [
      fc.array(fc.constantFrom(...corpus.slice(0, 200)), { maxLength: 300 }),
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 0, max: 5_000 })
    ],
    ([sequence, capacity, maxBytes]) => {
      const cache = UserAgent.make({ capacity, maxBytes })
      for (const ua of sequence) {
        assert.deepStrictEqual(cache.generalize(ua), UserAgent.generalizeUncached(ua))
        const stats = cache.stats()
        assert.isAtMost(stats.entries, capacity)
        assert.isAtMost(stats.bytes, maxBytes)
      }
    }
  )

  it("agrees with ua-parser-js 1.x on the browser family for mainstream browsers", () => {
    for (const [ua] of people) {
      const parsed = new UAParser(ua).getBrowser().name
      const result = UserAgent.generalize(ua)
      if (parsed !== undefined) assert.strictEqual(result.browser.toLowerCase(), parsed.toLowerCase())
    }
  })

  it("formats a stable key", () => {
    assert.strictEqual(UserAgent.toKey(UserAgent.generalize(people[2]![0])), "Chrome/75/Android/mobile")
  })
})
