/**
 * The `--expires` of `key create`: an ISO 8601 date (`2027-01-31`, meaning 00:00 UTC of that day) or date-time
 * with its offset (`2027-01-31T18:00:00Z`, `2027-01-31T18:00+02:00`). A date-time without an offset is refused
 * rather than read in the machine's time zone, and so is a day the calendar lacks (`2027-02-30`, which `Date`
 * would roll over to March). Whether the time is in the future is the store's rule.
 */
import * as Either from "effect/Either"

const date = /^(\d{4})-(\d{2})-(\d{2})$/

const dateTime =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/

const examples = "use a date such as 2027-01-31 or a date-time with its offset such as 2027-01-31T18:00:00Z"

/** Whether year, month and day name a day of the calendar. */
const isDay = (year: number, month: number, day: number): boolean => {
  const d = new Date(Date.UTC(year, month - 1, day))
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day
}

/** Parses `--expires` into epoch milliseconds, or says what is wrong with it. */
export const parse = (text: string): Either.Either<number, string> => {
  const trimmed = text.trim()
  const match = date.exec(trimmed) ?? dateTime.exec(trimmed)
  if (match === null) {
    const noOffset = /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(trimmed)
    return Either.left(
      noOffset
        ? `${JSON.stringify(text)} has no offset (add Z for UTC, or +02:00): ${examples}`
        : `${JSON.stringify(text)} is not an ISO date: ${examples}`
    )
  }
  if (!isDay(Number(match[1]), Number(match[2]), Number(match[3]))) {
    return Either.left(`${JSON.stringify(text)} is not a day of the calendar: ${examples}`)
  }
  const ms = Date.parse(match[4] === undefined ? `${trimmed}T00:00:00Z` : trimmed)
  return Number.isSafeInteger(ms) ? Either.right(ms) : Either.left(`${JSON.stringify(text)} is out of range`)
}
