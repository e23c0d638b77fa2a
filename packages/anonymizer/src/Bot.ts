/**
 * Bots and crawlers: recognized from the user agent so they are counted without identifiers instead of stored
 * as visitors. `isbot`'s pattern list (Unlicense, maintained against real crawler traffic) does the heavy
 * lifting; a few cheap heuristics come first: a missing or blank user agent, and headless or automation markers
 * that `isbot` leaves to the caller.
 *
 * Plain synchronous code; at most the first `MaxLength` characters of a user agent are examined, so a 100 KB
 * header costs no more than a normal one.
 *
 * @since 0.1.0
 */
import { isbot } from "isbot"
import * as Schema from "effect/Schema"

/**
 * Why a user agent was classified as a bot.
 *
 * @since 0.1.0
 * @category models
 */
export const Reason = Schema.Literal("empty", "automation", "crawler")

/**
 * @since 0.1.0
 * @category models
 */
export type Reason = typeof Reason.Type

/**
 * The longest user agent examined (and parsed or cached by `UserAgent`); real browsers stay far below it.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxLength = 512

const automation = /headless|phantomjs|slimerjs|puppeteer|playwright|selenium|webdriver|lighthouse|jsdom|happy-?dom/i

/**
 * The reason a user agent looks like a bot, or `undefined` for one that looks like a person's browser.
 *
 * @since 0.1.0
 * @category classification
 */
export const reason = (userAgent: string | undefined | null): Reason | undefined => {
  if (typeof userAgent !== "string") return "empty"
  const ua = userAgent.length > MaxLength ? userAgent.slice(0, MaxLength) : userAgent
  if (ua.trim().length === 0) return "empty"
  if (automation.test(ua)) return "automation"
  if (isbot(ua)) return "crawler"
  return undefined
}

/**
 * Whether a user agent belongs to a bot, crawler, headless browser or automation tool (or is missing).
 *
 * @since 0.1.0
 * @category classification
 */
export const isBot = (userAgent: string | undefined | null): boolean => reason(userAgent) !== undefined
