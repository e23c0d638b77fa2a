/**
 * scrypt hashes carry their parameters and salt, verify only the password they were made from, and refuse to
 * work on tampered parameters; the password policy names the field.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import { Password } from "../src/index.js"

const cheap: Password.Params = { N: 2 ** 10, r: 8, p: 1 }
const secret = (value: string) => Redacted.make(value)

describe("Password", () => {
  it.effect("hashes with the default cost, a fresh salt each time, and verifies only the right password", () =>
    Effect.gen(function* () {
      const one = yield* Password.hash(secret("correct horse battery staple"))
      const two = yield* Password.hash(secret("correct horse battery staple"))
      assert.match(one, /^scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
      assert.notStrictEqual(one, two)
      assert.isTrue(yield* Password.verify(secret("correct horse battery staple"), one))
      assert.isFalse(yield* Password.verify(secret("correct horse battery stapl"), one))
      assert.isFalse(Password.needsRehash(one))
    })
  )

  it.effect("reads the cost from the hash, so raising it keeps old hashes valid and flags them for a rehash", () =>
    Effect.gen(function* () {
      const old = yield* Password.hash(secret("an old password of mine"), cheap)
      assert.isTrue(yield* Password.verify(secret("an old password of mine"), old))
      assert.isTrue(Password.needsRehash(old))
      assert.isFalse(Password.needsRehash(old, cheap))
    })
  )

  it.effect("tampered or foreign hashes never match", () =>
    Effect.gen(function* () {
      const good = yield* Password.hash(secret("a good long password"), cheap)
      const [, , salt, key] = good.split("$")
      for (const bad of [
        "",
        "bcrypt$2b$10$abc",
        `scrypt$N=1000,r=8,p=1$${salt}$${key}`, // N not a power of two
        `scrypt$N=${2 ** 24},r=8,p=1$${salt}$${key}`, // beyond the bound
        `scrypt$N=1024,r=8,p=1$${salt}$${key!.slice(0, -2)}AA`
      ]) {
        assert.isFalse(yield* Password.verify(secret("a good long password"), bad), bad)
      }
    })
  )

  it("checks length (in characters) and refuses the email address", () => {
    const check = (pw: string) =>
      Either.match(Password.check(secret(pw), "ann@example.test"), {
        onLeft: (e) => `${e.field}:${e.reason}`,
        onRight: () => "ok"
      })
    assert.strictEqual(check("elevenchars"), "password:InvalidInput")
    assert.strictEqual(check("twelve chars"), "ok")
    assert.strictEqual(check("🔑".repeat(12)), "ok")
    assert.strictEqual(check("x".repeat(256)), "ok")
    assert.strictEqual(check("x".repeat(257)), "password:InvalidInput")
    assert.strictEqual(check(" Ann@Example.TEST "), "password:InvalidInput")
  })

  it("decode reads back every hash this module can encode", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: 1, max: 20 }),
        FastCheck.integer({ min: 1, max: 32 }),
        FastCheck.integer({ min: 1, max: 16 }),
        FastCheck.uint8Array({ minLength: 16, maxLength: 16 }),
        FastCheck.uint8Array({ minLength: 32, maxLength: 32 }),
        (log, r, p, salt, key) => {
          const text = `scrypt$N=${2 ** log},r=${r},p=${p}$${Buffer.from(salt).toString("base64url")}$${Buffer.from(key).toString("base64url")}`
          const decoded = Password.decode(text)
          assert.deepStrictEqual(decoded?.params, { N: 2 ** log, r, p })
          assert.deepStrictEqual(new Uint8Array(decoded!.salt), salt)
          assert.deepStrictEqual(new Uint8Array(decoded!.key), key)
        }
      )
    )
  })
})
