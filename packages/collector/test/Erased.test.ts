/**
 * Erased visitors: a tombstone cannot be read back but can be checked; once a pseudonym's tombstone is in the
 * collector's erased set, the browser that still sends the same visitor id is stored under a new pseudonym (stable,
 * not the erased one), other visitors are untouched, and after every generation was erased the browser is stored
 * without a visitor. A tenant without erased visitors costs no hashing.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Event, StoredEvent } from "@openaudience/event-schema"
import { WireFormat } from "@openaudience/pixel"
import * as fc from "effect/FastCheck"
import { createHash } from "node:crypto"
import * as Collector from "../src/Collector.js"
import * as Erased from "../src/Erased.js"
import * as Sink from "../src/Sink.js"
import * as Tenant from "../src/Tenant.js"

const browser = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
const secret = new Uint8Array(32).fill(7)

const setup = (erased?: Erased.ErasedSet) => {
  const sink = Sink.memory()
  const tenants = Tenant.directory(secret, [Tenant.demo(false)])
  const collector = Collector.make({ tenants, sink, now: () => Date.UTC(2026, 11, 5, 14, 25), erased })
  return { collector, sink, tenant: tenants.bySite("demo")! }
}

let n = 0
const view = (visitorId: string): Event.Event => ({
  type: "product_view",
  id: `era_${(n++).toString(36).padStart(6, "0")}`,
  site: "demo",
  url: "https://shop.example/p/lamp-07",
  productId: "lamp-07",
  visitorId
})

const send = (collector: Collector.Collector, event: Event.Event, headers: Record<string, string> = {}) => {
  let status = 0
  collector.pixel(
    collector.browserContext({ "user-agent": browser, ...headers }, "198.51.100.23"),
    WireFormat.encodeQuery(event),
    (answer) => {
      status = answer.status
    }
  )
  assert.strictEqual(status, 200)
}

/** The visitor the last stored product view of `sink` was stored under. */
const lastVisitor = (sink: Sink.Memory): string | null => {
  const rows = sink.rows().filter((row) => row.type === "product_view")
  return rows[rows.length - 1]!.visitor
}

const visitorIds = fc.stringMatching(/^[0-9a-f]{32}$/)

describe("Erased.tombstone", () => {
  it("is base64url SHA-256 of the prefixed pseudonym: not the pseudonym, checkable given it", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        const t = Erased.tombstone(a)
        assert.match(t, /^[A-Za-z0-9_-]{43}$/)
        assert.strictEqual(t, createHash("sha256").update(`openaudience/erased:${a}`).digest("base64url"))
        assert.strictEqual(Erased.tombstone(a), t, "the same pseudonym checks against its tombstone")
        if (a !== b) assert.notStrictEqual(Erased.tombstone(b), t)
      })
    )
  })
})

describe("Erased.makeSet", () => {
  it("records tombstones per tenant, once each", () => {
    const set = Erased.makeSet()
    assert.strictEqual(set.size, 0)
    assert.isFalse(set.any("t1"))
    set.add("t1", "x")
    set.add("t1", "x")
    set.add("t2", "y")
    assert.strictEqual(set.size, 2)
    assert.isTrue(set.has("t1", "x"))
    assert.isFalse(set.has("t2", "x"), "a tombstone belongs to its tenant")
    assert.isFalse(set.has("t3", "x"))
    assert.isTrue(set.any("t2"))
    assert.isFalse(set.any("t3"))
  })
})

describe("collector with an erased set", () => {
  it("stores an erased visitor's next events under a new, stable pseudonym; other visitors keep theirs", () => {
    fc.assert(
      fc.property(fc.uniqueArray(visitorIds, { minLength: 2, maxLength: 2 }), ([erasedId, otherId]) => {
        const erased = Erased.makeSet()
        const { collector, sink, tenant } = setup(erased)
        send(collector, view(erasedId!))
        const p0 = lastVisitor(sink)!
        assert.strictEqual(p0, tenant.pseudonym(erasedId!))
        send(collector, view(otherId!))
        const other = lastVisitor(sink)

        erased.add(tenant.id, Erased.tombstone(p0))
        send(collector, view(erasedId!))
        const p1 = lastVisitor(sink)
        assert.isNotNull(p1)
        assert.notStrictEqual(p1, p0)
        assert.strictEqual(p1, tenant.pseudonym(`${erasedId}#1`))
        send(collector, view(erasedId!))
        assert.strictEqual(lastVisitor(sink), p1, "stable across events")
        send(collector, view(otherId!))
        assert.strictEqual(lastVisitor(sink), other, "another visitor is unaffected")
        for (const row of sink.rows()) assert.notInclude(JSON.stringify(row), erasedId!, "never the raw id")
      }),
      { numRuns: 50 }
    )
  })

  it("rotates again after each erasure, and stores without a visitor once all 9 pseudonyms were erased", () => {
    const erased = Erased.makeSet()
    const { collector, sink, tenant } = setup(erased)
    const id = "0123456789abcdef0123456789abcdef"
    const seen = new Set<string>()
    for (let generation = 0; generation <= Erased.generations; generation++) {
      send(collector, view(id))
      const current = lastVisitor(sink)!
      assert.strictEqual(current, tenant.pseudonym(generation === 0 ? id : `${id}#${generation}`))
      assert.isFalse(seen.has(current), "never an erased pseudonym again")
      seen.add(current)
      erased.add(tenant.id, Erased.tombstone(current))
    }
    send(collector, view(id))
    const [row] = sink.rows().slice(-1)
    assert.isNull(row!.visitor)
    assert.strictEqual(row!.receivedAt % 3_600_000, 0, "stored identifier-free (time cut to the hour)")
  })

  it("a tombstone of another tenant changes nothing", () => {
    const erased = Erased.makeSet()
    const { collector, sink, tenant } = setup(erased)
    const id = "fedcba9876543210fedcba9876543210"
    erased.add("another-tenant", Erased.tombstone(tenant.pseudonym(id)))
    send(collector, view(id))
    assert.strictEqual(lastVisitor(sink), tenant.pseudonym(id))
  })

  it("an erased visitor's objection names the pseudonym they have now", () => {
    const erased = Erased.makeSet()
    const { collector, sink, tenant } = setup(erased)
    const id = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    erased.add(tenant.id, Erased.tombstone(tenant.pseudonym(id)))
    send(collector, view(id), { "sec-gpc": "1" })
    const objections = sink.rows().filter((row) => row.type === StoredEvent.objectionType)
    assert.lengthOf(objections, 1)
    assert.strictEqual(objections[0]!.visitor, tenant.pseudonym(`${id}#1`))
  })

  it("checks no pseudonym of a tenant without erased visitors", () => {
    let checks = 0
    const counting: Erased.ErasedSet = {
      has: () => {
        checks++
        return false
      },
      any: (tenant) => tenant === "nobody-erased-here"
    }
    const { collector, sink, tenant } = setup(counting)
    send(collector, view("00112233445566778899aabbccddeeff"))
    assert.strictEqual(checks, 0)
    assert.strictEqual(lastVisitor(sink), tenant.pseudonym("00112233445566778899aabbccddeeff"))
  })
})

describe("Erased.pseudonymOf", () => {
  it("is the tenant's pseudonym without a set, and without erased visitors computes no tombstone", () => {
    const tenant = { id: "t", pseudonym: (id: string) => `p(${id})` }
    assert.strictEqual(Erased.pseudonymOf(tenant, "v", undefined), "p(v)")
    const set = Erased.makeSet()
    assert.strictEqual(Erased.pseudonymOf(tenant, "v", set), "p(v)")
    set.add("t", Erased.tombstone("p(v)"))
    set.add("t", Erased.tombstone("p(v#1)"))
    assert.strictEqual(Erased.pseudonymOf(tenant, "v", set), "p(v#2)")
    assert.strictEqual(Erased.pseudonymOf(tenant, "w", set), "p(w)")
  })
})
