import { createHmac } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import fc from "fast-check"
import { Subject, Webhook } from "../src/index.js"

const secret = Redacted.make("whsec-recipient-1")
const now = Date.UTC(2026, 11, 5, 12)
const body = JSON.stringify({ type: "dsar.erasure", id: "evt-1" })

const reasonOf = (result: Either.Either<number, Webhook.InvalidSignature>) =>
  Either.isLeft(result) ? result.left.reason : "Valid"

describe("Webhook.sign and verify", () => {
  it("signs t=<ms>,v1=<hex HMAC-SHA-256 of '<t>.<body>'> and verifies it", () => {
    const header = Webhook.sign(secret, now, body)
    const expected = createHmac("sha256", "whsec-recipient-1").update(`${now}.${body}`).digest("hex")
    assert.strictEqual(header, `t=${now},v1=${expected}`)
    assert.deepStrictEqual(Webhook.verify(header, body, secret, { now }), Either.right(now))
    assert.deepStrictEqual(
      Webhook.verify(header, new TextEncoder().encode(body), "whsec-recipient-1", { now: now + 1000 }),
      Either.right(now)
    )
  })

  it.effect("verifies with the recipient's clock, within five minutes either way", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now)
      const header = Webhook.sign(secret, yield* Clock.currentTimeMillis, body)
      yield* TestClock.adjust("5 minutes")
      assert.strictEqual(
        reasonOf(Webhook.verify(header, body, secret, { now: yield* Clock.currentTimeMillis })),
        "Valid"
      )
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(
        reasonOf(Webhook.verify(header, body, secret, { now: yield* Clock.currentTimeMillis })),
        "Stale"
      )
      const future = Webhook.sign(secret, now + 10 * 60_000, body)
      assert.strictEqual(reasonOf(Webhook.verify(future, body, secret, { now })), "Stale")
      assert.strictEqual(reasonOf(Webhook.verify(future, body, secret, { now, toleranceMs: 11 * 60_000 })), "Valid")
    })
  )

  it("refuses any change to the body, the timestamp or the secret", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ minLength: 1 }),
        fc.string(),
        fc.integer({ min: -60_000, max: 60_000 }),
        (sent, key, other, shift) => {
          const header = Webhook.sign(key, now, sent)
          assert.strictEqual(reasonOf(Webhook.verify(header, sent, key, { now })), "Valid")
          if (other !== sent) assert.strictEqual(reasonOf(Webhook.verify(header, other, key, { now })), "Mismatch")
          if (other !== key) assert.strictEqual(reasonOf(Webhook.verify(header, sent, other, { now })), "Mismatch")
          if (shift !== 0) {
            const moved = header.replace(`t=${now}`, `t=${now + shift}`)
            assert.strictEqual(reasonOf(Webhook.verify(moved, sent, key, { now })), "Mismatch")
          }
        }
      )
    )
  })

  it("refuses a changed signature digit", () => {
    const header = Webhook.sign(secret, now, body)
    fc.assert(
      fc.property(fc.nat({ max: 63 }), fc.constantFrom(..."0123456789abcdef"), (at, digit) => {
        const start = header.indexOf("v1=") + 3
        fc.pre(header[start + at] !== digit)
        const changed = header.slice(0, start + at) + digit + header.slice(start + at + 1)
        assert.strictEqual(reasonOf(Webhook.verify(changed, body, secret, { now })), "Mismatch")
      })
    )
  })

  it("reports malformed headers as Malformed, never throwing", () => {
    const v1 = Webhook.sign(secret, now, body).split(",")[1]!
    for (const header of [
      "",
      "garbage",
      `t=${now}`,
      v1,
      `t=abc,${v1}`,
      `t=${now},v1=xyz`,
      `t=${now},v1=${"0".repeat(63)}`,
      `t=${now},t=${now},${v1}`,
      `t=-5,${v1}`
    ]) {
      assert.strictEqual(reasonOf(Webhook.verify(header, body, secret, { now })), "Malformed", header)
    }
    fc.assert(
      fc.property(fc.string(), (header) => {
        const result = Webhook.verify(header, body, secret, { now })
        assert.isTrue(Either.isLeft(result))
      })
    )
  })

  it("accepts a header with a second signature (a sender rotating its secret)", () => {
    const [t, v1] = Webhook.sign(secret, now, body).split(",")
    const old = Webhook.sign("old secret", now, body).split(",")[1]
    assert.strictEqual(reasonOf(Webhook.verify(`${t},${old},${v1}`, body, secret, { now })), "Valid")
    assert.strictEqual(reasonOf(Webhook.verify(`${t},${old}`, body, secret, { now })), "Mismatch")
  })
})

describe("Webhook events", () => {
  it("builds erasure and objection events with each subject's kind and identifier", () => {
    const input = {
      id: "evt-1",
      tenant: "shop",
      requestId: "req-9",
      at: now,
      subjects: [
        new Subject.Visitor({ tenant: "shop", visitor: "v-1" }),
        new Subject.Browser({ tenant: "shop", browser: "b-1" }),
        new Subject.User({ tenant: "shop", user: "u-1" })
      ]
    }
    const erasure = Webhook.erasureEvent(input)
    assert.deepStrictEqual(erasure, {
      type: "dsar.erasure",
      id: "evt-1",
      tenant: "shop",
      subjects: [
        { kind: "visitor", id: "v-1" },
        { kind: "browser", id: "b-1" },
        { kind: "user", id: "u-1" }
      ],
      requestId: "req-9",
      at: now
    })
    assert.strictEqual(Webhook.objectionEvent(input).type, "dsar.objection")
    const text = JSON.stringify(erasure)
    assert.deepStrictEqual(Schema.decodeUnknownSync(Webhook.EventFromJson)(text), erasure)
  })
})

describe("Webhook.nextAttempt", () => {
  const hour = 60 * 60_000

  it("retries after 30 s, doubling, with ±20 % jitter", () => {
    const first = { firstAttemptAt: now, attempts: 1 }
    assert.deepStrictEqual(Webhook.nextAttempt(first, now, 0.5), { _tag: "Retry", at: now + 30_000 })
    assert.deepStrictEqual(Webhook.nextAttempt(first, now, 0), { _tag: "Retry", at: now + 24_000 })
    assert.deepStrictEqual(Webhook.nextAttempt({ firstAttemptAt: now, attempts: 3 }, now, 0.5), {
      _tag: "Retry",
      at: now + 120_000
    })
    assert.deepStrictEqual(Webhook.nextAttempt({ firstAttemptAt: now, attempts: 30 }, now, 0.5), {
      _tag: "Retry",
      at: now + hour
    })
  })

  it("gives up when the next attempt would be more than 72 hours after the first", () => {
    const delivery = { firstAttemptAt: now, attempts: 40 }
    assert.deepStrictEqual(Webhook.nextAttempt(delivery, now + 71 * hour, 0.5), { _tag: "Retry", at: now + 72 * hour })
    assert.deepStrictEqual(Webhook.nextAttempt(delivery, now + 71 * hour + 1, 0.5), { _tag: "DeadLetter" })
  })

  it("plans attempts that move forward, never beyond 72 hours, each at most 1 h 12 min apart, and end in a dead letter", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 200, maxLength: 200 }),
        fc.array(fc.nat({ max: 20_000 }), { minLength: 200, maxLength: 200 }),
        (randoms, latencies) => {
          let attempts = 1
          let at = now
          let previousDelay = 0
          for (let i = 0; i < randoms.length; i++) {
            const failedAt = at + latencies[i]!
            const next = Webhook.nextAttempt({ firstAttemptAt: now, attempts }, failedAt, randoms[i]!)
            if (next._tag === "DeadLetter") {
              assert.isAbove(failedAt + 1.2 * Math.min(30_000 * 2 ** (attempts - 1), hour), now + 72 * hour)
              return
            }
            const delay = next.at - failedAt
            assert.isAbove(next.at, failedAt)
            assert.isAtMost(next.at, now + 72 * hour)
            assert.isAtMost(delay, 1.2 * hour)
            assert.isAtLeast(delay, 0.8 * Math.min(30_000 * 2 ** (attempts - 1), hour))
            if (attempts > 1) assert.isAtLeast(delay, previousDelay * (0.8 / 1.2) - 1)
            previousDelay = delay
            attempts++
            at = next.at
          }
          assert.fail("never gave up within 200 attempts")
        }
      ),
      { numRuns: 200 }
    )
  })
})
