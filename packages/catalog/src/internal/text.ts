/**
 * Checks of text fields shared by the product model and the feed parser. Each returns a problem (a sentence
 * without the column name) or `undefined` when the value is fine.
 */

/** Control characters (C0, DEL, C1): never in a one-line field. */
const controlLine = /[\u0000-\u001F\u007F-\u009F]/
/** Control characters other than tab, line feed and carriage return: never in a multi-line field. */
const controlMulti = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/

/** Renders an offending value briefly: quoted and cut at 40 characters. */
export const describe = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)

/** A problem with text of `min..max` characters, one line unless `multiline`, well-formed UTF-16. */
export const textProblem = (s: string, min: number, max: number, multiline = false): string | undefined => {
  if (s.length < min) return min === 1 ? "must not be empty" : `must have at least ${min} characters`
  if (s.length > max) return `must have at most ${max} characters, got ${s.length}`
  if (!s.isWellFormed()) return "holds a lone surrogate (not valid Unicode text)"
  if ((multiline ? controlMulti : controlLine).test(s)) return "holds a control character"
  if (s.trim() !== s) return "must not start or end with whitespace"
  return undefined
}

/** The longest URL accepted (Google Merchant Center's limit for `link` and `image_link`). */
export const maxUrlLength = 2000

/** A problem with an absolute http or https URL without user name or password. */
export const urlProblem = (s: string): string | undefined => {
  if (s.length === 0) return "must not be empty"
  if (s.length > maxUrlLength) return `must have at most ${maxUrlLength} characters, got ${s.length}`
  if (!s.isWellFormed() || controlLine.test(s) || s.trim() !== s) return `is not a URL: ${describe(s)}`
  const url = parseUrl(s)
  if (url === undefined) return `is not an absolute URL: ${describe(s)}`
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return `must be an http or https URL, got ${describe(url.protocol)}`
  }
  if (url.username !== "" || url.password !== "") return "must not hold a user name or password"
  return undefined
}

/** `new URL(s)`, or `undefined` for anything it refuses. */
export const parseUrl = (s: string): URL | undefined => (URL.canParse(s) ? new URL(s) : undefined)

/** A problem with Google's product type path: 1 to 750 characters on one line, no empty level between `>`. */
export const productTypeProblem = (s: string): string | undefined =>
  textProblem(s, 1, 750) ??
  (s.split(">").some((level) => level.trim() === "") ? "has an empty level between `>` separators" : undefined)
