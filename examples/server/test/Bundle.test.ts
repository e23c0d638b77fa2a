/**
 * The deployable bundle (`examples/server/dist/main.js`, built by `pnpm run build`) starts with plain `node`, serves
 * the tag and health, and stops cleanly on SIGTERM: the CommonJS dependencies bundled into the ESM file must find
 * `require`.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "./support/ports.js"

const bundle = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "main.js")

describe("the server bundle", () => {
  it("starts with node, answers, and exits 0 on SIGTERM", { timeout: 60_000 }, async () => {
    assert.isTrue(existsSync(bundle), `${bundle} is missing: run 'pnpm run build' first`)
    const dataDir = mkdtempSync(join(tmpdir(), "oa-bundle-"))
    const child = spawn(process.execPath, [bundle], {
      cwd: dataDir,
      env: { ...process.env, PORT: String(await freePort()), HOST: "127.0.0.1", OA_DATA_DIR: dataDir, OA_DEMO: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no 'listening' line within 30 s:\n${output}`)), 30_000)
        const read = (chunk: Buffer) => {
          output += chunk.toString()
          const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
          if (match !== null) {
            clearTimeout(timer)
            resolve(match[1]!)
          }
        }
        child.stdout.on("data", read)
        child.stderr.on("data", read)
        child.once("exit", (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)))
      })
      const health = await fetch(`${url}/healthz`)
      assert.strictEqual(health.status, 200)
      assert.deepStrictEqual(await health.json(), { status: "ok", storage: "ok" })
      const tag = await fetch(`${url}/tag.js`)
      assert.strictEqual(tag.status, 200)
      assert.match(tag.headers.get("content-type") ?? "", /javascript/)
      child.kill("SIGTERM")
      assert.strictEqual(await exited, 0, output)
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL")
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
