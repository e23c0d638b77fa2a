import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Url from "../src/Url.js"

describe("Url.scrub", () => {
  it("keeps allowlisted parameters only, and never click ids", () => {
    assert.strictEqual(
      Url.scrub(
        "https://shop.example/p/shoes?utm_source=news&utm_medium=email&session=abc&gclid=Cj0KCQ&fbclid=IwAR&sku=A-12&q=john"
      ),
      "https://shop.example/p/shoes?utm_source=news&utm_medium=email&sku=A-12"
    )
    assert.strictEqual(
      Url.scrub("https://shop.example/?gclid=x&ref=y&utm_campaign=z", { allowParams: ["gclid", "ref"] }),
      "https://shop.example/?ref=y"
    )
    assert.strictEqual(Url.scrub("https://shop.example/?UTM_Source=a"), "https://shop.example/?utm_source=a")
    assert.strictEqual(Url.scrub("https://shop.example/p?"), "https://shop.example/p")
  })

  it("redacts path segments holding an email, phone, card or token, keeping the path's shape", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["https://shop.example/account/john.doe@example.com/orders", "https://shop.example/account/:redacted/orders"],
      ["https://shop.example/u/john%40example.com", "https://shop.example/u/:redacted"],
      ["https://shop.example/u/john%2540example.com", "https://shop.example/u/:redacted"],
      ["https://shop.example/u/%EF%BD%8A%EF%BC%A0example.com", "https://shop.example/u/:redacted"],
      ["https://shop.example/callback/%2B1%20415%20555%202671", "https://shop.example/callback/:redacted"],
      ["https://shop.example/call/(415)%20555-2671", "https://shop.example/call/:redacted"],
      ["https://shop.example/pay/4111-1111-1111-1111/ok", "https://shop.example/pay/:redacted/ok"],
      ["https://shop.example/reset/dGhpcyBpcyBhIHNlY3JldCB0b2tlbg_Xy", "https://shop.example/reset/:redacted"],
      ["https://shop.example/order/550e8400-e29b-41d4-a716-446655440000", "https://shop.example/order/:redacted"],
      ["https://shop.example/cart;jsessionid=0AAB6C8DE415E4AB", "https://shop.example/cart"]
    ]
    for (const [input, expected] of cases) assert.strictEqual(Url.scrub(input), expected, input)
  })

  it("keeps ordinary slugs, dates, ids and model names", () => {
    for (const url of [
      "https://shop.example/p/samsung-galaxy-s24-ultra-512gb-titanium-black",
      "https://shop.example/p/Apple-iPhone-15-Pro-Max-256GB-Natural-Titanium",
      "https://news.example/2024/01/15/the-quick-brown-fox-jumps-over-the-lazy-dog",
      "https://news.example/blog/2024-11-29-release-notes",
      // A valid EAN-13 barcode (one in ten also passes the Luhn check and is redacted as card-like: see README).
      "https://shop.example/product/123456?sku=4006381333931",
      "https://shop.example/c/Men%E2%80%99s-Shoes"
    ]) {
      assert.strictEqual(Url.scrub(url), url)
    }
  })

  it("redacts allowlisted values holding personal data, read with + as plus and as space", () => {
    assert.strictEqual(
      Url.scrub("https://shop.example/?utm_term=+14155552671&utm_source=a"),
      "https://shop.example/?utm_term=:redacted&utm_source=a"
    )
    assert.strictEqual(
      Url.scrub("https://shop.example/?utm_content=john+shop%40example.com"),
      "https://shop.example/?utm_content=:redacted"
    )
    assert.strictEqual(
      Url.scrub("https://shop.example/?utm_campaign=spring+sale&utm_term=running+shoes"),
      "https://shop.example/?utm_campaign=spring+sale&utm_term=running+shoes"
    )
  })

  it("a tenant's scrubber gives the same answers on repeated URLs as on first sight", () => {
    const scrub = Url.scrubber({ allowParams: ["utm_source", "sku"] })
    const urls = [
      "https://shop.example/p/boots?utm_source=news&sku=b1",
      "https://shop.example/u/jane@example.com?utm_source=news",
      "https://shop.example/p/boots?utm_source=news&gclid=abc",
      "https://shop.example/p/boots?utm_source=%2B44+20+7946+0958"
    ]
    const first = urls.map((url) => scrub(url))
    for (let round = 0; round < 3; round++)
      assert.deepStrictEqual(
        urls.map((url) => scrub(url)),
        first
      )
    assert.deepStrictEqual(first, [
      "https://shop.example/p/boots?utm_source=news&sku=b1",
      "https://shop.example/u/:redacted?utm_source=news",
      "https://shop.example/p/boots?utm_source=news",
      "https://shop.example/p/boots?utm_source=:redacted"
    ])
  })

  it("finds phone numbers written the way forms encode them, and paired national formats", () => {
    // Found by the end-to-end scan: "+33 6 40 60 62 70" from a form, with the plus as %2B and spaces as +.
    for (const value of [
      "%2B33+6+40+60+62+70",
      "+33+6+40+60+62+70",
      "06 40 60 62 70",
      "06.40.60.62.70",
      "06-40-60-62-70"
    ]) {
      assert.strictEqual(
        Url.scrub(`https://shop.example/?utm_content=${value}&utm_source=a`),
        "https://shop.example/?utm_content=:redacted&utm_source=a",
        value
      )
    }
    for (const value of ["spring+sale+2026", "size+42+wide", "2026-11-29"]) {
      assert.include(Url.scrub(`https://shop.example/?utm_content=${value}`)!, value, value)
    }
  })

  it("scrubs fragments: routes like paths, parameters like queries, anchors kept or dropped", () => {
    assert.strictEqual(Url.scrub("https://a.example/p#reviews"), "https://a.example/p#reviews")
    assert.strictEqual(Url.scrub("https://a.example/p#jane@example.com"), "https://a.example/p")
    assert.strictEqual(
      Url.scrub("https://a.example/#/account/jane@example.com?utm_source=x&token=y"),
      "https://a.example/#/account/:redacted?utm_source=x"
    )
    assert.strictEqual(Url.scrub("https://a.example/cb#access_token=ya29.a0AfH6SMB&state=x"), "https://a.example/cb")
  })

  it("drops credentials and normalises scheme and host", () => {
    assert.strictEqual(Url.scrub("HTTPS://jane:secret@Shop.Example:443/a"), "https://shop.example/a")
    assert.strictEqual(Url.scrub("http://shop.example:8080/a"), "http://shop.example:8080/a")
  })

  it("resolves relative URLs against the page origin", () => {
    assert.strictEqual(
      Url.scrub("/p/x?utm_source=a&email=b", { pageOrigin: "https://shop.example" }),
      "https://shop.example/p/x?utm_source=a"
    )
    assert.isUndefined(Url.scrub("/p/x"))
  })

  it("gives undefined for anything that is not an absolute http(s) URL, never the input", () => {
    for (const bad of [
      "",
      "not a url",
      "javascript:alert(document.cookie)",
      "data:text/html,<script>",
      "ftp://files.example/x",
      "mailto:jane@example.com",
      "http://",
      "https://exa mple.com/",
      `https://shop.example/${"a".repeat(10_000)}`,
      "\u0000\u0001binary"
    ]) {
      assert.isUndefined(Url.scrub(bad), bad.slice(0, 40))
    }
    assert.isUndefined(Url.scrub(undefined))
    assert.isUndefined(Url.scrub(null))
  })

  it("compiles per-tenant options once with scrubber", () => {
    const scrub = Url.scrubber({ allowParams: ["ref"] })
    assert.strictEqual(scrub("https://a.example/?ref=1&utm_source=2"), "https://a.example/?ref=1")
    assert.isUndefined(scrub("nope"))
  })

  it.prop(
    "never throws, and returns undefined or an http(s) URL",
    [fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string({ maxLength: 200 }))],
    ([input]) => {
      const out = Url.scrub(input)
      if (out !== undefined) assert.match(out, /^https?:\/\//)
    },
    { fastCheck: { numRuns: 300 } }
  )
})

describe("Url.scrubReferrer", () => {
  const page = "https://www.shop.example/p/1"

  it("cuts other sites' referrers to their origin", () => {
    assert.strictEqual(
      Url.scrubReferrer("https://www.google.com/search?q=jane+doe+4111111111111111", page),
      "https://www.google.com"
    )
    assert.strictEqual(Url.scrubReferrer("http://news.example:8080/a/b?c=d", page), "http://news.example:8080")
    assert.isUndefined(Url.scrubReferrer("https://www.google.com/search?q=x", page, { crossSite: "drop" }))
    assert.strictEqual(Url.scrubReferrer("https://other.example/x", undefined), "https://other.example")
  })

  it("scrubs same-site referrers like page URLs, with or without www", () => {
    assert.strictEqual(
      Url.scrubReferrer("https://shop.example/account/jane@example.com?utm_source=a&session=b", page),
      "https://shop.example/account/:redacted?utm_source=a"
    )
    assert.strictEqual(
      Url.scrubReferrer("https://www.shop.example/c?ref=1&cat=2", page, { allowParams: ["ref"] }),
      "https://www.shop.example/c?ref=1"
    )
  })

  it("gives undefined for malformed and non-web referrers", () => {
    for (const bad of ["", "garbage", "android-app://com.google.android.gm/", "about:blank", "file:///etc/passwd"]) {
      assert.isUndefined(Url.scrubReferrer(bad, page), bad)
    }
  })
})

describe("Url.referrerScrubber", () => {
  const hosts = ["shop.example", "www.shop.example", "news.example", "xn--bcher-kva.example", "[::1]", "192.0.2.7"]
  const pathPart = fc.constantFrom("", "/", "/c/shoes", "/account/jane@example.com", "/p/4111111111111111")
  const queryPart = fc.constantFrom("", "?utm_source=a", "?ref=1&cat=2", "?email=jane%40example.com&sku=9", "?gclid=x")
  const urlOf = fc
    .tuple(
      fc.constantFrom("http", "https"),
      fc.constantFrom("", "user:pw@"),
      fc.constantFrom(...hosts, "SHOP.example", "bücher.example"),
      fc.constantFrom("", ":8080", ":443"),
      pathPart,
      queryPart,
      fc.constantFrom("", "#top", "#/r/jane@example.com")
    )
    .map(
      ([scheme, credentials, host, port, path, query, hash]) =>
        `${scheme}://${credentials}${host}${port}${path}${query}${hash}`
    )
  const referrerOf = fc.oneof(urlOf, fc.constantFrom("", "garbage", "about:blank", "android-app://com.example/"))
  const options = fc.constantFrom<Url.ReferrerOptions>({}, { crossSite: "drop" }, { allowParams: ["ref"] })

  it.prop(
    "gives what scrubReferrer gives for the page, from the scrubbed page's hostname, also when it remembers",
    [
      fc.array(referrerOf, { minLength: 1, maxLength: 6 }),
      fc.array(fc.option(urlOf, { nil: undefined }), { minLength: 1, maxLength: 4 }),
      options
    ],
    ([referrers, pages, opts]) => {
      const scrubReferrer = Url.referrerScrubber(opts)
      const pageScrubber = Url.scrubber(opts.allowParams === undefined ? {} : { allowParams: opts.allowParams })
      // Every referrer on every page (same site and not), twice: later calls may come from what earlier ones kept.
      for (let round = 0; round < 2; round++) {
        for (const referrer of referrers) {
          for (const page of round === 0 ? pages : [...pages].reverse()) {
            const scrubbedPage = page === undefined ? undefined : pageScrubber(page)
            const hostname = scrubbedPage === undefined ? undefined : Url.hostnameOfScrubbed(scrubbedPage)
            assert.strictEqual(
              scrubReferrer(referrer, hostname),
              Url.scrubReferrer(referrer, page, opts),
              `${referrer} on ${page}`
            )
          }
        }
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("reads the hostname off a scrubbed URL", () => {
    assert.strictEqual(Url.hostnameOfScrubbed("https://shop.example:8443/p?x=1"), "shop.example")
    assert.strictEqual(Url.hostnameOfScrubbed("http://[::1]:8080/"), "[::1]")
    assert.strictEqual(Url.hostnameOfScrubbed("https://shop.example"), "shop.example")
    for (const bad of ["", "shop.example/p", "ftp://shop.example/", "https:///p", "http://[::1/"]) {
      assert.isUndefined(Url.hostnameOfScrubbed(bad), bad)
    }
  })
})

// ------------------------------------------------------------------------------------------------------------
// Fuzz: personal data injected in random places and encodings never survives.
// ------------------------------------------------------------------------------------------------------------

interface Secret {
  readonly kind: Url.Pii
  readonly text: string
  /** What must not appear in the decoded output: the text (emails, tokens) or its digits (phones, cards). */
  readonly needle: string
}

const digits = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(""))

const luhnComplete = (body: string): string => {
  let sum = 0
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i])
    if (i % 2 === 0) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return `${body}${(10 - (sum % 10)) % 10}`
}

const email: fc.Arbitrary<Secret> = fc
  .tuple(
    fc.stringMatching(/^[a-z][a-z0-9._+-]{1,15}$/),
    fc.stringMatching(/^[a-z][a-z0-9-]{1,10}$/),
    fc.constantFrom("com", "org", "de", "co.uk", "example")
  )
  .map(([local, domain, tld]) => {
    const text = `${local}@${domain}.${tld}`
    return { kind: "email" as const, text, needle: text }
  })

const phone: fc.Arbitrary<Secret> = fc
  .tuple(fc.integer({ min: 1, max: 99 }), digits(3), digits(3), digits(4), fc.integer({ min: 0, max: 5 }))
  .map(([cc, a, b, c, format]) => {
    const text = [
      `+${cc} ${a} ${b} ${c}`,
      `+${cc}${a}${b}${c}`,
      `(${a}) ${b}-${c}`,
      `${a}-${b}-${c}`,
      `${a}.${b}.${c}`,
      `00${cc} ${a} ${b}${c}`
    ][format]!
    return { kind: "phone" as const, text, needle: `${a}${b}${c}` }
  })

const card: fc.Arbitrary<Secret> = fc
  .tuple(fc.constantFrom("4", "51", "37", "6011"), digits(14), fc.constantFrom("", " ", "-"))
  .map(([prefix, rest, separator]) => {
    const length = prefix === "37" ? 15 : 16
    const number = luhnComplete(`${prefix}${rest}`.slice(0, length - 1))
    const text = separator === "" ? number : number.replace(/(\d{4})(?=\d)/g, `$1${separator}`)
    return { kind: "card" as const, text, needle: number }
  })

const token: fc.Arbitrary<Secret> = fc
  .tuple(fc.uint8Array({ minLength: 18, maxLength: 48 }), fc.constantFrom("base64url", "hex", "uuid"))
  .map(([bytes, format]) => {
    const buffer = Buffer.from(bytes)
    const hex = buffer.toString("hex").padEnd(32, "0")
    const text =
      format === "base64url"
        ? buffer.toString("base64url")
        : format === "hex"
          ? buffer.toString("hex")
          : `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`
    return { kind: "token" as const, text, needle: text }
  })

const secret = fc.oneof(email, phone, card, token)

type Encoding = (text: string, inQuery: boolean) => string

const encodeEvery = (s: string) =>
  [...Buffer.from(s, "utf8")].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("")

const encodings: ReadonlyArray<Encoding> = [
  // Only what would break the URL's structure is escaped: `@` and `+` stay as they are.
  (s) => s.replace(/[%/?#&= ]/g, (c) => encodeURIComponent(c)),
  (s) => encodeURIComponent(s),
  (s) => encodeEvery(s),
  (s) => encodeURIComponent(encodeURIComponent(s)),
  (s, inQuery) => (inQuery ? encodeURIComponent(s).replace(/%20/g, "+") : encodeURIComponent(s)),
  (s) => encodeURIComponent(s.replace("@", "\uFF20").replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d))))
]

const word = fc.stringMatching(/^[a-z]{2,9}$/)
const slug = fc.array(word, { minLength: 1, maxLength: 4 }).map((w) => w.join("-"))

const place = fc.constantFrom(
  "segment",
  "inside-segment",
  "allowed-value",
  "other-value",
  "anchor",
  "route",
  "fragment-param"
)

const decodeFully = (s: string): string => {
  let text = s
  for (let i = 0; i < 4; i++) {
    try {
      text = decodeURIComponent(text)
    } catch {
      break
    }
  }
  return text.normalize("NFKC")
}

describe("Url.scrub fuzz", () => {
  it.prop(
    "personal data injected anywhere, in any encoding, never survives in the scrubbed URL",
    [
      fc.array(slug, { minLength: 0, maxLength: 3 }),
      fc.array(fc.tuple(fc.constantFrom("utm_source", "utm_term", "sku", "ref", "email", "gclid"), word), {
        maxLength: 4
      }),
      secret,
      place,
      fc.integer({ min: 0, max: encodings.length - 1 }),
      fc.integer({ min: 0, max: 3 })
    ],
    ([segments, params, pii, where, encodingIndex, position]) => {
      const encode = (inQuery: boolean) => encodings[encodingIndex]!(pii.text, inQuery)
      const path = [...segments]
      const query = params.map(([k, v]) => `${k}=${v}`)
      let fragment = ""
      const at = Math.min(position, path.length)
      switch (where) {
        case "segment":
          path.splice(at, 0, encode(false))
          break
        case "inside-segment":
          path.splice(at, 0, `contact-${encode(false)}-now`)
          break
        case "allowed-value":
          query.splice(Math.min(position, query.length), 0, `utm_term=${encode(true)}`)
          break
        case "other-value":
          query.splice(Math.min(position, query.length), 0, `customer=${encode(true)}`)
          break
        case "anchor":
          fragment = encode(false)
          break
        case "route":
          fragment = `/account/${encode(false)}/orders`
          break
        case "fragment-param":
          fragment = `utm_content=${encode(true)}&x=1`
          break
      }
      const url = `https://shop.example/${path.join("/")}${query.length > 0 ? `?${query.join("&")}` : ""}${
        fragment === "" ? "" : `#${fragment}`
      }`
      const out = Url.scrub(url)
      assert.isDefined(out, url)
      const decoded = decodeFully(out!)
      const plusAsSpace = decodeFully(out!.replace(/\+/g, "%20"))
      for (const text of [out!, decoded, plusAsSpace]) {
        if (pii.kind === "email") {
          assert.notInclude(text.toLowerCase(), pii.needle.toLowerCase(), url)
          assert.notInclude(text, "@", url)
        } else if (pii.kind === "token") {
          assert.notInclude(text, pii.needle, url)
        } else {
          assert.notInclude(text.replace(/\D/g, ""), pii.needle, url)
        }
      }
      // The page itself is still there.
      assert.isTrue(out!.startsWith("https://shop.example/"))
    },
    // A fixed seed: a random base64url token passes for a slug with a probability of a few in a million (see
    // the README), which must not make CI flaky; change the seed to explore.
    { fastCheck: { numRuns: 1_000, seed: 20_260_301 } }
  )

  it.prop(
    "ordinary URLs without personal data keep their path and allowlisted parameters",
    [
      fc.array(slug, { minLength: 1, maxLength: 4 }),
      fc.array(fc.tuple(fc.constantFrom("utm_source", "sku", "category"), word), { maxLength: 3 })
    ],
    ([segments, params]) => {
      const query = params.map(([k, v]) => `${k}=${v}`).join("&")
      const url = `https://shop.example/${segments.join("/")}${query === "" ? "" : `?${query}`}`
      assert.strictEqual(Url.scrub(url), url)
    }
  )
})

describe("Url: scrubbing by a remembered base", () => {
  // Bases clean and not (an email, a card, credentials, upper case, a port, dot segments, a relative one), queries
  // of characters the parser keeps and of those it encodes, fragments: every URL is scrubbed twice by one scrubber
  // (the second time through what the first remembered) and must equal the stateless `scrub`.
  const base = fc.constantFrom(
    "https://shop.example/p/trail-boots",
    "https://shop.example/c/shoes",
    "https://shop.example/u/john.doe@example.com",
    "https://shop.example/pay/4111-1111-1111-1111",
    "https://user:pw@shop.example/p",
    "HTTPS://Shop.Example/p",
    "https://shop.example:443/p",
    "https://shop.example/a/../b",
    "https://shop.example",
    "http://other.example/x",
    "/relative/path"
  )
  const queryChar = fc.constantFrom(
    ..."abcXYZ019-._~!$&()*+,;=:@/?%[]^`{|}\\".split(""),
    " ",
    '"',
    "'",
    "<",
    ">",
    "é",
    "\t",
    "%20",
    "%zz",
    "utm_source=news",
    "sku=A-1",
    "email=john.doe%40example.com",
    "ref=4111111111111111",
    "gclid=Cj0"
  )
  const query = fc.array(queryChar, { maxLength: 12 }).map((parts) => parts.join(""))
  const url = fc
    .tuple(
      base,
      fc.option(query, { nil: undefined }),
      fc.option(fc.constantFrom("#x", "#/route?sku=1", "#"), { nil: undefined })
    )
    .map(([b, q, f]) => `${b}${q === undefined ? "" : `?${q}`}${f ?? ""}`)
  const options = fc.constantFrom({}, { allowParams: ["sku", "ref", "email"] })

  it.prop(
    "a page scrubber gives what scrub gives, the first time and every time after",
    [fc.array(url, { maxLength: 20 }), options],
    ([urls, opts]) => {
      const scrub = Url.scrubber(opts)
      for (const u of [...urls, ...urls]) assert.strictEqual(scrub(u), Url.scrub(u, opts), u)
    }
  )

  it.prop(
    "a referrer scrubber gives what scrubReferrer gives, the first time and every time after",
    [
      fc.array(fc.tuple(url, fc.constantFrom("shop.example", "www.shop.example", "other.example")), { maxLength: 20 }),
      options
    ],
    ([pairs, opts]) => {
      const scrub = Url.referrerScrubber(opts)
      for (const [u, host] of [...pairs, ...pairs]) {
        assert.strictEqual(scrub(u, host), Url.scrubReferrer(u, `https://${host}/`, opts), `${u} on ${host}`)
      }
    }
  )

  it("remembers a base only when scrubbing kept it as it was", () => {
    const scrub = Url.scrubber()
    assert.strictEqual(
      scrub("https://shop.example/u/john.doe@example.com?utm_source=a&x=1"),
      "https://shop.example/u/:redacted?utm_source=a"
    )
    assert.strictEqual(scrub("https://shop.example/u/john.doe@example.com?x=2"), "https://shop.example/u/:redacted")
    assert.strictEqual(scrub("https://shop.example/p?x=1"), "https://shop.example/p")
    assert.strictEqual(scrub("https://shop.example/p?utm_source=b&session=s"), "https://shop.example/p?utm_source=b")
  })
})
