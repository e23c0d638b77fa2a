/**
 * One entry of the audit log: who (`actor`) did what (`action`) to which object (`target`) of which tenant, when
 * (`at`, epoch milliseconds) and with what `outcome`, plus a few non-personal `details`. Entries form one chain over
 * the whole log: `seq` grows by one per entry, `prevHash` is the previous entry's `hash` (64 zeros for the first),
 * and `hash` is the SHA-256 of the canonical encoding of every other field. Changing, removing or reordering an
 * entry therefore breaks the chain at that entry (see `Verification`).
 *
 * `details` must never hold personal data (no e-mail address, name, phone number, IP address, visitor id, card
 * or bank number, free text typed by a person): it is kept as long as the log and cannot be erased without
 * breaking the chain. It is a flat object of at most 32 keys whose values are short strings, finite numbers,
 * booleans, null or short lists of those, at most 2,048 bytes encoded; strings that look like an e-mail address or
 * a payment card number are refused.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as Schema from "effect/Schema"
import { canonicalJson } from "./internal/canonicalJson.js"

/**
 * Who acted: an API key (`id` = the key's id, never the key), an application user (the user's id, never an e-mail
 * address), the operator (the operator API or CLI), or the system itself (a scheduled job).
 *
 * @since 0.1.0
 * @category models
 */
export const ActorKind = Schema.Literal("key", "user", "operator", "system")

/**
 * @since 0.1.0
 * @category models
 */
export type ActorKind = typeof ActorKind.Type

/**
 * Who acted.
 *
 * @since 0.1.0
 * @category models
 */
export const Actor = Schema.Struct({
  kind: ActorKind,
  id: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Actor extends Schema.Schema.Type<typeof Actor> {}

/**
 * What was done, as `object.verb` in lower case: `site.add`, `key.revoke`, `events.read`, `audience.update`,
 * `dsar.erase`.
 *
 * @since 0.1.0
 * @category models
 */
export const Action = Schema.String.pipe(
  Schema.maxLength(64),
  Schema.pattern(/^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$/, {
    message: () => "an action is object.verb in lower case, for example site.add"
  })
)

/**
 * How it ended: done, refused by an access rule, or failed.
 *
 * @since 0.1.0
 * @category models
 */
export const Outcome = Schema.Literal("success", "denied", "failed")

/**
 * @since 0.1.0
 * @category models
 */
export type Outcome = typeof Outcome.Type

/** Strings that look like an e-mail address. */
const emailLike = /[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[a-z]{2,}/i

/**
 * Runs of 13 to 19 digits (spaces or dashes between them allowed) that stand alone, not inside an id: not touching a
 * letter, digit or `_` (`key_…`), nor joined to one by a `-` or `.` (`shop-1796544333943`, `v2.4111…`), as ids made
 * of a name and a number or timestamp are.
 */
const digitRuns = /(?<![0-9A-Za-z_]|[0-9A-Za-z_][-.])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z_]|[-.][0-9A-Za-z_])/g

const luhn = (digits: string): boolean => {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/**
 * Whether a string looks like personal data that must never be in `details`: an e-mail address, or a number that
 * could be a payment card (13 to 19 digits passing the Luhn check). Narrower than @openaudience/anonymizer's
 * `Pii.detect` on purpose: that one reads ids such as `key_0123456789abcdef` as phone numbers, and ids are what
 * `details` is for.
 *
 * @since 0.1.0
 * @category predicates
 */
export const looksPersonal = (s: string): boolean =>
  emailLike.test(s) || Array.from(s.matchAll(digitRuns), (m) => m[0].replace(/[ -]/g, "")).some(luhn)

/**
 * The text that takes the place of a value that looks personal (see `redactDetails`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const redacted = "[redacted]"

/**
 * `details` with every string that looks personal (`looksPersonal`) replaced by `redacted`, in lists too: what a
 * caller appends when a value it records comes from a user (a site key, a name) and could, by chance or on purpose,
 * look like an e-mail address or a card number. The log refuses such details rather than keep them; redacted, the
 * action is still recorded, and nothing personal is.
 *
 * @since 0.1.0
 * @category constructors
 */
export const redactDetails = <D extends Readonly<Record<string, unknown>>>(details: D): D => {
  const personal = (value: unknown): boolean => typeof value === "string" && looksPersonal(value)
  let out: Record<string, unknown> | undefined
  for (const key of Object.keys(details)) {
    const value = details[key]
    if (personal(value)) {
      out ??= { ...details }
      out[key] = redacted
    } else if (Array.isArray(value) && value.some(personal)) {
      out ??= { ...details }
      out[key] = value.map((v) => (personal(v) ? redacted : v))
    }
  }
  return (out ?? details) as D
}

const DetailString = Schema.String.pipe(
  Schema.maxLength(256),
  Schema.filter((s) => !looksPersonal(s), {
    message: () => "looks like personal data (an e-mail address or a card number), which details must never hold"
  })
)

const DetailScalar = Schema.Union(DetailString, Schema.Number.pipe(Schema.finite()), Schema.Boolean, Schema.Null)

/**
 * A value of `details`: a short string, a finite number, a boolean, null, or a list of at most 32 of those.
 *
 * @since 0.1.0
 * @category models
 */
export const DetailValue = Schema.Union(DetailScalar, Schema.Array(DetailScalar).pipe(Schema.maxItems(32)))

/**
 * @since 0.1.0
 * @category models
 */
export type DetailValue = typeof DetailValue.Type

/** The most bytes the canonical encoding of `details` may take. */
const maxDetailBytes = 2048

/**
 * A few non-personal facts about the action (ids, counts, changed field names, a role): see the module comment.
 *
 * @since 0.1.0
 * @category models
 */
export const Details = Schema.Record({
  key: Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/)),
  value: DetailValue
}).pipe(
  Schema.filter((d) => Object.keys(d).length <= 32 || "details may have at most 32 keys"),
  Schema.filter(
    (d) =>
      Buffer.byteLength(canonicalJson(d), "utf8") <= maxDetailBytes ||
      `details may take at most ${maxDetailBytes} bytes encoded`
  )
)

/**
 * @since 0.1.0
 * @category models
 */
export type Details = typeof Details.Type

/**
 * A SHA-256 digest in lower-case hex.
 *
 * @since 0.1.0
 * @category models
 */
export const Hash = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))

/**
 * The `prevHash` of the first entry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const genesisHash: string = "0".repeat(64)

/**
 * What a caller appends: everything but the sequence number and the hashes, which the log assigns. `at` defaults
 * to the `Clock`'s time; `tenant` is `null` for the operator's actions that concern no tenant (creating a tenant
 * names the new tenant); `details` defaults to `{}`.
 *
 * @since 0.1.0
 * @category models
 */
export const Input = Schema.Struct({
  at: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  tenant: Schema.NullOr(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))),
  actor: Actor,
  action: Action,
  target: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  outcome: Outcome,
  details: Schema.optional(Details)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Input extends Schema.Schema.Type<typeof Input> {}

/**
 * A stored entry. Every field is plain JSON, so an entry can be answered by an API as it is.
 *
 * @since 0.1.0
 * @category models
 */
export const Entry = Schema.Struct({
  seq: Schema.Int.pipe(Schema.positive()),
  at: Schema.Int.pipe(Schema.nonNegative()),
  tenant: Schema.NullOr(Schema.String),
  actor: Actor,
  action: Schema.String,
  target: Schema.String,
  outcome: Outcome,
  details: Schema.Record({ key: Schema.String, value: DetailValue }),
  prevHash: Hash,
  hash: Hash
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Entry extends Schema.Schema.Type<typeof Entry> {}

/**
 * The position of the end of the chain: the last entry's `seq` and `hash` (`0` and `genesisHash` when the log is
 * empty). Stored apart from the entries and updated with each append, so that removing the last entries shows.
 *
 * @since 0.1.0
 * @category models
 */
export const Head = Schema.Struct({ seq: Schema.Int.pipe(Schema.nonNegative()), hash: Hash })

/**
 * @since 0.1.0
 * @category models
 */
export interface Head extends Schema.Schema.Type<typeof Head> {}

/**
 * The head of an empty log.
 *
 * @since 0.1.0
 * @category constructors
 */
export const emptyHead: Head = { seq: 0, hash: genesisHash }

/**
 * The text an entry's hash is computed over: the canonical JSON (keys sorted, no whitespace) of every field but
 * `hash`: `{"action":…,"actor":{"id":…,"kind":…},"at":…,"details":{…},"outcome":…,"prevHash":…,"seq":…,
 * "target":…,"tenant":…}`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const canonical = (entry: Omit<Entry, "hash">): string =>
  canonicalJson({
    seq: entry.seq,
    at: entry.at,
    tenant: entry.tenant,
    actor: { kind: entry.actor.kind, id: entry.actor.id },
    action: entry.action,
    target: entry.target,
    outcome: entry.outcome,
    details: entry.details,
    prevHash: entry.prevHash
  })

/**
 * The SHA-256 (lower-case hex) of an entry's canonical encoding.
 *
 * @since 0.1.0
 * @category encoding
 */
export const hashOf = (entry: Omit<Entry, "hash">): string =>
  createHash("sha256").update(canonical(entry), "utf8").digest("hex")

/**
 * The entry that follows `head`: sequence number `head.seq + 1`, `prevHash` = `head.hash`, and its hash. The input
 * must have been validated (`Input`) and given its time.
 *
 * @since 0.1.0
 * @category constructors
 */
export const seal = (head: Head, input: Input & { readonly at: number }): Entry => {
  const unsealed: Omit<Entry, "hash"> = {
    seq: head.seq + 1,
    at: input.at,
    tenant: input.tenant,
    actor: { kind: input.actor.kind, id: input.actor.id },
    action: input.action,
    target: input.target,
    outcome: input.outcome,
    details: input.details ?? {},
    prevHash: head.hash
  }
  return { ...unsealed, hash: hashOf(unsealed) }
}
