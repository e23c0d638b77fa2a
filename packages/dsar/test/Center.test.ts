import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import fc from "fast-check"
import { Center, Subject } from "../src/index.js"

const key = Center.sessionKey(Redacted.make(new TextEncoder().encode("a server secret of enough length....")))
const otherKey = Center.sessionKey(Redacted.make(new TextEncoder().encode("another server secret of some length")))

const arbSubject: fc.Arbitrary<Subject.Subject> = fc.oneof(
  fc.record({ tenant: fc.string(), visitor: fc.string() }).map((fields) => new Subject.Visitor(fields)),
  fc.record({ tenant: fc.string(), browser: fc.string() }).map((fields) => new Subject.Browser(fields)),
  fc.record({ tenant: fc.string(), user: fc.string() }).map((fields) => new Subject.User(fields))
)

describe("Center sessions", () => {
  it("opens what it sealed, until it expires", () => {
    fc.assert(
      fc.property(fc.array(arbSubject, { maxLength: 5 }), fc.integer({ min: 1, max: 1e12 }), (subjects, expiresAt) => {
        const token = Center.seal(key, new Center.Session({ subjects, expiresAt }))
        const opened = Center.open(key, token, expiresAt - 1)
        assert.isTrue(Option.isSome(opened))
        assert.deepStrictEqual(Option.getOrThrow(opened).subjects, subjects)
        assert.isTrue(Option.isNone(Center.open(key, token, expiresAt)))
      })
    )
  })

  it("never opens a token that was changed, forged or sealed under another key", () => {
    const token = Center.seal(
      key,
      new Center.Session({ subjects: [new Subject.Visitor({ tenant: "t", visitor: "v" })], expiresAt: 10 })
    )
    assert.isTrue(Option.isNone(Center.open(otherKey, token, 0)))
    fc.assert(
      fc.property(fc.nat({ max: token.length - 5 }), fc.constantFrom(..."ABCDEFabcdef0123456789-_"), (at, char) => {
        const position = 3 + at
        fc.pre(token[position] !== char)
        const changed = token.slice(0, position) + char + token.slice(position + 1)
        assert.isTrue(Option.isNone(Center.open(key, changed, 0)))
      })
    )
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (garbage) => Option.isNone(Center.open(key, garbage, 0))))
    assert.isTrue(Option.isNone(Center.open(key, undefined, 0)))
  })

  it("seals the same session differently each time (a random IV), so tokens cannot be compared", () => {
    const session = new Center.Session({ subjects: [], expiresAt: 10 })
    assert.notStrictEqual(Center.seal(key, session), Center.seal(key, session))
  })
})

describe("Center.resolve", () => {
  const identifiers: Center.Identifiers = {
    siteVisitor: (siteKey, visitorId) =>
      Effect.succeed(siteKey === "shop" ? Option.some({ tenant: "acme", visitor: `p(${visitorId})` }) : Option.none()),
    browserKeys: (browser) =>
      Effect.succeed([
        { tenant: "acme", browser: `acme(${browser})` },
        { tenant: "other", browser: `other(${browser})` }
      ]),
    linkedVisitor: (tenant, browser) =>
      Effect.succeed(tenant === "acme" && browser === "acme(b1)" ? Option.some("p(v1)") : Option.none())
  }

  it.effect("finds the site visitor, each tenant's browser key and the visitor it links to, once each", () =>
    Effect.gen(function* () {
      const subjects = yield* Center.resolve(identifiers, {
        site: { siteKey: "shop", visitorId: "v1" },
        browserCookie: "b1"
      })
      assert.deepStrictEqual(subjects, [
        new Subject.Visitor({ tenant: "acme", visitor: "p(v1)" }),
        new Subject.Browser({ tenant: "acme", browser: "acme(b1)" }),
        new Subject.Browser({ tenant: "other", browser: "other(b1)" })
      ])
    })
  )

  it.effect("an unknown site gives no visitor; nothing presented gives nothing", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* Center.resolve(identifiers, { site: { siteKey: "nope", visitorId: "v1" } }), [])
      assert.deepStrictEqual(yield* Center.resolve(identifiers, {}), [])
    })
  )
})
