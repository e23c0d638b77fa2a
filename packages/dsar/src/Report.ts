/**
 * The erasure verification report and its Ed25519 signature. After a verified erasure the server writes a report
 * (which request, which tenant, digests of the subjects — never their identifiers — when it ran, what each store
 * erased and that nothing remains, and what is retained and why) and signs it, so a data subject or a supervisory
 * authority can check later that the report was issued by this deployment and was not altered.
 *
 * The signature covers the canonical JSON of the report (object keys sorted by UTF-16 code units, no whitespace).
 * The signing key is derived from the server's secret (HKDF-SHA-256, salt `openaudience/v1`, info
 * `openaudience/dsar-report/ed25519`), so every process holding the secret signs with the same key; the public key
 * is published as a JWK (`publicJwk`) for verifiers.
 *
 * @since 0.1.0
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  type KeyObject,
  sign as edSign,
  verify as edVerify
} from "node:crypto"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Outcome } from "./Erasure.js"
import { idOf, type Subject } from "./Subject.js"

/**
 * The HKDF salt of the report signing key.
 *
 * @since 0.1.0
 * @category keys
 */
export const KeyDerivationSalt = "openaudience/v1"

/**
 * The HKDF info of the report signing key.
 *
 * @since 0.1.0
 * @category keys
 */
export const KeyDerivationLabel = "openaudience/dsar-report/ed25519"

const pkcs8Prefix = Buffer.from("302e020100300506032b657004220420", "hex")
const utf8 = new TextEncoder()

const base64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url")

/**
 * The report signing key: an Ed25519 key pair derived from a secret, and its key id (base64url of the first 8
 * bytes of SHA-256 of the raw public key).
 *
 * @since 0.1.0
 * @category models
 */
export class SigningKey {
  private constructor(
    /** The private key (a node:crypto KeyObject: it never prints its bytes). */
    readonly privateKey: KeyObject,
    /** The public key. */
    readonly publicKey: KeyObject,
    /** The key id, as in the JWK and in every signature. */
    readonly kid: string
  ) {}

  /**
   * Derives the signing key from a secret: the same secret always gives the same key, another secret an unrelated
   * one.
   *
   * @since 0.1.0
   */
  static fromSecret(secret: Redacted.Redacted<string> | Redacted.Redacted<Uint8Array> | Uint8Array): SigningKey {
    const raw = Redacted.isRedacted(secret) ? Redacted.value(secret as Redacted.Redacted<string | Uint8Array>) : secret
    const ikm = typeof raw === "string" ? utf8.encode(raw) : raw
    const seed = new Uint8Array(hkdfSync("sha256", ikm, KeyDerivationSalt, KeyDerivationLabel, 32))
    const privateKey = createPrivateKey({
      key: Buffer.concat([pkcs8Prefix, seed]),
      format: "der",
      type: "pkcs8"
    })
    const publicKey = createPublicKey(privateKey)
    return new SigningKey(privateKey, publicKey, keyId(rawPublicKey(publicKey)))
  }

  /** @internal */
  toJSON(): unknown {
    return { _id: "SigningKey", kid: this.kid }
  }
}

const rawPublicKey = (publicKey: KeyObject): Uint8Array => {
  const jwk = publicKey.export({ format: "jwk" })
  return Buffer.from(jwk.x ?? "", "base64url")
}

const keyId = (raw: Uint8Array): string => base64url(createHash("sha256").update(raw).digest().subarray(0, 8))

/**
 * The public key as a JSON Web Key (RFC 8037), as published for verifiers.
 *
 * @since 0.1.0
 * @category models
 */
export const PublicJwk = Schema.Struct({
  kty: Schema.Literal("OKP"),
  crv: Schema.Literal("Ed25519"),
  x: Schema.String,
  kid: Schema.String,
  alg: Schema.Literal("EdDSA"),
  use: Schema.Literal("sig")
}).annotations({ identifier: "PublicJwk" })

/**
 * @since 0.1.0
 * @category models
 */
export type PublicJwk = typeof PublicJwk.Type

/**
 * The public JWK of a signing key.
 *
 * @since 0.1.0
 * @category accessors
 */
export const publicJwk = (key: SigningKey): PublicJwk => ({
  kty: "OKP",
  crv: "Ed25519",
  x: base64url(rawPublicKey(key.publicKey)),
  kid: key.kid,
  alg: "EdDSA",
  use: "sig"
})

/**
 * The digest a report shows instead of a subject: base64url (no padding) of SHA-256 of `<kind>:<tenant>:<id>`.
 * Whoever holds the identifier can check that a report is about it; the report alone does not reveal it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const digest = (subject: Subject): string =>
  createHash("sha256")
    .update(`${subject._tag}:${subject.tenant}:${idOf(subject)}`, "utf8")
    .digest("base64url")

/**
 * What one store erased, and how many of the subjects' rows remained at verification (always 0 in a report).
 *
 * @since 0.1.0
 * @category models
 */
export const StoreResult = Schema.Struct({
  name: Schema.String,
  erased: Schema.NonNegativeInt,
  remaining: Schema.NonNegativeInt
})

/**
 * What a store keeps after the erasure, and why.
 *
 * @since 0.1.0
 * @category models
 */
export const RetainedEntry = Schema.Struct({
  store: Schema.String,
  what: Schema.String,
  why: Schema.String
})

/**
 * The erasure verification report. `type` is the request type it answers (e.g. `erasure`); `subjects` are
 * `digest`s; `startedAt` and `completedAt` are epoch milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export const Report = Schema.Struct({
  version: Schema.Literal(1),
  requestId: Schema.String,
  tenant: Schema.String,
  type: Schema.String,
  subjects: Schema.Array(Schema.String),
  startedAt: Schema.Int,
  completedAt: Schema.Int,
  stores: Schema.Array(StoreResult),
  retained: Schema.Array(RetainedEntry)
}).annotations({ identifier: "ErasureReport" })

/**
 * @since 0.1.0
 * @category models
 */
export type Report = typeof Report.Type

/**
 * A report and its signature: Ed25519 over the report's canonical JSON (UTF-8), base64url without padding.
 *
 * @since 0.1.0
 * @category models
 */
export const Signed = Schema.Struct({
  report: Report,
  signature: Schema.Struct({
    alg: Schema.Literal("EdDSA"),
    kid: Schema.String,
    value: Schema.String
  })
}).annotations({ identifier: "SignedErasureReport" })

/**
 * @since 0.1.0
 * @category models
 */
export type Signed = typeof Signed.Type

/**
 * A signed report from its JSON text (for the CLI and verifiers).
 *
 * @since 0.1.0
 * @category models
 */
export const SignedFromJson = Schema.parseJson(Signed)

/**
 * The report of a verified erasure: the subjects as sorted, distinct digests.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromOutcome = (options: {
  readonly requestId: string
  readonly tenant: string
  readonly type: string
  readonly subjects: ReadonlyArray<Subject>
  readonly outcome: Outcome
}): Report => ({
  version: 1,
  requestId: options.requestId,
  tenant: options.tenant,
  type: options.type,
  subjects: [...new Set(options.subjects.map(digest))].sort(),
  startedAt: options.outcome.startedAt,
  completedAt: options.outcome.completedAt,
  stores: options.outcome.stores.map((store) => ({
    name: store.name,
    erased: store.erased,
    remaining: store.remaining
  })),
  retained: options.outcome.retained.map((entry) => ({ store: entry.store, what: entry.what, why: entry.why }))
})

/**
 * A JSON value.
 *
 * @since 0.1.0
 * @category models
 */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json | undefined }

/**
 * The canonical JSON of a value: object keys sorted by UTF-16 code units, no whitespace, strings and numbers as
 * `JSON.stringify` writes them; properties whose value is `undefined` are left out, and a number that is not
 * finite is written `null` (as `JSON.stringify` does). Two values equal as JSON give the same text.
 *
 * @since 0.1.0
 * @category encoding
 */
export const canonicalJson = (value: Json): string => {
  if (value === null || typeof value === "boolean") return String(value)
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "null"
  if (typeof value === "string") return JSON.stringify(value)
  if (Array.isArray(value)) {
    return `[${(value as ReadonlyArray<Json>).map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`
  }
  const object = value as { readonly [key: string]: Json | undefined }
  const parts: Array<string> = []
  for (const key of Object.keys(object).sort()) {
    const item = object[key]
    if (item !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalJson(item)}`)
  }
  return `{${parts.join(",")}}`
}

const signedBytes = (report: Report): Uint8Array => utf8.encode(canonicalJson(report as unknown as Json))

/**
 * Signs a report.
 *
 * @since 0.1.0
 * @category signing
 */
export const sign = (key: SigningKey, report: Report): Signed => ({
  report,
  signature: { alg: "EdDSA", kid: key.kid, value: base64url(edSign(null, signedBytes(report), key.privateKey)) }
})

const isReport = Schema.is(Report)

/**
 * Whether a signed report was signed by the key of `jwk` and is unaltered: false for any change to the report, a
 * signature by another key, a key id that is not the JWK's, or a malformed report, signature or key.
 *
 * @since 0.1.0
 * @category signing
 */
export const verify = (signed: Signed, jwk: PublicJwk): boolean => {
  if (
    jwk.kty !== "OKP" ||
    jwk.crv !== "Ed25519" ||
    signed.signature?.alg !== "EdDSA" ||
    signed.signature.kid !== jwk.kid ||
    typeof signed.signature.value !== "string" ||
    !/^[A-Za-z0-9_-]{86}$/.test(signed.signature.value) ||
    typeof jwk.x !== "string" ||
    !/^[A-Za-z0-9_-]{43}$/.test(jwk.x) ||
    !isReport(signed.report)
  ) {
    return false
  }
  try {
    const publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk.x }, format: "jwk" })
    return edVerify(null, signedBytes(signed.report), publicKey, Buffer.from(signed.signature.value, "base64url"))
  } catch {
    return false
  }
}
