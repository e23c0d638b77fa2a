import { join } from "node:path"
import { readFileSync, existsSync } from "node:fs"
import { assert, describe, it, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { KeyStore, MasterKeys, Vault } from "@openaudience/vault"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { secretCheckSuite, secrets, tenantId, vaultSuite } from "../../vault/test/keyStoreSuite.js"
import { Database, SqlKeyStore } from "../src/index.js"
import { sqliteLayer, tempDir } from "./fixtures.js"

layer(SqlKeyStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "Vault over SqlKeyStore (SQLite)",
  vaultSuite
)

layer(SqlKeyStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "SecretCheck over SqlKeyStore (SQLite)",
  secretCheckSuite
)

/** Whether `needle` occurs anywhere in the database file or its write-ahead log. */
const inFiles = (file: string, needle: Uint8Array): boolean =>
  [file, `${file}-wal`].some((path) => existsSync(path) && readFileSync(path).includes(Buffer.from(needle)))

describe("SqlKeyStore on a SQLite file", () => {
  it.scoped(
    "after shred, the raw database file and its log hold neither the plaintext nor the subject's wrapped key",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir
        const file = join(dir, "vault.db")
        const context = yield* Layer.build(
          SqlKeyStore.layer.pipe(Layer.provideMerge(Database.layerFromUrl(`sqlite:${file}`)))
        )
        const sql = Effect.runSync(Effect.provide(SqlClient.SqlClient, context))
        const store = Effect.runSync(Effect.provide(KeyStore.KeyStore, context))
        const keys = yield* MasterKeys.make({ current: { version: 1, secret: secrets.one } })
        const vault = yield* Vault.make.pipe(
          Effect.provideService(MasterKeys.MasterKeys, keys),
          Effect.provideService(KeyStore.KeyStore, store)
        )
        const checkpoint = sql`PRAGMA wal_checkpoint(TRUNCATE)`

        const tenant = tenantId()
        const pii = {
          email: "annabelle.shredder@example.test",
          lastName: "Shredder-Plaintext",
          iban: "DE89370400440532013000"
        }
        // The application's own table, holding only ciphertexts.
        yield* sql`CREATE TABLE app_users (id TEXT PRIMARY KEY, email TEXT, last_name TEXT, iban TEXT)`
        for (const user of ["user-1", "user-2"]) {
          yield* sql`INSERT INTO app_users ${sql.insert({
            id: user,
            email: yield* vault.encrypt(tenant, user, "email", pii.email),
            last_name: yield* vault.encrypt(tenant, user, "lastName", pii.lastName),
            iban: yield* vault.encrypt(tenant, user, "iban", pii.iban)
          })}`
        }
        yield* checkpoint
        const wrapped = Option.getOrThrow(yield* store.get(tenant, "user-1"))
        const kept = Option.getOrThrow(yield* store.get(tenant, "user-2"))
        // The scan finds key material that is there, and never finds the plaintexts.
        assert.isTrue(inFiles(file, wrapped.ciphertext))
        for (const value of Object.values(pii)) assert.isFalse(inFiles(file, Buffer.from(value, "utf8")))

        // No checkpoint of ours: the store empties the write-ahead log after a shred.
        assert.isTrue(yield* vault.shred(tenant, "user-1"))
        assert.isFalse(inFiles(file, wrapped.ciphertext), "the shredded wrapped key is still in the file")
        assert.isFalse(inFiles(file, wrapped.iv), "the shredded key's nonce is still in the file")
        assert.isTrue(inFiles(file, kept.ciphertext))
        for (const value of Object.values(pii)) assert.isFalse(inFiles(file, Buffer.from(value, "utf8")))
        const rows = yield* sql<{ readonly email: string }>`SELECT email FROM app_users WHERE id = 'user-1'`
        assert.strictEqual(
          (yield* Effect.flip(vault.decrypt(tenant, "user-1", "email", rows[0]!.email))).reason,
          "Shredded"
        )
      })
  )
})
