/** Input checks shared by every event log implementation, so they accept and reject the same input. */
import * as Effect from "effect/Effect"
import { EventLogError } from "../EventLogError.js"
import type { LogRecord } from "../LogRecord.js"

/** A record ready to bind: payload as JSON text. */
export type EncodedRecord = {
  readonly tenant: string
  readonly key: string
  readonly payload: string
}

const invalid = (message: string) => new EventLogError({ reason: "InvalidInput", message })

const toJson = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

export const encodeRecords = (records: ReadonlyArray<LogRecord>): Effect.Effect<Array<EncodedRecord>, EventLogError> =>
  Effect.suspend(() => {
    const out = new Array<EncodedRecord>(records.length)
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!
      if (typeof record?.tenant !== "string" || record.tenant === "") {
        return Effect.fail(invalid(`Cannot append record #${i}: tenant must be a non-empty string`))
      }
      if (typeof record.key !== "string") {
        return Effect.fail(invalid(`Cannot append record #${i}: key must be a string`))
      }
      const payload = toJson(record.payload)
      if (payload === undefined) {
        return Effect.fail(invalid(`Cannot append record #${i}: payload is not representable as JSON`))
      }
      out[i] = { tenant: record.tenant, key: record.key, payload }
    }
    return Effect.succeed(out)
  })

export const checkConsumer = (consumer: string): Effect.Effect<void, EventLogError> =>
  typeof consumer === "string" && consumer !== "" && consumer.length <= 200
    ? Effect.void
    : Effect.fail(invalid("The consumer name must be a non-empty string of at most 200 characters"))

export const checkOffset = (offset: number): Effect.Effect<void, EventLogError> =>
  Number.isSafeInteger(offset) && offset >= 0
    ? Effect.void
    : Effect.fail(invalid(`The offset to commit must be a non-negative integer, got ${String(offset)}`))

export const normalizeMax = (max: number): number => (Number.isFinite(max) ? Math.max(0, Math.floor(max)) : 0)
