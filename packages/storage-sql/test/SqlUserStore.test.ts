/**
 * The accounts service over the SQL user store on SQLite behaves like it does over the in-memory store (the shared
 * suite of packages/accounts/test/accountsSuite.ts), and a removed user leaves nothing of theirs in the raw database
 * files: no plaintext, no ciphertext, no blind index, no password hash, no wrapped data key.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { Accounts, Mailer, UserStore } from "@openaudience/accounts"
import { KeyStore } from "@openaudience/vault"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { accountsLayer, accountsSuite, fresh, password, tokenOf } from "../../accounts/test/accountsSuite.js"
import { Database, SqlKeyStore, SqlUserStore } from "../src/index.js"
import { sqliteLayer, tempDir } from "./fixtures.js"

layer(Layer.mergeAll(SqlUserStore.layer, SqlKeyStore.layer).pipe(Layer.provide(sqliteLayer)))(
  "Accounts over SqlUserStore (SQLite file)",
  accountsSuite
)

/** Whether `needle` occurs anywhere in the database file or its write-ahead log. */
const inFiles = (file: string, needle: string | Uint8Array): boolean =>
  [file, `${file}-wal`].some((path) => existsSync(path) && readFileSync(path).includes(Buffer.from(needle)))

describe("SqlUserStore on a SQLite file", () => {
  it.scoped("a removed user's personal data is in no form in the raw database files", () =>
    Effect.gen(function* () {
      const file = join(yield* tempDir, "accounts.db")
      const context = yield* Layer.build(
        accountsLayer.pipe(
          Layer.provideMerge(Layer.mergeAll(SqlUserStore.layer, SqlKeyStore.layer)),
          Layer.provideMerge(Database.layerFromUrl(`sqlite:${file}`))
        )
      )
      yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const accounts = yield* Accounts.Accounts
        const outbox = yield* Mailer.MemoryOutbox
        const store = yield* UserStore.UserStore
        const keys = yield* KeyStore.KeyStore
        const tenant = fresh("t")
        const pii = {
          email: `${fresh("zelda.plaintext")}@example.test`,
          firstName: "Zeldaplain",
          lastName: "Shreddington-Plaintext",
          phone: "+44 20 7946 0958",
          mailingAddress: "Plaintext Ltd, 221B Baker Street, London NW1 6XE",
          iban: "GB33BUKB20201555555555",
          bic: "BUKBGB22"
        }
        yield* accounts.invite(tenant, pii.email, "owner", "usr_root")
        const user = yield* accounts.accept(tokenOf(yield* outbox.take), password, {
          firstName: pii.firstName,
          lastName: pii.lastName,
          phone: pii.phone,
          mailingAddress: pii.mailingAddress,
          bank: { iban: pii.iban, bic: pii.bic }
        })
        const kept = yield* accounts.invite(tenant, `${fresh("kept")}@example.test`, "admin", "usr_root")
        yield* outbox.take
        yield* accounts.addPaymentMethod(tenant, user.id, {
          processor: "stripe",
          token: "pm_zelda_token",
          brand: "visa",
          last4: "4242"
        })
        yield* accounts.login({ email: pii.email, password })
        yield* accounts.login({ email: pii.email, password: "a wrong password here" }).pipe(Effect.ignore)
        yield* accounts.requestReset(pii.email)
        yield* outbox.take
        const record = Option.getOrThrow(yield* store.get(tenant, user.id))
        const wrapped = Option.getOrThrow(yield* keys.get(tenant, user.id))
        const traces: ReadonlyArray<string | Uint8Array> = [
          record.email,
          record.firstName!,
          record.lastName!,
          record.phone!,
          record.mailingAddress!,
          record.iban!,
          record.bic!,
          record.emailIndex,
          record.passwordHash!,
          "pm_zelda_token",
          wrapped.ciphertext
        ]
        yield* sql`PRAGMA wal_checkpoint(TRUNCATE)`
        // The scan finds what is there, and no plaintext is there even before removal.
        for (const trace of traces) assert.isTrue(inFiles(file, trace), `expected ${String(trace)} in the files`)
        for (const value of Object.values(pii)) assert.isFalse(inFiles(file, value), `${value} stored in clear`)

        yield* accounts.remove(tenant, user.id)
        yield* sql`PRAGMA wal_checkpoint(TRUNCATE)`
        for (const trace of traces) assert.isFalse(inFiles(file, trace), `${String(trace)} left in the files`)
        for (const value of Object.values(pii)) assert.isFalse(inFiles(file, value), `${value} left in the files`)
        // The other user is untouched.
        assert.strictEqual((yield* accounts.get(tenant, kept.user.id)).status, "invited")
      }).pipe(Effect.provide(context))
    })
  )
})
