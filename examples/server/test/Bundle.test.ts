/**
 * The deployable bundle (`examples/server/dist/main.js`, built by `pnpm run build`) starts with plain `node`, serves
 * the tag and health, stores a pixel (through the SQLite writer thread, a module of the bundle beside main.js)
 * and stops cleanly on SIGTERM: the CommonJS dependencies bundled into the ESM file must find `require`.
 */
import { assert, describe, it } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePort } from "./support/ports.js"

/** The demo tenant's admin key when OA_DEMO_ADMIN_KEY is not set. */
const adminKey = "demo-admin-key"

const bundle = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "main.js")

describe("the server bundle", () => {
  it("starts with node, answers, and exits 0 on SIGTERM", { timeout: 60_000 }, async () => {
    assert.isTrue(existsSync(bundle), `${bundle} is missing: run 'pnpm run build' first`)
    const dataDir = mkdtempSync(join(tmpdir(), "oa-bundle-"))
    const child = spawn(process.execPath, [bundle], {
      cwd: dataDir,
      env: {
        ...process.env,
        PORT: String(await freePort()),
        HOST: "127.0.0.1",
        OA_DATA_DIR: dataDir,
        OA_DEMO: "1",
        OA_DEMO_ADMIN_KEY: adminKey
      },
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
      const id = `evt_bundle_${Date.now().toString(36)}`
      const event = { type: "page_view", id, site: "demo", clientTs: 1_764_000_000_000, url: "https://shop.example/" }
      const pixel = await fetch(`${url}/px.gif?${WireFormat.encodeQuery(event as never)}`)
      assert.strictEqual(pixel.status, 200)
      const inspected = await fetch(`${url}/v1/events?limit=1`, { headers: { authorization: `Bearer ${adminKey}` } })
      const body = (await inspected.json()) as { events: ReadonlyArray<{ id: string }> }
      assert.isArray(body.events, JSON.stringify(body))
      const { events } = body
      assert.deepStrictEqual(
        events.map((e) => e.id),
        [id]
      )
      child.kill("SIGTERM")
      assert.strictEqual(await exited, 0, output)
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL")
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
