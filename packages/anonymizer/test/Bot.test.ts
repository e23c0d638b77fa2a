import { assert, describe, it } from "@effect/vitest"
import * as Bot from "../src/Bot.js"
import { bots, people } from "./fixtures/userAgents.js"

describe("Bot", () => {
  it("recognizes crawlers, scripts and headless browsers", () => {
    for (const ua of bots) assert.isTrue(Bot.isBot(ua), ua)
  })

  it("lets people's browsers through", () => {
    for (const [ua] of people) assert.isFalse(Bot.isBot(ua), ua)
  })

  it("says why", () => {
    assert.strictEqual(Bot.reason(undefined), "empty")
    assert.strictEqual(Bot.reason("   "), "empty")
    assert.strictEqual(
      Bot.reason(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36"
      ),
      "automation"
    )
    assert.strictEqual(
      Bot.reason(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 PhantomJS/2.1"
      ),
      "automation"
    )
    assert.strictEqual(
      Bot.reason("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
      "crawler"
    )
    assert.isUndefined(Bot.reason(people[0]![0]))
  })

  // No timing assertion (a loaded machine would make one flaky): a pattern that backtracked over the whole input
  // would run far past the test's timeout, and what lies beyond the limit is shown to be ignored.
  it("examines only the first MaxLength characters of a huge user agent", () => {
    const padding = "a".repeat(200_000)
    assert.isFalse(Bot.isBot(`${people[0]![0]} ${padding} Googlebot`))
    assert.isTrue(Bot.isBot(`Googlebot/2.1 ${padding}`))
  })
})
