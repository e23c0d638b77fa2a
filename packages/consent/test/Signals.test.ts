import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Signals from "../src/Signals.js"
import * as Usp from "../src/Usp.js"

describe("Signals.fromRequest", () => {
  it("Sec-GPC: 1 and DNT: 1 count, nothing else does", () => {
    assert.deepStrictEqual(Signals.fromRequest({ "sec-gpc": "1", dnt: "1" }), { gpc: true, dnt: true, optout: false })
    assert.deepStrictEqual(Signals.fromRequest({ "sec-gpc": " 1 ", dnt: ["0", "1"] }), {
      gpc: true,
      dnt: true,
      optout: false
    })
    for (const value of ["0", "true", "yes", "11", "", "1;", "on"]) {
      assert.deepStrictEqual(Signals.fromRequest({ "sec-gpc": value, dnt: value }), Signals.empty, value)
    }
    assert.deepStrictEqual(Signals.fromRequest({}), Signals.empty)
  })

  it("the opt-out cookie counts only as oa_optout=1", () => {
    const optout = (cookie: string | Array<string>) => Signals.fromRequest({ cookie }).optout
    assert.isTrue(optout("oa_optout=1"))
    assert.isTrue(optout("session=abc; oa_optout=1; theme=dark"))
    assert.isTrue(optout(["a=1", "oa_optout=1"]))
    assert.isTrue(optout("oa_optout=0; oa_optout=1"))
    for (const cookie of [
      "oa_optout=0",
      "oa_optout=true",
      "oa_optout=11",
      "xoa_optout=1",
      "oa_optout_x=1",
      "oa_optout"
    ]) {
      assert.isFalse(optout(cookie), cookie)
    }
  })

  it("a tenant may name its own cookie", () => {
    assert.isTrue(Signals.fromRequest({ cookie: "shop_optout=1" }, "shop_optout").optout)
    assert.isFalse(Signals.fromRequest({ cookie: "oa_optout=1" }, "shop_optout").optout)
  })

  it.prop(
    "arbitrary header values never throw and only exact signals count",
    [fc.string(), fc.string(), fc.string()],
    ([gpc, dnt, cookie]) => {
      const s = Signals.fromRequest({ "sec-gpc": gpc, dnt, cookie })
      // Several values of one header (comma-separated, RFC 9110): any `1` among them counts.
      assert.strictEqual(
        s.gpc,
        gpc.split(",").some((v) => v.trim() === "1")
      )
      assert.strictEqual(
        s.dnt,
        dnt.split(",").some((v) => v.trim() === "1")
      )
      if (!cookie.includes("oa_optout")) assert.isFalse(s.optout)
    }
  )

  it("several lines of one header count like a list: any 1 is an opt-out", () => {
    assert.isTrue(Signals.fromRequest({ dnt: "0, 1" }).dnt)
    assert.isTrue(Signals.fromRequest({ "sec-gpc": ["0", "1"] }).gpc)
    assert.isFalse(Signals.fromRequest({ dnt: "0, 0" }).dnt)
  })
})

describe("Signals.fromRequest with WHATWG Headers", () => {
  it("reads Sec-GPC, DNT and the opt-out cookie from a Headers object", () => {
    assert.deepStrictEqual(Signals.fromRequest(new Headers({ "sec-gpc": "1" })), {
      gpc: true,
      dnt: false,
      optout: false
    })
    assert.deepStrictEqual(Signals.fromRequest(new Headers({ DNT: "1" })), { gpc: false, dnt: true, optout: false })
    assert.deepStrictEqual(Signals.fromRequest(new Headers({ Cookie: "session=abc; oa_optout=1; theme=dark" })), {
      gpc: false,
      dnt: false,
      optout: true
    })
    assert.deepStrictEqual(Signals.fromRequest(new Headers({ "sec-gpc": "0", dnt: "yes", cookie: "oa_optout=0" })), {
      gpc: false,
      dnt: false,
      optout: false
    })
    assert.deepStrictEqual(Signals.fromRequest(new Headers()), Signals.empty)
  })

  it("reads the opt-out cookie from any of several Cookie lines, which Headers joins with a comma", () => {
    const headers = new Headers()
    headers.append("cookie", "session=abc; theme=dark")
    headers.append("cookie", "oa_optout=1")
    assert.isTrue(Signals.fromRequest(headers).optout)
    assert.isTrue(Signals.fromRequest(new Headers({ cookie: "shop_optout=1; a=b" }), "shop_optout").optout)
    assert.isFalse(Signals.fromRequest(new Headers({ cookie: "xoa_optout=1, oa_optout_x=1" })).optout)
  })

  it("fromRequestAndEvent takes Headers too: a GPC opt-out is not lost", () => {
    const s = Signals.fromRequestAndEvent(new Headers({ "Sec-GPC": "1" }), { tcf: "CQ" })
    assert.isTrue(s.gpc)
    assert.strictEqual(s.tcf, "CQ")
  })

  it("a plain record may spell header names in any case", () => {
    assert.deepStrictEqual(Signals.fromRequest({ "Sec-GPC": "1", DNT: "1", Cookie: "oa_optout=1" }), {
      gpc: true,
      dnt: true,
      optout: true
    })
  })

  // Header lines as a client may send them: names in any case, values signals or noise, several lines per name.
  const names = fc.constantFrom(
    "sec-gpc",
    "Sec-GPC",
    "SEC-GPC",
    "dnt",
    "DNT",
    "Dnt",
    "cookie",
    "Cookie",
    "COOKIE",
    "accept",
    "X-Other"
  )
  const values = fc.oneof(
    fc.constantFrom("1", "0", " 1", "1 ", "1, 0", "0,1", "true", "", "11"),
    fc.constantFrom("oa_optout=1", "a=b; oa_optout=1", "oa_optout=0", "oa_optout=1; x=y", "a=b", "xoa_optout=1"),
    fc.string({ unit: fc.constantFrom(..."abc01 =;,_"), maxLength: 12 })
  )

  it.prop(
    "a header record and the equivalent Headers give identical signals",
    [fc.array(fc.tuple(names, values), { maxLength: 8 })],
    ([lines]) => {
      const record: Record<string, string | Array<string>> = {}
      const headers = new Headers()
      for (const [name, value] of lines) {
        const previous = record[name]
        record[name] =
          previous === undefined ? value : [...(typeof previous === "string" ? [previous] : previous), value]
        headers.append(name, value)
      }
      assert.deepStrictEqual(Signals.fromRequest(headers), Signals.fromRequest(record))
      assert.deepStrictEqual(Signals.fromRequest(headers, "a"), Signals.fromRequest(record, "a"))
    },
    { fastCheck: { numRuns: 500 } }
  )
})

describe("Signals.fromQuery and fromEvent", () => {
  it("reads IAB's gdpr flag: 1 applies, 0 does not, anything else is no signal", () => {
    assert.deepStrictEqual(Signals.fromQuery(new URLSearchParams("gdpr=1")), { ...Signals.empty, gdprApplies: true })
    assert.deepStrictEqual(Signals.fromQuery(new URLSearchParams("gdpr=0&gdpr_consent=CQa")), {
      ...Signals.empty,
      tcf: "CQa",
      gdprApplies: false
    })
    for (const value of ["", "true", "yes", "2", " 1"]) {
      assert.deepStrictEqual(Signals.fromQuery(new URLSearchParams({ gdpr: value })), Signals.empty, value)
    }
  })

  it("reads the standard consent parameters", () => {
    const s = Signals.fromQuery(
      new URLSearchParams("gdpr_consent=CQabc&gpp=DBABM~xyz&gpp_sid=7,8,x,-1,7&us_privacy=1YNN&coppa=1")
    )
    assert.deepStrictEqual(s, {
      gpc: false,
      dnt: false,
      optout: false,
      tcf: "CQabc",
      gpp: "DBABM~xyz",
      gppSid: [7, 8],
      usp: "1YNN",
      coppa: true
    })
    assert.deepStrictEqual(Signals.fromQuery(new URLSearchParams("gdpr_consent=&gpp_sid=-1")), Signals.empty)
  })

  it("reads the consent field an event carries", () => {
    assert.deepStrictEqual(Signals.fromEvent(undefined), Signals.empty)
    assert.deepStrictEqual(Signals.fromEvent({ gdprApplies: true }), { ...Signals.empty, gdprApplies: true })
    assert.deepStrictEqual(Signals.fromEvent({ gdprApplies: false }), { ...Signals.empty, gdprApplies: false })
    assert.deepStrictEqual(Signals.fromEvent({ gpc: true, tcf: "CQ", gpp: "DB" }), {
      gpc: true,
      dnt: false,
      optout: false,
      tcf: "CQ",
      gpp: "DB"
    })
  })
})

const signals: fc.Arbitrary<Signals.Signals> = fc.record(
  {
    gpc: fc.boolean(),
    dnt: fc.boolean(),
    optout: fc.boolean(),
    tcf: fc.constantFrom("CQa", "CQb"),
    gpp: fc.constantFrom("DBa", "DBb"),
    gppSid: fc.uniqueArray(fc.integer({ min: 1, max: 30 }), { maxLength: 3 }).map((a) => a.sort((x, y) => x - y)),
    usp: fc.constantFrom("1YNN", "1NYN"),
    coppa: fc.boolean(),
    gdprApplies: fc.boolean()
  },
  { requiredKeys: ["gpc", "dnt", "optout"] }
)

describe("Signals.merge keeps the most restrictive value", () => {
  it.prop("flags: any true stays true", [signals, signals], ([a, b]) => {
    const m = Signals.merge(a, b)
    assert.strictEqual(m.gpc, a.gpc || b.gpc)
    assert.strictEqual(m.dnt, a.dnt || b.dnt)
    assert.strictEqual(m.optout, a.optout || b.optout)
    assert.strictEqual(m.coppa === true, a.coppa === true || b.coppa === true)
    assert.strictEqual(m.gdprApplies === true, a.gdprApplies === true || b.gdprApplies === true)
    // Said either way by either side, the flag is never lost.
    assert.strictEqual(m.gdprApplies === undefined, a.gdprApplies === undefined && b.gdprApplies === undefined)
    assert.deepStrictEqual(Signals.merge(b, a).gpc, m.gpc)
  })

  it.prop("strings: one value is kept, two different values are a conflict", [signals, signals], ([a, b]) => {
    const m = Signals.merge(a, b)
    for (const key of ["tcf", "gpp", "usp"] as const) {
      const conflict = a[key] !== undefined && b[key] !== undefined && a[key] !== b[key]
      assert.strictEqual(m.conflicts?.includes(key) === true, conflict, key)
      assert.strictEqual(m[key], a[key] ?? b[key])
    }
  })

  it.prop("section ids are united", [signals, signals], ([a, b]) => {
    const m = Signals.merge(a, b)
    const expected = [...new Set([...(a.gppSid ?? []), ...(b.gppSid ?? [])])].sort((x, y) => x - y)
    assert.deepStrictEqual(m.gppSid ?? [], expected)
  })

  it("merging with no signals changes nothing", () => {
    const s: Signals.Signals = { gpc: true, dnt: false, optout: false, tcf: "CQ", gppSid: [7] }
    assert.deepStrictEqual(Signals.merge(s, Signals.empty), s)
    assert.deepStrictEqual(Signals.merge(Signals.empty, s), s)
  })

  it("fromRequestAndEvent merges the request's own signals with the event's", () => {
    assert.deepStrictEqual(Signals.fromRequestAndEvent({ dnt: "1" }, { gpc: true, tcf: "CQ" }), {
      gpc: true,
      dnt: true,
      optout: false,
      tcf: "CQ"
    })
  })
})

describe("Usp.decode", () => {
  it("reads the four characters of a US Privacy string", () => {
    const ok = Usp.decode("1YYN")
    assert.deepStrictEqual(ok._tag === "Right" ? ok.right : undefined, {
      version: 1,
      notice: "Y",
      optOutSale: "Y",
      lspaCovered: "N",
      saleOptOut: true
    })
    const notApplicable = Usp.decode("1---")
    assert.isTrue(notApplicable._tag === "Right" && !notApplicable.right.saleOptOut)
  })

  it("rejects anything else, naming the rule", () => {
    const rule = (s: string) => {
      const r = Usp.decode(s)
      return r._tag === "Left" ? r.left.rule : "accepted"
    }
    assert.strictEqual(rule(""), "empty")
    assert.strictEqual(rule("1YN"), "length")
    assert.strictEqual(rule("1YNNN"), "length")
    assert.strictEqual(rule("2YNN"), "version")
    assert.strictEqual(rule("1yNN"), "character")
    assert.strictEqual(rule("1Y N"), "character")
  })

  it.prop("never throws", [fc.string({ maxLength: 8 })], ([s]) => {
    const r = Usp.decode(s)
    if (r._tag === "Right") assert.match(s, /^1[YN-]{3}$/)
  })
})
