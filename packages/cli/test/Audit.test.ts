/**
 * `openaudience audit verify|list` on SQLite through the real command: an intact chain verifies, a tenant's
 * entries list, an entry altered in the database file fails `verify` with exit code 1 naming it, and bad options
 * are refused naming the option.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { auditScenario } from "./support/audit.js"
import { cli } from "./support/cli.js"

const dir = mkdtempSync(join(tmpdir(), "oa-cli-audit-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("openaudience audit on SQLite", () => {
  it("verifies the chain, lists a tenant's entries, and fails naming an entry altered in the file", async () => {
    await auditScenario(`sqlite:${join(dir, "audit.db")}`)
  }, 300_000)

  it("verifies an empty log, and refuses bad options naming them", async () => {
    const databaseUrl = `sqlite:${join(dir, "empty.db")}`
    const empty = await cli(databaseUrl, "audit", "verify", "--json")
    assert.strictEqual(empty.code, 0, empty.stderr)
    assert.deepInclude(JSON.parse(empty.stdout), { ok: true, entries: 0 })
    const runs = await Promise.all([
      cli(databaseUrl, "audit", "list", "--tenant", "ten_0000000000000001", "--limit", "0", "--json"),
      cli(databaseUrl, "audit", "list", "--tenant", "ten_0000000000000001", "--after", "-1", "--json"),
      cli(databaseUrl, "audit", "list", "--json")
    ])
    for (const [run, option] of [
      [runs[0], "--limit"],
      [runs[1], "--after"],
      [runs[2], "--tenant"]
    ] as const) {
      assert.strictEqual(run?.code, 1, run?.stderr)
      assert.strictEqual(run?.stdout, "")
      assert.include(run?.stderr, option)
    }
  }, 300_000)
})
