import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Redacted, Schema } from "effect"
import { createHmac, hkdfSync } from "node:crypto"
import * as Ip from "../src/Ip.js"
import * as Pseudonym from "../src/Pseudonym.js"
import * as SaltStore from "../src/SaltStore.js"
import * as SecureRandom from "../src/SecureRandom.js"
import * as UserAgent from "../src/UserAgent.js"

const secret = new TextEncoder().encode("openaudience test secret, not for production")
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

describe("Pseudonym.deriveTenantKey", () => {
  it("derives the same tenant keys the reference server derived (stored keys stay valid)", () => {
    // Vectors computed with examples/server's Tenants.deriveKey before this package existed.
    assert.strictEqual(
      hex(Pseudonym.deriveTenantKey(secret, "demo", "visitor")),
      "b458a0b06b61b0c3eedc0f12d1c10d12615905983069b63a214aa365665364cb"
    )
    assert.strictEqual(
      hex(Pseudonym.deriveTenantKey(Redacted.make(secret), "acme", "reports")),
      "6b01445687b4f5b580524f0f5add7a2811e36280c298538dc393b6a8ae7ba81d"
    )
  })

  it.prop(
    "is HKDF-SHA256 with salt openaudience/v1 and info purpose:tenant, and separates tenants and purposes",
    [fc.uint8Array({ minLength: 16, maxLength: 64 }), fc.string(), fc.string()],
    ([key, tenant, purpose]) => {
      const expected = new Uint8Array(hkdfSync("sha256", key, "openaudience/v1", `${purpose}:${tenant}`, 32))
      assert.strictEqual(hex(Pseudonym.deriveTenantKey(key, tenant, purpose)), hex(expected))
      assert.notStrictEqual(
        hex(Pseudonym.deriveTenantKey(key, tenant, purpose)),
        hex(Pseudonym.deriveTenantKey(key, `${tenant}x`, purpose))
      )
    }
  )
})

describe("Pseudonym.visitorKey", () => {
  const tenantKey = Pseudonym.deriveTenantKey(secret, "demo", "visitor")

  it("gives the reference server's keys for the same ids", () => {
    assert.strictEqual(
      Pseudonym.visitorKey(tenantKey, "4f3c2a10-6c1e-4b8e-9a55-1f2e3d4c5b6a"),
      "nYDS008UD3SskGtntj-tZD"
    )
    assert.strictEqual(Pseudonym.visitorKey(tenantKey, "v1.abc"), "MjgZPo-CC1N1eDISz_DoOS")
    assert.strictEqual(Pseudonym.visitorKey(tenantKey, ""), "K7FoVmr2vs6ADBvtX-xqWt")
  })

  it.prop(
    "is 22 base64url characters of HMAC-SHA256, never containing the id",
    [fc.string({ minLength: 1 })],
    ([id]) => {
      const key = Pseudonym.visitorKey(tenantKey, id)
      assert.isTrue(Schema.is(Pseudonym.VisitorKey)(key))
      assert.strictEqual(key, createHmac("sha256", tenantKey).update(id).digest("base64url").slice(0, 22))
      assert.notStrictEqual(key, Pseudonym.visitorKey(Pseudonym.deriveTenantKey(secret, "other", "visitor"), id))
    }
  )
})

describe("Pseudonym.cookielessKey", () => {
  const ua = UserAgent.generalize(
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
  )
  const ip = Ip.truncate("203.0.113.77")

  it.effect("keys a visitor by salt, truncated IP, generalized UA and site", () =>
    Effect.gen(function* () {
      const store = yield* SaltStore.SaltStore
      const salt = yield* store.current
      const key = Pseudonym.cookielessKey(salt, ip, ua, "shop")!
      assert.isTrue(Schema.is(Pseudonym.VisitorKey)(key))
      // The same visitor on the same day and site: the same key (the last IP byte is gone already).
      assert.strictEqual(Pseudonym.cookielessKey(salt, Ip.truncate("203.0.113.12"), ua, "shop"), key)
      assert.notStrictEqual(Pseudonym.cookielessKey(salt, ip, ua, "news"), key)
      assert.notStrictEqual(Pseudonym.cookielessKey(salt, Ip.truncate("203.0.114.77"), ua, "shop"), key)
      assert.notStrictEqual(Pseudonym.cookielessKey(salt, ip, { ...ua, device: "mobile" }, "shop"), key)
      // Fields cannot run into each other.
      assert.notStrictEqual(
        Pseudonym.cookielessKey(salt, ip, ua, "a|b"),
        Pseudonym.cookielessKey(salt, ip, { ...ua, device: "desktop" }, "a|b ")
      )
    }).pipe(Effect.provide(SaltStore.layerMemory), Effect.provide(SecureRandom.layerTest("pseudonym")))
  )
})
