import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { MasterKeys } from "../src/index.js"

const readConfig = (env: Record<string, string>) =>
  Effect.withConfigProvider(MasterKeys.config, ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("MasterKeys", () => {
  it.effect("reads OA_SECRET and OA_SECRET_PREVIOUS as hex or base64", () =>
    Effect.gen(function* () {
      const hex = "ab".repeat(32)
      const base64 = Buffer.alloc(32, 9).toString("base64")
      const both = yield* readConfig({ OA_SECRET: hex, OA_SECRET_PREVIOUS: base64 })
      assert.deepStrictEqual(Redacted.value(both.current), new Uint8Array(Buffer.from(hex, "hex")))
      assert.deepStrictEqual(
        Option.map(both.previous, Redacted.value),
        Option.some(new Uint8Array(Buffer.alloc(32, 9)))
      )
      const alone = yield* readConfig({ OA_SECRET: hex })
      assert.isTrue(Option.isNone(alone.previous))
      assert.notInclude(String(alone.current), "ab")
    })
  )

  it.effect("refuses a missing or short secret, naming the variable", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(readConfig({}))
      assert.include(String(missing), "OA_SECRET")
      const short = yield* Effect.flip(readConfig({ OA_SECRET: "ab".repeat(32), OA_SECRET_PREVIOUS: "abcd" }))
      assert.include(String(short), "OA_SECRET_PREVIOUS must encode at least 32 bytes")
    })
  )

  it("fingerprints are stable per secret, differ between secrets and are not the secret", () => {
    const a = Redacted.make(new Uint8Array(32).fill(1))
    const b = Redacted.make(new Uint8Array(32).fill(2))
    assert.strictEqual(MasterKeys.fingerprint(a), MasterKeys.fingerprint(Redacted.make(new Uint8Array(32).fill(1))))
    assert.notStrictEqual(MasterKeys.fingerprint(a), MasterKeys.fingerprint(b))
    assert.notInclude(MasterKeys.fingerprint(a), "01".repeat(8))
  })

  it("tenant keys differ per tenant and per version", () => {
    const secret = Redacted.make(new Uint8Array(32).fill(1))
    const kek = (tenant: string, version: number) => MasterKeys.tenantKek({ version, secret }, tenant).toString("hex")
    assert.notStrictEqual(kek("a", 1), kek("b", 1))
    assert.notStrictEqual(kek("a", 1), kek("a", 2))
    assert.strictEqual(kek("a", 1), kek("a", 1))
  })

  it.effect("loadOrCreate: OA_SECRET when set, else a development secret kept (0600) in the data folder", () =>
    Effect.gen(function* () {
      const parent = mkdtempSync(join(tmpdir(), "oa-vault-dev-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(parent, { recursive: true, force: true })))
      const dataDir = join(parent, "fresh", "data")
      const load = (env: Record<string, string>) =>
        Effect.withConfigProvider(
          MasterKeys.loadOrCreate(dataDir),
          ConfigProvider.fromMap(new Map(Object.entries(env)))
        )
      const first = yield* load({})
      const file = join(dataDir, MasterKeys.devSecretFile)
      assert.strictEqual(statSync(dataDir).mode & 0o777, 0o700)
      assert.strictEqual(statSync(file).mode & 0o777, 0o600)
      assert.deepStrictEqual(
        Redacted.value(first.current),
        new Uint8Array(Buffer.from(readFileSync(file, "utf8").trim(), "base64"))
      )
      // Read back, not generated again: a second process gets the same secret.
      const again = yield* load({ OA_SECRET_PREVIOUS: "cd".repeat(32) })
      assert.deepStrictEqual(Redacted.value(again.current), Redacted.value(first.current))
      assert.isTrue(Option.isSome(again.previous))
      const configured = yield* load({ OA_SECRET: "ab".repeat(32) })
      assert.deepStrictEqual(Redacted.value(configured.current), new Uint8Array(32).fill(0xab))
      const short = yield* Effect.flip(load({ OA_SECRET: "abcd" }))
      assert.include(String(short), "OA_SECRET must encode at least 32 bytes")
    }).pipe(Effect.scoped)
  )
})
