/**
 * The storage port of the vault: per (tenant, subject) one wrapped data key, and the record of the master secrets
 * a database has seen (their versions and fingerprints, never the secrets), which `SecretCheck` reads at start.
 * Only wrapped keys go in: a store's content, alone, opens nothing. `layerMemory` keeps everything in memory
 * (tests, demos); `SqlKeyStore` in @openaudience/storage-sql implements it on SQLite and PostgreSQL.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * A data key wrapped with AES-256-GCM under a tenant's key-encryption key of master secret `version`.
 *
 * @since 0.1.0
 * @category models
 */
export interface WrappedKey {
  readonly version: number
  readonly iv: Uint8Array
  readonly tag: Uint8Array
  readonly ciphertext: Uint8Array
}

/**
 * A wrapped key and whose it is, as `list` returns them.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredKey {
  readonly tenant: string
  readonly subject: string
  readonly key: WrappedKey
}

/**
 * Where a `list` page starts: after this (tenant, subject), in the store's order.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cursor {
  readonly tenant: string
  readonly subject: string
}

/**
 * The state of a master secret a database has seen: `active` is the one the secret check compares with (exactly
 * one), `pending` the newer secret of a rotation not finished yet (at most one), `retired` the older ones.
 *
 * @since 0.1.0
 * @category models
 */
export const SecretStatus = Schema.Literal("active", "pending", "retired")

/**
 * @since 0.1.0
 * @category models
 */
export type SecretStatus = typeof SecretStatus.Type

/**
 * A master secret a database has seen: its version and fingerprint (`MasterKeys.fingerprint`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SecretRecord {
  readonly version: number
  readonly fingerprint: string
  readonly status: SecretStatus
}

/**
 * A key store failure (the database is unreachable, a stored row is corrupt).
 *
 * @since 0.1.0
 * @category errors
 */
export class KeyStoreError extends Schema.TaggedError<KeyStoreError>()("KeyStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The operations of a key store.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Stores a subject's wrapped key unless it has one; returns the key stored now (the existing one wins a race). */
  readonly put: (tenant: string, subject: string, key: WrappedKey) => Effect.Effect<WrappedKey, KeyStoreError>
  /** A subject's wrapped key. */
  readonly get: (tenant: string, subject: string) => Effect.Effect<Option.Option<WrappedKey>, KeyStoreError>
  /** Deletes a subject's wrapped key (crypto-shredding); whether there was one. */
  readonly delete: (tenant: string, subject: string) => Effect.Effect<boolean, KeyStoreError>
  /**
   * Replaces a subject's wrapped key by `next` only if it is still `expected` (same version and iv): a key shredded
   * or replaced meanwhile is left alone, never resurrected. Whether it was replaced.
   */
  readonly replace: (
    tenant: string,
    subject: string,
    expected: WrappedKey,
    next: WrappedKey
  ) => Effect.Effect<boolean, KeyStoreError>
  /** Up to `limit` keys after `after`, ordered by (tenant, subject): every key, page by page, for rotation. */
  readonly list: (options: {
    readonly after?: Cursor | undefined
    readonly limit: number
  }) => Effect.Effect<ReadonlyArray<StoredKey>, KeyStoreError>
  /** Every master secret this database has seen, by version. */
  readonly secrets: Effect.Effect<ReadonlyArray<SecretRecord>, KeyStoreError>
  /** Records a master secret unless its version is recorded already; whether it was recorded now. */
  readonly recordSecret: (record: SecretRecord) => Effect.Effect<boolean, KeyStoreError>
  /** Makes `version` (with this fingerprint) the active secret and retires every other active or pending one. */
  readonly activateSecret: (version: number, fingerprint: string) => Effect.Effect<void, KeyStoreError>
}

/**
 * The key store service.
 *
 * @since 0.1.0
 * @category services
 */
export class KeyStore extends Context.Tag("@openaudience/vault/KeyStore")<KeyStore, Service>() {}

const copy = (key: WrappedKey): WrappedKey => ({
  version: key.version,
  iv: new Uint8Array(key.iv),
  tag: new Uint8Array(key.tag),
  ciphertext: new Uint8Array(key.ciphertext)
})

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((byte, i) => byte === b[i])

/**
 * Whether two wrapped keys are the same wrapping (version and iv), as `replace` compares them.
 *
 * @since 0.1.0
 * @category combinators
 */
export const sameWrapping = (a: WrappedKey, b: WrappedKey): boolean => a.version === b.version && sameBytes(a.iv, b.iv)

const compare = (a: Cursor, b: Cursor): number =>
  a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0

/**
 * A key store in memory, empty at start.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.sync(() => {
  const keys = new Map<string, StoredKey>()
  const secrets = new Map<number, SecretRecord>()
  const id = (tenant: string, subject: string) => JSON.stringify([tenant, subject])
  return KeyStore.of({
    put: (tenant, subject, key) =>
      Effect.sync(() => {
        const existing = keys.get(id(tenant, subject))
        if (existing !== undefined) return copy(existing.key)
        keys.set(id(tenant, subject), { tenant, subject, key: copy(key) })
        return copy(key)
      }),
    get: (tenant, subject) =>
      Effect.sync(() => Option.map(Option.fromNullable(keys.get(id(tenant, subject))), (stored) => copy(stored.key))),
    delete: (tenant, subject) => Effect.sync(() => keys.delete(id(tenant, subject))),
    replace: (tenant, subject, expected, next) =>
      Effect.sync(() => {
        const existing = keys.get(id(tenant, subject))
        if (existing === undefined || !sameWrapping(existing.key, expected)) return false
        keys.set(id(tenant, subject), { tenant, subject, key: copy(next) })
        return true
      }),
    list: ({ after, limit }) =>
      Effect.sync(() =>
        [...keys.values()]
          .filter((stored) => after === undefined || compare(stored, after) > 0)
          .sort(compare)
          .slice(0, limit)
          .map((stored) => ({ ...stored, key: copy(stored.key) }))
      ),
    secrets: Effect.sync(() => [...secrets.values()].sort((a, b) => a.version - b.version)),
    recordSecret: (record) =>
      Effect.sync(() => {
        if (secrets.has(record.version)) return false
        secrets.set(record.version, { ...record })
        return true
      }),
    activateSecret: (version, fingerprint) =>
      Effect.sync(() => {
        for (const record of secrets.values()) {
          if (record.version !== version && record.status !== "retired") {
            secrets.set(record.version, { ...record, status: "retired" })
          }
        }
        secrets.set(version, { version, fingerprint, status: "active" })
      })
  })
})

/**
 * The in-memory key store as a layer (a fresh, empty store each time the layer is built).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<KeyStore> = Layer.effect(KeyStore, makeMemory)
