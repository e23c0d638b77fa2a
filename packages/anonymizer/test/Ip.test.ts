import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, FastCheck as fc } from "effect"
import * as Ip from "../src/Ip.js"

const proxies = (list: string, header: "x-forwarded-for" | "forwarded" = "x-forwarded-for") =>
  Either.getOrThrow(Ip.trustedProxies(list, header))

describe("Ip.truncate", () => {
  it("keeps the /24 of IPv4 and the /48 of IPv6 by default", () => {
    assert.strictEqual(Ip.truncate("203.0.113.77"), "203.0.113.0")
    assert.strictEqual(Ip.truncate("2001:db8:1:2:3:4:5:6"), "2001:db8:1::")
    assert.strictEqual(Ip.truncate("2001:0DB8:0001:ffff::1"), "2001:db8:1::")
    assert.strictEqual(Ip.truncate("::1"), "::")
  })

  it("keeps 1 to 3 bytes of IPv4 and any IPv6 prefix up to 64 bits", () => {
    assert.strictEqual(Ip.truncate("203.0.113.77", { v4Bytes: 2 }), "203.0.0.0")
    assert.strictEqual(Ip.truncate("203.0.113.77", { v4Bytes: 1 }), "203.0.0.0")
    assert.strictEqual(Ip.truncate("2001:db8:abcd:1234::1", { v6Prefix: 32 }), "2001:db8::")
    assert.strictEqual(Ip.truncate("2001:db8:abcd:1234::1", { v6Prefix: 56 }), "2001:db8:abcd:1200::")
    assert.strictEqual(Ip.truncate("2001:db8:abcd:1234::1", { v6Prefix: 64 }), "2001:db8:abcd:1234::")
  })

  it("clamps options so that no setting keeps a whole address", () => {
    assert.strictEqual(Ip.truncate("203.0.113.77", { v4Bytes: 4 as 3 }), "203.0.113.0")
    assert.strictEqual(Ip.truncate("2001:db8:abcd:1234:5678::1", { v6Prefix: 128 }), "2001:db8:abcd:1234::")
    assert.strictEqual(Ip.truncate("203.0.113.77", { v4Bytes: Number.NaN as 3 }), "203.0.113.0")
  })

  it("handles IPv4-mapped IPv6 as IPv4, in either notation", () => {
    assert.strictEqual(Ip.truncate("::ffff:203.0.113.77"), "203.0.113.0")
    assert.strictEqual(Ip.truncate("::FFFF:cb00:714d"), "203.0.113.0")
    assert.strictEqual(Ip.truncate("0:0:0:0:0:ffff:203.0.113.77", { v4Bytes: 2 }), "203.0.0.0")
  })

  it("never keeps the IPv4 address inside a 6to4 address", () => {
    // 2002:cb00:714d::/48 embeds 203.0.113.77 whole.
    assert.strictEqual(Ip.truncate("2002:cb00:714d:1::1"), "2002:cb00:7100::")
    assert.strictEqual(Ip.truncate("2002:cb00:714d:1::1", { v4Bytes: 1 }), "2002:cb00::")
  })

  it("drops IPv6 zones", () => {
    assert.strictEqual(Ip.truncate("fe80::1:2:3:4%eth0", { v6Prefix: 64 }), "fe80::")
  })

  it("truncates anything invalid to unknown, never to the input", () => {
    for (const bad of [
      "",
      " 203.0.113.77",
      "203.0.113.77 ",
      "203.0.113.256",
      "203.000.113.77",
      "01.2.3.4",
      "1.2.3",
      "[::1]",
      "203.0.113.77:443",
      "1::2::3",
      "2001:db8::g",
      "john@example.com",
      "x".repeat(100_000),
      "\u0000\u0001",
      "localhost"
    ]) {
      assert.strictEqual(Ip.truncate(bad), "unknown", JSON.stringify(bad.slice(0, 40)))
    }
    assert.strictEqual(Ip.truncate(undefined), "unknown")
    assert.strictEqual(Ip.truncate(null), "unknown")
  })

  it.prop(
    "truncated IPv4 is the address with its last byte zeroed, and truncation is idempotent",
    [fc.ipV4()],
    ([ip]) => {
      const truncated = Ip.truncate(ip)
      assert.strictEqual(truncated, `${ip.split(".").slice(0, 3).join(".")}.0`)
      assert.strictEqual(Ip.truncate(truncated), truncated)
      assert.strictEqual(Ip.truncate(`::ffff:${ip}`), truncated)
    }
  )

  it.prop("truncated IPv6 keeps exactly the first 48 bits and parses back", [fc.ipV6()], ([ip]) => {
    const address = Ip.parse(ip)
    assert.isDefined(address)
    const truncated = Ip.truncate(ip)
    const back = Ip.parse(truncated)
    assert.isDefined(back)
    if (address!.family === 4) {
      assert.strictEqual(back!.family, 4)
      return
    }
    assert.strictEqual(back!.family, 6)
    const sixToFour = address!.bytes[0] === 0x20 && address!.bytes[1] === 0x02
    const kept = sixToFour ? 5 : 6
    assert.deepStrictEqual([...back!.bytes.slice(0, kept)], [...address!.bytes.slice(0, kept)])
    assert.isTrue(back!.bytes.slice(kept).every((b) => b === 0))
    assert.strictEqual(Ip.truncate(truncated), truncated)
  })

  it.prop("never returns anything but unknown or a truncated address", [fc.string({ maxLength: 60 })], ([s]) => {
    const truncated = Ip.truncate(s)
    if (truncated === "unknown") return
    const address = Ip.parse(truncated)
    assert.isDefined(address)
    if (address!.family === 4) assert.strictEqual(address!.bytes[3], 0)
    else assert.isTrue(address!.bytes.slice(6).every((b) => b === 0))
  })
})

describe("Ip.format", () => {
  it("writes RFC 5952 IPv6", () => {
    const f = (s: string) => Ip.format(Ip.parse(s)!)
    assert.strictEqual(f("2001:0db8:0000:0000:0000:0000:0002:0001"), "2001:db8::2:1")
    assert.strictEqual(f("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1")
    assert.strictEqual(f("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1")
    assert.strictEqual(f("::"), "::")
    assert.strictEqual(f("1::"), "1::")
  })
})

describe("Ip.clientAddress", () => {
  const lb = proxies("10.0.0.0/8, 2001:db8:ffff::/48")

  it("is the direct peer when no proxy is trusted, whatever the headers say", () => {
    const headers = { "x-forwarded-for": "198.51.100.7", forwarded: "for=198.51.100.8" }
    assert.strictEqual(Ip.clientAddress("203.0.113.9", headers), "203.0.113.9")
    assert.strictEqual(Ip.clientAddress("203.0.113.9", headers, lb), "203.0.113.9")
  })

  it("normalises a dual-stack socket's IPv4-mapped peer", () => {
    assert.strictEqual(Ip.clientAddress("::ffff:203.0.113.9", {}), "203.0.113.9")
    assert.strictEqual(Ip.clientAddress("::ffff:10.1.2.3", { "x-forwarded-for": "198.51.100.7" }, lb), "198.51.100.7")
  })

  it("walks X-Forwarded-For from the right, skipping trusted hops", () => {
    const headers = { "x-forwarded-for": "1.1.1.1, 198.51.100.7, 10.0.0.5" }
    // 1.1.1.1 was written by the client itself: only what trusted proxies appended counts.
    assert.strictEqual(Ip.clientAddress("10.0.0.2", headers, lb), "198.51.100.7")
  })

  it("reads repeated header lines in order", () => {
    const headers = { "x-forwarded-for": ["1.1.1.1", "198.51.100.7, 10.0.0.5"] }
    assert.strictEqual(Ip.clientAddress("10.0.0.2", headers, lb), "198.51.100.7")
  })

  it("takes the leftmost hop when every hop is trusted", () => {
    assert.strictEqual(Ip.clientAddress("10.0.0.2", { "x-forwarded-for": "10.9.9.9, 10.0.0.5" }, lb), "10.9.9.9")
  })

  it("accepts ports and brackets in hops", () => {
    assert.strictEqual(Ip.clientAddress("10.0.0.2", { "x-forwarded-for": "[2001:db8:1::7]:4711" }, lb), "2001:db8:1::7")
    assert.strictEqual(Ip.clientAddress("10.0.0.2", { "x-forwarded-for": "198.51.100.7:80" }, lb), "198.51.100.7")
  })

  it("gives undefined for a malformed hop where an address is needed, never a client-chosen value", () => {
    assert.isUndefined(Ip.clientAddress("10.0.0.2", { "x-forwarded-for": "198.51.100.7, garbage" }, lb))
    assert.isUndefined(Ip.clientAddress("10.0.0.2", { "x-forwarded-for": "unknown" }, lb))
    assert.isUndefined(Ip.clientAddress("not an ip", {}, lb))
    assert.isUndefined(Ip.clientAddress(undefined, {}, lb))
    // A malformed hop beyond the client (written by the client) does not matter.
    assert.strictEqual(Ip.clientAddress("10.0.0.2", { "x-forwarded-for": "garbage, 198.51.100.7" }, lb), "198.51.100.7")
  })

  it("uses the peer when a trusted proxy sent no header", () => {
    assert.strictEqual(Ip.clientAddress("10.0.0.2", {}, lb), "10.0.0.2")
  })

  it("reads RFC 7239 Forwarded only when configured, with quoting, IPv6 and obfuscated ids", () => {
    const fw = proxies("10.0.0.0/8", "forwarded")
    const headers = {
      forwarded: 'for=1.1.1.1, for="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.1, for=10.0.0.7',
      "x-forwarded-for": "198.51.100.99"
    }
    assert.strictEqual(Ip.clientAddress("10.0.0.2", headers, fw), "2001:db8:cafe::17")
    // The other header is ignored: a client could have set it.
    assert.strictEqual(Ip.clientAddress("10.0.0.2", headers, lb), "198.51.100.99")
    assert.isUndefined(Ip.clientAddress("10.0.0.2", { forwarded: "for=_hidden" }, fw))
    assert.isUndefined(Ip.clientAddress("10.0.0.2", { forwarded: "proto=https" }, fw))
  })

  it("reads a WHATWG Headers object like a header record: a trusted proxy's forwarding header counts", () => {
    const headers = new Headers({ "X-Forwarded-For": "1.1.1.1, 198.51.100.7, 10.0.0.5" })
    assert.strictEqual(Ip.clientAddress("10.0.0.2", headers, lb), "198.51.100.7")
    // Not from a trusted proxy: the peer, whatever the header says.
    assert.strictEqual(Ip.clientAddress("203.0.113.9", headers, lb), "203.0.113.9")
    const fw = proxies("10.0.0.0/8", "forwarded")
    const forwarded = new Headers({ Forwarded: 'for="[2001:db8:cafe::17]:4711", for=10.0.0.7' })
    assert.strictEqual(Ip.clientAddress("10.0.0.2", forwarded, fw), "2001:db8:cafe::17")
    // Repeated lines, which Headers joins in order.
    const lines = new Headers()
    lines.append("x-forwarded-for", "1.1.1.1")
    lines.append("x-forwarded-for", "198.51.100.7, 10.0.0.5")
    assert.strictEqual(Ip.clientAddress("10.0.0.2", lines, lb), "198.51.100.7")
    assert.isUndefined(Ip.clientAddress("10.0.0.2", new Headers({ "x-forwarded-for": "unknown" }), lb))
    assert.strictEqual(Ip.clientAddress("10.0.0.2", new Headers(), lb), "10.0.0.2")
  })

  it("a header record may spell the name in any case", () => {
    assert.strictEqual(Ip.clientAddress("10.0.0.2", { "X-Forwarded-For": "198.51.100.7" }, lb), "198.51.100.7")
  })

  it.prop(
    "a header record and the equivalent Headers give the same client address",
    [
      fc.constantFrom("x-forwarded-for", "X-Forwarded-For", "X-FORWARDED-FOR", "forwarded", "Forwarded"),
      fc.array(
        fc.oneof(
          fc.ipV4(),
          fc.integer({ min: 1, max: 254 }).map((n) => `10.0.0.${n}`),
          fc.constantFrom("unknown", "_hidden", "[2001:db8::1]:80", "198.51.100.7:8080", "garbage", ""),
          fc.ipV4().map((ip) => `for=${ip}`),
          fc.ipV6().map((ip) => `for="[${ip}]"`)
        ),
        { minLength: 1, maxLength: 3 }
      ),
      fc.constantFrom("x-forwarded-for" as const, "forwarded" as const),
      fc.constantFrom("10.0.0.2", "203.0.113.9", "2001:db8:ffff::1")
    ],
    ([name, values, header, peer]) => {
      const trusted = { ...lb, header }
      // Node style: several lines of one header as a list; fetch style: appended lines, joined by Headers.
      const record = { [name]: values.length === 1 ? values[0]! : values, accept: "*/*" }
      const headers = new Headers()
      for (const value of values) headers.append(name, value)
      headers.append("accept", "*/*")
      assert.strictEqual(Ip.clientAddress(peer, headers, trusted), Ip.clientAddress(peer, record, trusted))
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "never returns an address the client put left of the first untrusted hop",
    [
      fc.array(fc.oneof(fc.ipV4(), fc.string()), { minLength: 1, maxLength: 4 }),
      fc.ipV4().filter((ip) => !ip.startsWith("10.")),
      fc.array(fc.integer({ min: 1, max: 254 }))
    ],
    ([spoofed, client, trustedHops]) => {
      const chain = [...spoofed, client, ...trustedHops.map((n) => `10.0.0.${n}`)].join(", ")
      const result = Ip.clientAddress("10.0.0.1", { "x-forwarded-for": chain }, lb)
      assert.strictEqual(result, Ip.format(Ip.parse(client)!))
    }
  )
})

describe("Ip.trustedProxies", () => {
  it("accepts addresses, networks and named ranges", () => {
    const list = proxies("loopback private 192.0.2.1 ::ffff:198.51.100.0/120")
    assert.isTrue(Ip.isTrusted(list, Ip.parse("127.0.0.1")!))
    assert.isTrue(Ip.isTrusted(list, Ip.parse("::1")!))
    assert.isTrue(Ip.isTrusted(list, Ip.parse("172.31.255.255")!))
    assert.isFalse(Ip.isTrusted(list, Ip.parse("172.32.0.1")!))
    assert.isTrue(Ip.isTrusted(list, Ip.parse("192.0.2.1")!))
    assert.isFalse(Ip.isTrusted(list, Ip.parse("192.0.2.2")!))
    assert.isTrue(Ip.isTrusted(list, Ip.parse("198.51.100.200")!))
    assert.isTrue(Ip.isTrusted(list, Ip.parse("fd12::1")!))
  })

  it("refuses invalid entries with a typed error", () => {
    for (const bad of ["10.0.0.0/33", "10.0.0.0/x", "nope", "2001:db8::/129"]) {
      const result = Ip.trustedProxies(bad)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "InvalidCidr")
    }
  })

  it.effect("reads the list from configuration", () =>
    Effect.gen(function* () {
      const list = yield* Ip.trustedProxiesConfig()
      assert.strictEqual(list.header, "forwarded")
      assert.isTrue(Ip.isTrusted(list, Ip.parse("10.1.1.1")!))
      const failed = yield* Effect.flip(
        Ip.trustedProxiesConfig().pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OA_TRUSTED_PROXIES", "10.0.0.0/99"]])))
        )
      )
      assert.include(String(failed), "OA_TRUSTED_PROXIES")
    }).pipe(
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map([
            ["OA_TRUSTED_PROXIES", "10.0.0.0/8"],
            ["OA_FORWARDED_HEADER", "forwarded"]
          ])
        )
      )
    )
  )
})
