/**
 * Purpose-bound tokens (version 2 under a plain key, version 3 under a `PurposeSigner`): an ad's click, rendered and
 * viewable tokens from one MAC computation, each accepted for its own purpose only; version 1 tokens still accepted
 * under the legacy keys given; hostile input refused without a throw. Version 3's keyed BLAKE3 is checked against an
 * independent implementation (@noble/hashes), not the one the package uses.
 */
import { assert, describe, it } from "@effect/vitest"
import { blake3 } from "@noble/hashes/blake3"
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

const signer3 = await Effect.runPromise(ClickToken.makePurposeSigner(key3))
const signer4 = await Effect.runPromise(ClickToken.makePurposeSigner(key4))
const signers = [signer3, signer4]
const foreignSigner3 = await Effect.runPromise(ClickToken.makePurposeSigner(foreignKey3))

/** Bytes of a token's header and payload before any alignment (ASCII ids, no product). */
const contentLength = (c: ClickToken.Claims): number =>
  2 + 6 + 1 + [c.tenant, c.decisionId, c.campaignId, c.creativeId].reduce((n, v) => n + 1 + v.length, 0)

const signAll = (c: ClickToken.Claims, k: ClickToken.SigningKey | ClickToken.PurposeSigner = key3) =>
  Either.getOrThrowWith(ClickToken.signPurposes(c, k), (e) => new Error(e.message))

/** Version 3's tags of `signed` under `key`'s signer, computed by @noble/hashes. */
const blake3Tags = (key: ClickToken.SigningKey, signed: Uint8Array): Buffer =>
  Buffer.from(
    blake3(signed, {
      key: new Uint8Array(
        hkdfSync("sha256", Redacted.value(key.secret), "openaudience/v1", `ad-selector/ad-token-blake3:${key.id}`, 32)
      ),
      dkLen: 54
    })
  )

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

describe("ClickToken version 3 (PurposeSigner, keyed BLAKE3)", () => {
  /** A version 3 token of `signed` bytes (header and payload, any alignment) under key 3, tagged for `purpose`. */
  const forge = (signed: Buffer, purpose: ClickToken.Purpose): string => {
    const index = purposes.indexOf(purpose)
    return Buffer.concat([signed, blake3Tags(key3, signed).subarray(18 * index, 18 * index + 18)]).toString("base64url")
  }

  it("are the documented layout: version 3, key id, payload, zeros to a multiple of 3 bytes, the purpose's 18 bytes", () => {
    // Ids of every length mod 3, so every amount of alignment occurs.
    for (const decisionId of ["d", "d1", "d12", "d123"]) {
      const c = { ...claims, decisionId }
      const tokens = signAll(c, signer4)
      let payload: Buffer | undefined
      for (const [index, purpose] of purposes.entries()) {
        const bytes = Buffer.from(tokens[purpose], "base64url")
        assert.strictEqual(bytes[0], 3)
        assert.strictEqual(bytes[1], 4)
        assert.strictEqual(bytes.readUIntBE(2, 6), c.expiresAt)
        const signed = bytes.subarray(0, bytes.length - 18)
        assert.strictEqual(signed.length % 3, 0)
        const content = contentLength(c)
        assert.isTrue(signed.length - content >= 0 && signed.length - content <= 2)
        assert.isTrue(signed.subarray(content).every((b) => b === 0))
        payload ??= signed
        assert.isTrue(signed.equals(payload))
        const expected = blake3Tags(key4, signed).subarray(18 * index, 18 * index + 18)
        assert.isTrue(expected.equals(bytes.subarray(bytes.length - 18)), purpose)
        assert.deepStrictEqual(ClickToken.verifyPurpose(tokens[purpose], purpose, signers, now), Either.right(c))
      }
      assert.strictEqual(new Set(Object.values(tokens)).size, 3)
    }
  })

  it("refuse padding that is not exactly the alignment's zeros, even under a valid MAC", () => {
    const tokens = signAll(claims, signer3)
    const signed = Buffer.from(tokens.click, "base64url").subarray(0, -18)
    assert.strictEqual(forge(signed, "click"), tokens.click)
    const content = signed.subarray(0, contentLength(claims))
    const aligned = (tail: ReadonlyArray<number>) => Buffer.concat([content, Buffer.from(tail)])
    const cases = [
      // Three more zeros: still a multiple of 3, but not the least alignment.
      Buffer.concat([signed, Buffer.alloc(3)]),
      // A non-zero byte where the alignment is, in every position, with a whole multiple of 3.
      ...[[1], [0, 1], [1, 0], [1, 0, 0], [0, 0, 1]].map(aligned).filter((b) => b.length % 3 === 0),
      // Not a multiple of 3.
      Buffer.concat([signed, Buffer.alloc(1)]),
      Buffer.concat([signed, Buffer.alloc(2)])
    ]
    assert.isAtLeast(cases.length, 4)
    for (const bytes of cases) {
      const result = ClickToken.verifyPurpose(forge(bytes, "click"), "click", signers, now)
      assert.strictEqual(reasonOf(result), "Malformed", bytes.toString("hex"))
    }
  })

  it("keep the version 2 tokens of the same keys working; a version 3 token needs a signer", () => {
    const v2 = signAll(claims, key3)
    assert.deepStrictEqual(ClickToken.verifyPurpose(v2.rendered, "rendered", signers, now), Either.right(claims))
    const v3 = signAll(claims, signer3)
    assert.strictEqual(reasonOf(ClickToken.verifyPurpose(v3.click, "click", keys, now)), "UnknownKey")
    assert.strictEqual(reasonOf(ClickToken.verifyPurpose(v3.click, "click", [signer4], now)), "UnknownKey")
    const forged = signAll(claims, foreignSigner3).click
    assert.strictEqual(reasonOf(ClickToken.verifyPurpose(forged, "click", signers, now)), "BadSignature")
  })

  it.effect("refuse a bad key id, and an object that only looks like a signer", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(ClickToken.makePurposeSigner({ ...key3, id: 300 }))
      assert.strictEqual(error.reason, "InvalidClaims")
      const fake: ClickToken.PurposeSigner = { _tag: "PurposeSigner", key: key3 }
      const signed = ClickToken.signPurposes(claims, fake)
      assert.isTrue(Either.isLeft(signed) && signed.left.reason === "InvalidClaims")
      assert.strictEqual(
        reasonOf(ClickToken.verifyPurpose(signAll(claims, signer3).click, "click", [fake], now)),
        "UnknownKey"
      )
    })
  )
})

for (const version of [
  { name: "version 2", signer: key3 as ClickToken.SigningKey | ClickToken.PurposeSigner, keys, tag: 16 },
  { name: "version 3", signer: signer3 as ClickToken.SigningKey | ClickToken.PurposeSigner, keys: signers, tag: 18 }
]) {
  describe(`ClickToken purpose-bound fuzz (${version.name}): a token passes for its own purpose only`, () => {
    const { signer, tag } = version
    const keys = version.keys
    it.prop(
      "each purpose's token gives the claims back for that purpose and nothing for the others",
      [arbClaims],
      ([c]) => {
        const tokens = signAll(c, signer)
        for (const purpose of purposes) {
          const token = tokens[purpose]
          assert.isAtMost(token.length, ClickToken.MaxLength)
          assert.deepStrictEqual(ClickToken.verifyPurpose(token, purpose, keys, now, legacyClick), Either.right(c))
          assert.deepStrictEqual(Either.right(token), ClickToken.signPurpose(c, purpose, signer))
          for (const other of purposes) {
            if (other === purpose) continue
            assert.strictEqual(reasonOf(ClickToken.verifyPurpose(token, other, keys, now, legacyClick)), "BadSignature")
          }
        }
      }
    )

    it.prop("refuses every single bit flip", [arbClaims, arbPurpose, fc.nat()], ([c, purpose, n]) => {
      const bytes = Buffer.from(signAll(c, signer)[purpose], "base64url")
      const bit = n % (bytes.length * 8)
      bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7))
      assert.isTrue(
        Either.isLeft(ClickToken.verifyPurpose(bytes.toString("base64url"), purpose, keys, now, legacyClick))
      )
    })

    it.prop(
      "refuses every truncation and extension",
      [arbClaims, arbPurpose, fc.nat(), fc.string({ minLength: 1 })],
      ([c, purpose, n, tail]) => {
        const token = signAll(c, signer)[purpose]
        assert.isTrue(Either.isLeft(ClickToken.verifyPurpose(token.slice(0, n % token.length), purpose, keys, now)))
        assert.isTrue(Either.isLeft(ClickToken.verifyPurpose(token + tail, purpose, keys, now)))
      }
    )

    it.prop("refuses one token's tag on another's payload", [arbClaims, arbClaims, arbPurpose], ([a, b, purpose]) => {
      const ta = Buffer.from(signAll(a, signer)[purpose], "base64url")
      const tb = Buffer.from(signAll(b, signer)[purpose], "base64url")
      fc.pre(!ta.subarray(0, ta.length - tag).equals(tb.subarray(0, tb.length - tag)))
      const swapped = Buffer.concat([ta.subarray(0, ta.length - tag), tb.subarray(tb.length - tag)])
      assert.isTrue(Either.isLeft(ClickToken.verifyPurpose(swapped.toString("base64url"), purpose, keys, now)))
    })

    it.prop(
      "never throws and refuses random strings, base64url or not",
      [
        fc.oneof(fc.string({ maxLength: 2500 }), fc.stringMatching(/^[A-Za-z0-9_-]{30,400}$/)),
        arbPurpose,
        fc.integer()
      ],
      ([s, purpose, t]) => {
        assert.isTrue(Either.isLeft(ClickToken.verifyPurpose(s, purpose, keys, t, legacyClick)))
      }
    )
  })
}
