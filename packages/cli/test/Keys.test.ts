/**
 * `openaudience keys rotate` on SQLite through the real command: personal data encrypted under secret A (a user
 * invited with `OA_SECRET=A`) is still readable with only `OA_SECRET=B` after `keys rotate` ran with `OA_SECRET=B`
 * and `OA_SECRET_PREVIOUS=A`, and not before.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { cliJsonWith, cliWith } from "./support/cli.js"

const dir = mkdtempSync(join(tmpdir(), "oa-cli-keys-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const secretA = "a1".repeat(32)
const secretB = Buffer.alloc(32, 0xb2).toString("base64")

describe("openaudience keys rotate on SQLite", () => {
  it("re-wraps the data keys under the new secret: afterwards the new secret alone opens the data", async () => {
    const base = { OA_DATABASE_URL: `sqlite:${join(dir, "rotate.db")}`, OA_DATA_DIR: dir }
    const withA = { ...base, OA_SECRET: secretA }
    const onlyB = { ...base, OA_SECRET: secretB }
    const rotating = { ...onlyB, OA_SECRET_PREVIOUS: secretA }

    const { id: tenant } = await cliJsonWith<{ readonly id: string }>(withA, "tenant", "create", "--name", "Rotate")
    const invited = await cliJsonWith<{ readonly id: string }>(
      withA,
      ...["user", "invite", "--tenant", tenant, "--email", "rotate@example.com", "--role", "analyst"]
    )

    // A changed secret without the previous one is refused, as the server refuses to start.
    const refused = await cliWith(onlyB, "keys", "rotate", "--json")
    assert.strictEqual(refused.code, 1, refused.stderr)
    assert.strictEqual(refused.stdout, "")
    assert.include(refused.stderr, "OA_SECRET_PREVIOUS")

    const report = await cliJsonWith<Record<string, unknown>>(rotating, "keys", "rotate")
    assert.deepStrictEqual(report, {
      version: 2,
      rewrapped: report.rewrapped,
      alreadyCurrent: 0,
      skipped: 0,
      failed: 0,
      activated: true
    })
    // The user's data key and the blind-index roots.
    assert.isAtLeast(report.rewrapped as number, 2)

    const users = await cliJsonWith<ReadonlyArray<{ readonly id: string; readonly email: string }>>(
      onlyB,
      ...["user", "list", "--tenant", tenant]
    )
    assert.deepStrictEqual(
      users.map((user) => [user.id, user.email]),
      [[invited.id, "rotate@example.com"]]
    )

    // Nothing left to re-wrap; the old secret alone is now refused.
    const again = await cliJsonWith<Record<string, unknown>>(onlyB, "keys", "rotate")
    assert.deepInclude(again, { version: 2, rewrapped: 0, failed: 0 })
    const old = await cliWith(withA, "user", "list", "--tenant", tenant, "--json")
    assert.strictEqual(old.code, 1)
    assert.include(old.stderr, "master secret refused")
  }, 300_000)
})
