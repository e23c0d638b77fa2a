/**
 * Erasure completeness at the server's start: a table that holds subject data (a column named like a subject
 * identifier) and is not covered by a store of the subject-data registry would be missed by every erasure, so the
 * server refuses to start over such a schema and names the table; once it is gone, the server starts.
 */
import { assert, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startServer } from "./support/server.js"

const startError = (databaseUrl: string): Promise<string | undefined> =>
  startServer({ databaseUrl }).then(
    async (server) => {
      await server.stop()
      return undefined
    },
    (error: unknown) => String(error)
  )

describe("the subject-data registry check at start", () => {
  it("refuses a schema with an unregistered table holding subject data, and starts without it", {
    timeout: 90_000
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "oa-registry-"))
    const file = join(dir, "registry.db")
    const databaseUrl = `sqlite:${file}`
    try {
      await (await startServer({ databaseUrl })).stop()
      for (const [table, column] of [
        ["loyalty_points", "visitor"],
        ["Newsletter", "EMAIL"],
        ["partner_sync", "browser_key"]
      ] as const) {
        const db = new Database(file)
        db.exec(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, ${column} TEXT, points INTEGER)`)
        db.close()
        const refused = await startError(databaseUrl)
        assert.isDefined(refused, `a table ${table}(${column}) must stop the start`)
        assert.include(refused, "Refusing to start")
        assert.include(refused, table)
        assert.include(refused, column)
        const cleanup = new Database(file)
        cleanup.exec(`DROP TABLE ${table}`)
        cleanup.close()
      }
      // A table without any subject column is no one's data: the server starts.
      const db = new Database(file)
      db.exec("CREATE TABLE exchange_rates (currency TEXT PRIMARY KEY, rate REAL)")
      db.close()
      assert.isUndefined(await startError(databaseUrl))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
