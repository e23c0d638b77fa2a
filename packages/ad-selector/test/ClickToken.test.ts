import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, FastCheck as fc, Redacted, TestClock } from "effect"
import { createHmac, hkdfSync } from "node:crypto"
import * as ClickToken from "../src/ClickToken.js"

const secret = new TextEncoder().encode("openaudience test secret, not for production")
const key1 = ClickToken.deriveKey(secret, 1)
const key2 = ClickToken.deriveKey(secret, 2)
const otherSecretKey1 = ClickToken.deriveKey(new TextEncoder().encode("another secret entirely"), 1)
const keys = [key1, key2]

const now = Date.UTC(2026, 11, 5, 12)
const claims: ClickToken.Claims = {
  decisionId: "d-0001",
  campaignId: "summer-sale",
  creativeId: "banner-300x250",
  productId: "sku-42",
  tenant: "demo",
  expiresAt: now + 60_000
}

const signOk = (c: ClickToken.Claims, k: ClickToken.SigningKey = key1): string =>
  Either.getOrThrowWith(ClickToken.sign(c, k), (e) => new Error(e.message))

const reasonOf = (result: Either.Either<ClickToken.Claims, ClickToken.ClickTokenError>): string =>
  Either.isLeft(result) ? result.left.reason : "valid"

const id = fc.string({ unit: "binary", maxLength: 40 })
const claimsFields = {
  decisionId: id,
  campaignId: id,
  creativeId: id,
  tenant: id,
  expiresAt: fc.integer({ min: now + 1, max: 2 ** 48 - 1 })
}
const arbClaims: fc.Arbitrary<ClickToken.Claims> = fc.record(
  { ...claimsFields, productId: id },
  { requiredKeys: ["decisionId", "campaignId", "creativeId", "tenant", "expiresAt"] }
)

describe("ClickToken.deriveKey", () => {
  it("is HKDF-SHA-256 of the secret with salt openaudience/v1 and info ad-selector/click-token:<id>", () => {
    const expected = Buffer.from(hkdfSync("sha256", secret, "openaudience/v1", "ad-selector/click-token:1", 32))
    assert.strictEqual(Buffer.from(Redacted.value(key1.secret)).toString("hex"), expected.toString("hex"))
    assert.strictEqual(key1.id, 1)
    assert.notStrictEqual(
      Buffer.from(Redacted.value(key1.secret)).toString("hex"),
      Buffer.from(Redacted.value(key2.secret)).toString("hex")
    )
    assert.strictEqual(ClickToken.deriveKey(Redacted.make(secret), 1).secret.toString(), "<redacted>")
  })
})

describe("ClickToken.sign and verify", () => {
  it("round-trips claims with and without a product, URL-safe", () => {
    const token = signOk(claims)
    assert.match(token, /^[A-Za-z0-9_-]+$/)
    assert.deepStrictEqual(ClickToken.verify(token, keys, now), Either.right(claims))
    const { productId: _, ...noProduct } = claims
    assert.deepStrictEqual(ClickToken.verify(signOk(noProduct), keys, now), Either.right(noProduct))
    assert.deepStrictEqual(ClickToken.verify(signOk(claims, key2), keys, now), Either.right(claims))
  })

  it("is the documented layout: version, key id, payload, HMAC-SHA-256 of the rest", () => {
    const bytes = Buffer.from(signOk(claims, key2), "base64url")
    assert.strictEqual(bytes[0], 1)
    assert.strictEqual(bytes[1], 2)
    assert.strictEqual(bytes.readUIntBE(2, 6), claims.expiresAt)
    const signed = bytes.subarray(0, bytes.length - 32)
    const mac = createHmac("sha256", Redacted.value(key2.secret)).update(signed).digest()
    assert.isTrue(mac.equals(bytes.subarray(bytes.length - 32)))
    assert.include(signed.toString("utf8"), "summer-sale")
  })

  it("matches a vector computed independently (Python hmac/hashlib): the format does not drift", () => {
    const key7 = ClickToken.deriveKey(secret, 7)
    const vector =
      "AQcBnnBEiAABBGRlbW8GZC0wMDAxC3N1bW1lci1zYWxlDmJhbm5lci0zMDB4MjUwBnNrdS00MsjAPCGwh8k6G-waBCiQtHhwTKn26zJjOXA1t7CMVRnf"
    const vectorClaims = { ...claims, expiresAt: 1_780_000_000_000 }
    assert.strictEqual(signOk(vectorClaims, key7), vector)
    assert.deepStrictEqual(ClickToken.verify(vector, [key7], 1_779_999_999_999), Either.right(vectorClaims))
  })

  it("refuses a token at and after its expiry, accepts it just before", () => {
    const token = signOk(claims)
    assert.strictEqual(reasonOf(ClickToken.verify(token, keys, claims.expiresAt - 1)), "valid")
    assert.strictEqual(reasonOf(ClickToken.verify(token, keys, claims.expiresAt)), "Expired")
    assert.strictEqual(reasonOf(ClickToken.verify(token, keys, claims.expiresAt + 86_400_000)), "Expired")
  })

  it("tells an unknown key from a bad signature", () => {
    const token = signOk(claims, key2)
    assert.strictEqual(reasonOf(ClickToken.verify(token, [key1], now)), "UnknownKey")
    assert.strictEqual(reasonOf(ClickToken.verify(signOk(claims, otherSecretKey1), keys, now)), "BadSignature")
    assert.strictEqual(reasonOf(ClickToken.verify(token, [], now)), "UnknownKey")
  })

  it("refuses huge input before decoding it, and odd input of every kind", () => {
    const token = signOk(claims)
    const cases = [
      "",
      "a",
      "x".repeat(ClickToken.MaxLength + 1),
      `${token}${"A".repeat(10_000_000)}`,
      `${token}=`,
      `${token}.`,
      token.replace(/.$/, "+"),
      ` ${token}`,
      token.slice(0, -1),
      token.slice(1)
    ]
    for (const input of cases) assert.isTrue(Either.isLeft(ClickToken.verify(input, keys, now)), input.slice(0, 80))
    // Not a string at all (a caller with no types): still a typed refusal.
    assert.strictEqual(reasonOf(ClickToken.verify(undefined as unknown as string, keys, now)), "Malformed")
  })

  it("refuses a version it does not know even with a valid MAC", () => {
    const bytes = Buffer.from(signOk(claims), "base64url")
    bytes[0] = 2
    const signed = bytes.subarray(0, bytes.length - 32)
    createHmac("sha256", Redacted.value(key1.secret)).update(signed).digest().copy(bytes, signed.length)
    assert.strictEqual(reasonOf(ClickToken.verify(bytes.toString("base64url"), keys, now)), "Malformed")
  })

  it("refuses an authentic payload with a broken layout (trailing bytes, bad flags, invalid UTF-8)", () => {
    const resign = (mutate: (payload: Buffer) => Buffer) => {
      const bytes = Buffer.from(signOk(claims), "base64url")
      const signed = Buffer.concat([bytes.subarray(0, 2), mutate(Buffer.from(bytes.subarray(2, bytes.length - 32)))])
      const mac = createHmac("sha256", Redacted.value(key1.secret)).update(signed).digest()
      return Buffer.concat([signed, mac]).toString("base64url")
    }
    assert.strictEqual(
      reasonOf(
        ClickToken.verify(
          resign((p) => Buffer.concat([p, Buffer.of(0)])),
          keys,
          now
        )
      ),
      "Malformed"
    )
    assert.strictEqual(
      reasonOf(
        ClickToken.verify(
          resign((p) => p.subarray(0, p.length - 1)),
          keys,
          now
        )
      ),
      "Malformed"
    )
    assert.strictEqual(
      reasonOf(
        ClickToken.verify(
          resign((p) => {
            p[6] = 3
            return p
          }),
          keys,
          now
        )
      ),
      "Malformed"
    )
    assert.strictEqual(
      reasonOf(
        ClickToken.verify(
          resign((p) => {
            p[8] = 0xff // first byte of the tenant id
            return p
          }),
          keys,
          now
        )
      ),
      "Malformed"
    )
  })

  it("refuses to sign what it cannot encode", () => {
    const invalid: Array<[ClickToken.Claims, ClickToken.SigningKey]> = [
      [{ ...claims, campaignId: "x".repeat(256) }, key1],
      [{ ...claims, productId: "é".repeat(128) }, key1],
      [{ ...claims, tenant: "\uD800" }, key1],
      [{ ...claims, expiresAt: 1.5 }, key1],
      [{ ...claims, expiresAt: -1 }, key1],
      [{ ...claims, expiresAt: 2 ** 48 }, key1],
      [{ ...claims, expiresAt: Number.NaN }, key1],
      [claims, { ...key1, id: 256 }],
      [claims, { ...key1, id: -1 }]
    ]
    for (const [c, k] of invalid) {
      const result = ClickToken.sign(c, k)
      assert.isTrue(Either.isLeft(result) && result.left.reason === "InvalidClaims")
    }
    const longest = "é".repeat(127) + "x"
    const token = signOk({
      ...claims,
      decisionId: longest,
      campaignId: longest,
      creativeId: longest,
      productId: longest,
      tenant: longest
    })
    assert.isAtMost(token.length, ClickToken.MaxLength)
    assert.strictEqual(reasonOf(ClickToken.verify(token, keys, now)), "valid")
  })

  it.effect("issue signs with an expiry from Clock plus the lifetime", () =>
    Effect.gen(function* () {
      const { expiresAt: _, ...rest } = claims
      yield* TestClock.setTime(now)
      const token = yield* ClickToken.issue(rest, key1)
      assert.deepStrictEqual(
        ClickToken.verify(token, keys, now),
        Either.right({ ...rest, expiresAt: now + 86_400_000 })
      )
      const short = yield* ClickToken.issue(rest, key1, "5 minutes")
      assert.deepStrictEqual(ClickToken.verify(short, keys, now), Either.right({ ...rest, expiresAt: now + 300_000 }))
      const refused = yield* Effect.flip(ClickToken.issue({ ...rest, tenant: "x".repeat(300) }, key1))
      assert.strictEqual(refused.reason, "InvalidClaims")
      const forever = yield* Effect.flip(ClickToken.issue(rest, key1, Duration.infinity))
      assert.strictEqual(forever.reason, "InvalidClaims")
    })
  )

  it.effect("verifyNow takes the time from Clock", () =>
    Effect.gen(function* () {
      const token = signOk(claims)
      yield* TestClock.setTime(claims.expiresAt - 1)
      assert.deepStrictEqual(yield* ClickToken.verifyNow(token, keys), claims)
      yield* TestClock.setTime(claims.expiresAt)
      const refused = yield* Effect.flip(ClickToken.verifyNow(token, keys))
      assert.strictEqual(refused._tag, "ClickTokenError")
      assert.strictEqual(refused.reason, "Expired")
    })
  )
})

describe("ClickToken fuzz: only exactly valid tokens pass", () => {
  it.prop("round-trips any claims that fit", [arbClaims, fc.constantFrom(key1, key2)], ([c, k]) => {
    const token = signOk(c, k)
    assert.isAtMost(token.length, ClickToken.MaxLength)
    assert.deepStrictEqual(ClickToken.verify(token, keys, now), Either.right(c))
  })

  it.prop(
    "signEach gives each key's own token, the same as sign, and fails as sign does",
    [fc.oneof(arbClaims, fc.record({ ...claimsFields, tenant: fc.string({ minLength: 256, maxLength: 300 }) }))],
    ([c]) => {
      const each = ClickToken.signEach(c, [key1, key2, key1])
      const one = [key1, key2, key1].map((k) => ClickToken.sign(c, k))
      if (Either.isLeft(each)) {
        assert.isTrue(one.every(Either.isLeft))
        return
      }
      assert.deepStrictEqual(
        each.right,
        one.map((e) => Either.getOrThrow(e))
      )
      assert.deepStrictEqual(ClickToken.verify(each.right[1]!, [key2], now), Either.right(c))
      assert.isTrue(Either.isLeft(ClickToken.verify(each.right[1]!, [key1], now)))
    }
  )

  it.prop("never throws and refuses random strings", [fc.string({ maxLength: 2500 }), fc.integer()], ([s, t]) => {
    assert.isTrue(Either.isLeft(ClickToken.verify(s, keys, t)))
  })

  it.prop(
    "refuses random base64url strings of plausible length",
    [fc.stringMatching(/^[A-Za-z0-9_-]{60,400}$/)],
    ([s]) => {
      assert.isTrue(Either.isLeft(ClickToken.verify(s, keys, now)))
    }
  )

  it.prop("refuses every single bit flip of a valid token's bytes", [arbClaims, fc.nat()], ([c, n]) => {
    const bytes = Buffer.from(signOk(c), "base64url")
    const bit = n % (bytes.length * 8)
    bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7))
    assert.isTrue(Either.isLeft(ClickToken.verify(bytes.toString("base64url"), keys, now)))
  })

  it.prop(
    "refuses every change of one character of a valid token",
    [arbClaims, fc.nat(), fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")],
    ([c, n, ch]) => {
      const token = signOk(c)
      const i = n % token.length
      fc.pre(token[i] !== ch)
      const changed = token.slice(0, i) + ch + token.slice(i + 1)
      assert.isTrue(Either.isLeft(ClickToken.verify(changed, keys, now)))
    }
  )

  it.prop("accepts only the canonical spelling: any other last character is refused", [arbClaims], ([c]) => {
    const token = signOk(c)
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for (const ch of alphabet) {
      if (ch === token.at(-1)) continue
      assert.isTrue(Either.isLeft(ClickToken.verify(token.slice(0, -1) + ch, keys, now)), ch)
    }
  })

  it.prop(
    "refuses every truncation and extension",
    [arbClaims, fc.nat(), fc.string({ minLength: 1 })],
    ([c, n, tail]) => {
      const token = signOk(c)
      assert.isTrue(Either.isLeft(ClickToken.verify(token.slice(0, n % token.length), keys, now)))
      assert.isTrue(Either.isLeft(ClickToken.verify(token + tail, keys, now)))
    }
  )

  it.prop("refuses a token re-signed with a key of another secret under the same id", [arbClaims], ([c]) => {
    const result = ClickToken.verify(signOk(c, otherSecretKey1), keys, now)
    assert.isTrue(Either.isLeft(result) && result.left.reason === "BadSignature")
  })

  it.prop("refuses payloads and MACs swapped between two tokens", [arbClaims, arbClaims], ([a, b]) => {
    const ta = Buffer.from(signOk(a), "base64url")
    const tb = Buffer.from(signOk(b), "base64url")
    fc.pre(!ta.equals(tb))
    const swapped = Buffer.concat([ta.subarray(0, ta.length - 32), tb.subarray(tb.length - 32)])
    assert.isTrue(Either.isLeft(ClickToken.verify(swapped.toString("base64url"), keys, now)))
    const spliced = Buffer.concat([ta.subarray(0, 2), tb.subarray(2)])
    // Same key: the header is identical, so the splice is b itself; with another key id it must fail.
    assert.deepStrictEqual(ClickToken.verify(spliced.toString("base64url"), keys, now), Either.right(b))
    const crossKey = Buffer.concat([Buffer.from(signOk(a, key2), "base64url").subarray(0, 2), tb.subarray(2)])
    assert.isTrue(Either.isLeft(ClickToken.verify(crossKey.toString("base64url"), keys, now)))
  })

  it.prop("refuses expired tokens however they are made", [arbClaims, fc.nat()], ([c, after]) => {
    const result = ClickToken.verify(signOk(c), keys, c.expiresAt + after)
    assert.isTrue(Either.isLeft(result) && result.left.reason === "Expired")
  })
})
