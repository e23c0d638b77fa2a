/**
 * Propagation of erasures and objections to recipients (the tenants' systems and processors that received the
 * subject's data): the event payloads, their HMAC-SHA-256 signature header, its verification on the recipient's
 * side, and the delivery retry plan.
 *
 * The signature header is `t=<epoch ms>,v1=<hex HMAC-SHA-256(secret, "<t>.<body>")>`: the timestamp is signed with
 * the body so a captured request cannot be replayed after the tolerance window (5 minutes by default).
 *
 * A failed delivery is retried with exponential backoff from 30 seconds, doubling, capped at 1 hour, with ±20 %
 * jitter, and goes to the dead letters when the next attempt would be more than 72 hours after the first.
 *
 * @since 0.1.0
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { idOf, type Subject } from "./Subject.js"

/**
 * A webhook secret: text (UTF-8) or bytes, in clear or redacted.
 *
 * @since 0.1.0
 * @category models
 */
export type Secret = string | Uint8Array | Redacted.Redacted<string> | Redacted.Redacted<Uint8Array>

const mac = (secret: Secret, timestamp: string, body: string | Uint8Array): Buffer => {
  const key = Redacted.isRedacted(secret) ? Redacted.value(secret as Redacted.Redacted<string | Uint8Array>) : secret
  return createHmac("sha256", key).update(`${timestamp}.`, "utf8").update(body).digest()
}

/**
 * The signature header of a body sent at `timestampMs` (epoch milliseconds).
 *
 * @since 0.1.0
 * @category signing
 */
export const sign = (secret: Secret, timestampMs: number, body: string | Uint8Array): string => {
  const t = String(Math.trunc(timestampMs))
  return `t=${t},v1=${mac(secret, t, body).toString("hex")}`
}

/**
 * Why a signature header was refused.
 *
 * - `Malformed`: not `t=<ms>,v1=<64 hex digits>`.
 * - `Stale`: the timestamp is further from now than the tolerance (either way).
 * - `Mismatch`: no `v1` signature matches the body, timestamp and secret.
 *
 * @since 0.1.0
 * @category errors
 */
export const InvalidSignatureReason = Schema.Literal("Malformed", "Stale", "Mismatch")

/**
 * @since 0.1.0
 * @category errors
 */
export type InvalidSignatureReason = typeof InvalidSignatureReason.Type

/**
 * A webhook signature that does not verify.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidSignature extends Schema.TaggedError<InvalidSignature>("@openaudience/dsar/InvalidSignature")(
  "InvalidSignature",
  {
    reason: InvalidSignatureReason,
    message: Schema.String
  }
) {}

const timestampPattern = /^\d{1,16}$/
const signaturePattern = /^[0-9a-f]{64}$/

/**
 * Verifies a signature header against the body received and the shared secret; the signed timestamp on success.
 * Several `v1` entries are accepted (a sender rotating its secret signs with both); unknown entries are ignored.
 * Comparisons are constant-time.
 *
 * @since 0.1.0
 * @category signing
 */
export const verify = (
  header: string,
  body: string | Uint8Array,
  secret: Secret,
  options: { readonly now: number; readonly toleranceMs?: number | undefined }
): Either.Either<number, InvalidSignature> => {
  let timestamp: string | undefined
  const signatures: Array<Buffer> = []
  for (const part of header.split(",")) {
    const equals = part.indexOf("=")
    if (equals < 0) continue
    const key = part.slice(0, equals).trim()
    const value = part.slice(equals + 1).trim()
    if (key === "t") {
      if (timestamp !== undefined || !timestampPattern.test(value)) timestamp = ""
      else timestamp = value
    } else if (key === "v1" && signaturePattern.test(value)) {
      signatures.push(Buffer.from(value, "hex"))
    }
  }
  if (timestamp === undefined || timestamp === "" || signatures.length === 0) {
    return Either.left(
      new InvalidSignature({ reason: "Malformed", message: "the signature header is not t=<ms>,v1=<hex>" })
    )
  }
  const tolerance = options.toleranceMs ?? 5 * 60_000
  const at = Number(timestamp)
  if (Math.abs(options.now - at) > tolerance) {
    return Either.left(
      new InvalidSignature({
        reason: "Stale",
        message: `the signature timestamp is more than ${tolerance} ms away from now`
      })
    )
  }
  const expected = mac(secret, timestamp, body)
  let matched = false
  for (const signature of signatures) matched = timingSafeEqual(signature, expected) || matched
  return matched
    ? Either.right(at)
    : Either.left(new InvalidSignature({ reason: "Mismatch", message: "the signature does not match the body" }))
}

/**
 * A subject as recipients see it: its kind (lower case, as the operators' API writes it) and the identifier their
 * copy of the data is keyed by.
 *
 * @since 0.1.0
 * @category models
 */
export const EventSubject = Schema.Struct({ kind: Schema.Literal("visitor", "browser", "user"), id: Schema.String })

/**
 * A propagation event: `id` is unique per event (recipients deduplicate on it), `at` is epoch milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export const Event = Schema.Struct({
  type: Schema.Literal("dsar.erasure", "dsar.objection"),
  id: Schema.String,
  tenant: Schema.String,
  subjects: Schema.Array(EventSubject),
  requestId: Schema.String,
  at: Schema.Int
}).annotations({ identifier: "DsarWebhookEvent" })

/**
 * @since 0.1.0
 * @category models
 */
export type Event = typeof Event.Type

/**
 * An event from its JSON text (the recipient's side).
 *
 * @since 0.1.0
 * @category models
 */
export const EventFromJson = Schema.parseJson(Event)

interface EventInput {
  readonly id: string
  readonly tenant: string
  readonly subjects: ReadonlyArray<Subject>
  readonly requestId: string
  readonly at: number
}

const kindOf = { Visitor: "visitor", Browser: "browser", User: "user" } as const

const event = (type: Event["type"], input: EventInput): Event => ({
  type,
  id: input.id,
  tenant: input.tenant,
  subjects: input.subjects.map((subject) => ({ kind: kindOf[subject._tag], id: idOf(subject) })),
  requestId: input.requestId,
  at: input.at
})

/**
 * The event telling recipients to erase the subjects' data.
 *
 * @since 0.1.0
 * @category constructors
 */
export const erasureEvent = (input: EventInput): Event => event("dsar.erasure", input)

/**
 * The event telling recipients that the subjects object to processing (stop using their data).
 *
 * @since 0.1.0
 * @category constructors
 */
export const objectionEvent = (input: EventInput): Event => event("dsar.objection", input)

/**
 * The delay before the first retry.
 *
 * @since 0.1.0
 * @category retries
 */
export const firstRetryMs = 30_000

/**
 * The longest delay between two attempts (before jitter).
 *
 * @since 0.1.0
 * @category retries
 */
export const maxRetryMs = 60 * 60_000

/**
 * How long after the first attempt a delivery is still tried.
 *
 * @since 0.1.0
 * @category retries
 */
export const giveUpAfterMs = 72 * 60 * 60_000

/**
 * What to do after a failed delivery attempt.
 *
 * @since 0.1.0
 * @category retries
 */
export type NextAttempt = { readonly _tag: "Retry"; readonly at: number } | { readonly _tag: "DeadLetter" }

/**
 * The next attempt after `attempts` failed ones (the first at `firstAttemptAt`), at `now`, with `random` in [0, 1)
 * (from `Random.next`): 30 s × 2^(attempts − 1), at most 1 hour, times 0.8 to 1.2; a dead letter when that is later
 * than 72 hours after the first attempt.
 *
 * @since 0.1.0
 * @category retries
 */
export const nextAttempt = (
  delivery: { readonly firstAttemptAt: number; readonly attempts: number },
  now: number,
  random: number
): NextAttempt => {
  const exponent = Math.min(Math.max(delivery.attempts, 1) - 1, 16)
  const base = Math.min(firstRetryMs * 2 ** exponent, maxRetryMs)
  const jitter = 0.8 + 0.4 * (Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0.5)
  const at = now + Math.max(1, Math.round(base * jitter))
  return at > delivery.firstAttemptAt + giveUpAfterMs ? { _tag: "DeadLetter" } : { _tag: "Retry", at }
}
