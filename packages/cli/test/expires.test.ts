/**
 * The `--expires` parser: ISO dates and date-times with an offset, to the millisecond; everything else refused with
 * a reason, never thrown.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import * as Expires from "../src/internal/expires.js"

const ok = (text: string): number => Either.getOrThrowWith(Expires.parse(text), (why) => new Error(why))

describe("Expires.parse", () => {
  it("reads a date as 00:00 UTC of that day, and a date-time at its offset", () => {
    assert.strictEqual(ok("2027-01-31"), Date.UTC(2027, 0, 31))
    assert.strictEqual(ok("2028-02-29"), Date.UTC(2028, 1, 29))
    assert.strictEqual(ok("2027-01-31T18:00Z"), Date.UTC(2027, 0, 31, 18))
    assert.strictEqual(ok("2027-01-31T18:00:30.250Z"), Date.UTC(2027, 0, 31, 18, 0, 30, 250))
    assert.strictEqual(ok("2027-01-31T18:00:00+02:00"), Date.UTC(2027, 0, 31, 16))
  })

  it("refuses what is not a day, has no offset, or is not a date, saying why", () => {
    const refused = (text: string, why: string) => {
      const result = Expires.parse(text)
      assert.isTrue(Either.isLeft(result), text)
      if (Either.isLeft(result)) assert.include(result.left, why, text)
    }
    refused("2027-02-30", "not a day of the calendar")
    refused("2027-02-29", "not a day of the calendar")
    refused("2027-13-01", "not a day of the calendar")
    refused("2027-01-31T18:00", "no offset")
    refused("2027-01-31T24:00Z", "not an ISO date")
    refused("next week", "not an ISO date")
    refused("1798761600000", "not an ISO date")
    refused("", "not an ISO date")
  })

  it("reads back every instant written as ISO 8601", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }),
        (date) => {
          assert.strictEqual(ok(date.toISOString()), date.getTime())
        }
      )
    )
  })

  it("never throws on any text", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const result = Expires.parse(text)
        assert.isTrue(Either.isLeft(result) || Number.isSafeInteger(result.right))
      })
    )
  })
})
