/**
 * TOTP codes against the RFC 6238 test vectors (SHA-1, truncated to 6 digits), the ±1 step window, and the
 * otpauth URI; CSRF tokens are per session and compared exactly.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import { Csrf, Totp } from "../src/index.js"

// RFC 6238 appendix B: the ASCII secret "12345678901234567890", in base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

describe("Totp", () => {
  it("matches the RFC 6238 SHA-1 vectors (last six digits)", () => {
    const vectors: ReadonlyArray<[number, string]> = [
      [59, "94287082"],
      [1111111109, "07081804"],
      [1111111111, "14050471"],
      [1234567890, "89005924"],
      [2000000000, "69279037"]
    ]
    for (const [seconds, code] of vectors) {
      assert.strictEqual(Totp.generate(rfcSecret, seconds * 1000), code.slice(-6))
      assert.strictEqual(Totp.check(rfcSecret, code.slice(-6), seconds * 1000), Math.floor(seconds / 30))
    }
  })

  it("accepts one step early or late, not two; refuses malformed codes", () => {
    const at = 1_800_000_000_000
    const code = Totp.generate(rfcSecret, at)
    assert.strictEqual(Totp.check(rfcSecret, code, at + 30_000), Totp.step(at))
    assert.strictEqual(Totp.check(rfcSecret, code, at - 30_000), Totp.step(at))
    assert.isUndefined(Totp.check(rfcSecret, code, at + 60_000))
    assert.isUndefined(Totp.check(rfcSecret, ` ${code}`, at))
    assert.isUndefined(Totp.check(rfcSecret, "12345", at))
  })

  it("makes 160-bit secrets and standard otpauth URIs", () => {
    const secret = Totp.newSecret()
    assert.match(secret, /^[A-Z2-7]{32}$/)
    assert.notStrictEqual(secret, Totp.newSecret())
    const uri = new URL(Totp.uri(secret, "ann@example.test", "Acme Ads"))
    assert.strictEqual(uri.protocol, "otpauth:")
    assert.strictEqual(uri.searchParams.get("secret"), secret)
    assert.strictEqual(uri.searchParams.get("issuer"), "Acme Ads")
    assert.strictEqual(uri.searchParams.get("algorithm"), "SHA1")
    assert.strictEqual(uri.searchParams.get("digits"), "6")
    assert.strictEqual(uri.searchParams.get("period"), "30")
  })
})

describe("Csrf", () => {
  const key = Redacted.make(new Uint8Array(32).fill(7))
  it("a token verifies for its own session only, and any change to it fails", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ minLength: 1 }), FastCheck.string({ minLength: 1 }), (a, b) => {
        const token = Csrf.issue(key, Redacted.make(a))
        assert.isTrue(Csrf.verify(key, Redacted.make(a), token))
        assert.strictEqual(Csrf.verify(key, Redacted.make(b), token), a === b)
        assert.isFalse(Csrf.verify(key, Redacted.make(a), token.slice(1)))
        assert.isFalse(Csrf.verify(Redacted.make(new Uint8Array(32).fill(8)), Redacted.make(a), token))
      })
    )
  })
})
