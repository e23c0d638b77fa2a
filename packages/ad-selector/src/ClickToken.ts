/**
 * Signed click tokens for `GET /click/<token>`. A token names the decision that showed the ad (decision, campaign,
 * creative, optional product, tenant) and when it stops being accepted; it is authenticated with HMAC-SHA-256 under
 * a server key, so a visitor cannot forge one or change what it names.
 *
 * The token carries no URL. The server answers a valid token with a 302 to the landing URL registered for the
 * creative or product the token names, looked up in its own records: nothing taken from the request decides where
 * the browser goes, so the click route is never an open redirect. A bad or expired token gets a 400 page.
 *
 * Format (base64url, no padding, of): version byte `1`, key id byte, payload, 32-byte HMAC-SHA-256 of everything
 * before it. The payload is the expiry (milliseconds since the epoch, 6 bytes big-endian), a flags byte (bit 0: a
 * product id follows), then tenant, decision, campaign, creative and product ids, each a length byte and UTF-8
 * (at most 255 bytes each). `verify` never throws: it bounds the length before decoding anything, accepts only
 * canonical base64url, checks the MAC in constant time before reading the payload, and answers every failure as a
 * `ClickTokenError`.
 *
 * Keys are derived from the server's master secret with HKDF-SHA-256 (`deriveKey`); the key id in the token lets
 * several keys be accepted at once while keys rotate.
 *
 * Purpose-bound tokens (version `2`, `signPurposes` / `verifyPurpose`): the three tokens an ad carries (its click,
 * its rendered impression, its viewable impression) name the same decision, so they share one payload and one MAC
 * computation. The layout is version 1's with version byte `2` and, in place of the 32-byte MAC, a 16-byte tag: the
 * purpose's slice of HMAC-SHA-512 over everything before it (bytes 0–15 for a click, 16–31 for a rendered
 * impression, 32–47 for a viewable one). The slices of a PRF's output are independent: holding the tag of one
 * purpose tells nothing about another's, so a token is accepted for its own purpose only, as version 1's separate
 * keys per purpose ensured, at a third of the signing cost (one HMAC call per ad instead of three). A 128-bit tag
 * leaves a forger one chance in 2^128 per try. `verifyPurpose` still accepts version 1 tokens under the keys given
 * as `legacy`, so tokens issued before an upgrade keep working until they expire.
 *
 * Version 3 (`makePurposeSigner`, what `Serving` signs with): version 2's layout with version byte `3`, the signed
 * bytes padded with zero to two zero bytes to a multiple of three, and 18-byte tags sliced from keyed BLAKE3 (a PRF,
 * as HMAC is) under a key derived from the purpose key. Node's HMAC costs several microseconds a call, nearly all of
 * it setting the call up; BLAKE3 in WebAssembly costs under one, and the alignment lets an ad's three tokens share
 * one base64url encoding of their payload. A signer still verifies its key's version 2 tokens.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import {
  createHash,
  createHmac,
  createSecretKey,
  type Hash,
  hkdfSync,
  type KeyObject,
  timingSafeEqual
} from "node:crypto"
import { createBLAKE3, type IHasher } from "hash-wasm"

/**
 * What a click token says: which decision showed the ad, for which tenant, and until when (exclusive, milliseconds
 * since the epoch) a click on it is accepted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Claims {
  readonly decisionId: string
  readonly campaignId: string
  readonly creativeId: string
  readonly productId?: string | undefined
  readonly tenant: string
  readonly expiresAt: number
}

/**
 * A key that signs and verifies tokens: an id (0–255, written in every token it signs) and 32 secret bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface SigningKey {
  readonly id: number
  readonly secret: Redacted.Redacted<Uint8Array>
}

/**
 * Why a token was refused, or could not be made.
 *
 * - `Malformed`: not a token of this format (wrong length, characters, version or layout).
 * - `UnknownKey`: signed with a key id that is not among the keys given (retired, or never ours).
 * - `BadSignature`: the MAC does not match: forged or altered.
 * - `Expired`: authentic, but its time has passed.
 * - `InvalidClaims`: `sign` was given claims it cannot encode (an id longer than 255 UTF-8 bytes or not
 *   well-formed Unicode, an expiry that is not an integer in [0, 2^48)) or a key that is not usable.
 *
 * @since 0.1.0
 * @category models
 */
export const ClickTokenErrorReason = Schema.Literal(
  "Malformed",
  "UnknownKey",
  "BadSignature",
  "Expired",
  "InvalidClaims"
)

/**
 * @since 0.1.0
 * @category models
 */
export type ClickTokenErrorReason = typeof ClickTokenErrorReason.Type

/**
 * A refused click token (or claims `sign` cannot encode), with a reason callers can match on.
 *
 * @since 0.1.0
 * @category errors
 */
export class ClickTokenError extends Schema.TaggedError<ClickTokenError>("@openaudience/ad-selector/ClickTokenError")(
  "ClickTokenError",
  { reason: ClickTokenErrorReason, message: Schema.String }
) {}

/**
 * The format version written in the first byte.
 *
 * @since 0.1.0
 * @category constants
 */
export const Version = 1

/**
 * The longest string `verify` will look at; anything longer is `Malformed` before any decoding. Every token `sign`
 * can make is shorter (five 255-byte ids give 1,762 characters).
 *
 * @since 0.1.0
 * @category constants
 */
export const MaxLength = 1800

/**
 * A sensible lifetime for click tokens: an ad left open in a tab for a day can still be clicked.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultLifetime: Duration.Duration = Duration.hours(24)

/**
 * HKDF salt of click-token keys; part of the key format, never change it.
 *
 * @since 0.1.0
 * @category constants
 */
export const KeyDerivationSalt = "openaudience/v1"

/**
 * HKDF info label of click-token keys (followed by `:` and the key id); part of the key format.
 *
 * @since 0.1.0
 * @category constants
 */
export const KeyDerivationLabel = "ad-selector/click-token"

const macLength = 32
const headerLength = 2
const expiryLength = 6
const maxExpiry = 2 ** 48
const maxField = 255
const minBytes = headerLength + expiryLength + 1 + 4 + macLength
/** Bytes of a purpose-bound token's tag. */
const tagLength = 16
const minPurposeBytes = headerLength + expiryLength + 1 + 4 + tagLength
const base64url = /^[A-Za-z0-9_-]+$/
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

const fail = (reason: ClickTokenErrorReason, message: string) => Either.left(new ClickTokenError({ reason, message }))

/**
 * Derives the click-token key with id `id` (0–255) from the master secret: HKDF-SHA-256 with salt
 * `openaudience/v1` and info `ad-selector/click-token:<id>`, 32 bytes. The same secret and id always give the same
 * key, so every server process derives it alone; a new id (or a new secret) gives an unrelated key.
 *
 * @since 0.1.0
 * @category keys
 */
export const deriveKey = (secret: Uint8Array | Redacted.Redacted<Uint8Array>, id: number): SigningKey =>
  derive(secret, KeyDerivationLabel, id)

/** The 32-byte key `id` of HKDF-SHA-256 over `secret` with salt `KeyDerivationSalt` and info `<label>:<id>`. */
const derive = (secret: Uint8Array | Redacted.Redacted<Uint8Array>, label: string, id: number): SigningKey => ({
  id,
  secret: Redacted.make(
    new Uint8Array(
      hkdfSync(
        "sha256",
        Redacted.isRedacted(secret) ? Redacted.value(secret) : secret,
        KeyDerivationSalt,
        `${label}:${id}`,
        32
      )
    )
  )
})

const isKeyId = (id: number): boolean => Number.isInteger(id) && id >= 0 && id <= 255

/** Each key's secret as a `KeyObject`, made once (an HMAC over raw bytes copies the key every time). */
const keyObjects = new WeakMap<SigningKey, KeyObject>()

const keyObjectOf = (key: SigningKey): KeyObject => {
  let secret = keyObjects.get(key)
  if (secret === undefined) {
    secret = createSecretKey(Redacted.value(key.secret))
    keyObjects.set(key, secret)
  }
  return secret
}

const mac = (key: SigningKey, signed: Uint8Array): Buffer =>
  createHmac("sha256", keyObjectOf(key)).update(signed).digest()

/** SHA-512's block: HMAC pads its key to this many bytes. */
const sha512Block = 128

/**
 * Each key's HMAC-SHA-512 states after its padded key blocks (`K ^ ipad`, `K ^ opad`), hashed once: an HMAC is then
 * a copy of each state and one block more apiece (RFC 2104). The same bytes as `createHmac("sha512", key)`, without
 * setting the key up again for every token.
 */
const hmacStates = new WeakMap<SigningKey, { readonly inner: Hash; readonly outer: Hash }>()

const hmacStatesOf = (key: SigningKey) => {
  let states = hmacStates.get(key)
  if (states === undefined) {
    const secret = Redacted.value(key.secret)
    // A key longer than the block is hashed first (RFC 2104); ours are 32 bytes.
    const k = secret.length > sha512Block ? createHash("sha512").update(secret).digest() : secret
    const ipad = Buffer.alloc(sha512Block, 0x36)
    const opad = Buffer.alloc(sha512Block, 0x5c)
    for (let i = 0; i < k.length; i++) {
      ipad[i]! ^= k[i]!
      opad[i]! ^= k[i]!
    }
    states = { inner: createHash("sha512").update(ipad), outer: createHash("sha512").update(opad) }
    hmacStates.set(key, states)
  }
  return states
}

/** The tags of every purpose at once: HMAC-SHA-512 of the signed bytes, 16 bytes per purpose (see the module doc). */
const purposeTags = (key: SigningKey, signed: Uint8Array): Buffer => {
  const { inner, outer } = hmacStatesOf(key)
  return outer.copy().update(inner.copy().update(signed).digest()).digest()
}

const fieldNames = ["tenant", "decisionId", "campaignId", "creativeId", "productId"] as const

/**
 * The token's bytes for `claims` with room for the header in front and the MAC behind (both left for the caller to
 * write), or why the claims cannot be a token.
 */
const layout = (claims: Claims, trailer: number = macLength): Either.Either<Buffer, ClickTokenError> => {
  if (!Number.isSafeInteger(claims.expiresAt) || claims.expiresAt < 0 || claims.expiresAt >= maxExpiry) {
    return fail("InvalidClaims", "expiresAt must be an integer number of milliseconds in [0, 2^48)")
  }
  const hasProduct = claims.productId !== undefined
  const fields = hasProduct ? 5 : 4
  let size = headerLength + expiryLength + 1
  for (let i = 0; i < fields; i++) {
    const name = fieldNames[i]!
    const value = claims[name]
    if (typeof value !== "string" || !value.isWellFormed()) {
      return fail("InvalidClaims", `${name} must be a well-formed string`)
    }
    const length = Buffer.byteLength(value, "utf8")
    if (length > maxField) {
      return fail("InvalidClaims", `${name} is ${length} bytes of UTF-8, at most ${maxField} fit in a click token`)
    }
    size += 1 + length
  }
  // Every byte is written before the token is read: the header and trailer by the caller (`seal`, `tagged` and
  // `tokenFor`), the rest here. From the pool, not zero-filled.
  const bytes = Buffer.allocUnsafe(size + trailer)
  bytes.writeUIntBE(claims.expiresAt, headerLength, expiryLength)
  bytes[headerLength + expiryLength] = hasProduct ? 1 : 0
  let at = headerLength + expiryLength + 1
  for (let i = 0; i < fields; i++) {
    const written = writeUtf8(bytes, claims[fieldNames[i]!] as string, at + 1)
    bytes[at] = written
    at += 1 + written
  }
  return Either.right(bytes)
}

/**
 * Writes `value` as UTF-8 at `at`; the number of bytes. Ids are nearly always ASCII, written here byte by byte (half
 * the cost of `Buffer#write` for ids this short); anything else goes to `Buffer#write`.
 */
const writeUtf8 = (bytes: Buffer, value: string, at: number): number => {
  const length = value.length
  if (length > 64) return bytes.write(value, at, "utf8")
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i)
    if (code > 0x7f) return bytes.write(value, at, "utf8")
    bytes[at + i] = code
  }
  return length
}

/** Writes the header and MAC of `key` into `bytes` (from `layout`) and answers the token. */
const seal = (bytes: Buffer, key: SigningKey): string => {
  const size = bytes.length - macLength
  bytes[0] = Version
  bytes[1] = key.id
  mac(key, bytes.subarray(0, size)).copy(bytes, size)
  return bytes.toString("base64url")
}

/**
 * Makes the token for `claims`, signed with `key`. Fails with `InvalidClaims` when an id is longer than 255 UTF-8
 * bytes or not well-formed, when `expiresAt` is not an integer in [0, 2^48), or when the key id is not in 0–255.
 *
 * @since 0.1.0
 * @category constructors
 */
export const sign = (claims: Claims, key: SigningKey): Either.Either<string, ClickTokenError> => {
  if (!isKeyId(key.id)) return fail("InvalidClaims", `key id must be an integer in 0..255, got ${key.id}`)
  return Either.map(layout(claims), (bytes) => seal(bytes, key))
}

/**
 * `sign` of the same claims with each of `keys`, in order (the claims encoded once): an ad's click and impression
 * tokens name the same decision under keys of their own.
 *
 * @since 0.5.0
 * @category constructors
 */
export const signEach = (
  claims: Claims,
  keys: ReadonlyArray<SigningKey>
): Either.Either<Array<string>, ClickTokenError> => {
  for (const key of keys) {
    if (!isKeyId(key.id)) return fail("InvalidClaims", `key id must be an integer in 0..255, got ${key.id}`)
  }
  return Either.map(layout(claims), (bytes) => keys.map((key) => seal(Buffer.from(bytes), key)))
}

/**
 * Makes the token for a decision shown now: `sign` with `expiresAt` set to the current time of Effect's `Clock`
 * plus `lifetime` (default `defaultLifetime`, 24 hours).
 *
 * @since 0.1.0
 * @category constructors
 */
export const issue = (
  claims: Omit<Claims, "expiresAt">,
  key: SigningKey,
  lifetime: Duration.DurationInput = defaultLifetime
): Effect.Effect<string, ClickTokenError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    sign({ ...claims, expiresAt: now + Duration.toMillis(Duration.decode(lifetime)) }, key)
  )

/**
 * Reads the authenticated payload; `undefined` when its layout is wrong. With `aligned` (version 3) the payload may
 * end in the zero bytes that make the signed bytes a multiple of three long, and nothing else.
 */
const readPayload = (payload: Buffer, aligned = false): Claims | undefined => {
  if (payload.length < expiryLength + 1) return undefined
  const expiresAt = payload.readUIntBE(0, expiryLength)
  const flags = payload[expiryLength]!
  if (flags > 1) return undefined
  const count = flags === 1 ? 5 : 4
  const values: Array<string> = []
  let at = expiryLength + 1
  for (let i = 0; i < count; i++) {
    if (at >= payload.length) return undefined
    const length = payload[at]!
    const end = at + 1 + length
    if (end > payload.length) return undefined
    try {
      values.push(utf8Strict.decode(payload.subarray(at + 1, end)))
    } catch {
      return undefined
    }
    at = end
  }
  if (aligned) {
    // At most two, zero, and exactly as many as the alignment needs (the caller checked the signed length).
    if (payload.length - at > 2) return undefined
    for (let i = at; i < payload.length; i++) if (payload[i] !== 0) return undefined
  } else if (at !== payload.length) return undefined
  const [tenant, decisionId, campaignId, creativeId, productId] = values as [string, string, string, string, string?]
  return productId === undefined
    ? { decisionId, campaignId, creativeId, tenant, expiresAt }
    : { decisionId, campaignId, creativeId, productId, tenant, expiresAt }
}

/**
 * Checks `token` against `keys` at time `now` (milliseconds since the epoch) and returns its claims, or why it is
 * refused. Never throws, whatever the string. The first key with the token's key id is used. A token is accepted
 * while `now < expiresAt`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const verify = (
  token: string,
  keys: ReadonlyArray<SigningKey>,
  now: number
): Either.Either<Claims, ClickTokenError> =>
  Either.flatMap(decode(token), (bytes) =>
    bytes[0] === Version ? check(bytes, keys, now) : fail("Malformed", `unsupported click token version ${bytes[0]}`)
  )

/** A token's bytes: length bounded before decoding, canonical base64url only, at least the smallest token's size. */
const decode = (token: string): Either.Either<Buffer, ClickTokenError> => {
  if (typeof token !== "string") return fail("Malformed", "not a click token")
  if (token.length > MaxLength) return fail("Malformed", "not a click token (too long)")
  if (token.length < Math.ceil((minPurposeBytes * 4) / 3) || !base64url.test(token)) {
    return fail("Malformed", "not a click token")
  }
  const bytes = Buffer.from(token, "base64url")
  // Only canonical base64url: otherwise several strings would name the same bytes (unused trailing bits).
  if (bytes.length < minPurposeBytes || bytes.toString("base64url") !== token) {
    return fail("Malformed", "not a click token")
  }
  return Either.right(bytes)
}

/** The claims of a version 1 token's bytes, checked against `keys` and `now`. */
const check = (bytes: Buffer, keys: ReadonlyArray<SigningKey>, now: number): Either.Either<Claims, ClickTokenError> => {
  if (bytes.length < minBytes) return fail("Malformed", "not a click token")
  const key = keys.find((k) => k.id === bytes[1])
  if (key === undefined) return fail("UnknownKey", `click token signed with unknown key ${bytes[1]}`)
  const signedLength = bytes.length - macLength
  const expected = mac(key, bytes.subarray(0, signedLength))
  if (!timingSafeEqual(expected, bytes.subarray(signedLength))) {
    return fail("BadSignature", "click token signature does not match")
  }
  return claimsOf(bytes, signedLength, now)
}

/** The authenticated payload's claims, refused when malformed or expired at `now`. */
const claimsOf = (
  bytes: Buffer,
  signedLength: number,
  now: number,
  aligned = false
): Either.Either<Claims, ClickTokenError> => {
  const claims = readPayload(bytes.subarray(headerLength, signedLength), aligned)
  if (claims === undefined) return fail("Malformed", "click token payload is malformed")
  if (!(now < claims.expiresAt)) return fail("Expired", "click token has expired")
  return Either.right(claims)
}

/**
 * The version byte of purpose-bound tokens (`signPurposes`, `verifyPurpose`).
 *
 * @since 0.7.0
 * @category models
 */
export const PurposeVersion = 2

/**
 * What a purpose-bound token may be used for: following the ad's click, or counting its rendered or viewable
 * impression.
 *
 * @since 0.7.0
 * @category models
 */
export type Purpose = "click" | "rendered" | "viewable"

/** Each purpose's slice of the tag bytes (see the module doc). */
const purposeIndex: Readonly<Record<Purpose, number>> = { click: 0, rendered: 1, viewable: 2 }

/**
 * The HKDF info label of the keys of purpose-bound tokens (`derivePurposeKey`), followed by `:<key id>`.
 *
 * @since 0.7.0
 * @category keys
 */
export const PurposeKeyDerivationLabel = "ad-selector/ad-token"

/**
 * The key of purpose-bound tokens with id `id` (0–255), derived from the master secret with HKDF-SHA-256 (salt
 * `KeyDerivationSalt`, info `PurposeKeyDerivationLabel:<id>`): unrelated to the version 1 keys of the same id.
 *
 * @since 0.7.0
 * @category keys
 */
export const derivePurposeKey = (secret: Uint8Array | Redacted.Redacted<Uint8Array>, id: number): SigningKey =>
  derive(secret, PurposeKeyDerivationLabel, id)

/**
 * The version byte of purpose-bound tokens signed with a `PurposeSigner` (keyed BLAKE3; see `makePurposeSigner`).
 *
 * @since 0.9.0
 * @category models
 */
export const PurposeSignerVersion = 3

/**
 * The HKDF info label of the BLAKE3 key a `PurposeSigner` derives from its purpose key (followed by `:<key id>`):
 * the same purpose key never keys two MAC algorithms.
 *
 * @since 0.9.0
 * @category keys
 */
export const PurposeSignerKeyLabel = "ad-selector/ad-token-blake3"

/**
 * A purpose key made ready to sign version 3 tokens: its keyed BLAKE3 loaded (WebAssembly, from `hash-wasm`). Made
 * by `makePurposeSigner`; accepted wherever a purpose `SigningKey` is, and it still verifies that key's version 2
 * tokens.
 *
 * @since 0.9.0
 * @category models
 */
export interface PurposeSigner {
  readonly _tag: "PurposeSigner"
  readonly key: SigningKey
}

/** Each signer's MAC: the tags of every purpose for the signed bytes (18 bytes each, click first). */
const signerTags = new WeakMap<PurposeSigner, (signed: Uint8Array) => Uint8Array>()

/** Bytes of a version 3 token's tag: 144 bits, and a whole number of base64 characters (24). */
const alignedTagLength = 18
const alignedTagChars = (alignedTagLength / 3) * 4
/** Bytes of every purpose's tag together: the MAC's output. */
const alignedTags = alignedTagLength * 3

/**
 * Makes `key` (from `derivePurposeKey`) ready to sign version 3 purpose-bound tokens: the same layout as version 2
 * with version byte `3`, zero to two zero bytes so that the signed bytes are a multiple of three long, and in place
 * of the 16-byte HMAC-SHA-512 slice the purpose's 18-byte slice of keyed BLAKE3 (54 bytes of output: click, rendered,
 * viewable) under a key derived from `key` with HKDF-SHA-256 (info `PurposeSignerKeyLabel:<id>`). Keyed BLAKE3 is a
 * PRF, as HMAC is, so the slices stay independent; it runs in WebAssembly in well under a microsecond where Node's
 * HMAC costs several (most of it setting up the call, not hashing), and the alignment lets the three tokens share
 * one base64url encoding of their payload. Fails with `InvalidClaims` for a key id outside 0–255.
 *
 * @since 0.9.0
 * @category constructors
 */
export const makePurposeSigner = (key: SigningKey): Effect.Effect<PurposeSigner, ClickTokenError> =>
  isKeyId(key.id)
    ? Effect.map(
        Effect.promise(() =>
          createBLAKE3(alignedTags * 8, Redacted.value(derive(key.secret, PurposeSignerKeyLabel, key.id).secret))
        ),
        (hasher: IHasher): PurposeSigner => {
          const signer: PurposeSigner = { _tag: "PurposeSigner", key }
          // Synchronous from init to digest: no other call can interleave on the shared hasher.
          signerTags.set(signer, (signed) => hasher.init().update(signed).digest("binary"))
          return signer
        }
      )
    : Effect.fail(
        new ClickTokenError({ reason: "InvalidClaims", message: `key id must be an integer in 0..255, got ${key.id}` })
      )

const isSigner = (key: SigningKey | PurposeSigner): key is PurposeSigner =>
  (key as Partial<PurposeSigner>)._tag === "PurposeSigner"

const keyOf = (key: SigningKey | PurposeSigner): SigningKey => (isSigner(key) ? key.key : key)

/** A version 3 token's signed bytes (header, payload, alignment) and its payload in base64url. */
interface Aligned {
  readonly prefix: string
  readonly tags: string
}

const aligned = (claims: Claims, signer: PurposeSigner): Either.Either<Aligned, ClickTokenError> => {
  const mac = signerTags.get(signer)
  if (mac === undefined) return fail("InvalidClaims", "not a signer made by makePurposeSigner")
  // Room for the alignment and every purpose's tag: the signed bytes and the tags are encoded in one call.
  const laid = layout(claims, 2 + alignedTags)
  if (Either.isLeft(laid)) return Either.left(laid.left)
  const bytes = laid.right
  const content = bytes.length - 2 - alignedTags
  const signedLength = content + ((3 - (content % 3)) % 3)
  bytes[content] = 0
  bytes[content + 1] = 0
  bytes[0] = PurposeSignerVersion
  bytes[1] = signer.key.id
  bytes.set(mac(bytes.subarray(0, signedLength)), signedLength)
  const text = bytes.toString("base64url", 0, signedLength + alignedTags)
  // Both lengths are multiples of 3, so the text splits into the payload's characters and the tags'.
  const split = (signedLength / 3) * 4
  return Either.right({ prefix: text.slice(0, split), tags: text.slice(split) })
}

/** The version 3 token for `purpose`: the payload's characters, then the purpose's tag's. */
const alignedToken = ({ prefix, tags }: Aligned, purpose: Purpose): string => {
  const at = purposeIndex[purpose] * alignedTagChars
  return prefix + tags.slice(at, at + alignedTagChars)
}

/**
 * The tokens of one ad, one per purpose, from one MAC computation: each names `claims` and is accepted by
 * `verifyPurpose` for its own purpose only. Version 3 with a `PurposeSigner`, version 2 with a plain key. Fails like
 * `sign` on claims or a key it cannot use.
 *
 * @since 0.7.0
 * @category constructors
 */
export const signPurposes = (
  claims: Claims,
  key: SigningKey | PurposeSigner
): Either.Either<Readonly<Record<Purpose, string>>, ClickTokenError> => {
  if (isSigner(key)) {
    return Either.map(aligned(claims, key), (signed) => ({
      click: alignedToken(signed, "click"),
      rendered: alignedToken(signed, "rendered"),
      viewable: alignedToken(signed, "viewable")
    }))
  }
  return Either.map(tagged(claims, key), (signed) => ({
    click: tokenFor(signed, "click"),
    rendered: tokenFor(signed, "rendered"),
    viewable: tokenFor(signed, "viewable")
  }))
}

/**
 * One purpose-bound token for `purpose` (for example the click of one product of an ad).
 *
 * @since 0.7.0
 * @category constructors
 */
export const signPurpose = (
  claims: Claims,
  purpose: Purpose,
  key: SigningKey | PurposeSigner
): Either.Either<string, ClickTokenError> =>
  isSigner(key)
    ? Either.map(aligned(claims, key), (signed) => alignedToken(signed, purpose))
    : Either.map(tagged(claims, key), (signed) => tokenFor(signed, purpose))

/** A purpose-bound token's bytes (the tag left zero) and the tags of every purpose. */
interface Tagged {
  readonly bytes: Buffer
  readonly tags: Buffer
}

const tagged = (claims: Claims, key: SigningKey): Either.Either<Tagged, ClickTokenError> => {
  if (!isKeyId(key.id)) return fail("InvalidClaims", `key id must be an integer in 0..255, got ${key.id}`)
  return Either.map(layout(claims, tagLength), (bytes) => {
    bytes[0] = PurposeVersion
    bytes[1] = key.id
    return { bytes, tags: purposeTags(key, bytes.subarray(0, bytes.length - tagLength)) }
  })
}

/** The token for `purpose`: the bytes ending in that purpose's tag. */
const tokenFor = ({ bytes, tags }: Tagged, purpose: Purpose): string => {
  const at = purposeIndex[purpose] * tagLength
  tags.copy(bytes, bytes.length - tagLength, at, at + tagLength)
  return bytes.toString("base64url")
}

/**
 * Checks a token for `purpose` at time `now`: a version 3 token against the `PurposeSigner`s among `keys`, a
 * version 2 token against the purpose keys of `keys` (plain or inside a signer), a version 1 token against `legacy`
 * (the keys that signed that purpose's version 1 tokens; none: refused as `Malformed`). Never throws; a token made
 * for another purpose is refused as `BadSignature`.
 *
 * @since 0.7.0
 * @category combinators
 */
export const verifyPurpose = (
  token: string,
  purpose: Purpose,
  keys: ReadonlyArray<SigningKey | PurposeSigner>,
  now: number,
  legacy: ReadonlyArray<SigningKey> = []
): Either.Either<Claims, ClickTokenError> =>
  Either.flatMap(decode(token), (bytes) => {
    if (bytes[0] === Version && legacy.length > 0) return check(bytes, legacy, now)
    if (bytes[0] === PurposeSignerVersion) return checkAligned(bytes, purpose, keys, now)
    if (bytes[0] !== PurposeVersion) return fail("Malformed", `unsupported token version ${bytes[0]}`)
    const found = keys.find((k) => keyOf(k).id === bytes[1])
    if (found === undefined) return fail("UnknownKey", `token signed with unknown key ${bytes[1]}`)
    const signedLength = bytes.length - tagLength
    const at = purposeIndex[purpose] * tagLength
    const expected = purposeTags(keyOf(found), bytes.subarray(0, signedLength)).subarray(at, at + tagLength)
    if (!timingSafeEqual(expected, bytes.subarray(signedLength))) {
      return fail("BadSignature", "token signature does not match")
    }
    return claimsOf(bytes, signedLength, now)
  })

/** The claims of a version 3 token's bytes, checked against the signers among `keys` and `now`. */
const checkAligned = (
  bytes: Buffer,
  purpose: Purpose,
  keys: ReadonlyArray<SigningKey | PurposeSigner>,
  now: number
): Either.Either<Claims, ClickTokenError> => {
  const signedLength = bytes.length - alignedTagLength
  if (signedLength < minPurposeBytes - tagLength || signedLength % 3 !== 0) {
    return fail("Malformed", "not a click token")
  }
  const signer = keys.find((k): k is PurposeSigner => isSigner(k) && k.key.id === bytes[1])
  const mac = signer === undefined ? undefined : signerTags.get(signer)
  if (mac === undefined) return fail("UnknownKey", `token signed with unknown key ${bytes[1]}`)
  const tags = mac(bytes.subarray(0, signedLength))
  const at = purposeIndex[purpose] * alignedTagLength
  const expected = tags.subarray(at, at + alignedTagLength)
  if (!timingSafeEqual(expected, bytes.subarray(signedLength))) {
    return fail("BadSignature", "token signature does not match")
  }
  return claimsOf(bytes, signedLength, now, true)
}

/**
 * `verifyPurpose` at the current time of Effect's `Clock`.
 *
 * @since 0.7.0
 * @category combinators
 */
export const verifyPurposeNow = (
  token: string,
  purpose: Purpose,
  keys: ReadonlyArray<SigningKey | PurposeSigner>,
  legacy?: ReadonlyArray<SigningKey>
): Effect.Effect<Claims, ClickTokenError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => verifyPurpose(token, purpose, keys, now, legacy))

/**
 * `verify` at the current time of Effect's `Clock` (so `TestClock` decides expiry in tests).
 *
 * @since 0.1.0
 * @category combinators
 */
export const verifyNow = (token: string, keys: ReadonlyArray<SigningKey>): Effect.Effect<Claims, ClickTokenError> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => verify(token, keys, now))
