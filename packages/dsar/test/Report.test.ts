import { createHash, verify as edVerify, createPublicKey } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import fc from "fast-check"
import { Report, Subject } from "../src/index.js"

const key = Report.SigningKey.fromSecret(Redacted.make("a deployment secret of a decent length"))
const jwk = Report.publicJwk(key)

const report: Report.Report = {
  version: 1,
  requestId: "req-1",
  tenant: "shop",
  type: "erasure",
  subjects: [Report.digest(new Subject.Visitor({ tenant: "shop", visitor: "v-1" }))],
  startedAt: 1_700_000_000_000,
  completedAt: 1_700_000_000_250,
  stores: [
    { name: "events", erased: 12, remaining: 0 },
    { name: "audiences", erased: 3, remaining: 0 }
  ],
  retained: [{ store: "audit", what: "the request record", why: "proof of compliance (Art. 5(2) GDPR)" }]
}

const arbReport: fc.Arbitrary<Report.Report> = fc.record({
  version: fc.constant(1 as const),
  requestId: fc.string(),
  tenant: fc.string(),
  type: fc.constantFrom("erasure", "objection"),
  subjects: fc.array(fc.string({ minLength: 43, maxLength: 43 }), { maxLength: 4 }),
  startedAt: fc.integer({ min: 0, max: 2 ** 45 }),
  completedAt: fc.integer({ min: 0, max: 2 ** 45 }),
  stores: fc.array(fc.record({ name: fc.string(), erased: fc.nat(), remaining: fc.nat() }), { maxLength: 4 }),
  retained: fc.array(fc.record({ store: fc.string(), what: fc.string(), why: fc.string() }), { maxLength: 3 })
})

const sortDeep = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortDeep)
    : value !== null && typeof value === "object"
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, sortDeep((value as Record<string, unknown>)[k])])
        )
      : value

const shuffleKeys = (value: unknown, seed: number): unknown =>
  Array.isArray(value)
    ? value.map((item) => shuffleKeys(item, seed))
    : value !== null && typeof value === "object"
      ? Object.fromEntries(
          Object.keys(value)
            .map((k, index) => [k, (index * 7919 + seed) % 101] as const)
            .sort((a, b) => a[1] - b[1])
            .map(([k]) => [k, shuffleKeys((value as Record<string, unknown>)[k], seed)])
        )
      : value

describe("Report.SigningKey", () => {
  it("derives the same key from the same secret, as text, bytes or redacted", () => {
    const again = Report.SigningKey.fromSecret(Redacted.make("a deployment secret of a decent length"))
    const bytes = Report.SigningKey.fromSecret(new TextEncoder().encode("a deployment secret of a decent length"))
    assert.deepStrictEqual(Report.publicJwk(again), jwk)
    assert.deepStrictEqual(Report.publicJwk(bytes), jwk)
    assert.isTrue(Report.verify(Report.sign(again, report), jwk))
  })

  it("derives unrelated keys from different secrets", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        fc.pre(a !== b)
        const ka = Report.SigningKey.fromSecret(Redacted.make(a))
        const kb = Report.SigningKey.fromSecret(Redacted.make(b))
        assert.notStrictEqual(Report.publicJwk(ka).x, Report.publicJwk(kb).x)
        assert.notStrictEqual(ka.kid, kb.kid)
        assert.isFalse(Report.verify(Report.sign(ka, report), Report.publicJwk(kb)))
      }),
      { numRuns: 50 }
    )
  })

  it("publishes an Ed25519 JWK whose kid is the first 8 bytes of SHA-256 of the public key", () => {
    assert.strictEqual(jwk.kty, "OKP")
    assert.strictEqual(jwk.crv, "Ed25519")
    assert.strictEqual(jwk.alg, "EdDSA")
    assert.strictEqual(jwk.use, "sig")
    const raw = Buffer.from(jwk.x, "base64url")
    assert.strictEqual(raw.length, 32)
    assert.strictEqual(jwk.kid, createHash("sha256").update(raw).digest().subarray(0, 8).toString("base64url"))
    assert.isTrue(Schema.is(Report.PublicJwk)(jwk))
    assert.notInclude(JSON.stringify(key), "a deployment secret")
  })
})

describe("Report.canonicalJson", () => {
  it("writes sorted keys without whitespace", () => {
    assert.strictEqual(
      Report.canonicalJson({ b: [1, { d: "x y", c: null }], a: true, e: undefined }),
      '{"a":true,"b":[1,{"c":null,"d":"x y"}]}'
    )
  })

  it("sorts keys by code units, integer-like keys included (where JavaScript objects put them first)", () => {
    assert.strictEqual(
      Report.canonicalJson({ a: 4, "9": 2, "": 3, "10": 1, é: 5, Z: 6 }),
      '{"":3,"10":1,"9":2,"Z":6,"a":4,"é":5}'
    )
  })

  it("parses back to the value, does not depend on key order, and adds no whitespace", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (value, seed) => {
        const canonical = Report.canonicalJson(value as Report.Json)
        assert.deepStrictEqual(JSON.parse(canonical), JSON.parse(JSON.stringify(value)))
        assert.strictEqual(canonical.length, JSON.stringify(value).length)
        assert.strictEqual(Report.canonicalJson(shuffleKeys(value, seed) as Report.Json), canonical)
      })
    )
  })

  it("equals JSON.stringify of the key-sorted value when no key is integer-like", () => {
    const noIndexKeys = fc.jsonValue().filter((value) => !/"\d+":/.test(JSON.stringify(value)))
    fc.assert(
      fc.property(noIndexKeys, (value) => {
        assert.strictEqual(Report.canonicalJson(value as Report.Json), JSON.stringify(sortDeep(value)))
      })
    )
  })
})

describe("Report.sign and verify", () => {
  it("signs the canonical JSON with Ed25519, verifiable with the JWK alone", () => {
    const signed = Report.sign(key, report)
    assert.isTrue(Report.verify(signed, jwk))
    assert.strictEqual(signed.signature.kid, jwk.kid)
    const publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk.x }, format: "jwk" })
    const bytes = new TextEncoder().encode(Report.canonicalJson(report as unknown as Report.Json))
    assert.isTrue(edVerify(null, bytes, publicKey, Buffer.from(signed.signature.value, "base64url")))
  })

  it("survives a JSON round trip (the file a verifier receives)", () => {
    fc.assert(
      fc.property(arbReport, (r) => {
        const text = JSON.stringify(shuffleKeys(Report.sign(key, r), 3), null, 2)
        const decoded = Schema.decodeUnknownSync(Report.SignedFromJson)(text)
        assert.isTrue(Report.verify(decoded, jwk))
      }),
      { numRuns: 50 }
    )
  })

  it("refuses a report with any field changed", () => {
    const mutate: fc.Arbitrary<(r: Report.Report) => Report.Report> = fc.oneof(
      fc.string().map((s) => (r: Report.Report) => ({ ...r, requestId: r.requestId + s + "!" })),
      fc.string().map((s) => (r: Report.Report) => ({ ...r, tenant: r.tenant + s + "!" })),
      fc.constant((r: Report.Report) => ({ ...r, type: r.type === "erasure" ? "objection" : "erasure" })),
      fc.nat({ max: 1000 }).map((n) => (r: Report.Report) => ({ ...r, startedAt: r.startedAt + n + 1 })),
      fc.nat({ max: 1000 }).map((n) => (r: Report.Report) => ({ ...r, completedAt: r.completedAt + n + 1 })),
      fc.constant((r: Report.Report) => ({ ...r, subjects: [...r.subjects, "x"] })),
      fc.constant((r: Report.Report) => ({ ...r, subjects: r.subjects.slice(1) })),
      fc.constant((r: Report.Report) => ({
        ...r,
        stores: r.stores.map((s) => ({ ...s, remaining: s.remaining + 1 }))
      })),
      fc.constant((r: Report.Report) => ({ ...r, stores: r.stores.map((s) => ({ ...s, erased: s.erased + 1 })) })),
      fc.constant((r: Report.Report) => ({ ...r, stores: r.stores.map((s) => ({ ...s, name: `${s.name}.` })) })),
      fc.constant((r: Report.Report) => ({ ...r, stores: r.stores.slice(1) })),
      fc.constant((r: Report.Report) => ({ ...r, retained: r.retained.slice(1) })),
      fc.constant((r: Report.Report) => ({ ...r, retained: r.retained.map((e) => ({ ...e, why: `${e.why}.` })) }))
    )
    fc.assert(
      fc.property(arbReport, mutate, (r, change) => {
        const signed = Report.sign(key, r)
        const changed = change(r)
        fc.pre(Report.canonicalJson(changed as never) !== Report.canonicalJson(r as never))
        assert.isFalse(Report.verify({ ...signed, report: changed }, jwk))
      })
    )
  })

  it("refuses a changed signature, another kid, another algorithm or a malformed key", () => {
    const signed = Report.sign(key, report)
    fc.assert(
      fc.property(fc.nat({ max: 85 }), fc.constantFrom(..."AQgw"), (at, char) => {
        const value = signed.signature.value
        fc.pre(value[at] !== char)
        const changed = value.slice(0, at) + char + value.slice(at + 1)
        assert.isFalse(Report.verify({ ...signed, signature: { ...signed.signature, value: changed } }, jwk))
      })
    )
    assert.isFalse(Report.verify({ ...signed, signature: { ...signed.signature, kid: "other" } }, jwk))
    assert.isFalse(Report.verify({ ...signed, signature: { ...signed.signature, alg: "HS256" as "EdDSA" } }, jwk))
    assert.isFalse(Report.verify(signed, { ...jwk, x: "A".repeat(43) }))
    assert.isFalse(Report.verify(signed, { ...jwk, x: "not base64" }))
    assert.isFalse(Report.verify({ ...signed, report: { ...report, version: 2 as 1 } }, jwk))
  })

  it("shows subjects as digests only, sorted and distinct, never their identifiers", () => {
    const visitor = new Subject.Visitor({ tenant: "shop", visitor: "visitor-pseudonym-123" })
    const user = new Subject.User({ tenant: "shop", user: "user-42" })
    const built = Report.fromOutcome({
      requestId: "r",
      tenant: "shop",
      type: "erasure",
      subjects: [visitor, user, visitor],
      outcome: { stores: [{ name: "events", erased: 1, remaining: 0 }], retained: [], startedAt: 1, completedAt: 2 }
    })
    assert.deepStrictEqual(built.subjects, [Report.digest(visitor), Report.digest(user)].sort())
    assert.strictEqual(
      Report.digest(visitor),
      createHash("sha256").update("Visitor:shop:visitor-pseudonym-123").digest("base64url")
    )
    const text = JSON.stringify(Report.sign(key, built))
    assert.notInclude(text, "visitor-pseudonym-123")
    assert.notInclude(text, "user-42")
    assert.notStrictEqual(
      Report.digest(visitor),
      Report.digest(new Subject.User({ tenant: "shop", user: "visitor-pseudonym-123" }))
    )
  })
})
