/**
 * Envelope encryption of personal data. Each subject (a user, an inquiry…) of a tenant has one random 256-bit
 * data key; fields are sealed with it (AES-256-GCM, a fresh 96-bit nonce per value, the tenant, subject and field
 * name as associated data, so a ciphertext copied to another field, subject or tenant does not open). The data key
 * is stored only wrapped (AES-256-GCM) under the tenant's key-encryption key, derived with HKDF-SHA256 from the
 * current master secret. So:
 *
 * - `shred` deletes the subject's wrapped key: every ciphertext of that subject becomes noise (crypto-shredding),
 *   wherever copies of it went, and `decrypt` fails with reason `Shredded`;
 * - `rotate` re-wraps every data key under the current master secret without touching the data;
 * - `blindIndex` gives a keyed digest of a normalized value (an email address) to look a record up by, without
 *   storing the value in clear. Its key is derived from a per-tenant root that the vault derives once, under the
 *   master secret current at that time, and then keeps wrapped like a data key: rotation re-wraps it and every
 *   index stays valid, with no re-indexing.
 *
 * @since 0.1.0
 */
import { SecureRandom } from "@openaudience/anonymizer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Ciphertext from "./Ciphertext.js"
import { context, derive, hmac, ivLength, keyLength, open, seal, wipe } from "./internal/crypto.js"
import * as KeyStore from "./KeyStore.js"
import * as MasterKeys from "./MasterKeys.js"

/**
 * Why a vault operation failed.
 *
 * - `Shredded`: the subject has no data key: it was shredded (or never had anything encrypted).
 * - `DecryptFailed`: the ciphertext does not open: altered, or moved from another field, subject or tenant.
 * - `Malformed`: the text is not a vault ciphertext.
 * - `UnknownKeyVersion`: the data key is wrapped under a master secret version that is not configured.
 * - `InvalidInput`: an empty or too long tenant, subject, field or purpose, or a reserved subject.
 * - `StoreFailed`: the key store failed.
 *
 * @since 0.1.0
 * @category errors
 */
export const VaultErrorReason = Schema.Literal(
  "Shredded",
  "DecryptFailed",
  "Malformed",
  "UnknownKeyVersion",
  "InvalidInput",
  "StoreFailed"
)

/**
 * A failed vault operation, with a reason callers can match on.
 *
 * @since 0.1.0
 * @category errors
 */
export class VaultError extends Schema.TaggedError<VaultError>()("VaultError", {
  reason: VaultErrorReason,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * What `rotate` did: keys re-wrapped under `version`, keys already under it, keys left alone because they were
 * shredded or replaced meanwhile, keys it could not open (their master secret is not configured), and whether the
 * stored secret check now names the current secret (only when nothing failed).
 *
 * @since 0.1.0
 * @category models
 */
export interface RotationReport {
  readonly version: number
  readonly rewrapped: number
  readonly alreadyCurrent: number
  readonly skipped: number
  readonly failed: number
  readonly activated: boolean
}

/**
 * The vault's operations. Plaintexts are strings, sealed as UTF-8 (a lone surrogate comes back as U+FFFD);
 * ciphertexts are in the text form of `Ciphertext`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Seals `plaintext` for one field of one subject; the subject's data key is created on first use. */
  readonly encrypt: (
    tenant: string,
    subject: string,
    field: string,
    plaintext: string
  ) => Effect.Effect<string, VaultError>
  /** Opens a ciphertext of this exact (tenant, subject, field). */
  readonly decrypt: (
    tenant: string,
    subject: string,
    field: string,
    ciphertext: string
  ) => Effect.Effect<string, VaultError>
  /** Destroys the subject's data key (crypto-shredding); whether it had one. */
  readonly shred: (tenant: string, subject: string) => Effect.Effect<boolean, VaultError>
  /** Re-wraps every data key under the current master secret, then records it as the checked secret. */
  readonly rotate: () => Effect.Effect<RotationReport, VaultError>
  /** A keyed digest (HMAC-SHA256, base64url) of an already normalized value, per tenant and purpose. */
  readonly blindIndex: (tenant: string, purpose: string, normalizedValue: string) => Effect.Effect<string, VaultError>
}

/**
 * The vault service.
 *
 * @since 0.1.0
 * @category services
 */
export class Vault extends Context.Tag("@openaudience/vault/Vault")<Vault, Service>() {}

/**
 * Subjects starting with this prefix belong to the vault itself and are refused to callers.
 *
 * @since 0.1.0
 * @category models
 */
export const reservedPrefix = "vault:"

/** The subject under which a tenant's blind-index root is kept, wrapped like a data key. */
const blindIndexSubject = `${reservedPrefix}blind-index`

/** Keys re-wrapped per page of a rotation. */
const rotationPage = 500

const invalid = (message: string) => new VaultError({ reason: "InvalidInput", message })

const storeFailed = (error: KeyStore.KeyStoreError) =>
  new VaultError({ reason: "StoreFailed", message: error.message, cause: error })

const wrapAad = (tenant: string, subject: string, version: number) =>
  context("vault/data-key", tenant, subject, version)

const fieldAad = (tenant: string, subject: string, field: string) =>
  context("vault/field", Ciphertext.formatVersion, tenant, subject, field)

const nonEmpty = (what: string, value: string): Either.Either<void, VaultError> =>
  value === "" ? Either.left(invalid(`The ${what} is empty`)) : Either.void

const checkContext = (...parts: ReadonlyArray<string | number>): Either.Either<void, VaultError> =>
  MasterKeys.fitsContext(...parts) ? Either.void : Either.left(invalid("The tenant, subject or field name is too long"))

const checkSubject = (tenant: string, subject: string): Either.Either<void, VaultError> =>
  Either.gen(function* () {
    yield* nonEmpty("tenant", tenant)
    yield* nonEmpty("subject", subject)
    if (subject.startsWith(reservedPrefix)) {
      return yield* Either.left(invalid(`Subjects starting with "${reservedPrefix}" are reserved for the vault`))
    }
    yield* checkContext("vault/data-key", tenant, subject, Number.MAX_SAFE_INTEGER)
  })

const utf8 = new TextDecoder("utf-8")

/**
 * Builds the vault over the master keys and the key store in context. Randomness (data keys, nonces) comes from
 * @openaudience/anonymizer's `SecureRandom` (node:crypto unless a test replaces it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, MasterKeys.MasterKeys | KeyStore.KeyStore> = Effect.gen(function* () {
  const keys = yield* MasterKeys.MasterKeys
  const store = yield* KeyStore.KeyStore
  const random = yield* SecureRandom.SecureRandom
  const roots = new Map<string, Buffer>()

  const wrap = (tenant: string, subject: string, dataKey: Uint8Array, master: MasterKeys.MasterSecret) => {
    const kek = MasterKeys.tenantKek(master, tenant)
    const sealed = seal(kek, random.bytes(ivLength), dataKey, wrapAad(tenant, subject, master.version))
    wipe(kek)
    return { version: master.version, iv: sealed.iv, tag: sealed.tag, ciphertext: sealed.ciphertext }
  }

  const unwrap = (tenant: string, subject: string, wrapped: KeyStore.WrappedKey): Either.Either<Buffer, VaultError> => {
    const master = MasterKeys.find(keys, wrapped.version)
    if (Option.isNone(master)) {
      const configured = [keys.current, ...Option.toArray(keys.previous)].map((k) => k.version).join(" and ")
      return Either.left(
        new VaultError({
          reason: "UnknownKeyVersion",
          message: `The data key of subject ${JSON.stringify(subject)} is wrapped under master secret version ${wrapped.version}, but only version ${configured} is configured: set OA_SECRET_PREVIOUS to that secret until the keys are rotated`
        })
      )
    }
    const kek = MasterKeys.tenantKek(master.value, tenant)
    const dataKey = open(kek, wrapped, wrapAad(tenant, subject, wrapped.version))
    wipe(kek)
    return dataKey === undefined || dataKey.length !== keyLength
      ? Either.left(
          new VaultError({
            reason: "DecryptFailed",
            message: `The data key of subject ${JSON.stringify(subject)} does not open under master secret version ${wrapped.version}: the secret is not the one that wrapped it, or the stored key was altered`
          })
        )
      : Either.right(dataKey)
  }

  /** A subject's data key; `fresh` makes one when there is none (else the subject reads as shredded). */
  const dataKey = (tenant: string, subject: string, fresh: (() => Buffer) | undefined) =>
    Effect.gen(function* () {
      const existing = yield* store.get(tenant, subject).pipe(Effect.mapError(storeFailed))
      if (Option.isSome(existing)) return yield* unwrap(tenant, subject, existing.value)
      if (fresh === undefined) {
        return yield* new VaultError({
          reason: "Shredded",
          message: `Subject ${JSON.stringify(subject)} of tenant ${JSON.stringify(tenant)} has no data key: it was shredded (or nothing was ever encrypted for it), so its data cannot be decrypted`
        })
      }
      const created = fresh()
      const wrapped = wrap(tenant, subject, created, keys.current)
      const stored = yield* store.put(tenant, subject, wrapped).pipe(Effect.mapError(storeFailed))
      if (KeyStore.sameWrapping(stored, wrapped)) return created
      // Another process created this subject's key first: use theirs.
      wipe(created)
      return yield* unwrap(tenant, subject, stored)
    })

  const newDataKey = () => Buffer.from(random.bytes(keyLength))

  const encrypt: Service["encrypt"] = (tenant, subject, field, plaintext) =>
    Effect.gen(function* () {
      yield* checkSubject(tenant, subject)
      yield* nonEmpty("field name", field)
      const aad = fieldAad(tenant, subject, field)
      const key = yield* dataKey(tenant, subject, newDataKey)
      const sealed = seal(key, random.bytes(ivLength), Buffer.from(plaintext, "utf8"), aad)
      wipe(key)
      return Ciphertext.toText(sealed)
    })

  const decrypt: Service["decrypt"] = (tenant, subject, field, ciphertext) =>
    Effect.gen(function* () {
      yield* checkSubject(tenant, subject)
      yield* nonEmpty("field name", field)
      const sealed = yield* Either.mapLeft(
        Ciphertext.fromText(ciphertext),
        (why) =>
          new VaultError({
            reason: "Malformed",
            message: `The value of field ${field} is not a vault ciphertext: ${why}`
          })
      )
      const key = yield* dataKey(tenant, subject, undefined)
      const plaintext = open(key, sealed, fieldAad(tenant, subject, field))
      wipe(key)
      if (plaintext === undefined) {
        return yield* new VaultError({
          reason: "DecryptFailed",
          message: `The value of field ${field} does not decrypt for this tenant and subject: it was altered, or it belongs to another field, subject or tenant`
        })
      }
      return utf8.decode(plaintext)
    })

  const shred: Service["shred"] = (tenant, subject) =>
    Effect.gen(function* () {
      yield* checkSubject(tenant, subject)
      return yield* store.delete(tenant, subject).pipe(Effect.mapError(storeFailed))
    })

  const rotate: Service["rotate"] = () =>
    Effect.gen(function* () {
      const current = keys.current
      let rewrapped = 0
      let alreadyCurrent = 0
      let skipped = 0
      let failed = 0
      let after: KeyStore.Cursor | undefined
      while (true) {
        const page = yield* store.list({ after, limit: rotationPage }).pipe(Effect.mapError(storeFailed))
        for (const { tenant, subject, key } of page) {
          if (key.version === current.version) {
            alreadyCurrent++
            continue
          }
          const opened = unwrap(tenant, subject, key)
          if (Either.isLeft(opened)) {
            failed++
            yield* Effect.logWarning(`Rotation: ${opened.left.message}`)
            continue
          }
          const next = wrap(tenant, subject, opened.right, current)
          wipe(opened.right)
          const replaced = yield* store.replace(tenant, subject, key, next).pipe(Effect.mapError(storeFailed))
          if (replaced) rewrapped++
          else skipped++
        }
        if (page.length < rotationPage) break
        const last = page[page.length - 1]!
        after = { tenant: last.tenant, subject: last.subject }
      }
      const activated = failed === 0
      if (activated) {
        yield* store
          .activateSecret(current.version, MasterKeys.fingerprint(current.secret))
          .pipe(Effect.mapError(storeFailed))
      }
      return { version: current.version, rewrapped, alreadyCurrent, skipped, failed, activated }
    })

  const blindIndexKey = (tenant: string, purpose: string) =>
    Effect.gen(function* () {
      let root = roots.get(tenant)
      if (root === undefined) {
        root = yield* dataKey(tenant, blindIndexSubject, () => MasterKeys.blindIndexRoot(keys.current, tenant))
        roots.set(tenant, root)
      }
      return derive(root, context(`vault/blind-index/${purpose}`, tenant))
    })

  const blindIndex: Service["blindIndex"] = (tenant, purpose, normalizedValue) =>
    Effect.gen(function* () {
      yield* nonEmpty("tenant", tenant)
      yield* nonEmpty("blind index purpose", purpose)
      yield* checkContext(`vault/blind-index/${purpose}`, tenant, "vault/data-key", Number.MAX_SAFE_INTEGER)
      const key = yield* blindIndexKey(tenant, purpose)
      const digest = hmac(key, normalizedValue).toString("base64url")
      wipe(key)
      return digest
    })

  return Vault.of({ encrypt, decrypt, shred, rotate, blindIndex })
})

/**
 * The vault over `MasterKeys` and `KeyStore` from context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Vault, never, MasterKeys.MasterKeys | KeyStore.KeyStore> = Layer.effect(Vault, make)
