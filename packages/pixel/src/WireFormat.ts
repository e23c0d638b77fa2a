/**
 * The compact wire format between the browser tag and the collector: one event as a query string with short
 * keys (`v=1&e=pv&id=…&s=demo&u=…`), sent as `GET /px.gif?<query>` when the URL fits in 2,000 bytes, or as
 * batches of such lines in a `text/plain` body for `POST /collect` (`sendBeacon`, `fetch` keepalive). Decoding
 * is built for hostile input on the collector's hot path: plain synchronous code that never throws and returns
 * the decoded event model or a `WireFormatError` naming the offending key. The README of this package is the
 * full specification.
 *
 * @since 0.1.0
 */
import { Event } from "@openaudience/event-schema"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Failure, parseEvent, type Reason, shown } from "./internal/decode.js"
import * as Wire from "./internal/encode.js"

/**
 * The wire version this module writes and reads (`v=1`).
 *
 * @since 0.1.0
 * @category constants
 */
export const WireVersion = 1 as const

/**
 * The largest GET URL (`<endpoint>/px.gif?<query>`) the tag sends, in bytes; larger events go by POST.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxGetUrlBytes: number = Wire.MAX_GET_URL

/**
 * The largest `POST /collect` body, in bytes: the browsers' keepalive budget for `sendBeacon` and `fetch`.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxBatchBytes: number = Wire.MAX_BATCH

/**
 * The largest single event line, in bytes: a batch holding only that event is exactly `MaxBatchBytes`.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxEventBytes: number = Wire.MAX_LINE

/**
 * The most event lines one batch body may hold; a larger body is rejected as a whole.
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxBatchEvents = 1000

/**
 * The wire code of each event type (`e=pv`).
 *
 * @since 0.1.0
 * @category constants
 */
export const typeCodes: Readonly<Record<Event.EventType, string>> = Wire.TYPE_CODES as Record<Event.EventType, string>

/**
 * The wire key of each event field (`productId` → `p`); consent signals are listed in `consentKeys`, line
 * items travel under `it`.
 *
 * @since 0.1.0
 * @category constants
 */
export const fieldKeys: Readonly<Record<string, string>> = Wire.FIELD_KEYS

/**
 * The wire key of each consent signal (`gpc` → `g`).
 *
 * @since 0.1.0
 * @category constants
 */
export const consentKeys: Readonly<Record<string, string>> = Wire.CONSENT_KEYS

/**
 * A wire input was rejected. `field` is the wire key at fault (`pr`, `it`, `v`), or `body` / `event` for
 * problems with the whole input; `line` is the 1-based line of a batch body (the header is line 1).
 *
 * @since 0.1.0
 * @category errors
 */
export class WireFormatError extends Schema.TaggedError<WireFormatError>()("WireFormatError", {
  reason: Schema.Literal(
    "TooLarge",
    "Malformed",
    "UnsupportedVersion",
    "UnknownKey",
    "DuplicateKey",
    "MissingKey",
    "InvalidValue"
  ),
  field: Schema.String,
  message: Schema.String,
  line: Schema.optional(Schema.Number)
}) {}

const fail = (reason: Reason, field: string, message: string, line?: number): WireFormatError =>
  new WireFormatError(line === undefined ? { reason, field, message } : { reason, field, message, line }, true)

// Rejections of untrusted input are frequent and their stack traces say nothing: capturing them would make
// every hostile line several times dearer than a valid one (an easy way to burn collector CPU).
const withoutStackTraces = <A>(f: () => A): A => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return f()
  } finally {
    Error.stackTraceLimit = limit
  }
}

/**
 * Encodes an event as a GET query string (without the leading `?`). `serverTs` and `userAgent` are set by the
 * server and are not carried. Lone surrogates, which UTF-8 cannot carry, are sent as U+FFFD.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeQuery = (event: Event.Event): string =>
  Wire.HEADER + "&" + Wire.encodeLine(event, Wire.escWellFormed)

/**
 * Encodes an event as one batch line: the query string without the version key, which the batch header gives.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeLine = (event: Event.Event): string => Wire.encodeLine(event, Wire.escWellFormed)

/**
 * The GET pixel URL of an event: `<endpoint>/px.gif?<query>`. Check it with `fitsGet` before sending.
 *
 * @since 0.1.0
 * @category encoding
 */
export const getUrl = (endpoint: string, event: Event.Event): string =>
  endpoint.replace(/\/+$/, "") + "/px.gif?" + encodeQuery(event)

const utf8Length = (s: string): number => {
  let bytes = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) bytes += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1
  }
  return bytes
}

/**
 * Whether a GET URL is within `MaxGetUrlBytes` (counted as UTF-8 bytes).
 *
 * @since 0.1.0
 * @category encoding
 */
export const fitsGet = (url: string): boolean => url.length <= MaxGetUrlBytes && utf8Length(url) <= MaxGetUrlBytes

/**
 * Encodes events as `POST /collect` bodies of at most `maxBytes` (default `MaxBatchBytes`) each, in order.
 * An event whose line alone exceeds the budget is reported in `rejected` (by its index) instead of being sent.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeBatch = (
  events: Iterable<Event.Event>,
  maxBytes: number = MaxBatchBytes
): {
  readonly bodies: ReadonlyArray<string>
  readonly rejected: ReadonlyArray<{ readonly index: number; readonly error: WireFormatError }>
} => {
  const lines: Array<string> = []
  const rejected: Array<{ index: number; error: WireFormatError }> = []
  let index = 0
  for (const event of events) {
    const line = Wire.encodeLine(event, Wire.escWellFormed)
    if (Wire.HEADER.length + 1 + line.length > maxBytes) {
      rejected.push({
        index,
        error: fail(
          "TooLarge",
          "event",
          `event: its line of ${line.length} bytes does not fit a ${maxBytes}-byte batch`
        )
      })
    } else {
      lines.push(line)
    }
    index++
  }
  return { bodies: Wire.packBatch(lines, maxBytes), rejected }
}

const reverseKeys: Record<string, string> = {}
for (const [field, key] of Object.entries(Wire.FIELD_KEYS)) reverseKeys[field] = key

const wireKeyOf = (path: string): string => {
  const head = /^[A-Za-z]+/.exec(path)?.[0] ?? path
  switch (head) {
    case "type":
      return "e"
    case "items":
      return "it"
    case "consent": {
      const signal = /^consent\.([A-Za-z]+)/.exec(path)?.[1]
      return (signal !== undefined ? Wire.CONSENT_KEYS[signal] : undefined) ?? "c"
    }
    default:
      return reverseKeys[head] ?? head
  }
}

const fromSchema = (error: Event.EventDecodeError, line: number | undefined): WireFormatError => {
  const key = wireKeyOf(error.field)
  const prefix = `${error.field}: `
  const detail = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message
  const message = key === error.field ? `${key}: ${detail}` : `${key} (${error.field}): ${detail}`
  return fail("InvalidValue", key, message, line)
}

const decodeRange = (
  input: string,
  start: number,
  end: number,
  version: string | undefined,
  line: number | undefined
): Either.Either<Event.Event, WireFormatError> => {
  const parsed = parseEvent(input, start, end, version)
  if (parsed instanceof Failure) return Either.left(fail(parsed.reason, parsed.field, parsed.message, line))
  const decoded = Event.decodeUnknown(parsed)
  return Either.isRight(decoded) ? Either.right(decoded.right) : Either.left(fromSchema(decoded.left, line))
}

/**
 * Decodes a GET query string (with or without the leading `?`) into an event. Never throws: hostile,
 * malformed or oversized input becomes a `WireFormatError` naming the wire key at fault.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeQuery = (query: string): Either.Either<Event.Event, WireFormatError> =>
  withoutStackTraces(() => decodeQueryUnsafe(query))

const decodeQueryUnsafe = (query: string): Either.Either<Event.Event, WireFormatError> => {
  if (typeof query !== "string") return Either.left(fail("Malformed", "event", "event: expected a query string"))
  const start = query.charCodeAt(0) === 63 /* ? */ ? 1 : 0
  if (query.length - start > MaxBatchBytes) {
    return Either.left(fail("TooLarge", "event", `event: query of ${query.length} characters exceeds ${MaxBatchBytes}`))
  }
  return decodeRange(query, start, query.length, undefined, undefined)
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })

/**
 * Decodes a `POST /collect` body: a `v=1` header line, then one event line each (`\n` or `\r\n`; blank lines
 * are skipped). The whole body fails only when it is unusable (too large, no or unsupported header, bad
 * UTF-8 bytes, more than `MaxBatchEvents` lines); otherwise every line gets its own result, so a bad line
 * never blocks the valid ones. Never throws.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeBatch = (
  body: string | Uint8Array
): Either.Either<ReadonlyArray<Either.Either<Event.Event, WireFormatError>>, WireFormatError> =>
  withoutStackTraces(() => decodeBatchUnsafe(body))

const decodeBatchUnsafe = (
  body: string | Uint8Array
): Either.Either<ReadonlyArray<Either.Either<Event.Event, WireFormatError>>, WireFormatError> => {
  let text: string
  if (typeof body === "string") {
    text = body
  } else if (body instanceof Uint8Array) {
    if (body.byteLength > MaxBatchBytes) {
      return Either.left(fail("TooLarge", "body", `body: ${body.byteLength} bytes exceed ${MaxBatchBytes}`))
    }
    try {
      text = utf8.decode(body)
    } catch {
      return Either.left(fail("Malformed", "body", "body: not valid UTF-8"))
    }
  } else {
    return Either.left(fail("Malformed", "body", "body: expected text"))
  }
  if (text.length > MaxBatchBytes) {
    return Either.left(fail("TooLarge", "body", `body: ${text.length} characters exceed ${MaxBatchBytes}`))
  }
  let headerEnd = text.indexOf("\n")
  if (headerEnd === -1) headerEnd = text.length
  const header = text.slice(0, text.charCodeAt(headerEnd - 1) === 13 ? headerEnd - 1 : headerEnd)
  if (!header.startsWith("v=") || header.indexOf("&") !== -1) {
    return Either.left(
      fail(
        "MissingKey",
        "v",
        `v: the body must start with the header line ${Wire.HEADER}, got ${JSON.stringify(shown(header))}`,
        1
      )
    )
  }
  const version = header.slice(2)
  if (version !== Wire.VERSION) {
    return Either.left(
      fail(
        "UnsupportedVersion",
        "v",
        `v: unsupported wire version ${JSON.stringify(shown(version))} (this decoder reads ${Wire.VERSION})`,
        1
      )
    )
  }
  const results: Array<Either.Either<Event.Event, WireFormatError>> = []
  let line = 1
  let start = headerEnd + 1
  while (start < text.length) {
    line++
    let end = text.indexOf("\n", start)
    if (end === -1) end = text.length
    const stop = text.charCodeAt(end - 1) === 13 && end - 1 >= start ? end - 1 : end
    if (stop > start) {
      if (results.length === MaxBatchEvents) {
        return Either.left(fail("TooLarge", "body", `body: more than ${MaxBatchEvents} events`, line))
      }
      // Each line is parsed on its own slice so that searches for `&` and `=` stop at the line's end.
      const lineText = text.slice(start, stop)
      results.push(decodeRange(lineText, 0, lineText.length, version, line))
    }
    start = end + 1
  }
  return Either.right(results)
}
