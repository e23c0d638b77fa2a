/**
 * Cross-site recognition (`Collector.Options.crossSite`, issue 14 item 5): the browser routes set the `oa_xid`
 * cookie only when an event's decision allows personalization without a child signal and the event has a
 * first-party visitor key, clear it whenever any event of the request refuses it, link only with a well-formed id,
 * and never touch it on the server-to-server route, in cookieless mode or on a child-directed site. Without the
 * option the answers are the same bytes as before.
 */
import { assert, describe, it } from "@effect/vitest"
import { SaltStore } from "@openaudience/anonymizer"
import { Decision, Jurisdiction, Policy, Signals } from "@openaudience/consent"
import type { Event } from "@openaudience/event-schema"
import { WireFormat } from "@openaudience/pixel"
import * as fc from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { gppStrings, tcStrings } from "../../consent/test/fixtures/strings.js"
import * as Collect from "../src/Collect.js"
import * as Collector from "../src/Collector.js"
import * as FetchCollector from "../src/FetchCollector.js"
import * as IngestKeys from "../src/IngestKeys.js"
import * as NodeCollector from "../src/NodeCollector.js"
import * as Sink from "../src/Sink.js"
import * as Tenant from "../src/Tenant.js"
import * as NodeServer from "./support/nodeServer.js"

const salt = new SaltStore.Salt("2026-12-05" as SaltStore.Day, new Uint8Array(32).fill(3))
const bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
const browser = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
const apiKey = "cross-site-test-key"
const secret = new Uint8Array(32).fill(7)
const now = Date.UTC(2026, 11, 5, 16, 30)
const attributes = "; Path=/; Secure; HttpOnly; SameSite=None"
const clear = `oa_xid=; Max-Age=0${attributes}`
const setTo = (id: string) => `oa_xid=${id}; Max-Age=2592000${attributes}`

/** Well-formed ids for tests, from a counter (deterministic, unlike the default CSPRNG). */
const idFrom = (n: number): string => {
  const bytes = new Uint8Array(16)
  new DataView(bytes.buffer).setUint32(12, n)
  return Buffer.from(bytes).toString("base64url")
}

const specs: ReadonlyArray<Tenant.TenantSpec> = [
  Tenant.demo(),
  { id: "kids", name: "Kids", siteKeys: ["kids"], policy: { ...Policy.demo, childDirected: true } },
  { id: "nocookie", name: "Cookieless", siteKeys: ["nocookie"], policy: Policy.demo, cookieless: true }
]

interface Calls {
  readonly link: Array<Collector.Link>
  readonly unlink: Array<Collector.Unlink>
}

// One directory for every test: a tenant's pseudonym cache is large to allocate.
const tenants = Tenant.directory(secret, specs)

const build = (
  options: {
    readonly crossSite?: boolean
    readonly sink?: Sink.Sink
    readonly cross?: Partial<Collector.CrossSite>
  } = {}
) => {
  const memory = Sink.memory()
  const sink = options.sink ?? memory
  const calls: Calls = { link: [], unlink: [] }
  const ids = { issued: 0 }
  const crossSite: Collector.CrossSite = {
    link: (l) => calls.link.push(l),
    unlink: (u) => calls.unlink.push(u),
    newId: () => idFrom(++ids.issued),
    ...options.cross
  }
  const collector = Collector.make({
    tenants,
    sink,
    now: () => now,
    geo: { country: "cf-ipcountry", region: "cf-region" },
    salt: () => salt,
    ingestKeys: IngestKeys.make([{ key: Redacted.make(apiKey), tenant: tenants.bySite("demo")! }]),
    ...(options.crossSite === false ? {} : { crossSite })
  })
  /** Forgets the calls and restarts the ids, so that property runs can share one collector. */
  const reset = () => {
    calls.link.length = 0
    calls.unlink.length = 0
    ids.issued = 0
  }
  /** What reached the memory sink (nothing when `options.sink` was given). */
  const rows = () => memory.rows()
  return { collector, calls, rows, tenants, reset }
}

const setup = build
/** Shared collectors for property runs (a collector's objection memory is large to allocate). */
const shared = { with: build(), without: build({ crossSite: false }) }
const twins = { with: build(), without: build({ crossSite: false }) }
const reused = (crossSite = true) => {
  const built = crossSite ? shared.with : shared.without
  built.reset()
  return built
}

const answerOf = (run: (answer: (answer: Collector.Answer) => void) => void): Collector.Answer => {
  let answer: Collector.Answer | undefined
  run((a) => {
    answer = a
  })
  if (answer === undefined) throw new Error("no answer (the memory sink answers synchronously)")
  return answer
}

let n = 0
const view = (fields: Partial<Event.ProductView> = {}): Event.Event => ({
  type: "product_view",
  id: `xs_${(n++).toString(36).padStart(6, "0")}`,
  site: "demo",
  url: "https://shop.example/p/lamp-07",
  productId: "lamp-07",
  visitorId: "0123456789abcdef0123456789abcdef",
  ...fields
})

const pixel = (collector: Collector.Collector, event: Event.Event, headers: Record<string, string> = {}) =>
  answerOf((a) =>
    collector.pixel(
      collector.browserContext({ "user-agent": browser, ...headers }, "198.51.100.7"),
      WireFormat.encodeQuery(event),
      a
    )
  )

const collect = (
  collector: Collector.Collector,
  events: ReadonlyArray<Event.Event>,
  headers: Record<string, string> = {}
) =>
  answerOf((a) =>
    collector.collect(
      collector.browserContext({ "user-agent": browser, ...headers }, "198.51.100.7"),
      WireFormat.encodeBatch(events).bodies[0]!,
      a
    )
  )

const s2s = (collector: Collector.Collector, events: ReadonlyArray<Event.Event>, headers: Record<string, string>) => {
  const all = { ...headers, authorization: `Bearer ${apiKey}`, "content-type": "application/json" }
  const authorization = collector.authorize(all)
  if (authorization._tag === "Refused") throw new Error("refused")
  return answerOf((a) => collector.events(authorization.tenant, all, JSON.stringify(events), a))
}

// --- consent signals as browsers, CMPs and edges send them ---------------------------------------------------------

/** True one time in `k`: refusing signals rare enough that whole batches are often allowed. */
const sometimes = (k: number) => fc.integer({ min: 1, max: k }).map((i) => i === 1)

const tcfs = [undefined, tcStrings.full, tcStrings.rejectAll, tcStrings.noPurpose3, tcStrings.otherVendorOnly]
const gpps = [
  undefined,
  gppStrings.usnatAllowed,
  gppStrings.usnatTargetedOptOut,
  gppStrings.usnatSaleOptOut,
  gppStrings.usnatKnownChild,
  gppStrings.tcfFull,
  gppStrings.invalidHeader
]

interface EventSignals {
  readonly site: "demo" | "kids" | "nocookie"
  readonly visitor: boolean
  readonly consent: Event.Event["consent"]
}

const eventSignals: fc.Arbitrary<EventSignals> = fc.record({
  site: fc.constantFrom("demo", "demo", "demo", "demo", "demo", "demo", "kids", "nocookie"),
  visitor: sometimes(4).map((no) => !no),
  // Most events carry nothing of their own (the request's signals decide), the others a random mix.
  consent: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc.record(
        {
          gpc: sometimes(3),
          optout: sometimes(3),
          tcf: fc.constantFrom(...tcfs),
          gpp: fc.constantFrom(...gpps),
          gdprApplies: fc.boolean()
        },
        { requiredKeys: [] }
      )
    }
  )
})

/** A cookie header carrying the cross-site cookie well-formed, malformed, twice, or not at all. */
const cookieArb: fc.Arbitrary<{ readonly header: string | undefined; readonly id: string | undefined }> = fc.oneof(
  fc.constant({ header: undefined, id: undefined }),
  fc.integer({ min: 1, max: 1_000_000 }).map((k) => ({ header: `theme=dark; oa_xid=${idFrom(k)}`, id: idFrom(k) })),
  fc
    .string({ maxLength: 30 })
    .filter((s) => !/[;,]/.test(s) && !Collect.isBrowserId(s.trim()))
    .map((bad) => ({ header: `oa_xid=${bad}`, id: undefined })),
  fc
    .integer({ min: 1, max: 1_000_000 })
    .map((k) => ({ header: `oa_xid=${idFrom(k)}x, oa_xid=${idFrom(k)}`, id: idFrom(k) })),
  fc.constant({ header: "oa_optout=1; oa_xid=AAAAAAAAAAAAAAAAAAAAAB", id: undefined })
)

const requestArb = fc.record({
  gpc: sometimes(5),
  dnt: sometimes(5),
  optout: sometimes(5),
  country: fc.constantFrom(undefined, "DE", "US", "BR"),
  bot: sometimes(10),
  cookie: cookieArb
})

const headersOf = (r: typeof requestArb extends fc.Arbitrary<infer A> ? A : never): Record<string, string> => {
  const cookie = [r.cookie.header, r.optout ? "oa_optout=1" : undefined].filter((c) => c !== undefined).join("; ")
  return {
    ...(r.bot ? { "user-agent": bot } : {}),
    ...(r.gpc ? { "sec-gpc": "1" } : {}),
    ...(r.dnt ? { dnt: "1" } : {}),
    ...(r.country === undefined ? {} : { "cf-ipcountry": r.country }),
    ...(cookie === "" ? {} : { cookie })
  }
}

/** The decision each event gets, computed here from the signals with the consent package alone. */
const decisionOf = (headers: Record<string, string>, tenant: Tenant.Tenant, consent: Event.Event["consent"]) =>
  Decision.decide(
    Signals.merge(Signals.fromRequest(headers), Signals.fromEvent(consent)),
    tenant.policy,
    Jurisdiction.fromCountry(headers["cf-ipcountry"])
  )

const dropUndefined = <A extends object>(value: A): A =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as A

const eventOf = (s: EventSignals): Event.Event =>
  view({
    site: s.site,
    ...(s.visitor ? {} : { visitorId: undefined }),
    ...(s.consent === undefined ? {} : { consent: dropUndefined(s.consent) })
  })

const clean = (event: Event.Event): Event.Event => dropUndefined(event)

describe("Collect.crossSiteAllowed", () => {
  it("allows only personalization with an identifier and no child signal", () => {
    for (const personalization of [false, true]) {
      for (const identifier of [false, true]) {
        for (const child of [false, true]) {
          assert.strictEqual(
            Collect.crossSiteAllowed({ personalization, identifier, child }),
            personalization && identifier && !child
          )
        }
      }
    }
  })

  it("refuses every refusing signal of item 5 and allows a plain opt-out-model visit or a full TCF consent", () => {
    const tenant = Tenant.directory(secret, specs).bySite("demo")!
    const allowed = (headers: Record<string, string>, consent?: Event.Event["consent"]) =>
      Collect.crossSiteAllowed(decisionOf(headers, tenant, consent))
    assert.isTrue(allowed({}))
    assert.isTrue(allowed({ "cf-ipcountry": "DE" }, { tcf: tcStrings.full }))
    assert.isTrue(allowed({ "cf-ipcountry": "US" }, { gpp: gppStrings.usnatAllowed }))
    assert.isFalse(allowed({ cookie: "oa_optout=1" }), "opt-out cookie")
    assert.isFalse(allowed({}, { optout: true }), "the tag's opt-out")
    assert.isFalse(allowed({ "sec-gpc": "1" }), "GPC")
    assert.isFalse(allowed({ dnt: "1" }), "DNT under the default policy")
    assert.isFalse(allowed({ "cf-ipcountry": "DE" }), "EU without a TC string")
    assert.isFalse(allowed({ "cf-ipcountry": "DE" }, { tcf: tcStrings.rejectAll }), "TCF refusal")
    assert.isFalse(allowed({ "cf-ipcountry": "DE" }, { tcf: tcStrings.noPurpose3 }), "no personalized-ads purpose")
    assert.isFalse(allowed({ "cf-ipcountry": "DE" }, { tcf: tcStrings.otherVendorOnly }), "no vendor consent")
    assert.isFalse(allowed({ "cf-ipcountry": "US" }, { gpp: gppStrings.usnatTargetedOptOut }), "US targeted opt-out")
    assert.isFalse(allowed({ "cf-ipcountry": "US" }, { gpp: gppStrings.usnatKnownChild }), "GPP known child")
    const kids = Tenant.directory(secret, specs).bySite("kids")!
    assert.isFalse(Collect.crossSiteAllowed(decisionOf({}, kids, undefined)), "child-directed site")
  })

  it("agrees with the decision for random signals: allowed exactly when personalized without a child signal", () => {
    const tenant = Tenant.directory(secret, specs).bySite("demo")!
    fc.assert(
      fc.property(requestArb, eventSignals, (r, s) => {
        const decision = decisionOf(headersOf(r), tenant, s.consent)
        assert.strictEqual(Collect.crossSiteAllowed(decision), decision.personalization && !decision.child)
        if (Collect.crossSiteAllowed(decision)) {
          assert.isFalse(r.gpc || r.optout || r.dnt || s.consent?.gpc === true || s.consent?.optout === true)
        }
      }),
      { seed: 14_5, numRuns: 300 }
    )
  })
})

describe("browser ids", () => {
  it("are 128 bits in canonical base64url: every 16 bytes encode to one, nothing else is one", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const id = Buffer.from(bytes).toString("base64url")
        assert.isTrue(Collect.isBrowserId(id))
        assert.deepStrictEqual(new Uint8Array(Buffer.from(id, "base64url")), bytes)
      }),
      { seed: 1, numRuns: 200 }
    )
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const decoded = Buffer.from(s, "base64url")
        const canonical = decoded.length === 16 && decoded.toString("base64url") === s
        assert.strictEqual(Collect.isBrowserId(s), canonical)
      }),
      { seed: 2, numRuns: 500 }
    )
    // One bit past the 128th, padding, the base64 (not url) alphabet, a character short or long.
    for (const bad of [
      "AAAAAAAAAAAAAAAAAAAAAB",
      "AAAAAAAAAAAAAAAAAAAAAA==",
      "+AAAAAAAAAAAAAAAAAAAAA",
      "A".repeat(21)
    ]) {
      assert.isFalse(Collect.isBrowserId(bad), bad)
    }
    // Well-formed and never repeated, across several refills of the pool the ids are drawn from (256 per refill).
    const seen = new Set<string>()
    for (let i = 0; i < 1_000; i++) {
      const id = Collect.newBrowserId()
      assert.isTrue(Collect.isBrowserId(id), id)
      seen.add(id)
    }
    assert.strictEqual(seen.size, 1_000)
  })

  it("are read from the Cookie header only under their exact name, the first well-formed one winning", () => {
    const a = idFrom(1)
    const b = idFrom(2)
    assert.strictEqual(Collect.browserIdOf(`oa_xid=${a}`), a)
    assert.strictEqual(Collect.browserIdOf(`theme=dark;oa_xid= ${a} ; x=1`), a)
    assert.strictEqual(Collect.browserIdOf(`oa_xid=bad; oa_xid=${b}, oa_xid=${a}`), b)
    assert.strictEqual(Collect.browserIdOf(`xoa_xid=${a}; oa_xidx=${a}; x=oa_xid=${a}`), undefined)
    assert.strictEqual(Collect.browserIdOf(`oa_xid="${a}"`), undefined)
    assert.strictEqual(Collect.browserIdOf(`oa_xid=${a}`, "other"), undefined)
    assert.strictEqual(Collect.browserIdOf(`other=${a}`, "other"), a)
    assert.strictEqual(Collect.browserIdOf(undefined), undefined)
  })

  it("never come out of a Cookie header not well-formed, whatever it holds", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("oa_xid", " oa_xid", "x", "oa_xid "), fc.string({ maxLength: 30 }))),
        fc.constantFrom("; ", ";", ", "),
        (pairs, separator) => {
          const header = pairs.map(([k, v]) => `${k}=${v}`).join(separator)
          const id = Collect.browserIdOf(header)
          if (id !== undefined) {
            assert.isTrue(Collect.isBrowserId(id))
            assert.include(header, `=${id}`)
          }
        }
      ),
      { seed: 3, numRuns: 500 }
    )
  })
})

describe("Collector crossSite", () => {
  it("sets the cookie only when allowed with a visitor key, clears it on any refusal, links with its value", () => {
    let sets = 0
    let clears = 0
    let kept = 0
    fc.assert(
      fc.property(
        requestArb,
        fc.array(eventSignals, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (r, signals, usePixel) => {
          const { collector, calls } = reused()
          const headers = headersOf(r)
          const list = (usePixel ? signals.slice(0, 1) : signals).map(eventOf).map(clean)
          const answer = usePixel ? pixel(collector, list[0]!, headers) : collect(collector, list, headers)
          assert.strictEqual(answer.status, 200)
          // A bot's request is counted, never decided: it neither sets nor clears anything.
          const decided = (r.bot ? [] : list).map((event) => {
            const tenant = tenants.bySite(event.site)!
            return { event, tenant, allowed: Collect.crossSiteAllowed(decisionOf(headers, tenant, event.consent)) }
          })
          const refused = decided.some((d) => !d.allowed)
          const linkable = decided.filter(
            (d) =>
              d.allowed && d.event.visitorId !== undefined && !d.tenant.cookieless && !d.tenant.policy.childDirected
          )
          const cookie = answer.headers["set-cookie"]
          if (refused) {
            clears++
            assert.strictEqual(cookie, clear)
            assert.lengthOf(calls.link, 0)
            for (const u of calls.unlink) {
              assert.strictEqual(u.browser, r.cookie.id)
              assert.strictEqual(u.at, now)
              assert.isTrue(u.visitor !== undefined || u.browser !== undefined)
            }
          } else if (linkable.length > 0) {
            sets++
            const id = r.cookie.id ?? idFrom(1)
            assert.strictEqual(cookie, setTo(id))
            // A browser given a new id is linked only when it comes back with it (no cookie kept, no link).
            assert.deepStrictEqual(
              calls.link,
              r.cookie.id === undefined
                ? []
                : linkable.map((d) => ({
                    tenant: d.tenant.id,
                    visitor: d.tenant.pseudonym(d.event.visitorId!),
                    browser: id,
                    at: now
                  }))
            )
            assert.lengthOf(calls.unlink, 0)
            kept++
          } else {
            assert.isUndefined(cookie)
            assert.lengthOf(calls.link, 0)
            assert.lengthOf(calls.unlink, 0)
          }
          for (const l of calls.link) assert.isTrue(Collect.isBrowserId(l.browser))
        }
      ),
      { seed: 14_5_1, numRuns: 400 }
    )
    // The generators reach every branch.
    assert.isAbove(sets, 20)
    assert.isAbove(clears, 20)
    assert.isAbove(kept, 20)
  })

  it("unlinks the refusing visitor's pseudonym and the browser's id", () => {
    const { collector, calls, tenants } = setup()
    const id = idFrom(77)
    const event = view()
    const answer = pixel(collector, event, { "sec-gpc": "1", cookie: `oa_xid=${id}` })
    assert.strictEqual(answer.headers["set-cookie"], clear)
    const tenant = tenants.bySite("demo")!
    assert.deepStrictEqual(calls.unlink, [
      { tenant: "demo", visitor: tenant.pseudonym(event.visitorId!), browser: id, at: now }
    ])
    // A second refusal of the same visitor (its objection already recorded) still unlinks it.
    pixel(collector, view(), { "sec-gpc": "1" })
    assert.deepStrictEqual(calls.unlink[1], {
      tenant: "demo",
      visitor: tenant.pseudonym(event.visitorId!),
      browser: undefined,
      at: now
    })
  })

  it("keeps the browser's id, refreshing the cookie, and replaces a malformed one", () => {
    const { collector, calls } = setup()
    const id = idFrom(5)
    assert.strictEqual(pixel(collector, view(), { cookie: `oa_xid=${id}` }).headers["set-cookie"], setTo(id))
    assert.strictEqual(pixel(collector, view(), { cookie: "oa_xid=../../etc" }).headers["set-cookie"], setTo(idFrom(1)))
    // A request context built by hand with a malformed id: replaced as well, and never unlinked by it.
    const forged = { ...collector.browserContext({ "user-agent": browser }, "198.51.100.7"), browser: "x; Domain=evil" }
    const answer = answerOf((a) => collector.pixel(forged, WireFormat.encodeQuery(view()), a))
    assert.strictEqual(answer.headers["set-cookie"], setTo(idFrom(2)))
    answerOf((a) =>
      collector.pixel({ ...forged, signals: { ...forged.signals, gpc: true } }, WireFormat.encodeQuery(view()), a)
    )
    assert.isUndefined(calls.unlink[0]?.browser)
    // The kept id is linked; the new ones only once a request comes back with them.
    assert.deepStrictEqual(
      calls.link.map((l) => l.browser),
      [id]
    )
    pixel(collector, view(), { cookie: `oa_xid=${idFrom(1)}` })
    assert.deepStrictEqual(
      calls.link.map((l) => l.browser),
      [id, idFrom(1)]
    )
    assert.lengthOf(calls.unlink, 1)
  })

  it("leaves the server-to-server route alone: no cookie read or set, no hook called", () => {
    fc.assert(
      fc.property(requestArb, fc.array(eventSignals, { minLength: 1, maxLength: 4 }), (r, signals) => {
        const { collector, calls } = reused()
        const list = signals.map((s) => clean(eventOf({ ...s, site: "demo" })))
        const answer = s2s(collector, list, headersOf(r))
        assert.strictEqual(answer.status, 200)
        assert.notProperty(answer.headers, "set-cookie")
        assert.lengthOf(calls.link, 0)
        assert.lengthOf(calls.unlink, 0)
      }),
      { seed: 14_5_2, numRuns: 100 }
    )
  })

  it("never sets the cookie in cookieless mode or for a child-directed site", () => {
    const { collector, calls } = setup()
    for (const site of ["nocookie", "kids"]) {
      for (const consent of [undefined, { tcf: tcStrings.full, gdprApplies: true }]) {
        const answer = collect(collector, [clean(view({ site, consent }))], { cookie: `oa_xid=${idFrom(9)}` })
        // Nothing, or the refusal of a child-directed site's decision: never an id.
        assert.include([undefined, clear], answer.headers["set-cookie"], site)
      }
    }
    assert.lengthOf(calls.link, 0)
  })

  it("with a sink failure clears and unlinks a refusal but links and sets nothing", () => {
    const failing: Sink.Sink = {
      append: (_rows, done) => done({ message: "down" }),
      store: (_rows, done) => done({ _tag: "Failed", message: "down" })
    }
    const { collector, calls } = setup({ sink: failing })
    const allowed = collect(collector, [view()])
    assert.strictEqual(allowed.status, 503)
    assert.notProperty(allowed.headers, "set-cookie")
    assert.lengthOf(calls.link, 0)
    const refused = pixel(collector, view(), { dnt: "1" })
    assert.strictEqual(refused.status, 503)
    assert.strictEqual(refused.headers["set-cookie"], clear)
    assert.lengthOf(calls.unlink, 1)
  })

  it("answers whatever the hooks and the id source throw or return", () => {
    const throwing = setup({
      cross: {
        link: () => {
          throw new Error("store down")
        },
        unlink: () => {
          throw new Error("store down")
        }
      }
    })
    assert.strictEqual(pixel(throwing.collector, view()).headers["set-cookie"], setTo(idFrom(1)))
    assert.strictEqual(pixel(throwing.collector, view(), { "sec-gpc": "1" }).headers["set-cookie"], clear)
    for (const newId of [
      () => "not an id",
      () => idFrom(1).toLowerCase() + "=",
      () => {
        throw new Error("no entropy")
      }
    ]) {
      const { collector, calls } = setup({ cross: { newId } })
      const answer = pixel(collector, view())
      assert.strictEqual(answer.status, 200)
      assert.notProperty(answer.headers, "set-cookie")
      assert.lengthOf(calls.link, 0)
    }
    assert.throws(() => setup({ cross: { cookie: "bad name; Domain=evil.example" } }))
    const named = setup({ cross: { cookie: "xid" } })
    const answer = pixel(named.collector, view(), { cookie: `oa_xid=${idFrom(3)}; xid=${idFrom(4)}` })
    assert.strictEqual(answer.headers["set-cookie"], `xid=${idFrom(4)}; Max-Age=2592000${attributes}`)
  })

  it("changes nothing but the Set-Cookie header, and nothing at all without the option", () => {
    fc.assert(
      fc.property(
        requestArb,
        fc.array(eventSignals, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (r, signals, usePixel) => {
          const headers = headersOf(r)
          const list = (usePixel ? signals.slice(0, 1) : signals).map(eventOf).map(clean)
          const run = (crossSite: boolean) => {
            // A pair that sees the same requests in the same order, so that their objection memories agree.
            const built = crossSite ? twins.with : twins.without
            const before = built.rows().length
            const answer = usePixel
              ? pixel(built.collector, list[0]!, headers)
              : collect(built.collector, list, headers)
            const context = built.collector.browserContext({ "user-agent": browser, ...headers }, "198.51.100.7")
            return { answer, rows: built.rows().slice(before), context }
          }
          const without = run(false)
          const withOption = run(true)
          assert.notProperty(without.answer.headers, "set-cookie")
          assert.notProperty(without.context, "browser")
          const { "set-cookie": _, ...rest } = withOption.answer.headers
          assert.deepStrictEqual({ ...withOption.answer, headers: rest }, without.answer)
          assert.deepStrictEqual(withOption.rows, without.rows)
        }
      ),
      { seed: 14_5_3, numRuns: 200 }
    )
  })

  it("reaches the wire through the fetch adapter", async () => {
    const { collector } = setup()
    const handle = FetchCollector.make(collector)
    const query = WireFormat.encodeQuery(view())
    const set = await handle(
      new Request(`https://collector.example/px.gif?${query}`, { headers: { "user-agent": browser } })
    )
    assert.strictEqual(set?.headers.get("set-cookie"), setTo(idFrom(1)))
    const cleared = await handle(
      new Request(`https://collector.example/collect`, {
        method: "POST",
        body: WireFormat.encodeBatch([view()]).bodies[0]!,
        headers: { "user-agent": browser, "sec-gpc": "1", cookie: `oa_xid=${idFrom(1)}` }
      })
    )
    assert.strictEqual(cleared?.headers.get("set-cookie"), clear)
  })

  it("reaches the wire through the node:http adapter, on the pixel (GET and HEAD) and the batch", async () => {
    const { collector, calls } = setup()
    const node = NodeCollector.make(collector)
    const server = createServer((req, res) => {
      if (!node.handle(req, res)) res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const id = idFrom(42)
      const query = WireFormat.encodeQuery(view())
      const get = await fetch(`${base}/px.gif?${query}`, { headers: { "user-agent": browser, cookie: `oa_xid=${id}` } })
      assert.deepStrictEqual(get.headers.getSetCookie(), [setTo(id)])
      assert.strictEqual((await get.arrayBuffer()).byteLength, 43)
      const head = await fetch(`${base}/px.gif?${WireFormat.encodeQuery(view())}`, {
        method: "HEAD",
        headers: { "user-agent": browser, "sec-gpc": "1", cookie: `oa_xid=${id}` }
      })
      assert.deepStrictEqual(head.headers.getSetCookie(), [clear])
      const batch = await fetch(`${base}/collect`, {
        method: "POST",
        body: WireFormat.encodeBatch([view(), view()]).bodies[0]!,
        headers: { "user-agent": browser }
      })
      assert.strictEqual(batch.status, 200)
      assert.deepStrictEqual(batch.headers.getSetCookie(), [setTo(idFrom(1))])
      // The batch came without a cookie: its new id is set, and linked once the browser sends it back.
      assert.deepStrictEqual(
        calls.link.map((l) => l.browser),
        [id]
      )
      assert.deepStrictEqual(
        calls.unlink.map((u) => u.browser),
        [id]
      )
    } finally {
      await NodeServer.close(server)
    }
  })
})
