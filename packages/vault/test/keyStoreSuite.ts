/**
 * The behaviour of the vault over a key store, run on the in-memory store here and on SQLite and PostgreSQL by
 * @openaudience/storage-sql (`SqlKeyStore` tests). Every test of `vaultSuite` uses tenants of its own, and only
 * the master secrets below, so tests sharing one store never disturb each other (even `rotate`, which walks every
 * key). `secretCheckSuite` needs a store of its own: it starts from an empty secret record.
 */
import { randomUUID } from "node:crypto"
import { assert, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { KeyStore, MasterKeys, SecretCheck, Vault } from "../src/index.js"

/** Synthetic master secrets (never use constants in production). */
export const secrets = {
  one: "11".repeat(32),
  two: "22".repeat(32),
  three: "33".repeat(32),
  four: "44".repeat(32)
} as const

/** A fresh tenant id. */
export const tenantId = (prefix = "t"): string => `${prefix}-${randomUUID().slice(0, 8)}`

const keysV1 = { current: { version: 1, secret: secrets.one } }
const keysV2WithPrevious = {
  current: { version: 2, secret: secrets.two },
  previous: { version: 1, secret: secrets.one }
}
const keysV2 = { current: { version: 2, secret: secrets.two } }

/** A vault over the key store in context, with these master keys. */
export const vaultWith = (input: Parameters<typeof MasterKeys.make>[0]) =>
  Effect.gen(function* () {
    const keys = yield* MasterKeys.make(input)
    return yield* Vault.make.pipe(Effect.provideService(MasterKeys.MasterKeys, keys))
  })

/** The reason of a failed vault operation. */
export const failure = <A>(effect: Effect.Effect<A, Vault.VaultError>) =>
  Effect.map(Effect.flip(effect), (error) => error.reason)

const flipByte = (text: string, index: number): string => {
  const bytes = Buffer.from(text.slice(3), "base64url")
  bytes[index] = bytes[index]! ^ 0x01
  return `v1.${bytes.toString("base64url")}`
}

const plaintexts = FastCheck.oneof(
  FastCheck.string({ unit: "binary" }),
  FastCheck.constant(""),
  FastCheck.tuple(
    FastCheck.string({ unit: "grapheme", minLength: 1, maxLength: 8 }),
    FastCheck.integer({ min: 500, max: 3000 })
  ).map(([piece, times]) => piece.repeat(times))
)

export const vaultSuite = (it: Vitest.MethodsNonLive<KeyStore.KeyStore, true>) => {
  it.effect("key store: put keeps the first key, replace only the expected one, list pages in order", () =>
    Effect.gen(function* () {
      const store = yield* KeyStore.KeyStore
      const tenant = tenantId("ks")
      const key = (version: number, fill: number): KeyStore.WrappedKey => ({
        version,
        iv: new Uint8Array(12).fill(fill),
        tag: new Uint8Array(16).fill(fill),
        ciphertext: new Uint8Array(32).fill(fill)
      })
      assert.deepStrictEqual(yield* store.put(tenant, "b", key(1, 1)), key(1, 1))
      assert.deepStrictEqual(yield* store.put(tenant, "b", key(1, 2)), key(1, 1))
      yield* store.put(tenant, "a", key(1, 3))
      yield* store.put(tenant, "c", key(1, 4))
      assert.isFalse(yield* store.replace(tenant, "b", key(1, 2), key(2, 5)))
      assert.isTrue(yield* store.replace(tenant, "b", key(1, 1), key(2, 5)))
      assert.deepStrictEqual(yield* store.get(tenant, "b"), Option.some(key(2, 5)))
      assert.isFalse(yield* store.replace(tenant, "gone", key(1, 1), key(2, 5)))
      assert.isTrue(Option.isNone(yield* store.get(tenant, "gone")))

      const ours = (page: ReadonlyArray<KeyStore.StoredKey>) =>
        page.filter((k) => k.tenant === tenant).map((k) => k.subject)
      const first = yield* store.list({ after: { tenant, subject: "" }, limit: 2 })
      assert.deepStrictEqual(ours(first), ["a", "b"])
      const second = yield* store.list({ after: { tenant, subject: "b" }, limit: 2 })
      assert.deepStrictEqual(ours(second), ["c"])
      assert.isTrue(yield* store.delete(tenant, "a"))
      assert.isFalse(yield* store.delete(tenant, "a"))
      assert.deepStrictEqual(ours(yield* store.list({ after: { tenant, subject: "" }, limit: 10 })), ["b", "c"])
      yield* Effect.forEach(["b", "c"], (subject) => store.delete(tenant, subject))
    })
  )

  it.effect("encrypts and decrypts a field; each encryption uses a fresh nonce", () =>
    Effect.gen(function* () {
      const vault = yield* vaultWith(keysV1)
      const tenant = tenantId()
      const first = yield* vault.encrypt(tenant, "user-1", "email", "ann@example.test")
      const second = yield* vault.encrypt(tenant, "user-1", "email", "ann@example.test")
      assert.isTrue(first.startsWith("v1."))
      assert.notStrictEqual(first, second)
      assert.notInclude(first, "ann")
      assert.strictEqual(yield* vault.decrypt(tenant, "user-1", "email", first), "ann@example.test")
      assert.strictEqual(yield* vault.decrypt(tenant, "user-1", "email", second), "ann@example.test")
      // One data key per subject, stored wrapped under the current version.
      const stored = yield* Effect.flatMap(KeyStore.KeyStore, (store) => store.get(tenant, "user-1"))
      assert.isTrue(Option.isSome(stored))
      assert.strictEqual(Option.getOrThrow(stored).version, 1)
      assert.strictEqual(Option.getOrThrow(stored).ciphertext.length, 32)
    })
  )

  it.effect.prop(
    "round trip of any text: unicode, empty, long",
    [plaintexts],
    ([plaintext]) =>
      Effect.gen(function* () {
        const vault = yield* vaultWith(keysV1)
        const tenant = tenantId("prop")
        const sealed = yield* vault.encrypt(tenant, "subject", "note", plaintext)
        assert.strictEqual(yield* vault.decrypt(tenant, "subject", "note", sealed), plaintext)
        assert.strictEqual(yield* failure(vault.decrypt(tenant, "subject", "other", sealed)), "DecryptFailed")
      }),
    { fastCheck: { numRuns: 40 } }
  )

  it.effect("a ciphertext moved to another field, subject or tenant does not decrypt", () =>
    Effect.gen(function* () {
      const vault = yield* vaultWith(keysV1)
      const tenant = tenantId()
      const other = tenantId()
      const sealed = yield* vault.encrypt(tenant, "user-1", "phone", "+33 6 00 00 00 00")
      // The other subject and tenant have data keys too, so the failure is the binding, not a missing key.
      yield* vault.encrypt(tenant, "user-2", "phone", "x")
      yield* vault.encrypt(other, "user-1", "phone", "x")
      assert.strictEqual(yield* failure(vault.decrypt(tenant, "user-1", "email", sealed)), "DecryptFailed")
      assert.strictEqual(yield* failure(vault.decrypt(tenant, "user-2", "phone", sealed)), "DecryptFailed")
      assert.strictEqual(yield* failure(vault.decrypt(other, "user-1", "phone", sealed)), "DecryptFailed")
      assert.strictEqual(yield* vault.decrypt(tenant, "user-1", "phone", sealed), "+33 6 00 00 00 00")
      // A wrapped key copied to another subject's row does not open there either.
      const store = yield* KeyStore.KeyStore
      yield* store.put(tenant, "user-3", Option.getOrThrow(yield* store.get(tenant, "user-1")))
      assert.strictEqual(yield* failure(vault.decrypt(tenant, "user-3", "phone", sealed)), "DecryptFailed")
      // (Rotation would count it as a key it cannot open.)
      yield* store.delete(tenant, "user-3")
    })
  )

  it.effect("a tampered or malformed ciphertext is refused", () =>
    Effect.gen(function* () {
      const vault = yield* vaultWith(keysV1)
      const tenant = tenantId()
      const sealed = yield* vault.encrypt(tenant, "user-1", "lastName", "Durand")
      const length = Buffer.from(sealed.slice(3), "base64url").length
      // A bit flipped in the nonce, in the ciphertext, in the tag.
      for (const index of [0, 12, length - 1]) {
        assert.strictEqual(
          yield* failure(vault.decrypt(tenant, "user-1", "lastName", flipByte(sealed, index))),
          "DecryptFailed"
        )
      }
      assert.strictEqual(
        yield* failure(vault.decrypt(tenant, "user-1", "lastName", sealed.slice(0, -4))),
        "DecryptFailed"
      )
      for (const bad of ["", "Durand", "v2.AAAA", "v1.***", "v1.AAAA"]) {
        assert.strictEqual(yield* failure(vault.decrypt(tenant, "user-1", "lastName", bad)), "Malformed")
      }
    })
  )

  it.effect.prop(
    "decrypt never dies on untrusted text",
    [
      FastCheck.oneof(
        FastCheck.string(),
        FastCheck.base64String().map((s) => `v1.${s.replace(/=/g, "")}`)
      )
    ],
    ([text]) =>
      Effect.gen(function* () {
        const vault = yield* vaultWith(keysV1)
        const tenant = tenantId("prop")
        yield* vault.encrypt(tenant, "s", "f", "x")
        const reason = yield* failure(vault.decrypt(tenant, "s", "f", text))
        assert.include(["Malformed", "DecryptFailed"], reason)
      }),
    { fastCheck: { numRuns: 50 } }
  )

  it.effect("shred destroys the data key: decrypt fails with Shredded, a new key never opens old data", () =>
    Effect.gen(function* () {
      const vault = yield* vaultWith(keysV1)
      const tenant = tenantId()
      const sealed = yield* vault.encrypt(tenant, "user-1", "email", "ann@example.test")
      const kept = yield* vault.encrypt(tenant, "user-2", "email", "bob@example.test")
      assert.isTrue(yield* vault.shred(tenant, "user-1"))
      assert.isFalse(yield* vault.shred(tenant, "user-1"))
      const error = yield* Effect.flip(vault.decrypt(tenant, "user-1", "email", sealed))
      assert.strictEqual(error.reason, "Shredded")
      assert.include(error.message, "shredded")
      assert.strictEqual(yield* vault.decrypt(tenant, "user-2", "email", kept), "bob@example.test")
      // The subject can come back with a new key, which does not open what the old one sealed.
      yield* vault.encrypt(tenant, "user-1", "email", "new@example.test")
      assert.strictEqual(yield* failure(vault.decrypt(tenant, "user-1", "email", sealed)), "DecryptFailed")
      assert.strictEqual(yield* failure(vault.shred(tenant, "vault:blind-index")), "InvalidInput")
      assert.strictEqual(yield* failure(vault.encrypt(tenant, "", "email", "x")), "InvalidInput")
    })
  )

  it.effect("rotation re-wraps data keys under the new version without touching the data", () =>
    Effect.gen(function* () {
      const store = yield* KeyStore.KeyStore
      const tenant = tenantId()
      const v1 = yield* vaultWith(keysV1)
      const sealed = yield* Effect.forEach(["a", "b", "c"], (subject) =>
        Effect.map(v1.encrypt(tenant, subject, "name", `name of ${subject}`), (text) => [subject, text] as const)
      )
      const before = yield* Effect.forEach(sealed, ([subject]) => store.get(tenant, subject))

      // The new secret alone cannot open keys wrapped under version 1.
      const v2Only = yield* vaultWith(keysV2)
      assert.strictEqual(yield* failure(v2Only.decrypt(tenant, "a", "name", sealed[0]![1])), "UnknownKeyVersion")

      const rotating = yield* vaultWith(keysV2WithPrevious)
      // During the rotation, new subjects get keys under version 2 and old ones still open.
      const fresh = yield* rotating.encrypt(tenant, "d", "name", "name of d")
      assert.strictEqual((yield* store.get(tenant, "d")).pipe(Option.getOrThrow).version, 2)
      assert.strictEqual(yield* rotating.decrypt(tenant, "a", "name", sealed[0]![1]), "name of a")

      const report = yield* rotating.rotate()
      assert.strictEqual(report.version, 2)
      assert.strictEqual(report.failed, 0)
      assert.isTrue(report.activated)
      assert.isAtLeast(report.rewrapped, 3)
      assert.isAtLeast(report.alreadyCurrent, 1)
      for (const [i, [subject]] of sealed.entries()) {
        const after = Option.getOrThrow(yield* store.get(tenant, subject))
        const old = Option.getOrThrow(before[i]!)
        assert.strictEqual(after.version, 2)
        assert.notDeepEqual(after.ciphertext, old.ciphertext)
      }
      // Without the previous secret, everything opens: the same ciphertexts, never re-encrypted.
      for (const [subject, text] of sealed) {
        assert.strictEqual(yield* v2Only.decrypt(tenant, subject, "name", text), `name of ${subject}`)
      }
      assert.strictEqual(yield* v2Only.decrypt(tenant, "d", "name", fresh), "name of d")
      // Running it again changes nothing for this tenant.
      const again = yield* v2Only.rotate()
      assert.strictEqual(again.failed, 0)
      assert.strictEqual(again.rewrapped, 0)
    })
  )

  it.effect("a blind index is stable, per tenant and purpose, and survives rotation", () =>
    Effect.gen(function* () {
      const tenant = tenantId()
      const other = tenantId()
      const v1 = yield* vaultWith(keysV1)
      const index = yield* v1.blindIndex(tenant, "email", "ann@example.test")
      assert.match(index, /^[A-Za-z0-9_-]{43}$/)
      assert.strictEqual(yield* v1.blindIndex(tenant, "email", "ann@example.test"), index)
      assert.notStrictEqual(yield* v1.blindIndex(tenant, "email", "bob@example.test"), index)
      assert.notStrictEqual(yield* v1.blindIndex(other, "email", "ann@example.test"), index)
      assert.notStrictEqual(yield* v1.blindIndex(tenant, "phone", "ann@example.test"), index)

      const rotating = yield* vaultWith(keysV2WithPrevious)
      assert.strictEqual(yield* rotating.blindIndex(tenant, "email", "ann@example.test"), index)
      yield* rotating.rotate()
      const v2Only = yield* vaultWith(keysV2)
      assert.strictEqual(yield* v2Only.blindIndex(tenant, "email", "ann@example.test"), index)
      // A tenant first indexed under version 2 keeps its index after a rotation to version 3.
      const late = tenantId()
      const lateIndex = yield* v2Only.blindIndex(late, "email", "ann@example.test")
      const v3 = yield* vaultWith({
        current: { version: 3, secret: secrets.three },
        previous: { version: 2, secret: secrets.two }
      })
      yield* v3.rotate()
      const v3Only = yield* vaultWith({ current: { version: 3, secret: secrets.three } })
      assert.strictEqual(yield* v3Only.blindIndex(late, "email", "ann@example.test"), lateIndex)
      assert.strictEqual(yield* v3Only.blindIndex(tenant, "email", "ann@example.test"), index)
    })
  )
}

const secretsOf = (current: string, previous?: string): MasterKeys.Secrets => ({
  current: Redacted.make(new Uint8Array(Buffer.from(current, "hex"))),
  previous:
    previous === undefined ? Option.none() : Option.some(Redacted.make(new Uint8Array(Buffer.from(previous, "hex"))))
})

const versions = (verified: SecretCheck.Verified) => ({
  outcome: verified.outcome,
  current: verified.keys.current.version,
  previous: Option.getOrUndefined(Option.map(verified.keys.previous, (p) => p.version))
})

const refusal = (effect: Effect.Effect<unknown, SecretCheck.SecretCheckError, KeyStore.KeyStore>) =>
  Effect.map(Effect.flip(effect), (error) => ({ reason: error.reason, message: error.message }))

export const secretCheckSuite = (it: Vitest.MethodsNonLive<KeyStore.KeyStore, true>) => {
  it.effect("secret check: first start, same secret, changed secret, rotation with and without the previous one", () =>
    Effect.gen(function* () {
      const verify = (current: string, previous?: string) => SecretCheck.verify(secretsOf(current, previous))
      const store = yield* KeyStore.KeyStore

      assert.deepStrictEqual(versions(yield* verify(secrets.one)), {
        outcome: "FirstStart",
        current: 1,
        previous: undefined
      })
      const stored = yield* store.secrets
      assert.deepStrictEqual(
        stored.map((r) => [r.version, r.status]),
        [[1, "active"]]
      )
      assert.match(stored[0]!.fingerprint, /^[0-9a-f]{64}$/)
      assert.notInclude(stored[0]!.fingerprint, secrets.one.slice(0, 16))
      assert.deepStrictEqual(versions(yield* verify(secrets.one)), {
        outcome: "Current",
        current: 1,
        previous: undefined
      })

      const changed = yield* refusal(verify(secrets.two))
      assert.strictEqual(changed.reason, "SecretChanged")
      assert.include(changed.message, "OA_SECRET changed without OA_SECRET_PREVIOUS")
      assert.include(changed.message, "every visitor pseudonym")
      assert.include(changed.message, "OA_SECRET_PREVIOUS to the old secret")
      assert.strictEqual((yield* refusal(verify(secrets.one, secrets.three))).reason, "UnknownPrevious")

      // Rotation: the new secret gets version 2, pending until the keys are re-wrapped.
      const tenant = tenantId()
      const old = yield* Effect.flatMap(vaultWith(keysV1), (vault) =>
        vault.encrypt(tenant, "u", "email", "ann@example.test")
      )
      const rotating = yield* verify(secrets.two, secrets.one)
      assert.deepStrictEqual(versions(rotating), { outcome: "RotationInProgress", current: 2, previous: 1 })
      // Every process starting with the same pair agrees on the versions.
      assert.deepStrictEqual(versions(yield* verify(secrets.two, secrets.one)), versions(rotating))
      assert.strictEqual((yield* refusal(verify(secrets.two))).reason, "PreviousMissing")
      assert.strictEqual((yield* refusal(verify(secrets.three, secrets.one))).reason, "RotationConflict")

      const vault = yield* Vault.make.pipe(Effect.provideService(MasterKeys.MasterKeys, rotating.keys))
      const during = yield* vault.encrypt(tenant, "v", "email", "bob@example.test")
      const report = yield* vault.rotate()
      assert.isTrue(report.activated)
      assert.deepStrictEqual(
        (yield* store.secrets).map((r) => [r.version, r.status]),
        [
          [1, "retired"],
          [2, "active"]
        ]
      )

      // After the rotation: the new secret alone is the checked one; the old one alone is refused.
      const after = yield* verify(secrets.two)
      assert.deepStrictEqual(versions(after), { outcome: "Current", current: 2, previous: undefined })
      assert.deepStrictEqual(versions(yield* verify(secrets.two, secrets.one)), {
        outcome: "Current",
        current: 2,
        previous: 1
      })
      assert.strictEqual((yield* refusal(verify(secrets.one))).reason, "SecretChanged")
      const next = yield* Vault.make.pipe(Effect.provideService(MasterKeys.MasterKeys, after.keys))
      assert.strictEqual(yield* next.decrypt(tenant, "u", "email", old), "ann@example.test")
      assert.strictEqual(yield* next.decrypt(tenant, "v", "email", during), "bob@example.test")

      // A second rotation counts on.
      assert.deepStrictEqual(versions(yield* verify(secrets.four, secrets.two)), {
        outcome: "RotationInProgress",
        current: 3,
        previous: 2
      })
    })
  )

  it.effect("MasterKeys.make refuses short secrets and clashing versions", () =>
    Effect.gen(function* () {
      const short = yield* Effect.flip(MasterKeys.make({ current: { version: 1, secret: "00ff" } }))
      assert.include(short.message, "at least 32 bytes")
      const clash = yield* Effect.flip(
        MasterKeys.make({ current: { version: 1, secret: secrets.one }, previous: { version: 1, secret: secrets.two } })
      )
      assert.include(clash.message, "both have version 1")
      assert.isTrue(Either.isLeft(MasterKeys.parseSecret("not a secret")))
      assert.strictEqual(Either.getOrThrow(MasterKeys.parseSecret(Buffer.alloc(32, 7).toString("base64"))).length, 32)
    })
  )
}
