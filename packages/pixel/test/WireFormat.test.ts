import type { Event } from "@openaudience/event-schema"
import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as WireFormat from "../src/WireFormat.js"

const base = "v=1&e=pv&id=evt_0123456789&s=demo"

const ok = (result: Either.Either<Event.Event, WireFormat.WireFormatError>): Event.Event => {
  if (Either.isLeft(result)) assert.fail(result.left.message)
  return result.right
}

const bad = (result: Either.Either<unknown, WireFormat.WireFormatError>): WireFormat.WireFormatError => {
  if (Either.isRight(result)) assert.fail(`expected a failure, got ${JSON.stringify(result.right)}`)
  assert.strictEqual(result.left._tag, "WireFormatError")
  return result.left
}

const conversion: Event.Event = {
  type: "conversion",
  id: "evt_0123456789",
  site: "demo",
  clientTs: 1_768_478_400_000,
  url: "https://shop.example/checkout/done?order=7",
  visitorId: "0123456789abcdef",
  consent: { gpc: true, tcf: "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA" },
  orderId: "order-7",
  conversionType: "purchase",
  currency: "EUR",
  value: 4497,
  items: [
    { productId: "SKU,1;x%", quantity: 2, unitPrice: 1999, category: "shoes & bags" },
    { productId: "SKU-2", quantity: 1, unitPrice: 499 }
  ]
}

describe("WireFormat GET form", () => {
  it("encodes with short keys, percent-encoded values and the line-item encoding of the spec", () => {
    assert.strictEqual(
      WireFormat.encodeQuery(conversion),
      "v=1&e=cv&id=evt_0123456789&s=demo&t=1768478400000&u=https%3A%2F%2Fshop.example%2Fcheckout%2Fdone%3Forder%3D7" +
        "&vid=0123456789abcdef&cu=EUR&oi=order-7&ct=purchase&va=4497&g=1" +
        "&tcf=CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA" +
        "&it=SKU%2C1%3Bx%25,2,1999,shoes%20%26%20bags;SKU-2,1,499"
    )
  })

  it("carries the CMP's gdprApplies as IAB's gdpr flag", () => {
    const event: Event.Event = { type: "page_view", id: "evt_0123456789", site: "demo", consent: { gdprApplies: true } }
    assert.strictEqual(WireFormat.encodeQuery(event), "v=1&e=pv&id=evt_0123456789&s=demo&gdpr=1")
    assert.deepStrictEqual(ok(WireFormat.decodeQuery("v=1&e=pv&id=evt_0123456789&s=demo&gdpr=0&tcf=CQ")).consent, {
      tcf: "CQ",
      gdprApplies: false
    })
  })

  it("decodes what it encodes, for every event type", () => {
    const events: Array<Event.Event> = [
      {
        type: "page_view",
        id: "evt_0123456789",
        site: "demo",
        url: "https://a.example/",
        referrer: "https://b.example/"
      },
      { type: "product_view", id: "evt_0123456789", site: "demo", productId: "é 😀", unitPrice: 0, currency: "JPY" },
      { type: "add_to_cart", id: "evt_0123456789", site: "demo", productId: "A", quantity: 10_000, category: "x" },
      conversion,
      { type: "conversion", id: "evt_0123456789", site: "demo", orderId: "o", conversionType: "lead", items: [] },
      {
        type: "engagement",
        id: "evt_0123456789",
        site: "demo",
        element: "buy",
        scrollDepth: 100,
        timeOnPage: 86_400_000,
        pointerX: 0,
        pointerY: 100,
        consent: { dnt: false, optout: true, gpp: "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA" }
      },
      { type: "page_view", id: "evt_0123456789", site: "demo", consent: {} },
      { type: "page_view", id: "evt_0123456789", site: "demo", consent: { tcf: "CQ", gdprApplies: true } },
      { type: "page_view", id: "evt_0123456789", site: "demo", consent: { gdprApplies: false } }
    ]
    for (const event of events) assert.deepStrictEqual(ok(WireFormat.decodeQuery(WireFormat.encodeQuery(event))), event)
  })

  it("leaves out serverTs and userAgent, which only the server sets", () => {
    const query = WireFormat.encodeQuery({
      type: "page_view",
      id: "evt_0123456789",
      site: "demo",
      serverTs: 1_768_478_400_000,
      userAgent: "Mozilla/5.0"
    })
    assert.strictEqual(query, base)
  })

  it("sends lone surrogates, which UTF-8 cannot carry, as U+FFFD", () => {
    const query = WireFormat.encodeQuery({
      type: "product_view",
      id: "evt_0123456789",
      site: "demo",
      productId: "a\uD800b"
    })
    assert.strictEqual((ok(WireFormat.decodeQuery(query)) as Event.ProductView).productId, "a\uFFFDb")
  })

  it("accepts a leading ?, + for spaces, empty segments and keys in any order", () => {
    const event = ok(WireFormat.decodeQuery("?&s=demo&&e=vw&p=red+shoes&id=evt_0123456789&v=1&"))
    assert.deepStrictEqual(event, { type: "product_view", id: "evt_0123456789", site: "demo", productId: "red shoes" })
  })

  it("builds the pixel URL and tells whether it fits in 2,000 bytes", () => {
    const event: Event.Event = { type: "page_view", id: "evt_0123456789", site: "demo" }
    assert.strictEqual(WireFormat.getUrl("https://c.example/", event), `https://c.example/px.gif?${base}`)
    assert.isTrue(WireFormat.fitsGet(`https://c.example/px.gif?${base}`))
    assert.isTrue(WireFormat.fitsGet("x".repeat(WireFormat.MaxGetUrlBytes)))
    assert.isFalse(WireFormat.fitsGet("x".repeat(WireFormat.MaxGetUrlBytes + 1)))
    assert.isFalse(WireFormat.fitsGet("é".repeat(1001)), "bytes, not characters, are counted")
    const long = WireFormat.getUrl("https://c.example", { ...event, url: "https://a.example/" + "x".repeat(2000) })
    assert.isFalse(WireFormat.fitsGet(long))
  })

  const rejections: Array<[string, string, WireFormat.WireFormatError["reason"], string, RegExp]> = [
    ["unknown key", `${base}&foo=1`, "UnknownKey", "foo", /foo: unknown key/],
    ["percent-encoded key", `${base}&%70=1`, "UnknownKey", "%70", /unknown key/],
    ["duplicated key", `${base}&s=other`, "DuplicateKey", "s", /s: appears more than once/],
    ["key without value", `${base}&u`, "Malformed", "u", /u: expected u=value/],
    ["value without key", `${base}&=1`, "Malformed", "event", /a value without a key/],
    ["missing version", "e=pv&id=evt_0123456789&s=demo", "MissingKey", "v", /wire version is missing/],
    ["future version", "v=2&e=pv&id=evt_0123456789&s=demo", "UnsupportedVersion", "v", /unsupported wire version "2"/],
    ["missing type", "v=1&id=evt_0123456789&s=demo", "MissingKey", "e", /event type is missing/],
    ["unknown type", "v=1&e=zz&id=evt_0123456789&s=demo", "InvalidValue", "e", /expected one of pv, vw, ac, cv, en/],
    ["key of another type", `${base}&p=SKU-1`, "UnknownKey", "p", /p \(productId\): not allowed in a page_view event/],
    ["truncated percent-encoding", `${base}&u=%E0%A4%A`, "Malformed", "u", /bad percent-encoding or invalid UTF-8/],
    ["invalid UTF-8", `${base}&u=%FF%FE`, "Malformed", "u", /invalid UTF-8/],
    ["encoded lone surrogate", `${base}&u=%ED%A0%80`, "Malformed", "u", /invalid UTF-8/],
    ["NUL character", `${base}&u=a%00b`, "InvalidValue", "u", /^u \(url\): expected/],
    [
      "non-integer",
      `${base}&t=12.5`,
      "InvalidValue",
      "t",
      /t \(clientTs\): expected a safe decimal integer, got "12.5"/
    ],
    ["unsafe integer", `${base}&t=99999999999999999`, "InvalidValue", "t", /safe decimal integer/],
    ["timestamp out of range", `${base}&t=1`, "InvalidValue", "t", /t \(clientTs\): expected epoch milliseconds/],
    ["bad flag", `${base}&g=true`, "InvalidValue", "g", /g \(consent.gpc\): expected 1 or 0, got "true"/],
    ["bad gdpr flag", `${base}&gdpr=yes`, "InvalidValue", "gdpr", /gdpr \(consent.gdprApplies\): expected 1 or 0/],
    ["unknown longer key", `${base}&gdprx=1`, "UnknownKey", "gdprx", /unknown key/],
    ["bad consent marker", `${base}&c=0`, "InvalidValue", "c", /expected 1/],
    ["bad id", "v=1&e=pv&id=short&s=demo", "InvalidValue", "id", /^id: expected an event id/],
    ["bad site key", "v=1&e=pv&id=evt_0123456789&s=Demo!", "InvalidValue", "s", /^s \(site\): expected a site key/],
    [
      "negative price",
      "v=1&e=vw&id=evt_0123456789&s=demo&p=A&pr=-3&cu=EUR",
      "InvalidValue",
      "pr",
      /^pr \(unitPrice\): expected a non-negative integer amount in minor units, got -3$/
    ],
    [
      "price without currency",
      "v=1&e=vw&id=evt_0123456789&s=demo&p=A&pr=3",
      "InvalidValue",
      "cu",
      /cu \(currency\): is required/
    ],
    ["unknown currency", "v=1&e=vw&id=evt_0123456789&s=demo&p=A&cu=XXX", "InvalidValue", "cu", /ISO 4217/],
    [
      "missing product id",
      "v=1&e=ac&id=evt_0123456789&s=demo&q=1",
      "InvalidValue",
      "p",
      /p \(productId\): is required/
    ],
    [
      "line item with too few parts",
      "v=1&e=cv&id=evt_0123456789&s=demo&oi=o&ct=purchase&cu=EUR&it=A,1",
      "Malformed",
      "it",
      /it \(items\[0\]\): expected productId,quantity,unitPrice\[,category\], got 2 part/
    ],
    [
      "line item with a bad quantity",
      "v=1&e=cv&id=evt_0123456789&s=demo&oi=o&ct=purchase&cu=EUR&it=A,1,1;B,x,1",
      "InvalidValue",
      "it",
      /it \(items\[1\]\.quantity\): expected a safe decimal integer/
    ],
    [
      "line item with a negative price",
      "v=1&e=cv&id=evt_0123456789&s=demo&oi=o&ct=purchase&cu=EUR&it=A,1,-3",
      "InvalidValue",
      "it",
      /^it \(items\[0\]\.unitPrice\): expected a non-negative integer amount in minor units, got -3$/
    ],
    [
      "empty line item",
      "v=1&e=cv&id=evt_0123456789&s=demo&oi=o&ct=purchase&cu=EUR&it=A,1,1;",
      "Malformed",
      "it",
      /items\[1\]/
    ],
    [
      "more than 100 line items",
      `v=1&e=cv&id=evt_0123456789&s=demo&oi=o&ct=purchase&cu=EUR&it=${Array(101).fill("A,1,1").join(";")}`,
      "InvalidValue",
      "it",
      /at most 100 line items/
    ],
    ["absurdly long value", `${base}&u=${"x".repeat(30_000)}`, "TooLarge", "u", /u \(url\): value of 30000 characters/],
    ["value over the model limit", `${base}&u=${"x".repeat(2049)}`, "InvalidValue", "u", /u \(url\)/],
    ["oversized query", `${base}&${"x".repeat(70_000)}`, "TooLarge", "event", /exceeds 65536/]
  ]
  for (const [name, query, reason, field, message] of rejections) {
    it(`rejects ${name} naming the field`, () => {
      const error = bad(WireFormat.decodeQuery(query))
      assert.strictEqual(error.reason, reason)
      assert.strictEqual(error.field, field)
      assert.match(error.message, message)
    })
  }

  it("names an attacker's key only in a short, printable form", () => {
    const error = bad(WireFormat.decodeQuery(`${base}&${"\u0000\n".repeat(100)}=1`))
    assert.strictEqual(error.reason, "UnknownKey")
    assert.isAtMost(error.field.length, 33)
    assert.match(error.field, /^[\x20-\x7e…]+$/)
  })

  it("never throws on input that is not a string", () => {
    bad(WireFormat.decodeQuery(undefined as unknown as string))
    bad(WireFormat.decodeBatch(42 as unknown as string))
  })
})

describe("WireFormat batch form", () => {
  const page = (id: string): Event.Event => ({ type: "page_view", id, site: "demo" })

  it("encodes a header line and one event per line, and decodes it back", () => {
    const { bodies, rejected } = WireFormat.encodeBatch([page("evt_aaaaaaaa"), conversion])
    assert.strictEqual(rejected.length, 0)
    assert.strictEqual(bodies.length, 1)
    assert.strictEqual(bodies[0]!.split("\n")[0], "v=1")
    assert.strictEqual(bodies[0]!.split("\n")[1], "e=pv&id=evt_aaaaaaaa&s=demo")
    const batch = WireFormat.decodeBatch(bodies[0]!)
    assert.isTrue(Either.isRight(batch))
    if (Either.isRight(batch)) assert.deepStrictEqual(batch.right.map(ok), [page("evt_aaaaaaaa"), conversion])
  })

  it("decodes each line on its own: a bad line never blocks the valid ones", () => {
    const body =
      "v=1\r\ne=pv&id=evt_aaaaaaaa&s=demo\r\n\r\ne=pv&id=bad&s=demo\ne=pv&id=evt_bbbbbbbb&s=demo&zz=1\ne=pv&id=evt_cccccccc&s=demo\n"
    const batch = WireFormat.decodeBatch(body)
    if (Either.isLeft(batch)) assert.fail(batch.left.message)
    const results = batch.right
    assert.strictEqual(results.length, 4)
    assert.deepStrictEqual(ok(results[0]!), page("evt_aaaaaaaa"))
    const badId = bad(results[1]!)
    assert.strictEqual(badId.field, "id")
    assert.strictEqual(badId.line, 4)
    const unknown = bad(results[2]!)
    assert.strictEqual(unknown.field, "zz")
    assert.strictEqual(unknown.line, 5)
    assert.deepStrictEqual(ok(results[3]!), page("evt_cccccccc"))
  })

  it("accepts a v key on a line only when it matches the header", () => {
    const batch = WireFormat.decodeBatch("v=1\nv=1&e=pv&id=evt_aaaaaaaa&s=demo\nv=2&e=pv&id=evt_bbbbbbbb&s=demo")
    if (Either.isLeft(batch)) assert.fail(batch.left.message)
    ok(batch.right[0]!)
    assert.strictEqual(bad(batch.right[1]!).reason, "UnsupportedVersion")
  })

  it("decodes UTF-8 bytes, and rejects bytes that are not UTF-8", () => {
    const bytes = new TextEncoder().encode("v=1\ne=vw&id=evt_aaaaaaaa&s=demo&p=%C3%A9")
    const batch = WireFormat.decodeBatch(bytes)
    if (Either.isLeft(batch)) assert.fail(batch.left.message)
    assert.strictEqual((ok(batch.right[0]!) as Event.ProductView).productId, "é")
    const error = bad(WireFormat.decodeBatch(Uint8Array.from([0x76, 0x3d, 0x31, 0x0a, 0xff, 0xfe])))
    assert.strictEqual(error.field, "body")
    assert.match(error.message, /not valid UTF-8/)
  })

  const bodyRejections: Array<[string, string | Uint8Array, WireFormat.WireFormatError["reason"], RegExp]> = [
    ["an empty body", "", "MissingKey", /must start with the header line v=1/],
    ["a body without header", "e=pv&id=evt_aaaaaaaa&s=demo", "MissingKey", /header line/],
    ["an unsupported version", "v=9\ne=pv&id=evt_aaaaaaaa&s=demo", "UnsupportedVersion", /"9"/],
    ["a body over 64 KiB", `v=1\n${"e=pv&id=evt_aaaaaaaa&s=demo\n".repeat(3000)}`, "TooLarge", /exceed 65536/],
    ["bytes over 64 KiB", new Uint8Array(65_537), "TooLarge", /65537 bytes/],
    ["more than 1000 events", `v=1\n${"e=pv\n".repeat(1001)}`, "TooLarge", /more than 1000 events/]
  ]
  for (const [name, body, reason, message] of bodyRejections) {
    it(`rejects ${name} as a whole`, () => {
      const error = bad(WireFormat.decodeBatch(body))
      assert.strictEqual(error.reason, reason)
      assert.match(error.message, message)
    })
  }

  it("splits large batches into bodies within the byte budget, in order", () => {
    const events = Array.from({ length: 50 }, (_, i) => page(`evt_${String(i).padStart(8, "0")}`))
    const { bodies } = WireFormat.encodeBatch(events, 200)
    assert.isAbove(bodies.length, 5)
    const decoded: Array<Event.Event> = []
    for (const body of bodies) {
      assert.isAtMost(body.length, 200)
      const batch = WireFormat.decodeBatch(body)
      if (Either.isLeft(batch)) assert.fail(batch.left.message)
      decoded.push(...batch.right.map(ok))
    }
    assert.deepStrictEqual(decoded, events)
  })

  it("reports an event too large for any body instead of sending it", () => {
    const huge: Event.Event = { type: "page_view", id: "evt_bbbbbbbb", site: "demo", url: "😀".repeat(1024) }
    const { bodies, rejected } = WireFormat.encodeBatch([page("evt_aaaaaaaa"), huge, page("evt_cccccccc")], 2000)
    assert.strictEqual(bodies.length, 1)
    assert.strictEqual(rejected.length, 1)
    assert.strictEqual(rejected[0]!.index, 1)
    assert.strictEqual(rejected[0]!.error.reason, "TooLarge")
  })
})
