/**
 * Starts the whole reference server in-process on a free port, on a fresh SQLite file (or a given database URL),
 * for HTTP-level tests. Returns its URL and a way to stop it.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as App from "../../src/App.js"
import { Listening } from "../../src/HttpServer.js"
import * as ServerConfig from "../../src/ServerConfig.js"

export interface TestServer {
  readonly url: string
  readonly dataDir: string
  /** Every route the server serves (from `Listening`). */
  readonly routes: ReadonlyArray<{ readonly method: string; readonly path: string }>
  readonly stop: () => Promise<void>
}

export const adminKey = "test-admin-key"

export const startServer = async (overrides: Partial<ServerConfig.ServerConfigShape> = {}): Promise<TestServer> => {
  const dataDir = mkdtempSync(join(tmpdir(), "oa-server-"))
  const config = ServerConfig.layerTest({
    dataDir,
    databaseUrl: `sqlite:${join(dataDir, "test.db")}`,
    ...overrides,
    demoAdminKey: overrides.demoAdminKey ?? Redacted.make(adminKey)
  })
  const runtime = ManagedRuntime.make(App.layer.pipe(Layer.provide(config), Layer.provide(NodeContext.layer)))
  const { port, routes } = await runtime.runPromise(Listening)
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    routes,
    stop: async () => {
      await runtime.dispose()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

/** The tenant's newest stored events, through the inspector. */
export const inspect = async (url: string, limit = 100, key = adminKey): Promise<Array<any>> => {
  const response = await fetch(`${url}/v1/events?limit=${limit}`, { headers: { authorization: `Bearer ${key}` } })
  if (response.status !== 200) throw new Error(`inspector answered ${response.status}: ${await response.text()}`)
  return ((await response.json()) as { events: Array<any> }).events
}
