/**
 * The master secret is checked at start against the one the database was set up with: a changed `OA_SECRET`
 * without `OA_SECRET_PREVIOUS` would change every visitor pseudonym, so the server refuses to start and says why;
 * with the old one as `OA_SECRET_PREVIOUS` (a rotation) it starts.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startServer } from "./support/server.js"

const secret = (fill: number) => Redacted.make(new Uint8Array(32).fill(fill))

describe("the master secret check", () => {
  it("refuses a changed OA_SECRET, accepts the same one and a rotation", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "oa-secret-"))
    const databaseUrl = `sqlite:${join(dir, "shared.db")}`
    try {
      await (await startServer({ databaseUrl, secret: secret(11) })).stop()
      await (await startServer({ databaseUrl, secret: secret(11) })).stop()
      const refused = await startServer({ databaseUrl, secret: secret(22) }).then(
        async (server) => {
          await server.stop()
          return undefined
        },
        (error: unknown) => String(error)
      )
      assert.isDefined(refused, "a changed OA_SECRET must not start")
      assert.include(refused, "OA_SECRET changed without OA_SECRET_PREVIOUS")
      assert.include(refused, "pseudonym")
      const rotating = await startServer({ databaseUrl, secret: secret(22), previousSecret: secret(11) })
      await rotating.stop()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
