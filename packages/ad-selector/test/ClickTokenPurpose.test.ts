/**
 * Purpose-bound tokens (version 2): an ad's click, rendered and viewable tokens from one MAC computation, each
 * accepted for its own purpose only; version 1 tokens still accepted under the legacy keys given; hostile input
 * refused without a throw.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Redacted, TestClock } from "effect"
import { createHmac, hkdfSync } from "node:crypto"
import * as ClickToken from "../src/ClickToken.js"

const secret = new TextEncoder().encode("a purpose-bound test secret, not for production")
const key3 = ClickToken.derivePurposeKey(secret, 3)
const key4 = ClickToken.derivePurposeKey(secret, 4)
const foreignKey3 = ClickToken.derivePurposeKey(new TextEncoder().encode("somebody else's secret"), 3)
const keys = [key3, key4]
const legacyClick = [ClickToken.deriveKey(secret, 3)]

const purposes: ReadonlyArray<ClickToken.Purpose> = ["click", "rendered", "viewable"]

const now = Date.UTC(2026, 11, 6, 9)
const claims: ClickToken.Claims = {
  decisionId: "dec-77",
  campaignId: "winter-boots",
  creativeId: "leaderboard",
  tenant: "shop-b",
  expiresAt: now + 3_600_000
}

const signAll = (c: ClickToken.Claims, k: ClickToken.SigningKey = key3) =>
  Either.getOrThrowWith(ClickToken.signPurposes(c, k), (e) => new Error(e.message))

const reasonOf = (result: Either.Either<ClickToken.Claims, ClickToken.ClickTokenError>): string =>
  Either.isLeft(result) ? result.left.reason : "valid"

const id = fc.string({ unit: "binary", maxLength: 40 })
const arbClaims: fc.Arbitrary<ClickToken.Claims> = fc.record(
  {
    decisionId: id,
    campaignId: id,
    creativeId: id,
    tenant: id,
    expiresAt: fc.integer({ min: now + 1, max: 2 ** 48 - 1 }),
    productId: id
  },
  { requiredKeys: ["decisionId", "campaignId", "creativeId", "tenant", "expiresAt"] }
)
const arbPurpose = fc.constantFrom(...purposes)

describe("ClickToken purpose-bound tokens", () => {
  it("derive their keys with HKDF-SHA-256, info ad-selector/ad-token:<id>, unrelated to version 1 keys", () => {
    const expected = Buffer.from(hkdfSync("sha256", secret, "openaudience/v1", "ad-selector/ad-token:3", 32))
    assert.strictEqual(Buffer.from(Redacted.value(key3.secret)).toString("hex"), expected.toString("hex"))
    assert.notStrictEqual(
      Buffer.from(Redacted.value(key3.secret)).toString("hex"),
      Buffer.from(Redacted.value(legacyClick[0]!.secret)).toString("hex")
    )
  })

  it("are the documented layout: version 2, key id, payload, the purpose's 16 bytes of HMAC-SHA-512", () => {
    const tokens = signAll(claims, key4)
    let payload: Buffer | undefined
    for (const [index, purpose] of purposes.entries()) {
      const bytes = Buffer.from(tokens[purpose], "base64url")
      assert.strictEqual(bytes[0], 2)
      assert.strictEqual(bytes[1], 4)
      assert.strictEqual(bytes.readUIntBE(2, 6), claims.expiresAt)
      const signed = bytes.subarray(0, bytes.length - 16)
      payload ??= signed
      // The three tokens share their signed bytes and differ in the tag only.
      assert.isTrue(signed.equals(payload))
      const tags = createHmac("sha512", Redacted.value(key4.secret)).update(signed).digest()
      assert.isTrue(tags.subarray(16 * index, 16 * index + 16).equals(bytes.subarray(bytes.length - 16)), purpose)
    }
    assert.strictEqual(new Set(Object.values(tokens)).size, 3)
  })

  it("refuse a token at and after its expiry, from an unknown key, or under another secret", () => {
    const { click } = signAll(claims)
    assert.strictEqual(reasonOf(ClickToken.verifyPurpose(click, "click", keys, claims.expiresAt - 1)), "valid")
    assert.strictEqual(reasonOf(ClickToken.verifyPurpose(click, "click", keys, claims.expiresAt)), "Expired")
    assert.strictEqual(reasonOf(ClickToken.verifyPurpose(click, "click", [key4], now)), "UnknownKey")
    const forged = signAll(claims, foreignKey3).click
    assert.strictEqual(reasonOf(ClickToken.verifyPurpose(forged, "click", keys, now)), "BadSignature")
  })

  it("keep version 1 tokens working under the legacy keys, and only there", () => {
    const v1 = Either.getOrThrow(ClickToken.sign(claims, legacyClick[0]!))
    assert.deepStrictEqual(ClickToken.verifyPurpose(v1, "click", keys, now, legacyClick), Either.right(claims))
    assert.strictEqual(reasonOf(ClickToken.verifyPurpose(v1, "click", keys, now)), "Malformed")
    // A version 1 click token is not an impression token: that purpose's legacy keys are other keys.
    const renderedLegacy = [ClickToken.deriveKey(new TextEncoder().encode("rendered keys"), 3)]
    assert.strictEqual(reasonOf(ClickToken.verifyPurpose(v1, "rendered", keys, now, renderedLegacy)), "BadSignature")
    // And a version 2 token is nothing to the version 1 API.
    assert.strictEqual(reasonOf(ClickToken.verify(signAll(claims).click, legacyClick, now)), "Malformed")
  })

  it.effect("verifyPurposeNow takes the time from Clock", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(claims.expiresAt - 1)
      const { viewable } = signAll(claims)
      assert.deepStrictEqual(yield* ClickToken.verifyPurposeNow(viewable, "viewable", keys), claims)
      yield* TestClock.setTime(claims.expiresAt)
      const error = yield* Effect.flip(ClickToken.verifyPurposeNow(viewable, "viewable", keys))
      assert.strictEqual(error.reason, "Expired")
    })
  )

  it("refuse to sign what they cannot encode, as version 1 does", () => {
    for (const bad of [
      { ...claims, tenant: "t".repeat(256) },
      { ...claims, expiresAt: 2 ** 48 },
      { ...claims, decisionId: "\uD800" }
    ]) {
      const result = ClickToken.signPurposes(bad, key3)
      assert.isTrue(Either.isLeft(result) && result.left.reason === "InvalidClaims")
    }
    const badKey = { ...key3, id: 256 }
    assert.isTrue(Either.isLeft(ClickToken.signPurposes(claims, badKey)))
  })
})

describe("ClickToken purpose-bound fuzz: a token passes for its own purpose only", () => {
  it.prop(
    "each purpose's token gives the claims back for that purpose and nothing for the others",
    [arbClaims],
    ([c]) => {
      const tokens = signAll(c)
      for (const purpose of purposes) {
        const token = tokens[purpose]
        assert.isAtMost(token.length, ClickToken.MaxLength)
        assert.deepStrictEqual(ClickToken.verifyPurpose(token, purpose, keys, now, legacyClick), Either.right(c))
        assert.deepStrictEqual(Either.right(token), ClickToken.signPurpose(c, purpose, key3))
        for (const other of purposes) {
          if (other === purpose) continue
          assert.strictEqual(reasonOf(ClickToken.verifyPurpose(token, other, keys, now, legacyClick)), "BadSignature")
        }
      }
    }
  )

  it.prop("refuses every single bit flip", [arbClaims, arbPurpose, fc.nat()], ([c, purpose, n]) => {
    const bytes = Buffer.from(signAll(c)[purpose], "base64url")
    const bit = n % (bytes.length * 8)
    bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7))
    assert.isTrue(Either.isLeft(ClickToken.verifyPurpose(bytes.toString("base64url"), purpose, keys, now, legacyClick)))
  })

  it.prop(
    "refuses every truncation and extension",
    [arbClaims, arbPurpose, fc.nat(), fc.string({ minLength: 1 })],
    ([c, purpose, n, tail]) => {
      const token = signAll(c)[purpose]
      assert.isTrue(Either.isLeft(ClickToken.verifyPurpose(token.slice(0, n % token.length), purpose, keys, now)))
      assert.isTrue(Either.isLeft(ClickToken.verifyPurpose(token + tail, purpose, keys, now)))
    }
  )

  it.prop("refuses one token's tag on another's payload", [arbClaims, arbClaims, arbPurpose], ([a, b, purpose]) => {
    const ta = Buffer.from(signAll(a)[purpose], "base64url")
    const tb = Buffer.from(signAll(b)[purpose], "base64url")
    fc.pre(!ta.subarray(0, ta.length - 16).equals(tb.subarray(0, tb.length - 16)))
    const swapped = Buffer.concat([ta.subarray(0, ta.length - 16), tb.subarray(tb.length - 16)])
    assert.isTrue(Either.isLeft(ClickToken.verifyPurpose(swapped.toString("base64url"), purpose, keys, now)))
  })

  it.prop(
    "never throws and refuses random strings, base64url or not",
    [fc.oneof(fc.string({ maxLength: 2500 }), fc.stringMatching(/^[A-Za-z0-9_-]{30,400}$/)), arbPurpose, fc.integer()],
    ([s, purpose, t]) => {
      assert.isTrue(Either.isLeft(ClickToken.verifyPurpose(s, purpose, keys, t, legacyClick)))
    }
  )
})
