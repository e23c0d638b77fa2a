/**
 * The inquiries service over `SqlInquiryStore` and `SqlKeyStore` on SQLite (a file, and in memory) behaves like
 * over the in-memory stores (the shared suite: packages/inquiries/test/inquiriesSuite.ts); the raw database file
 * never holds an inquiry's name, email address or message, and after a purge nothing of it opens any more.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it, layer } from "@effect/vitest"
import { Inquiries, InquiryStore } from "@openaudience/inquiries"
import { Vault } from "@openaudience/vault"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { inquiriesSuite, now, servicesOver, tenantId } from "../../inquiries/test/inquiriesSuite.js"
import { Database, SqlInquiryStore, SqlKeyStore } from "../src/index.js"
import { sqliteLayer, tempDir } from "./fixtures.js"

const sqlStores = Layer.merge(SqlInquiryStore.layer, SqlKeyStore.layer)

layer(servicesOver(sqlStores.pipe(Layer.provide(sqliteLayer))), { excludeTestServices: true })(
  "Inquiries over SqlInquiryStore (SQLite file)",
  inquiriesSuite
)

layer(servicesOver(sqlStores.pipe(Layer.provide(Database.layerFromUrl("sqlite::memory:")))), {
  excludeTestServices: true
})("Inquiries over SqlInquiryStore (SQLite in memory)", inquiriesSuite)

/** Whether `needle` occurs anywhere in the database file or its write-ahead log. */
const inFiles = (file: string, needle: string): boolean =>
  [file, `${file}-wal`].some((path) => existsSync(path) && readFileSync(path).includes(Buffer.from(needle, "utf8")))

describe("SqlInquiryStore on a SQLite file", () => {
  it.scoped("holds no plaintext of an inquiry, and after a purge neither the row nor a way to open it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const file = join(dir, "inquiries.db")
      const context = yield* Layer.build(
        servicesOver(sqlStores).pipe(Layer.provideMerge(Database.layerFromUrl(`sqlite:${file}`)))
      )
      const sql = Context.get(context, SqlClient.SqlClient)
      const inquiries = Context.get(context, Inquiries.Inquiries)
      const store = Context.get(context, InquiryStore.InquiryStore)
      const vault = Context.get(context, Vault.Vault)
      const checkpoint = sql`PRAGMA wal_checkpoint(TRUNCATE)`

      const tenant = tenantId()
      const pii = {
        name: "Philippa Plaintext-Scan",
        email: "philippa.plaintext@example.test",
        message: "Unmistakable message body 7f3c: please call back"
      }
      const { id } = yield* inquiries.submit(tenant, pii)
      yield* checkpoint
      // The scan finds what is there in clear (the id), and never the personal data.
      assert.isTrue(inFiles(file, id), "the scan does not see the database")
      for (const [field, value] of Object.entries(pii)) assert.isFalse(inFiles(file, value), `${field} in clear`)

      const stored = yield* store.get(tenant, id)
      assert.isTrue(inFiles(file, stored.message), "the scan does not see the ciphertexts")
      yield* inquiries.close(tenant, id, now - 91 * 86_400_000)
      assert.strictEqual(yield* inquiries.purge(now), 1)
      yield* checkpoint
      assert.deepStrictEqual(yield* sql`SELECT id FROM inquiries WHERE id = ${id}`, [])
      const error = yield* Effect.flip(vault.decrypt(tenant, id, "message", stored.message))
      assert.strictEqual(error.reason, "Shredded")
      for (const value of Object.values(pii)) assert.isFalse(inFiles(file, value))
    })
  )
})
